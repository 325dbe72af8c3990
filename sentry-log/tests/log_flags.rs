//! The `log` adapter's filter written as for the official `sentry-log`: flags combined
//! with `|`, and `Exception` (its own binary: the logger is process-wide).

mod support;

use std::sync::Once;

use sentry_client::test::with_captured_events;
use sentry_log::{LogFilter, SentryLogger};
use support::crumb_messages;

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        SentryLogger::new()
            // A closure reading the level and target, as for the official `&Metadata`.
            .filter(|md| match md.level() {
                log::Level::Error if md.target() == "both" => {
                    LogFilter::Breadcrumb | LogFilter::Event
                }
                log::Level::Error => LogFilter::Exception,
                log::Level::Warn => LogFilter::Breadcrumb,
                _ => LogFilter::Ignore,
            })
            .install()
            .expect("the only logger of this test binary");
    });
}

#[test]
fn combined_flags_give_a_breadcrumb_and_an_event() {
    setup();
    let events = with_captured_events(|| {
        log::error!(target: "both", "first");
        log::warn!("then");
        log::error!(target: "both", "second");
    });
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].message_text(), Some("first"));
    assert!(events[0].exception.values.is_empty());
    // The breadcrumb of a record is added before its event is captured, so the second
    // event carries all three.
    assert_eq!(crumb_messages(&events[1]), ["first", "then", "second"]);
}

#[test]
fn exception_makes_an_exception_event_from_the_record() {
    setup();
    let events = with_captured_events(|| log::error!(target: "payments", "card declined"));
    assert_eq!(events.len(), 1);
    let ex = &events[0].exception.values;
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].ty.as_deref(), Some("payments"));
    assert_eq!(ex[0].value.as_deref(), Some("card declined"));
    assert_eq!(
        ex[0].mechanism.as_ref().and_then(|m| m.ty.as_deref()),
        Some("log")
    );
    // With an `error` value the chain is the error's.
    let err = "x".parse::<u8>().unwrap_err();
    let events = with_captured_events(|| log::error!(error:err = err; "bad input"));
    assert_eq!(
        events[0].exception.values[0].ty.as_deref(),
        Some("ParseIntError")
    );
}
