//! Keeping the adapters from capturing the SDK's own diagnostics or themselves.
//!
//! Three ways a record could loop back into the SDK, and the check for each:
//!
//! - **The SDK's own logging.** Records whose target is in `sentry_client` or
//!   `sentry_log` (the crates' module paths, which are the default `log`/`tracing`
//!   targets) are never captured. The SDK prints its `debug` diagnostics to stderr today,
//!   but a future `log::debug!` in it must not become a breadcrumb either.
//! - **The SDK's worker thread.** Everything that runs there (the HTTP stack of the
//!   transport, `before_send`, integrations) may log; an event captured from there would
//!   be queued to the same worker and could fail and log again. Threads whose name starts
//!   with `sentry-client` are skipped.
//! - **Re-entry on the caller's thread.** A `before_breadcrumb` callback or anything else
//!   the capture path calls may log; while an adapter is capturing on a thread, records
//!   on that thread only go to the wrapped logger / other layers.
//!
//! The wrapped logger (or the other layers) still get every record: only the capture is
//! skipped.

use std::cell::Cell;

/// Crate prefixes whose records are never captured.
const SDK_TARGETS: [&str; 2] = ["sentry_client", "sentry_log"];

/// The thread-name prefix of the SDK's background threads.
const SDK_THREAD_PREFIX: &str = "sentry-client";

/// Whether `target` is the SDK's own (`sentry_client`, `sentry_client::transport`, ...).
pub(crate) fn is_sdk_target(target: &str) -> bool {
    SDK_TARGETS.iter().any(|p| {
        target
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

thread_local! {
    /// Set while an adapter captures on this thread.
    static BUSY: Cell<bool> = const { Cell::new(false) };
    /// 0: not known yet, 1: an SDK thread, 2: another thread.
    static THREAD_KIND: Cell<u8> = const { Cell::new(0) };
}

fn on_sdk_thread() -> bool {
    THREAD_KIND
        .try_with(|kind| {
            if kind.get() == 0 {
                let sdk = std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with(SDK_THREAD_PREFIX));
                kind.set(if sdk { 1 } else { 2 });
            }
            kind.get() == 1
        })
        // Thread-locals already destroyed: be safe and do not capture.
        .unwrap_or(true)
}

/// Marks the thread as capturing until dropped.
#[must_use]
pub(crate) struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        let _ = BUSY.try_with(|b| b.set(false));
    }
}

/// Enters the capture path, or `None` when capturing here would recurse: the thread is
/// already capturing, or it is one of the SDK's own threads.
pub(crate) fn enter() -> Option<CaptureGuard> {
    if on_sdk_thread() {
        return None;
    }
    let entered = BUSY
        .try_with(|b| {
            if b.get() {
                false
            } else {
                b.set(true);
                true
            }
        })
        .unwrap_or(false);
    // Not `then_some(CaptureGuard(()))`: that would build (and drop, clearing the flag)
    // a guard on the refusing path too.
    if entered {
        Some(CaptureGuard(()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_targets_by_crate_path() {
        assert!(is_sdk_target("sentry_client"));
        assert!(is_sdk_target("sentry_client::transport::worker"));
        assert!(is_sdk_target("sentry_log::tracing"));
        assert!(!is_sdk_target("sentry_client_ext"));
        assert!(!is_sdk_target("app::sentry_client"));
        assert!(!is_sdk_target("sentry"));
        assert!(!is_sdk_target(""));
    }

    #[test]
    fn enter_is_not_reentrant() {
        let outer = enter().expect("first entry");
        assert!(enter().is_none(), "nested entry refused");
        assert!(enter().is_none(), "a refusal does not clear the flag");
        drop(outer);
        assert!(enter().is_some(), "free again after the guard drops");
    }

    #[test]
    fn sdk_threads_never_enter() {
        let refused = std::thread::Builder::new()
            .name("sentry-client-worker".into())
            .spawn(|| enter().is_none())
            .expect("spawn")
            .join()
            .expect("join");
        assert!(refused);
        let other = std::thread::Builder::new()
            .name("app-worker".into())
            .spawn(|| enter().is_some())
            .expect("spawn")
            .join()
            .expect("join");
        assert!(other);
    }
}
