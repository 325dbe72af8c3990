//! `integrations::anyhow` (feature `anyhow`): the chain and the backtrace of an
//! `anyhow::Error` reach the event. Its own binary: it enables backtraces for the process.
#![cfg(feature = "anyhow")]

use sentry_client::integrations::anyhow::{capture_anyhow, event_from_error, AnyhowHubExt};
use sentry_client::test::with_captured_events;
use sentry_client::Hub;

fn failing_step() -> anyhow::Result<()> {
    let n: u32 = "x".parse()?;
    let _ = n;
    Ok(())
}

#[test]
fn chain_and_backtrace_reach_the_event() {
    // anyhow reads this when it captures its first backtrace; nothing else runs here.
    std::env::set_var("RUST_LIB_BACKTRACE", "1");
    let err = failing_step()
        .map_err(|e| e.context("loading settings"))
        .expect_err("fails");
    let event = event_from_error(&err);
    let ex = &event.exception.values;
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].ty.as_deref(), Some("ParseIntError"));
    assert_eq!(ex[1].value.as_deref(), Some("loading settings"));
    let stack = ex[1].stacktrace.as_ref().expect("a stack trace");
    assert!(
        stack.frames.iter().any(|f| f
            .function
            .as_deref()
            .is_some_and(|n| n.contains("failing_step"))
            && f.in_app == Some(true)),
        "{stack:#?}"
    );

    let events = with_captured_events(|| {
        assert!(!capture_anyhow(&err).is_nil());
        assert!(!Hub::current()
            .capture_anyhow(&anyhow::anyhow!("plain"))
            .is_nil());
    });
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].exception.values.len(), 2);
    assert_eq!(
        events[1].exception.values[0].value.as_deref(),
        Some("plain")
    );
}
