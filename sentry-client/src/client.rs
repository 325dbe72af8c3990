//! [`Client`]: the caller-side half of the SDK.
//!
//! A capture call on the caller's thread does only this: check that the client is enabled,
//! apply `sample_rate`, build the event (id, timestamp, level, message or exception chain),
//! take an unresolved backtrace where one is wanted, take the scope snapshot (an `Arc`
//! clone) and `try_send` everything into the bounded queue of the background worker. No
//! symbolication, JSON, I/O or lock held across user code happens here, and nothing in it
//! panics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::backtrace::RawBacktrace;
use crate::delivery::{Job, Worker};
use crate::draft::{
    current_thread, new_event_id, Draft, PendingEvent, StackTarget, TransactionDraft,
};
use crate::integrations::Integration;
use crate::protocol::{DataCategory, DiscardReason, Envelope, Event, Level, Timestamp};
use crate::scope::{Scope, Snapshot};
use crate::transport::{default_transport_factory, Transport};
use crate::ClientOptions;

/// The SDK client: options plus a handle to the background worker.
///
/// Usually created by [`init`](crate::init) and reached through the [`Hub`](crate::Hub);
/// creating one directly is useful for tests and for several clients in one program.
pub struct Client {
    options: Arc<ClientOptions>,
    worker: Option<Worker>,
    /// The transport the worker sends through, for its `flush` and `shutdown`.
    transport: Option<Arc<dyn Transport>>,
    /// The sampling decision needs randomness without a lock: a per-client xorshift state.
    rng: AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("enabled", &self.is_enabled())
            .field("options", &self.options)
            .finish()
    }
}

impl Client {
    /// Creates a client. Without a DSN (and none in `SENTRY_DSN`) it is disabled: no
    /// thread is started and every call returns at once.
    pub fn from_config<O: Into<ClientOptions>>(options: O) -> Client {
        let mut options: ClientOptions = options.into();
        options.apply_env_defaults();
        let integrations: Vec<Arc<dyn Integration>> = options.integrations.clone();
        for integration in &integrations {
            integration.setup(&mut options);
        }
        let seed = crate::random::next_u64() | 1;
        let options = Arc::new(options);
        let (worker, transport) = match &options.dsn {
            // Spotlight without a DSN: the worker runs, and only the copies go anywhere.
            None if options.spotlight.is_some() => {
                let transport: Arc<dyn Transport> =
                    Arc::new(crate::transport::spotlight::SpotlightOnly);
                (
                    start_worker(&options, Arc::clone(&transport)),
                    Some(transport),
                )
            }
            None => (None, None),
            Some(_) => {
                let factory = options
                    .transport
                    .clone()
                    .unwrap_or_else(default_transport_factory);
                match factory.try_create_transport(&options) {
                    Ok(transport) => (
                        start_worker(&options, Arc::clone(&transport)),
                        Some(transport),
                    ),
                    Err(e) => {
                        if options.debug {
                            eprintln!("[sentry-client] cannot create transport: {e}; disabled");
                        }
                        (None, None)
                    }
                }
            }
        };
        Client {
            options,
            worker,
            transport,
            rng: AtomicU64::new(seed),
        }
    }

