//! `log` records bridged into `tracing` by `tracing-log` (what
//! `tracing_subscriber::fmt().init()` sets up) keep their own target and location.
//! Its own binary: `LogTracer` is the process-wide `log` logger.
#![cfg(feature = "tracing")]

mod support;

use sentry_client::test::with_captured_events;
use support::crumb_messages;
use tracing_subscriber::prelude::*;

#[test]
fn bridged_log_records_keep_target_and_location_and_skip_the_sdk() {
    tracing_log::LogTracer::init().expect("the only log logger of this binary");
    let subscriber = tracing_subscriber::registry().with(sentry_log::tracing::layer());
    let mut line = 0;
    let events = with_captured_events(|| {
        tracing::subscriber::with_default(subscriber, || {
            log::info!(target: "app::cache", "warming {} keys", 3);
            log::error!(target: "sentry_client::transport", "sdk error through log");
            line = line!() + 1;
            log::error!(target: "app::db", "pool exhausted");
        })
    });
    assert_eq!(events.len(), 1, "{events:#?}");
    let e = &events[0];
    assert_eq!(e.logger.as_deref(), Some("app::db"));
    assert_eq!(e.message_text(), Some("pool exhausted"));
    assert_eq!(e.extra["code.namespace"], module_path!());
    assert_eq!(e.extra["code.filepath"], file!());
    assert_eq!(e.extra["code.lineno"], line);
    for key in ["log.target", "log.module_path", "log.file", "log.line"] {
        assert!(!e.extra.contains_key(key), "{key} is not repeated in extra");
    }
    assert_eq!(crumb_messages(e), ["warming 3 keys"]);
    assert_eq!(
        e.breadcrumbs.values[0].category.as_deref(),
        Some("app::cache")
    );
}
