//! The `log` adapter with a filter closure (its own binary: the logger is process-wide).

mod support;

use std::sync::Once;

use log::LevelFilter;
use sentry_client::test::with_captured_events;
use sentry_client::Level;
use sentry_log::{LogFilter, SentryLogger};
use support::{crumb_messages, take_received, RecordingLogger};

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let logger = SentryLogger::with_dest(RecordingLogger {
            level: LevelFilter::Warn,
        })
        .dest_max_level(LevelFilter::Warn)
        .filter(|record| match (record.level(), record.target()) {
            (_, "noisy") => LogFilter::Ignore,
            (log::Level::Error, "audit") => LogFilter::Breadcrumb,
            (log::Level::Warn, _) => LogFilter::Event,
            (log::Level::Debug, _) => LogFilter::Breadcrumb,
            // Would be an event, but Trace is above `filter_max_level`.
            (log::Level::Trace, _) => LogFilter::Event,
            (level, _) => LogFilter::from_log_level(level),
        })
        .filter_max_level(LevelFilter::Debug);
        assert_eq!(logger.max_level(), LevelFilter::Debug);
        logger
            .install()
            .expect("the only logger of this test binary");
    });
    take_received();
}

#[test]
fn the_filter_reroutes_records() {
    setup();
    let events = with_captured_events(|| {
        log::debug!("debug as breadcrumb");
        log::trace!("trace is above the filter's level");
        log::info!(target: "noisy", "ignored");
        log::error!(target: "audit", "audit error as breadcrumb");
        log::info!("info stays a breadcrumb");
        log::warn!("warning as event");
        log::error!(target: "noisy", "ignored error");
        log::error!("error stays an event");
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
    let expected = [
        "debug as breadcrumb",
        "audit error as breadcrumb",
        "info stays a breadcrumb",
    ];
    assert_eq!(crumb_messages(&events[0]), expected);
    let audit = &events[0].breadcrumbs.values[1];
    assert_eq!(audit.ty.as_deref(), Some("error"));
    assert_eq!(audit.level, Level::Error);
    assert_eq!(
        events[0].breadcrumbs.values[0].level,
        Level::Debug,
        "debug maps to the protocol's debug level"
    );
}

#[test]
fn the_destination_keeps_its_own_level_whatever_the_filter_says() {
    setup();
    with_captured_events(|| {
        log::debug!("sentry only");
        log::info!(target: "noisy", "nobody");
        log::warn!("both");
        log::error!(target: "noisy", "destination only");
    });
    let got: Vec<_> = take_received().into_iter().map(|(_, _, m)| m).collect();
    assert_eq!(got, ["both", "destination only"]);
}
