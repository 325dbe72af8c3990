//! The panic integration, installed by `init`: a panic in a spawned thread becomes an
//! event with the message, the thread, the `panic` mechanism and the thread's stack,
//! flushed before the hook returns; the previous hook still runs.
//!
//! This binary holds one test because `init` and the panic hook are process-wide.
#![cfg(feature = "client")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sentry_client::protocol::ThreadId;
use sentry_client::test::{TestTransport, TEST_DSN};
use sentry_client::{ClientOptions, Level};

static PREVIOUS_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

#[inline(never)]
fn parse_order(input: &str) -> u32 {
    input.parse::<u32>().expect("order id must be a number")
}

#[test]
fn panic_in_spawned_thread_is_reported() {
    // A hook that stands for the program's own (or std's default) hook.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("previous hook: {info}");
        PREVIOUS_HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
    let transport = TestTransport::new();
    let guard = sentry_client::init(ClientOptions {
        dsn: TEST_DSN.parse().ok(),
        transport: Some(Arc::new(Arc::clone(&transport))),
        // The first stack resolution loads the test binary's debug info, which can take
        // seconds on a busy machine; the hook's flush is bounded by this timeout.
        shutdown_timeout: std::time::Duration::from_secs(30),
        ..Default::default()
    });
    assert!(guard.is_enabled());

    let handle = std::thread::Builder::new()
        .name("order-worker".into())
        .spawn(|| parse_order("12a"))
        .expect("spawn");
    assert!(handle.join().is_err());
    // The hook flushed before returning: the event is already delivered.
    let events = transport.fetch_and_clear_events();
    assert_eq!(
        events.len(),
        1,
        "panic event delivered before the hook returned"
    );
    assert_eq!(
        PREVIOUS_HOOK_CALLS.load(Ordering::SeqCst),
        1,
        "previous hook ran"
    );

    let event = &events[0];
    assert_eq!(event.level, Some(Level::Fatal));
    let exc = &event.exception.values[0];
    assert_eq!(exc.ty.as_deref(), Some("panic"));
    let value = exc.value.as_deref().unwrap_or("");
    assert!(
        value.starts_with("order id must be a number: ParseIntError"),
        "{value}"
    );
    let mech = exc.mechanism.as_ref().expect("mechanism");
    assert_eq!(mech.ty.as_deref(), Some("panic"));
    assert_eq!(mech.handled, Some(false));

    let thread = &event.threads.values[0];
    assert_eq!(thread.name.as_deref(), Some("order-worker"));
    assert_eq!(thread.crashed, Some(true));
    assert!(matches!(thread.id, Some(ThreadId::Int(_))));
    assert_eq!(exc.thread_id, thread.id);

    let frames = &exc.stacktrace.as_ref().expect("stack").frames;
    // The hook and std's panic machinery are trimmed: the innermost frames are the
    // `expect` failure path and then our function.
    let ours = frames
        .iter()
        .rposition(|f| f.function.as_deref() == Some("panic::parse_order"))
        .expect("our frame");
    for f in &frames[ours..] {
        let func = f.function.as_deref().unwrap_or("");
        assert!(!func.starts_with("sentry_client::"), "{func}");
        assert!(
            !func.contains("panicking::"),
            "{func} in {:#?}",
            frames
                .iter()
                .map(|f| f.function.clone())
                .collect::<Vec<_>>()
        );
    }
    assert!(frames.iter().all(|f| !f
        .function
        .as_deref()
        .unwrap_or("")
        .starts_with("sentry_client::")));
    assert_eq!(frames[ours].in_app, Some(true));
    assert!(frames[ours].lineno.is_some());
    assert!(
        frames.len() - ours <= 4,
        "only the unwrap/expect helpers sit above our frame: {:?}",
        frames[ours..]
            .iter()
            .map(|f| f.function.clone())
            .collect::<Vec<_>>()
    );
    // A panic on the main thread of this test is reported as well, after the first.
    let r = std::panic::catch_unwind(|| panic!("second"));
    assert!(r.is_err());
    let events = transport.fetch_and_clear_events();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].exception.values[0].value.as_deref(),
        Some("second")
    );
    drop(guard);
}
