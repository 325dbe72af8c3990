//! The single writer: durable group commit.
//!
//! Handlers hand prepared events, and the records written beside them
//! ([`SideRecord`]: logs, sessions, ...), through a bounded queue to one thread, which
//! takes everything waiting (up to `max_batch`), commits it in one transaction and only
//! then answers each handler. Many concurrent requests thus share one commit (and one fsync),
//! and an event is acknowledged only once it is on disk. A full queue is refused at once
//! (the handler answers 503 with `Retry-After`): memory stays bounded under overload.
//!
//! On SQLite there is one writer thread (one write connection). A backend whose
//! transactions may run side by side ([`Store::writer_threads`], PostgreSQL) gets several
//! threads taking batches from the same queue, so that the round trips and the commit
//! wait of one batch overlap with the next; how many is the store's default unless
//! [`WriterConfig::threads`] (`serve --writer-threads`) says otherwise.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use tokio::sync::oneshot;

use crate::config::WriterConfig;
use crate::metrics::Metrics;
use crate::store::{NewEvent, SideRecord, Store, StoreError, WriteOutcome};

/// Why an event could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The queue is full: the server is saturated.
    #[error("the writer queue is full")]
    QueueFull,
    /// The writer has stopped (shutdown).
    #[error("the writer is shut down")]
    Closed,
    /// The database refused the event.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The batch failed without a store error (a panic in the store, or a missing
    /// outcome); nothing of it is acknowledged.
    #[error("the batch failed: {0}")]
    Failed(String),
    /// No answer from the writer in time (used by callers that bound their wait).
    #[error("no answer from the writer in time")]
    TimedOut,
}

/// What the writer answers for one queued item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// An event, and what became of it.
    Event(WriteOutcome),
    /// A side record, committed.
    Record,
}

type Reply = oneshot::Sender<Result<Written, WriteError>>;

/// A receiver of the writer's answer for one queued item.
pub type Answer = oneshot::Receiver<Result<Written, WriteError>>;

enum Work {
    // Boxed: a queued side record is far smaller than an event.
    Event(Box<NewEvent>),
    Record(SideRecord),
}

struct Job {
    work: Work,
    reply: Option<Reply>,
}

/// A cheap, cloneable handle to the writer.
#[derive(Clone)]
pub struct Writer {
    tx: Sender<Job>,
    capacity: usize,
    alive: Arc<AtomicBool>,
}

