//! The panic hook never blocks a tokio runtime worker: a panic in a task is captured, the
//! hook returns without waiting for delivery (tokio catches the panic and the process
//! lives on), and the worker delivers the event afterwards.
//!
//! The transport holds every send until the test opens a gate, and `shutdown_timeout`
//! is an hour: a hook that flushed would keep the task (and the join) waiting for as
//! long, so the join finishing while the gate is still shut shows the hook did not wait.
//!
//! This binary holds one test because `init` and the panic hook are process-wide.
#![cfg(feature = "client")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sentry_client::protocol::Event;
use sentry_client::transport::{AsyncTransport, SendFuture, SendResult};
use sentry_client::{ClientOptions, Envelope, Level};
use tokio::sync::Semaphore;

/// Sends complete only once the gate has permits.
struct GatedTransport {
    gate: Arc<Semaphore>,
    events: Arc<Mutex<Vec<Event>>>,
}

impl AsyncTransport for GatedTransport {
    fn send(&self, envelope: Arc<Envelope>) -> SendFuture {
        let gate = Arc::clone(&self.gate);
        let events = Arc::clone(&self.events);
        Box::pin(async move {
            if let Ok(permit) = gate.acquire().await {
                permit.forget();
            }
            if let Some(Ok(event)) = envelope.event() {
                events.lock().expect("events").push(event);
            }
            SendResult::Sent { rate_limits: None }
        })
    }
}

#[inline(never)]
fn load_order(id: &str) -> u32 {
    id.parse().expect("order must be loaded")
}

#[test]
fn panic_in_a_task_is_reported_without_blocking_the_worker() {
    let gate = Arc::new(Semaphore::new(0));
    let events = Arc::new(Mutex::new(Vec::new()));
    let transport = Arc::new(GatedTransport {
        gate: Arc::clone(&gate),
        events: Arc::clone(&events),
    });
    let guard = sentry_client::init(ClientOptions {
        dsn: sentry_client::test::TEST_DSN.parse().ok(),
        transport: Some(Arc::new(transport)),
        shutdown_timeout: Duration::from_secs(3600),
        ..Default::default()
    });
    assert!(guard.is_enabled());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    // Joined from another thread so that a hook that blocks fails the test (after a
    // generous bound) instead of hanging it.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let handle = rt.spawn(async { load_order("") });
    let joiner = std::thread::spawn(move || {
        let joined = rt.block_on(handle);
        let _ = done_tx.send(joined.is_err_and(|e| e.is_panic()));
        // A second task on the same worker still runs while the event is undelivered.
        let after = rt.block_on(rt.spawn(async { 7 }));
        (rt, after.ok())
    });
    let panicked = done_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the task's panic hook blocked the runtime worker");
    assert!(panicked, "the task panicked and tokio caught it");
    let (rt, after) = joiner.join().expect("joiner");
    assert_eq!(
        after,
        Some(7),
        "the runtime worker went on with other tasks"
    );
    assert!(
        events.lock().expect("events").is_empty(),
        "nothing can be delivered before the gate opens"
    );

    // Open the gate: the event the hook captured is delivered.
    gate.add_permits(100);
    assert!(guard.flush(Some(Duration::from_secs(60))), "flushed");
    let events = events.lock().expect("events").clone();
    assert_eq!(events.len(), 1, "the panic was captured once");
    let event = &events[0];
    assert_eq!(event.level, Some(Level::Fatal));
    let exc = &event.exception.values[0];
    assert!(
        exc.value
            .as_deref()
            .is_some_and(|v| v.starts_with("order must be loaded")),
        "{exc:?}"
    );
    assert_eq!(
        exc.mechanism.as_ref().and_then(|m| m.ty.as_deref()),
        Some("panic")
    );
    drop(rt);
}
