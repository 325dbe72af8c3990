//! What the caller side and the worker thread share: the [`Job`]s of the queue, the
//! [`Shared`] counters and discards, and whether the current thread is a worker. A leaf
//! of `delivery`: the handle and the worker both use it, it uses neither.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Condvar;
use std::time::Instant;

use tokio::sync::Notify;

use super::discards::Discards;
use crate::draft::PendingEvent;
use crate::protocol::Envelope;
use crate::sync::Mutex;

/// Work for the worker.
pub(crate) enum Job {
    /// An event to finish and send.
    Event(PendingEvent),
    /// A ready envelope to send as is.
    Envelope(Box<Envelope>),
    /// A structured log to finish and batch.
    Log(crate::logs::PendingLog),
    /// A metric to finish and batch.
    Metric(crate::metrics::PendingMetric),
    /// A release-health session update, end or flush.
    Session(crate::session::SessionJob),
    /// A cron monitor check-in, serialized on the worker.
    CheckIn(Box<crate::protocol::MonitorCheckIn>),
}

/// State shared between the caller side and the worker thread.
pub(crate) struct Shared {
    pub(super) pending: AtomicUsize,
    pub(super) lock: Mutex<()>,
    pub(super) settled: Condvar,
    pub(crate) discards: Discards,
    pub(super) closed: AtomicBool,
    pub(crate) shutdown: Notify,
    /// When the worker must be gone (set by `close`).
    pub(crate) deadline: Mutex<Option<Instant>>,
    pub(super) debug: bool,
    /// `flush` calls waiting: while there are any, the worker sends its batches as
    /// soon as the queue is empty.
    pub(super) flushing: AtomicUsize,
    /// Wakes the worker when a flush starts.
    pub(crate) wake: Notify,
}

impl Shared {
    pub(crate) fn settle(&self, n: usize) {
        if n == 0 {
            return;
        }
        if self.pending.fetch_sub(n, Ordering::AcqRel) == n {
            let _guard = self.lock.lock();
            self.settled.notify_all();
        }
    }

    /// Whether a `flush` is waiting.
    pub(crate) fn flushing(&self) -> bool {
        self.flushing.load(Ordering::Acquire) > 0
    }

    pub(crate) fn log(&self, msg: std::fmt::Arguments<'_>) {
        if self.debug {
            eprintln!("[sentry-client] {msg}");
        }
    }
}

thread_local! {
    pub(super) static ON_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is a worker thread (where the SDK must not capture or
/// wait for itself).
pub(crate) fn on_worker_thread() -> bool {
    ON_WORKER.try_with(|w| w.get()).unwrap_or(false)
}
