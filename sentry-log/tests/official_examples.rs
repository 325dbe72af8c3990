//! The official `sentry` 0.49 crate's example programs (message-demo, panic-demo,
//! before-send, event-processors, send-with-extra, thread-demo, log-demo, anyhow-demo,
//! performance-demo, health),
//! written from its public API as a user would with only the dependency renamed
//! (`use sentry_client as sentry;`), in both configuration styles: the 0.49 builder
//! (`ClientOptions::new().maybe_release(..).debug(true)`) and the struct literal of 0.48
//! and older. Each runs against a real HTTP sink on 127.0.0.1 and the events it delivers
//! are checked. Two changes to the originals: the DSN is the sink's (the originals read
//! `SENTRY_DSN`), and `env_logger` stands in for `pretty_env_logger`; anyhow-demo calls
//! `sentry::integrations::anyhow::capture_anyhow` where the original calls
//! `sentry_anyhow::capture_anyhow`.
//!
//! `init` binds the process-wide main hub and `log` takes one logger per process, so the
//! examples run one at a time (a lock) and share one installed `SentryLogger`.

use std::sync::{Arc, Mutex, Once};
use std::thread;
use std::time::Duration;

use sentry_client as sentry;

#[path = "../../sentry-client/tests/support/mod.rs"]
mod support;

use support::Sink;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The one setting added to the examples' options: how long dropping the guard waits for
/// delivery. A panic event's stack is resolved on the worker, and the first resolution
/// loads this test binary's debug info, which takes seconds on a busy machine; the
/// default 2 s could then drop the event at shutdown. Generous, as a bound only.
const FLUSH: Duration = Duration::from_secs(60);

/// The two ways code configures the SDK.
#[derive(Clone, Copy, Debug)]
enum Style {
    /// `ClientOptions::new().dsn(..).maybe_release(..).debug(true)` (0.49).
    Builder,
    /// `init((dsn, ClientOptions { release, debug, ..Default::default() }))` (≤ 0.48).
    Literal,
}

/// The examples' `init` call, in `style`, with `before_send` for before-send.
fn init(
    style: Style,
    dsn: &str,
    before_send: Option<fn(sentry::protocol::Event) -> Option<sentry::protocol::Event>>,
) -> sentry::ClientInitGuard {
    match style {
        Style::Builder => {
            let mut options = sentry::ClientOptions::new()
                .dsn(dsn)
                .maybe_release(sentry::release_name!())
                .debug(true)
                .shutdown_timeout(FLUSH);
            if let Some(f) = before_send {
                options = options.before_send(f);
            }
            sentry::init(options)
        }
        Style::Literal => sentry::init((
            dsn,
            sentry::ClientOptions {
                release: sentry::release_name!(),
                debug: true,
                shutdown_timeout: FLUSH,
                before_send: before_send.map(|f| Arc::new(f) as sentry::BeforeCallback<_>),
                ..Default::default()
            },
        )),
    }
}

/// Runs `example` (with the DSN to use) in both styles and returns the events the sink
/// got from each run, after the guard flushed them.
fn run_both(example: impl Fn(Style, &str)) -> Vec<Vec<sentry::protocol::Event>> {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    [Style::Builder, Style::Literal]
        .into_iter()
        .map(|style| {
            let sink = Sink::start();
            // What the previous run left in this thread's scope (its breadcrumbs, tags)
            // is not part of the next program.
            sentry::configure_scope(|scope| scope.clear());
            example(style, &sink.dsn());
            // Generous: delivery is local; the bound only stops a broken run hanging.
            sink.wait_for_events(1, Duration::from_secs(10));
            sink.events()
        })
        .collect()
}

fn install_logger() {
    static LOGGER: Once = Once::new();
    LOGGER.call_once(|| {
        // As the examples' `init_log`, with env_logger for pretty_env_logger.
        let mut log_builder = env_logger::Builder::new();
        log_builder.parse_filters("info");
        let logger = sentry_log::SentryLogger::with_dest(log_builder.build());
        log::set_boxed_logger(Box::new(logger))
            .map(|()| log::set_max_level(log::LevelFilter::Info))
            .expect("the only logger of this test binary");
    });
}

fn release_ok(event: &sentry::protocol::Event) {
    let release = event.release.as_deref().unwrap_or("");
    assert!(release.starts_with("sentry-log@"), "{release:?}");
}

fn tag<'a>(event: &'a sentry::protocol::Event, key: &str) -> Option<&'a str> {
    event.tags.get(key)
}

