//! Records and `tracing` events sent as structured logs (`LogFilter::Log`), with their
//! key-values / fields (and span fields) as attributes (its own binary: the `log`
//! logger is process-wide).

use std::sync::Once;

use sentry_client::protocol::LogLevel;
use sentry_client::test::{with_captured_logs, with_captured_logs_options};
use sentry_client::ClientOptions;
use sentry_log::{LogFilter, SentryLogger};
use tracing_subscriber::prelude::*;

fn install_log_adapter() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        SentryLogger::new()
            .filter(|record| match record.level() {
                log::Level::Error => LogFilter::Event | LogFilter::Log,
                _ => LogFilter::Breadcrumb | LogFilter::Log,
            })
            .install()
            .expect("the only logger of this test binary");
    });
}

#[test]
fn log_records_become_logs_with_key_values() {
    install_log_adapter();
    let logs = with_captured_logs(|| {
        log::info!(target: "shop::cart", user = "bob", items = 3, paid = true; "cart of {}", "bob");
        log::debug!("static text");
    });
    assert_eq!(logs.len(), 2);
    let cart = &logs[0];
    assert_eq!(cart.level, LogLevel::Info);
    assert_eq!(cart.body, "cart of bob");
    assert_eq!(cart.attributes["user"].0, "bob");
    assert_eq!(cart.attributes["items"].0, 3);
    assert_eq!(cart.attributes["paid"].0, true);
    assert_eq!(cart.attributes["logger.name"].0, "shop::cart");
    assert_eq!(cart.attributes["sentry.origin"].0, "auto.log.log");
    assert!(cart.attributes.contains_key("code.line.number"));
    assert!(cart.trace_id.is_some());
    assert_eq!(logs[1].level, LogLevel::Debug);
    assert_eq!(
        logs[1].attributes["sentry.message.template"].0,
        "static text"
    );
    // `enable_logs: false` turns the integration's logs off.
    let none = with_captured_logs_options(
        || log::info!("not sent"),
        ClientOptions::new().enable_logs(false),
    );
    assert!(none.is_empty());
}

#[test]
fn tracing_events_become_logs_with_span_fields() {
    let layer = sentry_log::tracing::layer().filter(|event| match *event.metadata().level() {
        tracing::Level::ERROR => LogFilter::Event | LogFilter::Log,
        _ => LogFilter::Log,
    });
    let subscriber = tracing_subscriber::registry().with(layer);
    let logs = with_captured_logs(|| {
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!("request", path = "/cart", user = "outer");
            let _o = outer.enter();
            let inner = tracing::info_span!("db", user = "inner", table = "orders");
            let _i = inner.enter();
            tracing::warn!(rows = 0, "no rows");
            tracing::error!(user = "event", "query failed");
        });
    });
    assert_eq!(logs.len(), 2);
    let warn = &logs[0];
    assert_eq!(warn.level, LogLevel::Warn);
    assert_eq!(warn.body, "no rows");
    assert_eq!(warn.attributes["rows"].0, 0);
    assert_eq!(warn.attributes["path"].0, "/cart");
    assert_eq!(warn.attributes["table"].0, "orders");
    // The inner span's field wins over the outer one's, the event's over both.
    assert_eq!(warn.attributes["user"].0, "inner");
    assert_eq!(logs[1].attributes["user"].0, "event");
    assert_eq!(logs[1].attributes["sentry.origin"].0, "auto.tracing");
}
