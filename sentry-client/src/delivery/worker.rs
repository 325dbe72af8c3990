//! The background worker: one named thread per client with its own current-thread tokio
//! runtime (started by [`Worker::spawn`](super::Worker::spawn)).
//!
//! The worker takes jobs from the bounded queue, finishes events ([`Pipeline`]), drops items whose category is rate limited
//! (`ratelimit_backoff`), attaches due client reports, and sends up to
//! `max_in_flight` envelopes at once. A transient failure (network error, 5xx) moves the
//! envelope to the spool (when configured) or to a bounded in-memory retry buffer, and
//! the worker probes again after an exponential backoff with jitter; a success drains
//! what waits. A job stops being pending when it is sent, dropped (and counted), or
//! safely on disk.
//!
//! At shutdown, whatever is still queued, in flight or waiting for a retry goes to the
//! spool when there is one, and pending discard counts are sent as a client report.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::batch::Batches;
use super::jobs::{Job, Shared};
use super::pipeline::Pipeline;
use super::ratelimit::RateLimits;
use super::spool::{Spool, SpoolEntry};
use crate::protocol::{DataCategory, DiscardReason, Envelope, ItemType, Limits};
use crate::session::SessionWorker;
use crate::transport::spotlight::SpotlightSender;
use crate::transport::{self, SendResult, Transport};
use crate::ClientOptions;

mod batches;
mod shutdown;

/// An envelope on its way out.
struct Outgoing {
    envelope: Arc<Envelope>,
    /// How many pending units of queued jobs it holds (a batch: one per entry).
    counted: usize,
    /// The spool file it came from.
    spooled: Option<SpoolEntry>,
    attempts: u32,
}

impl Outgoing {
    /// The categories of its items with their quantities (a container item counts its
    /// entries).
    fn event_items(&self) -> Vec<(DataCategory, u64)> {
        self.envelope
            .items
            .iter()
            .filter_map(|i| Some((i.ty().data_category()?, i.headers.item_count.unwrap_or(1))))
            .filter(|(c, _)| *c != DataCategory::Internal)
            .collect()
    }
}

/// Retries of one envelope before it is dropped when there is no spool.
const MAX_ATTEMPTS: u32 = 12;
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long the worker waits before taking new jobs after a batch.
const LINGER: Duration = Duration::from_millis(1);
/// Jobs taken from the queue in one go.
const MAX_BATCH: usize = 512;

pub(crate) struct WorkerState {
    options: Arc<ClientOptions>,
    shared: Arc<Shared>,
    transport: Arc<dyn Transport>,
    pipeline: Pipeline,
    limits: RateLimits,
    max_in_flight: usize,
    in_flight: JoinSet<(u64, SendResult)>,
    flying: HashMap<u64, Outgoing>,
    next_key: u64,
    retry: VecDeque<Outgoing>,
    spool: Option<Spool>,
    /// Consecutive transient failures; while > 0 only one probe is in flight.
    failures: u32,
    probing: bool,
    next_retry: Option<Instant>,
    last_report: Instant,
    batches: Batches,
    spotlight: Option<SpotlightSender>,
    sessions: SessionWorker,
}