#[test]
fn message_demo() {
    for events in run_both(|style, dsn| {
        let _sentry = init(style, dsn, None);
        sentry::configure_scope(|scope| {
            scope.set_fingerprint(Some(["a-message"].as_ref()));
            scope.set_tag("foo", "bar");
        });
        sentry::capture_message("This is recorded as a warning now", sentry::Level::Warning);
    }) {
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(
            event.message_text(),
            Some("This is recorded as a warning now")
        );
        assert_eq!(event.level, Some(sentry::Level::Warning));
        assert_eq!(event.fingerprint, Some(vec!["a-message".to_owned()]));
        assert_eq!(tag(event, "foo"), Some("bar"));
        release_ok(event);
    }
}

fn panic_message(event: &sentry::protocol::Event) -> Option<&str> {
    event.exception.values.last()?.value.as_deref()
}

#[test]
fn panic_demo() {
    for events in run_both(|style, dsn| {
        let _sentry = init(style, dsn, None);
        let panicked = std::panic::catch_unwind(|| {
            let _guard = sentry::Hub::current().push_scope();
            sentry::configure_scope(|scope| {
                scope.set_tag("foo", "bar");
            });
            panic!("Holy shit everything is on fire!");
        });
        assert!(panicked.is_err());
    }) {
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(
            panic_message(event),
            Some("Holy shit everything is on fire!")
        );
        let mechanism = event.exception.values[0].mechanism.as_ref();
        assert_eq!(mechanism.and_then(|m| m.handled), Some(false));
        assert_eq!(tag(event, "foo"), Some("bar"));
    }
}

fn add_request(mut event: sentry::protocol::Event) -> Option<sentry::protocol::Event> {
    event.request = Some(sentry::protocol::Request {
        url: Some("https://example.com/".parse().unwrap()),
        method: Some("GET".into()),
        ..Default::default()
    });
    Some(event)
}

fn has_request(event: &sentry::protocol::Event) {
    let request = event.request.as_ref().expect("request");
    assert_eq!(request.url.as_deref(), Some("https://example.com/"));
    assert_eq!(request.method.as_deref(), Some("GET"));
}

#[test]
fn before_send() {
    for events in run_both(|style, dsn| {
        let _sentry = init(style, dsn, Some(add_request));
        let id = sentry::capture_message("An HTTP request failed.", sentry::Level::Error);
        println!("sent event {id}");
    }) {
        assert_eq!(events.len(), 1, "{events:?}");
        has_request(&events[0]);
        assert_eq!(events[0].level, Some(sentry::Level::Error));
    }
}

#[test]
fn event_processors() {
    for events in run_both(|style, dsn| {
        let _sentry = init(style, dsn, None);
        sentry::configure_scope(|scope| {
            scope.add_event_processor(|mut event| {
                event.request = Some(sentry::protocol::Request {
                    url: Some("https://example.com/".parse().unwrap()),
                    method: Some("GET".into()),
                    ..Default::default()
                });
                Some(event)
            });
        });
        sentry::configure_scope(|scope| {
            scope.set_fingerprint(Some(["a-message"].as_ref()));
            scope.set_tag("foo", "bar");
        });
        let id = sentry::capture_message("An HTTP request failed.", sentry::Level::Error);
        println!("sent event {id}");
    }) {
        assert_eq!(events.len(), 1, "{events:?}");
        has_request(&events[0]);
        assert_eq!(events[0].fingerprint, Some(vec!["a-message".to_owned()]));
        assert_eq!(tag(&events[0], "foo"), Some("bar"));
    }
}

#[test]
fn send_with_extra() {
    for events in run_both(|style, dsn| {
        let _sentry = init(style, dsn, None);
        let panicked = std::panic::catch_unwind(|| {
            sentry::with_scope(
                |scope| {
                    scope.set_level(Some(sentry::Level::Warning));
                    scope.set_fingerprint(Some(["a-message"].as_ref()));
                    scope.set_tag("foo", "bar");
                },
                || {
                    panic!("Shit's on fire yo. 🔥 🚒");
                },
            );
        });
        assert!(panicked.is_err());
    }) {
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(panic_message(event), Some("Shit's on fire yo. 🔥 🚒"));
        assert_eq!(event.level, Some(sentry::Level::Warning));
        assert_eq!(event.fingerprint, Some(vec!["a-message".to_owned()]));
        assert_eq!(tag(event, "foo"), Some("bar"));
    }
}

#[test]
fn thread_demo() {
    install_logger();
    for events in run_both(|style, dsn| {
        let _sentry = init(style, dsn, None);
        log::info!("Spawning thread");
        thread::spawn(|| {
            log::info!("Spawned thread, configuring scope.");
            let hub = Arc::new(sentry::Hub::new_from_top(sentry::Hub::current()));
            hub.configure_scope(|scope| {
                scope.set_tag("worker", "worker1");
            });
            thread::spawn(move || {
                sentry::Hub::run(hub, || {
                    log::error!("Failing!");
                });
            })
            .join()
            .unwrap();
        })
        .join()
        .unwrap();
    }) {
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(event.level, Some(sentry::Level::Error));
        assert_eq!(tag(event, "worker"), Some("worker1"));
        let crumbs: Vec<_> = event
            .breadcrumbs
            .values
            .iter()
            .filter_map(|b| b.message.as_deref())
            .collect();
        assert!(
            crumbs.contains(&"Spawned thread, configuring scope."),
            "{crumbs:?}"
        );
    }
}