    /// The options the client was created with (after environment defaults).
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Whether events are captured (a DSN is set and the client is not closed).
    pub fn is_enabled(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| !w.is_closed())
    }

    /// Captures an event with an optional scope; returns its id, or the nil id when the
    /// event was not queued (disabled, sampled out, queue full).
    pub fn capture_event(&self, event: Event, scope: Option<&Scope>) -> Uuid {
        self.capture_pending(
            event,
            scope.map(|s| Snapshot::plain(Arc::new(s.clone()))),
            Vec::new(),
        )
    }

    /// Queues a ready-made envelope (e.g. with custom items) for sending as is.
    pub fn send_envelope(&self, envelope: Envelope) {
        self.submit_envelope(envelope, DataCategory::Default);
    }

    /// Queues an envelope; a full queue counts it as a discard of `category`. Returns
    /// whether it was queued.
    pub(crate) fn submit_envelope(&self, envelope: Envelope, category: DataCategory) -> bool {
        match &self.worker {
            Some(w) => w.submit(Job::Envelope(Box::new(envelope)), category),
            None => false,
        }
    }

    /// Waits until every queued event is sent (or settled: dropped, spooled) or the
    /// timeout passes (default: `shutdown_timeout`). Returns whether everything settled.
    /// Request-mode session aggregates are sent first.
    pub fn flush(&self, timeout: Option<Duration>) -> bool {
        let timeout = timeout.unwrap_or(self.options.shutdown_timeout);
        let started = std::time::Instant::now();
        let settled = match &self.worker {
            Some(w) => {
                self.flush_sessions();
                w.flush(timeout)
            }
            None => true,
        };
        // Then what the transport holds itself (a transport of the official shape
        // may queue).
        let left = timeout.saturating_sub(started.elapsed());
        let sent = self.transport.as_ref().is_none_or(|t| t.flush(left));
        settled && sent
    }

    /// Queues a session job (internal category `session`).
    pub(crate) fn submit_session(&self, job: crate::session::SessionJob) {
        if let Some(w) = &self.worker {
            w.submit(Job::Session(job), DataCategory::Session);
        }
    }

    /// Queues a check-in (category `monitor`); `false` if it was not queued.
    pub(crate) fn submit_check_in(&self, check_in: crate::protocol::MonitorCheckIn) -> bool {
        match &self.worker {
            Some(w) => w.submit(Job::CheckIn(Box::new(check_in)), DataCategory::Monitor),
            None => false,
        }
    }

    fn flush_sessions(&self) {
        if self.options.session_mode == crate::session::SessionMode::Request {
            self.submit_session(crate::session::SessionJob::Flush);
        }
    }

    /// Flushes, then stops the worker; envelopes still unsent at the timeout go to the
    /// spool when there is one. Capturing afterwards does nothing. Returns whether
    /// everything was settled in time.
    pub fn close(&self, timeout: Option<Duration>) -> bool {
        let timeout = timeout.unwrap_or(self.options.shutdown_timeout);
        let started = std::time::Instant::now();
        let settled = match &self.worker {
            Some(w) => {
                self.flush_sessions();
                w.close(timeout)
            }
            None => true,
        };
        let left = timeout.saturating_sub(started.elapsed());
        let sent = self.transport.as_ref().is_none_or(|t| t.shutdown(left));
        settled && sent
    }

    /// The discards counted so far and not yet reported, by reason and category.
    pub fn pending_discards(&self) -> Vec<(DiscardReason, DataCategory, u64)> {
        match &self.worker {
            Some(w) => w.shared().discards.snapshot(),
            None => Vec::new(),
        }
    }

    /// Queues a log for the worker (a full queue drops it, counted for `log_item`).
    pub(crate) fn submit_log(&self, pending: crate::logs::PendingLog) {
        if let Some(w) = &self.worker {
            w.submit(Job::Log(pending), DataCategory::LogItem);
        }
    }

    /// Queues a metric for the worker (a full queue drops it, counted for `trace_metric`).
    pub(crate) fn submit_metric(&self, pending: crate::metrics::PendingMetric) {
        if let Some(w) = &self.worker {
            w.submit(Job::Metric(pending), DataCategory::TraceMetric);
        }
    }

    /// Applies `sample_rate`; a sampled-out event is counted.
    pub(crate) fn sample_should_send(&self) -> bool {
        let rate = self.options.sample_rate;
        if rate >= 1.0 {
            return true;
        }
        let keep = rate > 0.0 && self.random_unit() < f64::from(rate);
        if !keep {
            self.record_discard(DiscardReason::SampleRate, 1);
        }
        keep
    }

    pub(crate) fn random_unit(&self) -> f64 {
        // xorshift64*: lock-free and good enough for sampling decisions.
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn record_discard(&self, reason: DiscardReason, n: u64) {
        if let Some(w) = &self.worker {
            w.shared().discards.record(reason, DataCategory::Error, n);
        }
    }

    /// The stack of the current thread, if `attach_stacktrace` asks for one.
    pub(crate) fn maybe_stack(&self) -> Option<RawBacktrace> {
        if self.options.attach_stacktrace {
            Some(RawBacktrace::capture())
        } else {
            None
        }
    }

    /// Queues an event with its unresolved stacks. Sampling is the caller's job.
    pub(crate) fn capture_pending(
        &self,
        mut event: Event,
        scope: Option<Snapshot>,
        stacks: Vec<(StackTarget, RawBacktrace)>,
    ) -> Uuid {
        // An event built with `..Default::default()` has the nil id ("not set"): it gets
        // one here, so that the caller learns it, and the current time when it has none (the
        // official crate's default event carries both already).
        if event.event_id.is_nil() {
            event.event_id = new_event_id();
        }
        if event.timestamp.is_none() {
            event.timestamp = Some(Timestamp::now());
        }
        self.submit_draft(Draft::Event(Box::new(event)), scope, stacks)
    }

    fn submit_draft(
        &self,
        draft: Draft,
        scope: Option<Snapshot>,
        stacks: Vec<(StackTarget, RawBacktrace)>,
    ) -> Uuid {
        let Some(worker) = &self.worker else {
            return Uuid::nil();
        };
        let id = draft.id();
        let pending = PendingEvent {
            draft,
            scope,
            stacks,
        };
        if worker.submit(Job::Event(pending), DataCategory::Error) {
            id
        } else {
            Uuid::nil()
        }
    }

    /// Queues a finished transaction (an event of type `transaction`); the worker
    /// applies `scope` and the client's defaults and sends it as a `transaction` item.
    pub(crate) fn capture_transaction(&self, draft: TransactionDraft, scope: Snapshot) -> Uuid {
        let Some(worker) = &self.worker else {
            return Uuid::nil();
        };
        let id = draft.id;
        let pending = PendingEvent {
            draft: Draft::Transaction(Box::new(draft)),
            scope: Some(scope),
            stacks: Vec::new(),
        };
        if worker.submit(Job::Event(pending), DataCategory::Transaction) {
            id
        } else {
            Uuid::nil()
        }
    }

    /// Builds and queues a message event (the fast path of `capture_message`).
    pub(crate) fn capture_message_with(
        &self,
        message: &str,
        level: Level,
        scope: Option<Snapshot>,
    ) -> Uuid {
        let mut stacks = Vec::new();
        let mut thread = None;
        if let Some(raw) = self.maybe_stack() {
            thread = Some(Box::new(current_thread(false)));
            stacks.push((StackTarget::Thread(0), raw));
        }
        let draft = Draft::Message {
            id: new_event_id(),
            timestamp: Timestamp::now(),
            level,
            message: message.to_owned(),
            thread,
        };
        self.submit_draft(draft, scope, stacks)
    }

    /// Builds and queues an error event.
    pub(crate) fn capture_error_with<E: std::error::Error + ?Sized>(
        &self,
        error: &E,
        scope: Option<Snapshot>,
    ) -> Uuid {
        let event = crate::exceptions::event_from_error(error);
        let mut stacks = Vec::new();
        if let Some(raw) = self.maybe_stack() {
            let last = event.exception.values.len().saturating_sub(1);
            stacks.push((StackTarget::Exception(last), raw));
        }
        self.capture_pending(event, scope, stacks)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(w) = &self.worker {
            if !w.is_closed() {
                w.close(self.options.shutdown_timeout);
            }
        }
    }
}

fn start_worker(options: &Arc<ClientOptions>, transport: Arc<dyn Transport>) -> Option<Worker> {
    match Worker::spawn(Arc::clone(options), transport) {
        Ok(w) => Some(w),
        Err(e) => {
            if options.debug {
                eprintln!("[sentry-client] cannot start the worker thread: {e}; disabled");
            }
            None
        }
    }
}
