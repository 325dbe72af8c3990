//! The worker's side of structured logs and metrics: finishing a queued entry into its
//! batch, and sending a batch as one envelope whose pending count is the number of its
//! entries.

use std::sync::Arc;
use std::time::Instant;

use super::{Outgoing, WorkerState};
use crate::delivery::batch::{self, Batch, Batched, Batches};
use crate::logs::PendingLog;
use crate::metrics::PendingMetric;
use crate::protocol::DiscardReason;

/// Which of the worker's batches.
type Pick<T> = fn(&mut Batches) -> &mut Batch<T>;

impl WorkerState {
    /// Finishes a log into its batch (a rate-limited or dropped one is counted); at
    /// shutdown a full batch is left behind rather than sent.
    pub(super) fn on_log(&mut self, pending: PendingLog, at_shutdown: bool) {
        let finished = self.pipeline.process_log(pending);
        self.batch(finished, |b| &mut b.logs, at_shutdown);
    }

    /// Finishes a metric into its batch, as [`on_log`](Self::on_log) does a log.
    pub(super) fn on_metric(&mut self, pending: PendingMetric, at_shutdown: bool) {
        let finished = self.pipeline.process_metric(pending);
        self.batch(finished, |b| &mut b.metrics, at_shutdown);
    }

    fn batch<T: Batched>(
        &mut self,
        finished: Result<T, DiscardReason>,
        pick: Pick<T>,
        at_shutdown: bool,
    ) {
        let limited = !at_shutdown && self.limits.is_limited(T::CATEGORY, Instant::now());
        let entry = match finished {
            Ok(_) if limited => return self.drop_batched::<T>(DiscardReason::RatelimitBackoff),
            Ok(entry) => entry,
            Err(reason) => return self.drop_batched::<T>(reason),
        };
        if let Some(full) = pick(&mut self.batches).push(entry) {
            let out = self.batch_envelope(&full);
            if at_shutdown {
                self.leave_behind(out);
            } else {
                self.dispatch(out);
            }
        }
    }

    fn drop_batched<T: Batched>(&self, reason: DiscardReason) {
        self.shared.discards.record(reason, T::CATEGORY, 1);
        self.shared.settle(1);
    }

    fn batch_envelope<T: Batched>(&self, entries: &[T]) -> Outgoing {
        Outgoing {
            envelope: Arc::new(batch::envelope(entries, self.pipeline.sdk())),
            counted: entries.len(),
            spooled: None,
            attempts: 0,
        }
    }

    fn take_batch<T: Batched>(&mut self, pick: Pick<T>) -> Option<Outgoing> {
        let entries = pick(&mut self.batches).take()?;
        Some(self.batch_envelope(&entries))
    }

    /// Sends the batches that are due by `due_by`, or all of them (`None`).
    pub(super) fn send_batches(&mut self, due_by: Option<Instant>) {
        let due = |d: Option<Instant>| d.is_some_and(|d| due_by.is_none_or(|t| d <= t));
        if due(self.batches.logs.deadline()) {
            if let Some(out) = self.take_batch(|b| &mut b.logs) {
                self.dispatch(out);
            }
        }
        if due(self.batches.metrics.deadline()) {
            if let Some(out) = self.take_batch(|b| &mut b.metrics) {
                self.dispatch(out);
            }
        }
    }

    /// At shutdown: what waits in the batches is left behind.
    pub(super) fn leave_batches_behind(&mut self) {
        let outs = [
            self.take_batch(|b| &mut b.logs),
            self.take_batch(|b| &mut b.metrics),
        ];
        for out in outs.into_iter().flatten() {
            self.leave_behind(out);
        }
    }
}