impl WorkerState {
    pub(crate) fn new(
        options: Arc<ClientOptions>,
        shared: Arc<Shared>,
        transport: Arc<dyn Transport>,
    ) -> Self {
        let spool = options.spool_dir.as_ref().and_then(|dir| {
            match Spool::open(dir, options.max_spool_bytes) {
                Ok(s) => Some(s),
                Err(e) => {
                    shared.log(format_args!("cannot open spool {}: {e}", dir.display()));
                    None
                }
            }
        });
        let next_retry = spool.as_ref().filter(|s| !s.is_empty()).map(|s| {
            shared.log(format_args!("{} spooled envelope(s) to resend", s.len()));
            Instant::now()
        });
        let max_in_flight = transport.max_in_flight().clamp(1, 64);
        let spotlight = (options.spotlight.as_deref())
            .and_then(|url| SpotlightSender::start(url, options.debug));
        WorkerState {
            pipeline: Pipeline::new(Arc::clone(&options)),
            options,
            shared,
            transport,
            limits: RateLimits::default(),
            max_in_flight,
            in_flight: JoinSet::new(),
            flying: HashMap::new(),
            next_key: 0,
            retry: VecDeque::new(),
            spool,
            failures: 0,
            probing: false,
            next_retry,
            last_report: Instant::now(),
            batches: Batches::default(),
            spotlight,
            sessions: SessionWorker::default(),
        }
    }

    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let shared = Arc::clone(&self.shared);
        // After a batch the worker lingers briefly before it waits on the queue again:
        // while it is not waiting, a capture call enqueues without waking a parked thread
        // (a futex call that would otherwise cost every capture a few microseconds).
        let mut linger: Option<Instant> = None;
        loop {
            let can_send = self.in_flight.len() < self.max_in_flight;
            let retry_at = self.next_retry.filter(|_| can_send && !self.probing);
            let take_jobs = can_send && linger.is_none();
            if shared.flushing() && !self.batches.is_empty() && rx.is_empty() {
                self.send_batches(None);
            }
            let batch_due = self.batches.deadline();
            tokio::select! {
                biased;
                _ = shared.shutdown.notified() => break,
                _ = shared.wake.notified() => {}
                _ = sleep_until(batch_due), if batch_due.is_some() => {
                    self.send_batches(Some(Instant::now()));
                }
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    if let Ok((key, result)) = done {
                        self.on_result(key, result);
                    }
                }
                _ = sleep_until(retry_at), if retry_at.is_some() => self.retry_one(),
                _ = sleep_until(linger), if linger.is_some() => linger = None,
                job = rx.recv(), if take_jobs => match job {
                    Some(job) => {
                        self.on_job(job);
                        let mut batch = 1;
                        let mut drained = false;
                        while batch < MAX_BATCH && self.in_flight.len() < self.max_in_flight {
                            match rx.try_recv() {
                                Ok(job) => self.on_job(job),
                                Err(_) => {
                                    drained = true;
                                    break;
                                }
                            }
                            batch += 1;
                        }
                        // Linger only once the queue is empty; a backlog is worked off
                        // as fast as sends complete.
                        if drained {
                            linger = Some(Instant::now() + LINGER);
                        }
                    }
                    None => break,
                },
            }
        }
        self.shutdown(rx).await;
    }

    /// The envelope a job makes, or `None` when it makes none (the job is settled).
    fn job_envelope(&mut self, job: Job) -> Option<Envelope> {
        match job {
            Job::Log(pending) => {
                self.on_log(pending, false);
                None
            }
            Job::Metric(pending) => {
                self.on_metric(pending, false);
                None
            }
            Job::Event(pending) => self.finish_event(pending),
            Job::Envelope(env) => Some(*env),
            Job::Session(job) => self.sessions.on_job(job, &self.options, &self.shared),
            Job::CheckIn(check_in) => Some(crate::monitor::envelope(*check_in, &self.options)),
        }
    }

    fn on_job(&mut self, job: Job) {
        let Some(envelope) = self.job_envelope(job) else {
            return;
        };
        self.dispatch(Outgoing {
            envelope: Arc::new(envelope),
            counted: 1,
            spooled: None,
            attempts: 0,
        });
    }

    /// Finishes a queued event into its envelope (with the scope's attachments that fit
    /// the limits; the others are counted), or counts and settles a dropped one.
    fn finish_event(&mut self, pending: crate::draft::PendingEvent) -> Option<Envelope> {
        let category = pending.category();
        let session = crate::session::of_pending(&pending, category);
        match self.pipeline.process(pending) {
            Ok((event, attachments)) => {
                let (mut envelope, dropped) = self.pipeline.envelope(&event, &attachments);
                crate::session::count_event(session, &event, &mut envelope, &self.options);
                for bytes in dropped {
                    self.shared.log(format_args!(
                        "attachment of {bytes} bytes over the size limits dropped (buffer_overflow)"
                    ));
                    self.shared.discards.record(
                        DiscardReason::BufferOverflow,
                        DataCategory::Attachment,
                        bytes,
                    );
                }
                Some(envelope)
            }
            Err(reason) => {
                self.shared.log(format_args!("event dropped ({reason})"));
                self.shared.discards.record(reason, category, 1);
                self.shared.settle(1);
                None
            }
        }
    }

    /// Sends an envelope now, or parks it when the server is failing.
    fn dispatch(&mut self, mut out: Outgoing) {
        if let Some(spotlight) = &self.spotlight {
            spotlight.offer(&out.envelope);
        }
        let now = Instant::now();
        let limits = &self.limits;
        if out
            .envelope
            .items
            .iter()
            .any(|i| limits.is_item_limited(i.ty(), now))
        {
            let env = Arc::make_mut(&mut out.envelope);
            let mut dropped = Vec::new();
            env.items.retain(|i| {
                let limited = limits.is_item_limited(i.ty(), now);
                if limited {
                    let n = i.headers.item_count.unwrap_or(1);
                    dropped.extend(i.ty().data_category().map(|c| (c, n)));
                }
                !limited
            });
            for (cat, n) in dropped {
                self.shared
                    .discards
                    .record(DiscardReason::RatelimitBackoff, cat, n);
            }
            self.shared.log(format_args!(
                "rate limited: item(s) dropped (ratelimit_backoff)"
            ));
            if env.items.is_empty() {
                self.finish(out);
                return;
            }
        }
        if self.failures > 0 && out.attempts == 0 {
            // The server is failing: do not hammer it; wait for the probe.
            self.park(out);
            return;
        }
        self.maybe_attach_report(&mut out, false);
        self.launch(out);
    }

    fn maybe_attach_report(&mut self, out: &mut Outgoing, force: bool) {
        if !self.options.send_client_reports
            || out.envelope.item(&ItemType::ClientReport).is_some()
            || (!force && self.last_report.elapsed() < self.options.client_report_interval)
        {
            return;
        }
        if let Some(item) = self.shared.discards.take_item() {
            Arc::make_mut(&mut out.envelope).push(item);
            self.last_report = Instant::now();
        }
    }

    fn launch(&mut self, out: Outgoing) {
        let key = self.next_key;
        self.next_key += 1;
        let fut = transport::send(&self.transport, Arc::clone(&out.envelope));
        self.flying.insert(key, out);
        self.in_flight.spawn(async move {
            let result = CatchUnwind(fut)
                .await
                .unwrap_or_else(|| SendResult::Rejected {
                    reason: "transport panicked".into(),
                });
            (key, result)
        });
    }

    fn on_result(&mut self, key: u64, result: SendResult) {
        let Some(mut out) = self.flying.remove(&key) else {
            return;
        };
        let now = Instant::now();
        match result {
            SendResult::Sent { rate_limits } => {
                self.shared.log(format_args!("envelope sent"));
                if let Some(h) = rate_limits {
                    self.limits.update_from_header(&h, now);
                }
                let was_failing = self.failures > 0 || self.probing;
                self.failures = 0;
                self.probing = false;
                if was_failing || self.has_waiting() {
                    self.next_retry = self.has_waiting().then_some(now);
                }
                self.finish(out);
            }
            SendResult::RateLimited {
                retry_after,
                rate_limits,
            } => {
                self.shared.log(format_args!(
                    "429 rate limited (retry-after {retry_after:?}, limits {rate_limits:?})"
                ));
                self.limits
                    .update_from_429(retry_after.as_deref(), rate_limits.as_deref(), now);
                self.server_answered(now);
                self.restore_report(&out);
                self.finish(out);
            }
            SendResult::Rejected { reason } => {
                self.shared
                    .log(format_args!("envelope rejected: {reason} (send_error)"));
                for (cat, n) in out.event_items() {
                    self.shared
                        .discards
                        .record(DiscardReason::SendError, cat, n);
                }
                self.server_answered(now);
                self.finish(out);
            }
            SendResult::Retry { reason } => {
                out.attempts += 1;
                // Several envelopes in flight fail together when the server goes away:
                // that is one failed round, not several. Counting each of them would push
                // the next probe out to minutes (8 in flight: 200 ms × 2^7), long after
                // the server is back.
                let backing_off = !self.probing && self.next_retry.is_some_and(|t| t > now);
                if !backing_off {
                    self.failures = self.failures.saturating_add(1);
                    self.next_retry = Some(now + backoff(self.failures));
                }
                self.probing = false;
                let backoff = self
                    .next_retry
                    .map(|t| t.saturating_duration_since(now))
                    .unwrap_or_default();
                self.shared.log(format_args!(
                    "send failed: {reason}; retrying in {backoff:?} (attempt {})",
                    out.attempts
                ));
                self.restore_report(&out);
                if self.spool.is_none() && out.attempts >= MAX_ATTEMPTS {
                    self.shared.log(format_args!(
                        "giving up after {} attempts (network_error)",
                        out.attempts
                    ));
                    for (cat, n) in out.event_items() {
                        self.shared
                            .discards
                            .record(DiscardReason::NetworkError, cat, n);
                    }
                    self.finish(out);
                } else {
                    self.park_front(out);
                }
            }
        }
    }

    /// The server answered (even if with an error): it is reachable, so what waits may go.
    fn server_answered(&mut self, now: Instant) {
        self.failures = 0;
        self.probing = false;
        if self.has_waiting() && self.next_retry.is_none() {
            self.next_retry = Some(now);
        }
    }

    /// Puts a report carried by an unsent envelope back into the counters.
    fn restore_report(&mut self, out: &Outgoing) {
        if let Some(item) = out.envelope.item(&ItemType::ClientReport) {
            self.shared.discards.restore(item);
        }
    }

    fn has_waiting(&self) -> bool {
        !self.retry.is_empty() || self.spool.as_ref().is_some_and(|s| !s.is_empty())
    }

    /// Parks a new envelope behind the ones already waiting.
    fn park(&mut self, out: Outgoing) {
        self.park_inner(out, false);
    }

    /// Parks an envelope whose send just failed, ahead of the others.
    fn park_front(&mut self, out: Outgoing) {
        self.park_inner(out, true);
    }

    fn park_inner(&mut self, mut out: Outgoing, front: bool) {
        if let Some(spool) = &mut self.spool {
            if let Some(entry) = out.spooled.take() {
                spool.put_back(entry);
                self.finish_counted(&out);
                return;
            }
            // Strip a client report: the counters are restored, not spooled.
            let env = Arc::make_mut(&mut out.envelope);
            env.items.retain(|i| *i.ty() != ItemType::ClientReport);
            match spool.push(&env.to_vec()) {
                Ok(evicted) => {
                    if evicted > 0 {
                        self.shared.discards.record(
                            DiscardReason::CacheOverflow,
                            DataCategory::Error,
                            evicted as u64,
                        );
                    }
                    self.shared.log(format_args!("envelope spooled to disk"));
                }
                Err(e) => {
                    self.shared
                        .log(format_args!("cannot spool: {e} (network_error)"));
                    for (cat, n) in out.event_items() {
                        self.shared
                            .discards
                            .record(DiscardReason::NetworkError, cat, n);
                    }
                }
            }
            self.finish_counted(&out);
            return;
        }
        if self.retry.len() >= self.options.max_retry_buffer.max(1) {
            if let Some(old) = self.retry.pop_back() {
                self.shared.log(format_args!(
                    "retry buffer full: dropped one (queue_overflow)"
                ));
                for (cat, n) in old.event_items() {
                    self.shared
                        .discards
                        .record(DiscardReason::QueueOverflow, cat, n);
                }
                self.finish_counted(&old);
            }
        }
        if front {
            self.retry.push_front(out);
        } else {
            self.retry.push_back(out);
        }
        if self.next_retry.is_none() {
            self.next_retry = Some(Instant::now() + backoff(self.failures.max(1)));
        }
    }

    /// Sends the next waiting envelope (a probe while the server is failing).
    fn retry_one(&mut self) {
        self.next_retry = None;
        let out = if let Some(out) = self.retry.pop_front() {
            Some(out)
        } else if let Some(spool) = &mut self.spool {
            match spool.take_oldest() {
                Some((entry, bytes)) => match Envelope::from_slice(&bytes, &Limits::default()) {
                    Ok(envelope) => Some(Outgoing {
                        envelope: Arc::new(envelope),
                        counted: 0,
                        spooled: Some(entry),
                        attempts: 1,
                    }),
                    Err(e) => {
                        self.shared
                            .log(format_args!("unreadable spool file dropped: {e}"));
                        spool.remove(entry);
                        self.next_retry = Some(Instant::now());
                        None
                    }
                },
                None => None,
            }
        } else {
            None
        };
        let Some(mut out) = out else {
            return;
        };
        if self.failures > 0 {
            self.probing = true;
        } else if self.has_waiting() {
            self.next_retry = Some(Instant::now());
        }
        out.attempts = out.attempts.max(1);
        self.shared
            .log(format_args!("resending a waiting envelope"));
        self.dispatch_retry(out);
    }

    fn dispatch_retry(&mut self, out: Outgoing) {
        let now = Instant::now();
        if out
            .envelope
            .items
            .iter()
            .all(|i| self.limits.is_item_limited(i.ty(), now))
        {
            for (cat, n) in out.event_items() {
                self.shared
                    .discards
                    .record(DiscardReason::RatelimitBackoff, cat, n);
            }
            self.probing = false;
            if self.has_waiting() {
                self.next_retry = Some(now);
            }
            self.finish(out);
            return;
        }
        self.launch(out);
    }

    /// The envelope is done with (sent or dropped): delete its spool file, settle.
    fn finish(&mut self, mut out: Outgoing) {
        if let (Some(spool), Some(entry)) = (&mut self.spool, out.spooled.take()) {
            spool.remove(entry);
        }
        self.finish_counted(&out);
    }

    fn finish_counted(&self, out: &Outgoing) {
        self.shared.settle(out.counted);
    }
}

/// Exponential backoff with ±25 % jitter: 200 ms, 400 ms, ... up to 60 s.
fn backoff(failures: u32) -> Duration {
    let exp = BASE_BACKOFF.saturating_mul(1u32 << failures.saturating_sub(1).min(10));
    let capped = exp.min(MAX_BACKOFF);
    let jitter = 0.75 + crate::random::next_f64() * 0.5;
    capped.mul_f64(jitter)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Polls a transport future, turning a panic into `None`.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Some(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b1 = backoff(1);
        assert!(b1 >= Duration::from_millis(150) && b1 <= Duration::from_millis(250));
        let b3 = backoff(3);
        assert!(b3 >= Duration::from_millis(600) && b3 <= Duration::from_millis(1000));
        assert!(backoff(40) <= MAX_BACKOFF.mul_f64(1.25));
    }
}