#[test]
fn log_demo() {
    install_logger();
    for events in run_both(|style, dsn| {
        let _sentry = init(style, dsn, None);
        log::debug!("System is booting");
        log::info!("System is booting");
        log::warn!("System is warning");
        log::error!("Holy shit everything is on fire!");
    }) {
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(event.level, Some(sentry::Level::Error));
        let crumbs: Vec<_> = event
            .breadcrumbs
            .values
            .iter()
            .map(|b| (b.level, b.message.as_deref()))
            .collect();
        // debug! is below the logger's level; info! and warn! are breadcrumbs.
        assert_eq!(
            crumbs,
            [
                (sentry::Level::Info, Some("System is booting")),
                (sentry::Level::Warning, Some("System is warning")),
            ]
        );
        release_ok(event);
    }
}

fn execute() -> anyhow::Result<usize> {
    let parsed = "NaN".parse()?;
    Ok(parsed)
}

#[test]
fn anyhow_demo() {
    for events in run_both(|style, dsn| {
        let _sentry = init(style, dsn, None);
        if let Err(err) = execute() {
            println!("error: {err}");
            sentry::integrations::anyhow::capture_anyhow(&err);
        }
    }) {
        assert_eq!(events.len(), 1, "{events:?}");
        let exception = events[0].exception.values.last().expect("exception");
        assert_eq!(exception.ty.as_deref(), Some("ParseIntError"));
        assert_eq!(
            exception.value.as_deref(),
            Some("invalid digit found in string")
        );
    }
}

/// performance-demo's helper: runs `f` in a child span of the scope's span (or in a new
/// transaction when there is none), as the scope's span while it runs.
fn wrap_in_span<F: FnOnce() -> R, R>(op: &str, description: &str, f: F) -> R {
    let parent = sentry::configure_scope(|scope| scope.get_span());
    let span1: sentry::TransactionOrSpan = match &parent {
        Some(parent) => parent.start_child(op, description).into(),
        None => {
            let ctx = sentry::TransactionContext::new(description, op);
            sentry::start_transaction(ctx).into()
        }
    };
    sentry::configure_scope(|scope| scope.set_span(Some(span1.clone())));
    let rv = f();
    span1.finish();
    sentry::configure_scope(|scope| scope.set_span(parent));
    rv
}

fn thread_span1() {
    wrap_in_span("span1", "", || thread::sleep(Duration::from_millis(5)));
}

fn main_span1() {
    wrap_in_span("span1", "", || {
        thread::sleep(Duration::from_millis(5));
        let transaction_ctx = sentry::TransactionContext::continue_from_span(
            "background transaction",
            "root span",
            sentry::configure_scope(|scope| scope.get_span()),
        );
        let background = thread::spawn(move || {
            let transaction = sentry::start_transaction(transaction_ctx);
            sentry::configure_scope(|scope| scope.set_span(Some(transaction.clone().into())));
            thread_span1();
            transaction.finish();
            sentry::configure_scope(|scope| scope.set_span(None));
        });
        // The original sleeps here while the thread runs; joining keeps the test exact.
        let _ = background.join();
        wrap_in_span("span2", "", || thread::sleep(Duration::from_millis(5)));
    });
}

