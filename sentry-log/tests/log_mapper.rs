//! The `log` adapter with a mapper building `RecordMapping`s, as for the official
//! `sentry-log` (its own binary: the logger is process-wide).

mod support;

use std::sync::Once;

use sentry_client::test::with_captured_events;
use sentry_log::{breadcrumb_from_record, event_from_record, RecordMapping, SentryLogger};
use support::crumb_messages;

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        SentryLogger::new()
            .mapper(|record| match record.target() {
                "combined" => RecordMapping::Combined(
                    vec![
                        RecordMapping::Breadcrumb(breadcrumb_from_record(record)),
                        RecordMapping::Event({
                            let mut e = event_from_record(record);
                            e.tags.insert("mapped", "yes");
                            e
                        }),
                    ]
                    .into(),
                ),
                "crumb" => RecordMapping::Breadcrumb(breadcrumb_from_record(record)),
                _ => RecordMapping::Ignore,
            })
            .install()
            .expect("the only logger of this test binary");
    });
}

#[test]
fn the_mapper_decides_what_is_sent() {
    setup();
    let events = with_captured_events(|| {
        log::debug!(target: "crumb", "a debug crumb");
        log::error!("ignored error");
        log::info!(target: "combined", "both");
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.message_text(), Some("both"));
    assert_eq!(e.tags.get("mapped"), Some("yes"));
    // The breadcrumb of the same record was added before the event was captured.
    assert_eq!(crumb_messages(e), ["a debug crumb", "both"]);
}