/// Owns the writer thread; [`WriterThread::shutdown`] drains the queue and joins it.
pub struct WriterThread {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread.
    pub fn spawn(
        store: Arc<dyn Store>,
        config: &WriterConfig,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(Writer, WriterThread)> {
        let (tx, rx) = bounded(config.queue_capacity.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let max_batch = config.max_batch.max(1);
        // Any writer thread that exits (it only does at shutdown, or if something
        // escaped the per-batch guard) marks the writer as gone: handlers then fail fast.
        let alive = Arc::new(AtomicBool::new(true));
        let mut handles = Vec::new();
        let threads = config
            .threads
            .unwrap_or_else(|| store.writer_threads())
            .clamp(1, store.max_writer_threads().max(1));
        for n in 0..threads {
            let (store, rx, metrics) = (store.clone(), rx.clone(), metrics.clone());
            let thread_stop = stop.clone();
            let exited = ClearOnExit(alive.clone());
            handles.push(
                std::thread::Builder::new()
                    .name(format!("sentry-lite-writer-{n}"))
                    .spawn(move || {
                        let _exited = exited;
                        run(store, rx, max_batch, metrics, thread_stop)
                    })?,
            );
        }
        Ok((
            Writer {
                tx,
                capacity: config.queue_capacity.max(1),
                alive,
            },
            WriterThread { stop, handles },
        ))
    }

    /// Queues events and side records and returns receivers for their outcomes (the
    /// events' first); nothing is queued unless there is room for all of them (an
    /// envelope is accepted whole or not at all).
    pub fn write_all(
        &self,
        events: Vec<NewEvent>,
        side: Vec<SideRecord>,
    ) -> Result<Vec<Answer>, WriteError> {
        let n = events.len() + side.len();
        if self.tx.len() + n > self.capacity {
            return Err(WriteError::QueueFull);
        }
        let mut receivers = Vec::with_capacity(n);
        let work = events
            .into_iter()
            .map(|e| Work::Event(Box::new(e)))
            .chain(side.into_iter().map(Work::Record));
        for work in work {
            let (reply, rx) = oneshot::channel();
            self.enqueue(work, Some(reply))?;
            receivers.push(rx);
        }
        Ok(receivers)
    }

    /// Queues an event without waiting for the outcome (UDP has nobody to answer).
    pub fn write_detached(&self, event: NewEvent) -> Result<(), WriteError> {
        self.enqueue(Work::Event(Box::new(event)), None)
    }

    /// Queues a side record without waiting for the outcome.
    pub fn write_record_detached(&self, record: SideRecord) -> Result<(), WriteError> {
        self.enqueue(Work::Record(record), None)
    }

    fn enqueue(&self, work: Work, reply: Option<Reply>) -> Result<(), WriteError> {
        self.tx.try_send(Job { work, reply }).map_err(|e| match e {
            TrySendError::Full(_) => WriteError::QueueFull,
            TrySendError::Disconnected(_) => WriteError::Closed,
        })
    }

    /// Whether the writer thread is still running (false once it has exited, for
    /// whatever reason: `/healthz` reports it, and queuing then fails at once).
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Events waiting in the queue.
    pub fn queue_len(&self) -> usize {
        self.tx.len()
    }

    /// The queue capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl WriterThread {
    /// Stops the writer after it has committed everything already queued.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }

    /// Whether a writer thread is still running.
    pub fn is_running(&self) -> bool {
        self.handles.iter().any(|h| !h.is_finished())
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

fn run(
    store: Arc<dyn Store>,
    rx: Receiver<Job>,
    max_batch: usize,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) if stop.load(Ordering::SeqCst) => return,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(&*store, &mut batch, &metrics);
    }
}

/// Clears the flag when dropped: on the thread's return and on its unwinding alike.
struct ClearOnExit(Arc<AtomicBool>);

impl Drop for ClearOnExit {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

fn commit(store: &dyn Store, batch: &mut Vec<Job>, metrics: &Metrics) {
    let started = Instant::now();
    let mut events = Vec::new();
    let mut side = Vec::new();
    let mut event_replies = Vec::new();
    let mut side_replies = Vec::new();
    for job in batch.drain(..) {
        match job.work {
            Work::Event(e) => {
                events.push(*e);
                event_replies.push(job.reply);
            }
            Work::Record(r) => {
                side.push(r);
                side_replies.push(job.reply);
            }
        }
    }
    // A panic in the store fails this batch (answered below), not the writer thread.
    let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.write_records(&events, &side)
    }));
    let failure = match &written {
        Err(panic) => Some(
            panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic in the store".into()),
        ),
        Ok(o) if o.events.len() != events.len() || o.side.len() != side.len() => Some(format!(
            "{} outcomes for {} events and {} for {} records",
            o.events.len(),
            events.len(),
            o.side.len(),
            side.len()
        )),
        Ok(_) => None,
    };
    metrics
        .commit_seconds
        .observe(started.elapsed().as_secs_f64());
    metrics
        .batch_size
        .observe((events.len() + side.len()) as f64);
    let (event_outcomes, side_outcomes): (Vec<Result<Written, WriteError>>, Vec<_>) = match (
        written, failure,
    ) {
        (Ok(outcome), None) => (
            outcome
                .events
                .into_iter()
                .map(|o| o.map(Written::Event).map_err(WriteError::from))
                .collect(),
            outcome
                .side
                .into_iter()
                .map(|o| o.map(|()| Written::Record).map_err(WriteError::from))
                .collect(),
        ),
        (_, failure) => {
            let why = failure.unwrap_or_default();
            tracing::error!(error = %why, events = events.len(), records = side.len(), "batch failed");
            let failed = |n: usize| -> Vec<Result<Written, WriteError>> {
                (0..n)
                    .map(|_| Err(WriteError::Failed(why.clone())))
                    .collect()
            };
            (failed(events.len()), failed(side.len()))
        }
    };
    for (outcome, reply) in event_outcomes.into_iter().zip(event_replies) {
        match &outcome {
            Ok(Written::Event(WriteOutcome::Duplicate)) => {
                metrics.events_duplicate.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {
                metrics.events_accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                metrics.reject("storage_error");
                tracing::error!(error = %e, "failed to store an event");
            }
        }
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
    }
    for (outcome, reply) in side_outcomes.into_iter().zip(side_replies) {
        if let Err(e) = &outcome {
            metrics.reject("storage_error");
            tracing::error!(error = %e, "failed to store a record");
        }
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SqliteStore, Synchronous};

    fn event(project_id: i64, id: &str) -> NewEvent {
        let e = sentry_client::protocol::Event::from_slice(br#"{"message":"m"}"#).expect("event");
        let mut n = crate::ingest::prepare_event(project_id, &e, b"{}", None, 1).expect("prepare");
        n.event_id = id.to_owned();
        n
    }

    #[test]
    fn writer_threads_follow_the_config_within_what_the_store_allows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Arc::new(SqliteStore::open(&dir.path().join("db"), Synchronous::Normal).expect("open"));
        let metrics = Arc::new(Metrics::default());
        for asked in [None, Some(1), Some(4)] {
            let config = WriterConfig {
                threads: asked,
                ..WriterConfig::default()
            };
            let (_writer, thread) =
                Writer::spawn(store.clone(), &config, metrics.clone()).expect("spawn");
            assert_eq!(thread.handles.len(), 1, "SQLite has one writer ({asked:?})");
            thread.shutdown();
        }
    }

    #[test]
    fn commits_then_answers_and_refuses_when_full() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Arc::new(SqliteStore::open(&dir.path().join("db"), Synchronous::Normal).expect("open"));
        use crate::app::{projects, teams, Caller};
        let operator = Caller::operator();
        teams::create(store.as_ref(), &operator, "t", Some("T"), None).expect("team");
        let owner = projects::NewOwner::Nobody;
        let (_, project, _) =
            projects::create(store.as_ref(), &operator, "t", "p", Some("P"), owner)
                .expect("project");
        let pid = project.id;
        let metrics = Arc::new(Metrics::default());
        let config = WriterConfig {
            queue_capacity: 2,
            max_batch: 8,
            threads: None,
        };
        let (writer, thread) =
            Writer::spawn(store.clone(), &config, metrics.clone()).expect("spawn");
        // An envelope that does not fit the queue is refused whole, nothing queued.
        let refused = writer.write_all(
            vec![event(pid, "a"), event(pid, "b"), event(pid, "c")],
            Vec::new(),
        );
        assert!(matches!(refused, Err(WriteError::QueueFull)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        let mut receivers = writer
            .write_all(vec![event(pid, "d")], Vec::new())
            .expect("queue");
        let outcome = rt
            .block_on(receivers.remove(0))
            .expect("answer")
            .expect("write");
        assert!(matches!(
            outcome,
            Written::Event(WriteOutcome::Stored {
                new_issue: true,
                ..
            })
        ));
        // Acknowledged means committed: visible to another connection at once.
        assert!(store.event(pid, "d").expect("read").is_some());
        assert_eq!(store.count_events().expect("count"), 1);
        writer.write_detached(event(pid, "e")).expect("queue");
        assert!(writer.is_alive());
        thread.shutdown();
        assert!(!writer.is_alive(), "an exited writer is reported");
        assert_eq!(
            store.count_events().expect("count"),
            2,
            "shutdown drains the queue"
        );
        assert!(matches!(
            writer.write_detached(event(pid, "f")),
            Err(WriteError::Closed)
        ));
        assert_eq!(metrics.events_accepted.load(Ordering::Relaxed), 2);
    }
}