#[test]
fn performance_demo() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for style in [Style::Builder, Style::Literal] {
        let sink = support::Sink::start();
        sentry::configure_scope(|scope| scope.clear());
        {
            let _sentry = match style {
                Style::Builder => sentry::init(
                    sentry::ClientOptions::new()
                        .dsn(sink.dsn().as_str())
                        .maybe_release(sentry::release_name!())
                        .traces_sample_rate(1.0)
                        .debug(true)
                        .shutdown_timeout(FLUSH),
                ),
                Style::Literal => sentry::init((
                    sink.dsn(),
                    sentry::ClientOptions {
                        release: sentry::release_name!(),
                        traces_sample_rate: 1.0,
                        debug: true,
                        shutdown_timeout: FLUSH,
                        ..Default::default()
                    },
                )),
            };
            let transaction = sentry::start_transaction(sentry::TransactionContext::new(
                "transaction",
                "root span",
            ));
            let tx_request = sentry::protocol::Request {
                url: Some("https://honk.beep".parse().expect("a URL")),
                method: Some("GET".to_string()),
                ..Default::default()
            };
            transaction.set_request(tx_request);
            sentry::configure_scope(|scope| scope.set_span(Some(transaction.clone().into())));
            main_span1();
            transaction.finish();
            sentry::configure_scope(|scope| scope.set_span(None));
        }
        let transactions = sink.transactions();
        assert_eq!(transactions.len(), 2, "{style:?}: {transactions:#?}");
        let main = transactions
            .iter()
            .find(|t| t.transaction.as_deref() == Some("transaction"))
            .expect("the main transaction");
        let background = transactions
            .iter()
            .find(|t| t.transaction.as_deref() == Some("background transaction"))
            .expect("the background transaction");
        release_ok(main);
        let main_trace = &main.contexts["trace"];
        assert_eq!(main_trace["op"], "root span");
        let spans = main
            .spans
            .as_ref()
            .and_then(|s| s.as_array())
            .expect("spans");
        let ops: Vec<_> = spans.iter().filter_map(|s| s["op"].as_str()).collect();
        assert_eq!(ops.len(), 2, "span1 and its child span2: {ops:?}");
        let span1 = spans
            .iter()
            .find(|s| s["parent_span_id"] == main_trace["span_id"])
            .expect("span1 under the root");
        assert!(spans
            .iter()
            .any(|s| s["parent_span_id"] == span1["span_id"]));
        let bg_trace = &background.contexts["trace"];
        assert_eq!(bg_trace["trace_id"], main_trace["trace_id"], "one trace");
        assert_eq!(bg_trace["parent_span_id"], span1["span_id"]);
        assert_eq!(
            main.request.as_ref().and_then(|r| r.method.as_deref()),
            Some("GET")
        );
    }
}

/// The session updates the sink received, by session id, in the order sent.
fn session_updates(sink: &Sink) -> Vec<sentry::protocol::SessionUpdate<'static>> {
    sink.received()
        .iter()
        .flat_map(|r| r.envelope.items.clone())
        .filter(|i| *i.ty() == sentry::protocol::ItemType::Session)
        .map(|i| sentry::protocol::SessionUpdate::from_slice(&i.payload).expect("session"))
        .collect()
}

#[test]
fn health() {
    use sentry::protocol::SessionStatus;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for style in [Style::Builder, Style::Literal] {
        let sink = Sink::start();
        sentry::configure_scope(|scope| scope.clear());
        {
            // As the example, in both styles (the DSN is the sink's).
            let _sentry = match style {
                Style::Builder => sentry::init(
                    sentry::ClientOptions::new()
                        .dsn(&sink.dsn())
                        // release health requires a release to be set
                        .maybe_release(sentry::release_name!())
                        .debug(true)
                        .shutdown_timeout(FLUSH)
                        // session tracking is started explicitly below
                        .auto_session_tracking(false),
                ),
                Style::Literal => sentry::init((
                    sink.dsn(),
                    sentry::ClientOptions {
                        release: sentry::release_name!(),
                        debug: true,
                        shutdown_timeout: FLUSH,
                        auto_session_tracking: false,
                        ..Default::default()
                    },
                )),
            };
            let handle = thread::spawn(|| {
                // this session will be set to crashed
                sentry::start_session();
                thread::sleep(Duration::from_secs(3));
                panic!("oh no!");
            });
            sentry::start_session();
            sentry::capture_message(
                "anything with a level >= Error will increase the error count",
                sentry::Level::Error,
            );
            // or any error that has an explicit exception attached
            let err = "NaN".parse::<usize>().unwrap_err();
            sentry::capture_error(&err);
            thread::sleep(Duration::from_secs(2));
            // this session will have an error count of 2, but otherwise a clean exit.
            sentry::end_session();
            handle.join().ok();
        }
        sink.wait_for_events(3, Duration::from_secs(10));
        assert_eq!(sink.events().len(), 3, "two errors and the panic");
        let updates = session_updates(&sink);
        let mut sids: Vec<_> = updates.iter().map(|u| u.session_id).collect();
        sids.dedup();
        sids.sort();
        sids.dedup();
        assert_eq!(sids.len(), 2, "{updates:#?}");
        let last_of = |status: SessionStatus| {
            updates
                .iter()
                .find(|u| u.status == status)
                .unwrap_or_else(|| panic!("no {status} update in {updates:#?}"))
        };
        let exited = last_of(SessionStatus::Exited);
        assert_eq!(exited.errors, 2);
        assert!(exited.duration.is_some());
        let crashed = last_of(SessionStatus::Crashed);
        assert_ne!(crashed.session_id, exited.session_id);
        assert!(
            crashed.init,
            "the thread's session is sent first with its crash"
        );
        for u in &updates {
            assert!(u.attributes.release.starts_with("sentry-log@"));
        }
        for sid in sids {
            let inits = updates
                .iter()
                .filter(|u| u.session_id == sid && u.init)
                .count();
            assert_eq!(inits, 1, "{sid}: {updates:#?}");
        }
    }
}
