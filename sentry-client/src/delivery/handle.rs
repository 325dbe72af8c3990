//! The caller-side handle of the background worker: the bounded queue, the pending
//! count that `flush` waits on, and `close`.
//!
//! [`Worker::submit`] counts a job as *pending* and `try_send`s it into the bounded
//! queue; a full queue drops the job and counts `queue_overflow`. The worker settles a
//! job when it is sent, dropped (and counted), or safely on disk; [`Worker::flush`] waits
//! for zero pending, and [`Worker::close`] flushes, then stops the worker within the
//! timeout.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::{Condvar, PoisonError};

use crate::sync::Mutex;
use tokio::sync::{mpsc, Notify};

use super::discards::Discards;
use super::jobs::{on_worker_thread, Job, Shared, ON_WORKER};
use super::worker::WorkerState;
use crate::protocol::{DataCategory, DiscardReason};
use crate::transport::Transport;
use crate::ClientOptions;

/// The caller-side handle of a worker.
pub(crate) struct Worker {
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
    exited: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl Worker {
    /// Starts the worker thread.
    pub(crate) fn spawn(
        options: Arc<ClientOptions>,
        transport: Arc<dyn Transport>,
    ) -> std::io::Result<Worker> {
        let (tx, rx) = mpsc::channel(options.max_queue_size.max(1));
        let shared = Arc::new(Shared {
            pending: AtomicUsize::new(0),
            lock: Mutex::new(()),
            settled: Condvar::new(),
            discards: Discards::default(),
            closed: AtomicBool::new(false),
            shutdown: Notify::new(),
            deadline: Mutex::new(None),
            debug: options.debug,
        });
        let (exit_tx, exit_rx) = std::sync::mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("sentry-client-worker".into())
            .spawn(move || {
                ON_WORKER.with(|w| w.set(true));
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match rt {
                    Ok(rt) => {
                        let state =
                            WorkerState::new(options, Arc::clone(&thread_shared), transport);
                        rt.block_on(state.run(rx));
                    }
                    Err(e) => thread_shared.log(format_args!("cannot start a tokio runtime: {e}")),
                }
                let _ = exit_tx.send(());
            })?;
        Ok(Worker {
            tx,
            shared,
            exited: Mutex::new(Some(exit_rx)),
        })
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Relaxed)
    }

    /// Queues a job; `false` if it was dropped (queue full: counted; or closed).
    pub(crate) fn submit(&self, job: Job, category: DataCategory) -> bool {
        if self.is_closed() {
            return false;
        }
        self.shared.pending.fetch_add(1, Ordering::AcqRel);
        match self.tx.try_send(job) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.settle(1);
                self.shared
                    .discards
                    .record(DiscardReason::QueueOverflow, category, 1);
                self.shared
                    .log(format_args!("queue full: event dropped (queue_overflow)"));
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.shared.settle(1);
                false
            }
        }
    }

    /// Waits until nothing is pending or the timeout passes.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        if on_worker_thread() {
            // The worker cannot wait for itself.
            return self.shared.pending.load(Ordering::Acquire) == 0;
        }
        let deadline = Instant::now() + timeout;
        let mut guard = self.shared.lock.lock();
        while self.shared.pending.load(Ordering::Acquire) > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = match self.shared.settled.wait_timeout(guard, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => PoisonError::into_inner(poisoned).0,
            };
        }
        true
    }

    /// Flushes, then stops the worker, all within `timeout`.
    pub(crate) fn close(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        let deadline = start + timeout;
        // Keep a slice of the budget for the worker to spool what is left.
        let grace = (timeout / 4).min(Duration::from_millis(250));
        let flushed = self.flush(timeout.saturating_sub(grace));
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return flushed;
        }
        *self.shared.deadline.lock() = Some(deadline);
        self.shared.shutdown.notify_one();
        if on_worker_thread() {
            return flushed;
        }
        if let Some(rx) = self.exited.lock().take() {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = rx.recv_timeout(left);
        }
        flushed
    }
}
