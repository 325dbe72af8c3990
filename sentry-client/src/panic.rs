//! The panic integration: every panic, on any thread, becomes an event.
//!
//! The hook (installed once by [`init`](crate::init) unless `default_integrations` is
//! off) captures an event with `level: fatal`, one exception of type `panic` whose value
//! is the panic message, `mechanism {type: "panic", handled: false}`, the panicking
//! thread (id and name, `crashed: true`) and that thread's stack (the hook and std's
//! panic machinery trimmed). It then flushes, bounded by `shutdown_timeout`, so that the
//! event is out before a dying process goes (a `panic = "abort"` program, a panicking
//! main thread, a thread whose panic nobody joins), and finally calls the hook that was
//! installed before (by default, the one printing the message to stderr).
//!
//! It does not flush, i.e. it never blocks, on a thread running a tokio task (an async
//! request handler, a spawned task) when panics unwind: tokio catches the panic, the
//! process lives on and the worker delivers the event as usual, while blocking there
//! would stall every other task of that runtime worker for up to `shutdown_timeout`.

use std::panic::{self, PanicHookInfo};
use std::sync::Once;

use crate::backtrace::RawBacktrace;
use crate::delivery::on_worker_thread;
use crate::draft::{current_thread, panic_mechanism, StackTarget};
use crate::protocol::{Event, Exception, Level};
use crate::Hub;
use uuid::Uuid;

static INSTALL: Once = Once::new();

thread_local! {
    static IN_HOOK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// What the hook did for the latest panic on this thread (see [`take_hook_report`]).
    static HOOK_REPORT: std::cell::Cell<Option<Uuid>> = const { std::cell::Cell::new(None) };
}

/// Takes (and clears) what the panic hook did for the latest panic on this thread: the
/// id of the event it captured, the nil id when it ran but sent nothing (disabled client,
/// sampled out), `None` when it has not run since the last call.
///
/// Code that catches panics with `catch_unwind` (e.g. `sentry-tower`) uses it so that a
/// panic is reported exactly once: call it before running the code to clear a stale
/// value, and again after a caught panic; `Some` means the hook already reported it.
pub fn take_hook_report() -> Option<Uuid> {
    HOOK_REPORT.try_with(|r| r.take()).ok().flatten()
}

/// Installs the panic hook (idempotent; the previous hook keeps running after ours).
pub fn install_panic_hook() {
    INSTALL.call_once(|| {
        let next = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            panic_handler(info);
            next(info);
        }));
    });
}

/// The message of a panic payload.
pub fn message_from_panic_info(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// Builds the panic event (without its stack) for `info`.
pub fn event_from_panic_info(info: &PanicHookInfo<'_>) -> Event {
    let mut thread = current_thread(true);
    thread.current = Some(true);
    let mut exception = Exception {
        ty: Some("panic".into()),
        value: Some(message_from_panic_info(info)),
        mechanism: Some(panic_mechanism()),
        thread_id: thread.id.clone(),
        ..Default::default()
    };
    if let Some(loc) = info.location() {
        exception
            .mechanism
            .get_or_insert_with(Default::default)
            .data
            .insert(
                "location".into(),
                format!("{}:{}:{}", loc.file(), loc.line(), loc.column()).into(),
            );
    }
    Event {
        level: Some(Level::Fatal),
        exception: vec![exception].into(),
        threads: vec![thread].into(),
        ..crate::draft::new_event()
    }
}

/// Whether the hook waits for the event to be sent: always when the process aborts on
/// panic; otherwise unless the panic happens in a tokio task, which tokio catches (see
/// the module docs).
fn flush_in_hook() -> bool {
    cfg!(panic = "abort") || tokio::task::try_id().is_none()
}

fn panic_handler(info: &PanicHookInfo<'_>) {
    // Never capture the SDK's own panics (a panicking `before_send` is caught on the
    // worker), and never recurse if capturing itself panics.
    if on_worker_thread() || IN_HOOK.try_with(|f| f.replace(true)).unwrap_or(true) {
        return;
    }
    // Nothing here may panic: a panic inside a panic hook aborts the process.
    let raw = RawBacktrace::capture();
    let event = event_from_panic_info(info);
    let hub = Hub::current();
    let captured = hub.capture_with_stacks(event, vec![(StackTarget::Exception(0), raw)]);
    let id = captured.as_ref().map_or(Uuid::nil(), |(id, _)| *id);
    let _ = HOOK_REPORT.try_with(|r| r.set(Some(id)));
    if let Some((_, client)) = captured {
        if flush_in_hook() {
            client.flush(None);
        }
    }
    let _ = IN_HOOK.try_with(|f| f.set(false));
}
