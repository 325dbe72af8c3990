//! The `log` adapter with the default mapping, wrapping a recording logger.
//!
//! `log::set_logger` is process-wide, so this binary installs one logger once
//! ([`setup`]); each test captures into its own hub (`with_captured_events` binds one to
//! the test's thread) and reads what the destination received on its own thread.

mod support;

use std::error::Error;
use std::fmt;
use std::sync::{Arc, Once};

use log::{Level, LevelFilter};
use sentry_client::test::{with_captured_events, with_captured_events_options};
use sentry_client::{ClientOptions, Hub};
use sentry_log::SentryLogger;
use support::{crumb_messages, take_received, RecordingLogger};

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let logger = SentryLogger::with_dest(RecordingLogger {
            level: LevelFilter::Debug,
        })
        .dest_max_level(LevelFilter::Debug);
        assert_eq!(logger.max_level(), LevelFilter::Debug);
        logger
            .install()
            .expect("the only logger of this test binary");
    });
    take_received();
}

#[test]
fn error_becomes_an_event_with_level_message_logger_and_location() {
    setup();
    let mut line = 0;
    let events = with_captured_events(|| {
        let (invoice, tries) = (17, 3);
        line = line!() + 1;
        log::error!(target: "billing::sync", "invoice {} failed after {} tries", invoice, tries);
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.level, Some(sentry_client::Level::Error));
    assert_eq!(e.logger.as_deref(), Some("billing::sync"));
    let entry = e.logentry.as_ref().expect("logentry");
    assert_eq!(
        entry.formatted.as_deref(),
        Some("invoice 17 failed after 3 tries")
    );
    // With run-time arguments `log` gives no template; servers parameterize `formatted`.
    // (Literal arguments are folded into the format string by the compiler, and then
    // the text is the call site's template.)
    assert_eq!(entry.message, None);
    assert_eq!(e.extra["code.namespace"], module_path!());
    assert_eq!(e.extra["code.filepath"], file!());
    assert_eq!(e.extra["code.lineno"], line);
    assert!(e.exception.is_empty());
}

#[test]
fn a_message_without_arguments_is_its_own_template() {
    setup();
    let events = with_captured_events(|| log::error!("cache unavailable"));
    let entry = events[0].logentry.as_ref().expect("logentry");
    assert_eq!(entry.message.as_deref(), Some("cache unavailable"));
    assert_eq!(entry.formatted.as_deref(), Some("cache unavailable"));
    assert_eq!(events[0].logger.as_deref(), Some(module_path!()));
}

#[test]
fn preceding_info_and_warn_are_breadcrumbs_in_order() {
    setup();
    let events = with_captured_events(|| {
        log::info!("step {}", 1);
        log::debug!("not a breadcrumb");
        log::warn!(target: "db", attempt = 2; "slow query");
        log::trace!("not a breadcrumb either");
        log::info!("step 3");
        log::error!("gave up");
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(crumb_messages(e), ["step 1", "slow query", "step 3"]);
    let slow = &e.breadcrumbs.values[1];
    assert_eq!(slow.level, sentry_client::Level::Warning);
    assert_eq!(slow.category.as_deref(), Some("db"));
    assert_eq!(slow.data["attempt"], 2);
    assert_eq!(
        e.breadcrumbs.values[0].category.as_deref(),
        Some(module_path!())
    );
}

#[test]
fn the_wrapped_logger_still_receives_every_record_it_enables() {
    setup();
    let events = with_captured_events(|| {
        log::trace!("below both levels");
        log::debug!("d");
        log::info!("i");
        log::warn!("w");
        log::error!("e");
        log::error!(target: "sentry_client::transport", "sdk diagnostics");
    });
    assert_eq!(events.len(), 1, "the SDK's record is not captured");
    let got: Vec<_> = take_received()
        .into_iter()
        .map(|(level, _, msg)| (level, msg))
        .collect();
    assert_eq!(
        got,
        [
            (Level::Debug, "d".to_owned()),
            (Level::Info, "i".to_owned()),
            (Level::Warn, "w".to_owned()),
            (Level::Error, "e".to_owned()),
            (Level::Error, "sdk diagnostics".to_owned()),
        ]
    );
}

#[test]
fn enabled_answers_for_the_destination_and_the_filter() {
    setup();
    let logger = log::logger();
    let md = |level| log::Metadata::builder().level(level).target("app").build();
    assert!(logger.enabled(&md(Level::Error)));
    assert!(logger.enabled(&md(Level::Debug)), "the destination's level");
    assert!(!logger.enabled(&md(Level::Trace)));
    assert_eq!(log::max_level(), LevelFilter::Debug);

    let alone = SentryLogger::new();
    assert_eq!(alone.max_level(), LevelFilter::Info);
    use log::Log;
    assert!(alone.enabled(&md(Level::Info)));
    assert!(!alone.enabled(&md(Level::Debug)));
    let sdk = log::Metadata::builder()
        .level(Level::Error)
        .target("sentry_client::worker")
        .build();
    assert!(!alone.enabled(&sdk));
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

#[test]
fn an_error_value_becomes_an_exception_chain() {
    setup();
    let events = with_captured_events(|| {
        let err = ConnectError(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        log::error!(error:err = err, host = "db-1"; "startup failed");
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    let chain: Vec<_> = e
        .exception
        .iter()
        .map(|x| (x.ty.clone().unwrap_or_default(), x.value.clone()))
        .collect();
    assert_eq!(
        chain,
        [
            ("Error".to_owned(), Some("connection refused".to_owned())),
            (
                "ConnectError".to_owned(),
                Some("cannot connect to the database".to_owned())
            ),
        ]
    );
    let mech = e.exception.values[1].mechanism.as_ref().expect("mechanism");
    assert_eq!(mech.ty.as_deref(), Some("log"));
    assert_eq!(mech.handled, Some(true));
    assert_eq!(e.message_text(), Some("startup failed"));
    assert_eq!(e.extra["host"], "db-1");
    assert_eq!(e.extra["error"], "cannot connect to the database");
}

#[test]
fn an_error_value_on_a_breadcrumb_is_its_message() {
    setup();
    let events = with_captured_events(|| {
        let err = "x".parse::<u8>().expect_err("not a number");
        log::warn!(error:err = err; "retrying");
        log::error!("out of retries");
    });
    let crumb = &events[0].breadcrumbs.values[0];
    assert_eq!(crumb.message.as_deref(), Some("retrying"));
    assert_eq!(crumb.data["error"], "invalid digit found in string");
    assert!(events[0].exception.is_empty());
}

#[test]
fn the_sdks_own_output_is_never_captured() {
    setup();
    let options = ClientOptions {
        debug: true,
        // A callback that logs would recurse forever without the re-entrancy guard:
        // info → breadcrumb → before_breadcrumb → info → ...
        before_breadcrumb: Some(Arc::new(|crumb| {
            log::info!("before_breadcrumb saw {:?}", crumb.message);
            log::error!("error inside before_breadcrumb");
            Some(crumb)
        })),
        ..Default::default()
    };
    let events = with_captured_events_options(
        || {
            log::error!(target: "sentry_client", "sdk error");
            log::warn!(target: "sentry_client::transport::http", "sdk warning");
            log::error!(target: "sentry_log::tracing", "adapter error");
            log::info!("user breadcrumb");
            // A record logged on the SDK's worker thread, with the test's hub bound there.
            let hub = Hub::current();
            std::thread::Builder::new()
                .name("sentry-client-worker".into())
                .spawn(move || Hub::run(hub, || log::error!("from the worker thread")))
                .expect("spawn")
                .join()
                .expect("join");
            log::error!("user error");
        },
        options,
    );
    assert_eq!(events.len(), 1, "only the user's error: {events:#?}");
    assert_eq!(events[0].message_text(), Some("user error"));
    assert_eq!(crumb_messages(&events[0]), ["user breadcrumb"]);
    let received: Vec<_> = take_received().into_iter().map(|(_, _, m)| m).collect();
    for msg in [
        "sdk error",
        "sdk warning",
        "adapter error",
        "before_breadcrumb saw Some(\"user breadcrumb\")",
        "error inside before_breadcrumb",
        "user error",
    ] {
        assert!(
            received.iter().any(|r| r == msg),
            "{msg:?} reached the destination"
        );
    }
}

#[test]
fn a_thread_with_another_name_does_capture() {
    setup();
    let events = with_captured_events(|| {
        let hub = Hub::current();
        std::thread::Builder::new()
            .name("app-worker".into())
            .spawn(move || Hub::run(hub, || log::error!("from an app thread")))
            .expect("spawn")
            .join()
            .expect("join");
    });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].message_text(), Some("from an app thread"));
}

#[test]
fn without_a_client_nothing_is_captured_and_nothing_breaks() {
    setup();
    log::error!("no hub bound, no client");
    log::info!("no breadcrumb either");
    assert_eq!(take_received().len(), 2);
    let events = with_captured_events(|| log::error!("after"));
    assert_eq!(crumb_messages(&events[0]), Vec::<String>::new());
}
