//! Stack traces: resolved frames with names and lines, in-app marking, SDK frames trimmed,
//! error chain order, source context.
#![cfg(feature = "client")]

use std::fmt;

use sentry_client::protocol::{Event, Frame};
use sentry_client::test::with_captured_events_options;
use sentry_client::{capture_error, capture_message, ClientOptions, Level};

#[derive(Debug)]
enum ConfigError {
    BadPort(std::num::ParseIntError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bad port in configuration")
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::BadPort(e) => Some(e),
        }
    }
}

static CAPTURE_LINE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[inline(never)]
fn load_config() {
    let err = ConfigError::BadPort("80x".parse::<u16>().unwrap_err());
    CAPTURE_LINE.store(line!() + 1, std::sync::atomic::Ordering::SeqCst);
    capture_error(&err);
}

#[inline(never)]
fn start_service() {
    load_config();
    std::hint::black_box(());
}

fn stack_options() -> ClientOptions {
    ClientOptions {
        attach_stacktrace: true,
        ..Default::default()
    }
}

fn frames(event: &Event) -> &[Frame] {
    &event
        .exception
        .values
        .last()
        .and_then(|e| e.stacktrace.as_ref())
        .expect("stack trace on the captured error")
        .frames
}

#[test]
fn error_chain_frames_in_app_and_trimming() {
    let events = with_captured_events_options(start_service, stack_options());
    assert_eq!(events.len(), 1);
    let event = &events[0];

    // Chain order: the deepest source first, the captured error last.
    let chain: Vec<_> = event
        .exception
        .iter()
        .map(|e| {
            (
                e.ty.as_deref().unwrap_or(""),
                e.value.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("ParseIntError", "invalid digit found in string"),
            ("ConfigError", "bad port in configuration"),
        ]
    );

    let frames = frames(event);
    // The innermost frame is our own function at the capture line: every SDK frame
    // (capture, hub, backtrace walking) is trimmed.
    let top = frames.last().expect("frames");
    assert_eq!(top.function.as_deref(), Some("stacktrace::load_config"));
    assert_eq!(top.module.as_deref(), Some("stacktrace"));
    assert_eq!(top.package.as_deref(), Some("stacktrace"));
    assert_eq!(
        top.lineno,
        Some(u64::from(
            CAPTURE_LINE.load(std::sync::atomic::Ordering::SeqCst)
        ))
    );
    assert!(top.colno.is_some());
    assert_eq!(top.in_app, Some(true));
    assert!(top
        .abs_path
        .as_deref()
        .is_some_and(|p| p.ends_with("tests/stacktrace.rs")));
    assert_eq!(top.filename.as_deref(), Some("tests/stacktrace.rs"));
    assert!(top
        .instruction_addr
        .as_deref()
        .is_some_and(|a| a.starts_with("0x")));

    // The caller comes right before it (caller first, crashing frame last).
    let caller = &frames[frames.len() - 2];
    assert_eq!(
        caller.function.as_deref(),
        Some("stacktrace::start_service")
    );
    assert_eq!(caller.in_app, Some(true));

    // Below our code sit the test helper (`Hub::run`) and the harness: resolved, and not
    // in-app. Above it (the capture machinery) nothing remains: `load_config` is last.
    for f in frames {
        let func = f.function.as_deref().unwrap_or("");
        if func.starts_with("sentry_client::") {
            assert_eq!(f.in_app, Some(false), "{func}");
        }
        // No trailing hash on demangled names.
        assert!(
            func.rsplit("::h").next().is_none_or(|h| h.len() != 16),
            "{func}"
        );
        if func.starts_with("std::") || func.starts_with("core::") || func.starts_with("test::") {
            assert_eq!(f.in_app, Some(false), "{func}");
        }
    }
    // The test harness frames are resolved too, and not in-app.
    assert!(frames.iter().any(|f| f
        .function
        .as_deref()
        .is_some_and(|n| n.starts_with("test::"))
        && f.in_app == Some(false)));
    // Source context is off by default.
    assert!(top.context_line.is_none());
}

#[test]
fn message_stack_goes_to_the_current_thread_with_source_context() {
    #[inline(never)]
    fn report() {
        capture_message("with context", Level::Warning);
    }
    let events = with_captured_events_options(
        report,
        ClientOptions {
            attach_stacktrace: true,
            source_context: true,
            ..Default::default()
        },
    );
    let thread = &events[0].threads.values[0];
    assert_eq!(thread.current, Some(true));
    let frames = &thread.stacktrace.as_ref().expect("thread stack").frames;
    let top = frames.last().expect("frame");
    assert!(
        top.function
            .as_deref()
            .is_some_and(|f| f.ends_with("report")),
        "{top:?}"
    );
    assert_eq!(
        top.context_line.as_deref().map(str::trim),
        Some("capture_message(\"with context\", Level::Warning);")
    );
    assert_eq!(top.pre_context.len(), 5);
    assert_eq!(
        top.pre_context.last().map(|s| s.trim()),
        Some("fn report() {")
    );
    assert!(!top.post_context.is_empty());
}

#[test]
fn in_app_exclude_and_no_stack_without_the_option() {
    let events = with_captured_events_options(
        start_service,
        ClientOptions {
            attach_stacktrace: true,
            in_app_exclude: vec!["stacktrace::load_config"],
            ..Default::default()
        },
    );
    let frames = frames(&events[0]);
    assert_eq!(frames.last().and_then(|f| f.in_app), Some(false));
    assert_eq!(frames[frames.len() - 2].in_app, Some(true));

    let events = with_captured_events_options(start_service, ClientOptions::default());
    assert!(events[0].exception.iter().all(|e| e.stacktrace.is_none()));
}
