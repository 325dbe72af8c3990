//! The `tracing` layer, next to a recording layer that stands for the `fmt` layer.
//!
//! Subscribers are set per test with `tracing::subscriber::with_default` (thread-local),
//! and each test captures into its own hub.
#![cfg(feature = "tracing")]

mod support;

use std::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex};

use sentry_client::test::{with_captured_events, with_captured_events_options};
use sentry_client::{ClientOptions, Hub, Level};
use sentry_log::LogFilter;
use serde_json::json;
use support::crumb_messages;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Records the message of every event it sees, like a console would print it.
#[derive(Clone, Default)]
struct Console(Arc<Mutex<Vec<String>>>);

struct MessageOf(String);
impl Visit for MessageOf {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Console {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut m = MessageOf(String::new());
        event.record(&mut m);
        if let Ok(mut lines) = self.0.lock() {
            lines.push(format!("{} {}", event.metadata().level(), m.0));
        }
    }
}

impl Console {
    fn lines(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Runs `f` with a console layer and the Sentry layer, capturing into a fresh hub.
fn capture(
    layer: sentry_log::tracing::SentryLayer<
        tracing_subscriber::layer::Layered<Console, tracing_subscriber::Registry>,
    >,
    f: impl FnOnce(),
) -> (Vec<sentry_client::Event>, Vec<String>) {
    let console = Console::default();
    let subscriber = tracing_subscriber::registry()
        .with(console.clone())
        .with(layer);
    let events = with_captured_events(|| tracing::subscriber::with_default(subscriber, f));
    (events, console.lines())
}

#[test]
fn error_becomes_an_event_with_level_message_logger_and_location() {
    let mut line = 0;
    let (events, _) = capture(sentry_log::tracing::layer(), || {
        line = line!() + 1;
        tracing::error!(target: "billing::sync", invoice = 17, paid = false, "invoice {} failed", 17);
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(e.logger.as_deref(), Some("billing::sync"));
    assert_eq!(e.message_text(), Some("invoice 17 failed"));
    assert_eq!(e.extra["invoice"], 17);
    assert_eq!(e.extra["paid"], false);
    assert_eq!(e.extra["code.namespace"], module_path!());
    assert_eq!(e.extra["code.filepath"], file!());
    assert_eq!(e.extra["code.lineno"], line);
    assert!(e.exception.is_empty());
}

#[test]
fn preceding_info_and_warn_are_breadcrumbs_in_order() {
    let (events, _) = capture(sentry_log::tracing::layer(), || {
        tracing::info!("step 1");
        tracing::debug!("not a breadcrumb");
        tracing::warn!(target: "db", attempt = 2, "slow query");
        tracing::trace!("not a breadcrumb either");
        tracing::info!(step = 3, "step {}", 3);
        tracing::error!("gave up");
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(crumb_messages(e), ["step 1", "slow query", "step 3"]);
    let slow = &e.breadcrumbs.values[1];
    assert_eq!(slow.level, Level::Warning);
    assert_eq!(slow.category.as_deref(), Some("db"));
    assert_eq!(slow.data["attempt"], 2);
    assert_eq!(e.breadcrumbs.values[2].data["step"], 3);
}

#[test]
fn the_filter_reroutes_events() {
    let layer = sentry_log::tracing::layer().filter(|event| {
        let md = event.metadata();
        match (*md.level(), md.target()) {
            (_, "noisy") => LogFilter::Ignore,
            (tracing::Level::WARN, _) => LogFilter::Event,
            (tracing::Level::ERROR, "audit") => LogFilter::Breadcrumb,
            (tracing::Level::DEBUG, _) => LogFilter::Breadcrumb,
            (level, _) => LogFilter::from_tracing_level(&level),
        }
    });
    let (events, console) = capture(layer, || {
        tracing::debug!("debug as breadcrumb");
        tracing::info!(target: "noisy", "ignored");
        tracing::error!(target: "audit", "audit error as breadcrumb");
        tracing::warn!("warning as event");
        tracing::error!(target: "noisy", "ignored error");
        tracing::error!("error stays an event");
    });
    let summary: Vec<_> = events
        .iter()
        .map(|e| (e.level, e.message_text().map(str::to_owned)))
        .collect();
    assert_eq!(
        summary,
        [
            (Some(Level::Warning), Some("warning as event".to_owned())),
            (Some(Level::Error), Some("error stays an event".to_owned())),
        ]
    );
    assert_eq!(
        crumb_messages(&events[1]),
        ["debug as breadcrumb", "audit error as breadcrumb"]
    );
    assert_eq!(
        console.len(),
        6,
        "the other layer saw every event: {console:?}"
    );
}

#[test]
fn other_layers_still_see_everything() {
    let (events, console) = capture(sentry_log::tracing::layer(), || {
        tracing::trace!("t");
        tracing::debug!("d");
        tracing::info!("i");
        tracing::error!(target: "sentry_client::transport", "sdk diagnostics");
        tracing::error!("e");
    });
    assert_eq!(events.len(), 1);
    assert_eq!(
        console,
        [
            "TRACE t",
            "DEBUG d",
            "INFO i",
            "ERROR sdk diagnostics",
            "ERROR e"
        ]
    );
}

#[test]
fn enclosing_spans_become_contexts() {
    let (events, _) = capture(sentry_log::tracing::layer(), || {
        let request = tracing::info_span!(
            "request",
            method = "GET",
            path = "/cart",
            user = tracing::field::Empty
        );
        let _r = request.enter();
        request.record("user", 42);
        let db = tracing::debug_span!("query", table = "orders");
        let _d = db.enter();
        let inner = tracing::info_span!("query", table = "items", rows = 3_u64);
        let _i = inner.enter();
        let os = tracing::info_span!("os");
        let _o = os.enter();
        tracing::error!("row missing");
    });
    let e = &events[0];
    let spans: Vec<_> = e
        .contexts
        .iter()
        .filter(|(k, _)| ["request", "query", "query #2", "span os"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        spans,
        [
            (
                "request".to_owned(),
                json!({"method": "GET", "path": "/cart", "user": 42})
            ),
            ("query".to_owned(), json!({"table": "orders"})),
            ("query #2".to_owned(), json!({"table": "items", "rows": 3})),
            ("span os".to_owned(), json!({})),
        ]
    );
}

#[test]
fn fields_recorded_after_creation_are_kept() {
    let (events, _) = capture(sentry_log::tracing::layer(), || {
        // No value at creation: the layer stores nothing until the first `record`.
        let job = tracing::info_span!(
            "job",
            id = tracing::field::Empty,
            state = tracing::field::Empty
        );
        let _j = job.enter();
        job.record("id", 9);
        job.record("state", "loading");
        job.record("state", "failed");
        tracing::error!("job failed");
    });
    assert_eq!(
        events[0].contexts["job"],
        json!({"id": 9, "state": "failed"})
    );
}

#[test]
fn breadcrumbs_do_not_carry_span_fields() {
    let (events, _) = capture(sentry_log::tracing::layer(), || {
        let span = tracing::info_span!("job", id = 9);
        span.in_scope(|| tracing::info!(step = "load", "loading"));
        tracing::error!("failed outside the span");
    });
    let e = &events[0];
    assert!(
        !e.contexts.contains_key("job"),
        "the span was left before the error"
    );
    let crumb = &e.breadcrumbs.values[0];
    assert_eq!(crumb.message.as_deref(), Some("loading"));
    assert_eq!(crumb.data.get("step"), Some(&json!("load")));
    assert_eq!(crumb.data.get("id"), None);
}

#[derive(Debug)]
struct ConnectError(std::io::Error);
impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot connect to the database")
    }
}
impl Error for ConnectError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

fn connect_error() -> ConnectError {
    ConnectError(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "connection refused",
    ))
}

#[test]
fn an_error_field_becomes_an_exception_chain() {
    let (events, _) = capture(sentry_log::tracing::layer(), || {
        let err = connect_error();
        let other = "x".parse::<u8>().expect_err("not a number");
        tracing::error!(
            cause = &other as &dyn Error,
            error = &err as &dyn Error,
            host = "db-1",
            "startup failed"
        );
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    let chain: Vec<_> = e
        .exception
        .iter()
        .map(|x| {
            (
                x.ty.clone().unwrap_or_default(),
                x.value.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("Error".to_owned(), "connection refused".to_owned()),
            (
                "ConnectError".to_owned(),
                "cannot connect to the database".to_owned()
            ),
        ]
    );
    let mech = e.exception.values[1].mechanism.as_ref().expect("mechanism");
    assert_eq!(mech.ty.as_deref(), Some("tracing"));
    assert_eq!(e.message_text(), Some("startup failed"));
    assert_eq!(e.extra["host"], "db-1");
    assert_eq!(
        e.extra["cause"], "invalid digit found in string",
        "an error field that lost to `error` stays in extra"
    );
    assert!(!e.extra.contains_key("error"));
}

#[test]
fn an_error_under_another_name_still_makes_an_exception() {
    let (events, _) = capture(sentry_log::tracing::layer(), || {
        let err = connect_error();
        tracing::error!(reason = &err as &dyn Error, "startup failed");
        tracing::warn!(error = &err as &dyn Error, "only a breadcrumb");
        tracing::error!("next");
    });
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0].exception.values[1].ty.as_deref(),
        Some("ConnectError")
    );
    let crumb = &events[1].breadcrumbs.values[0];
    assert_eq!(crumb.data["error"], "cannot connect to the database");
}

#[test]
fn the_sdks_own_output_is_never_captured() {
    let console = Console::default();
    let subscriber = tracing_subscriber::registry()
        .with(console.clone())
        .with(sentry_log::tracing::layer());
    let dispatch = tracing::Dispatch::new(subscriber);
    let options = ClientOptions {
        debug: true,
        // Without the re-entrancy guard: info → breadcrumb → before_breadcrumb → info ...
        before_breadcrumb: Some(Arc::new(|crumb| {
            tracing::info!("before_breadcrumb ran");
            tracing::error!("error inside before_breadcrumb");
            Some(crumb)
        })),
        ..Default::default()
    };
    let worker_dispatch = dispatch.clone();
    let events = with_captured_events_options(
        || {
            tracing::dispatcher::with_default(&dispatch, || {
                tracing::error!(target: "sentry_client", "sdk error");
                tracing::warn!(target: "sentry_client::transport::http", "sdk warning");
                let span = tracing::info_span!(target: "sentry_client::worker", "send", id = 1);
                span.in_scope(|| tracing::info!("user breadcrumb"));
                let hub = Hub::current();
                std::thread::Builder::new()
                    .name("sentry-client-worker".into())
                    .spawn(move || {
                        tracing::dispatcher::with_default(&worker_dispatch, || {
                            Hub::run(hub, || tracing::error!("from the worker thread"))
                        })
                    })
                    .expect("spawn")
                    .join()
                    .expect("join");
                tracing::error!("user error");
            })
        },
        options,
    );
    assert_eq!(events.len(), 1, "only the user's error: {events:#?}");
    let e = &events[0];
    assert_eq!(e.message_text(), Some("user error"));
    assert_eq!(crumb_messages(e), ["user breadcrumb"]);
    assert!(!e.contexts.contains_key("send"));
    // Events emitted while the subscriber is dispatching (from `before_breadcrumb`) are
    // dropped by `tracing` itself for every layer; everything else reached the console.
    assert_eq!(
        console.lines(),
        [
            "ERROR sdk error",
            "WARN sdk warning",
            "INFO user breadcrumb",
            "ERROR from the worker thread",
            "ERROR user error",
        ]
    );
}

#[test]
fn without_a_client_nothing_is_captured() {
    let console = Console::default();
    let subscriber = tracing_subscriber::registry()
        .with(console.clone())
        .with(sentry_log::tracing::layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!("nobody listens");
        tracing::info!("nor here");
    });
    assert_eq!(console.lines().len(), 2);
    assert!(Hub::current().last_event_id().is_none());
}

#[test]
fn the_official_names_work_event_filter_and_converters() {
    use sentry_log::tracing::{breadcrumb_from_event, event_from_event, EventFilter};
    let layer = sentry_log::tracing::layer().event_filter(|md| match *md.level() {
        tracing::Level::WARN => EventFilter::Breadcrumb | EventFilter::Event,
        _ => EventFilter::Ignore,
    });
    let (events, _) = capture(layer, || {
        tracing::warn!(n = 1, "first");
        tracing::error!("ignored");
        tracing::warn!(n = 2, "second");
    });
    assert_eq!(events.len(), 2);
    let crumbs: Vec<_> = events[1]
        .breadcrumbs
        .iter()
        .filter_map(|b| b.message.as_deref())
        .collect();
    assert_eq!(crumbs, ["first", "second"]);
    assert_eq!(events[1].extra["n"], 2);

    // The converters, called from a layer of one's own.
    struct Convert(std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>);
    impl<S> tracing_subscriber::Layer<S> for Convert
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let crumb =
                breadcrumb_from_event(event, None::<&tracing_subscriber::layer::Context<'_, S>>);
            let ev = event_from_event(event, &ctx);
            let span = ev.contexts.keys().next().cloned().unwrap_or_default();
            if let Ok(mut seen) = self.0.lock() {
                seen.push((crumb.message.unwrap_or_default(), span));
            }
        }
    }
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry().with(Convert(seen.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let _s = tracing::info_span!("job", id = 3).entered();
        tracing::info!("converted");
    });
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(seen, [("converted".to_owned(), "job".to_owned())]);
}

#[test]
fn an_event_mapper_builds_what_is_sent() {
    use sentry_log::tracing::{breadcrumb_from_event, event_from_event, EventMapping};
    let layer =
        sentry_log::tracing::layer().event_mapper(|event, ctx| match *event.metadata().level() {
            tracing::Level::ERROR => EventMapping::Combined(
                vec![
                    EventMapping::Breadcrumb(breadcrumb_from_event(event, &ctx)),
                    EventMapping::Event(Box::new({
                        let mut e = event_from_event(event, &ctx);
                        e.tags.insert("mapped", "yes");
                        e
                    })),
                ]
                .into(),
            ),
            tracing::Level::DEBUG => EventMapping::Breadcrumb(breadcrumb_from_event(event, &ctx)),
            _ => EventMapping::Ignore,
        });
    let (events, _) = capture(layer, || {
        tracing::debug!("a debug crumb");
        tracing::warn!("ignored");
        let _s = tracing::info_span!("job", id = 9).entered();
        tracing::error!("failed");
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.tags.get("mapped"), Some("yes"));
    assert_eq!(e.contexts["job"]["id"], 9);
    let crumbs: Vec<_> = e
        .breadcrumbs
        .iter()
        .filter_map(|b| b.message.as_deref())
        .collect();
    assert_eq!(crumbs, ["a debug crumb", "failed"]);
}
