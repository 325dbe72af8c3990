//! The worker's side of structured logs: finishing a queued log into the batch, and
//! sending the batch as one envelope whose pending count is the number of its logs.

use std::sync::Arc;
use std::time::Instant;

use super::{Outgoing, WorkerState};
use crate::delivery::log_batch;
use crate::logs::PendingLog;
use crate::protocol::{DataCategory, DiscardReason, Log};

impl WorkerState {
    /// Finishes a log into the batch (a rate-limited or dropped one is counted).
    pub(super) fn on_log(&mut self, pending: PendingLog) {
        let limited = self
            .limits
            .is_limited(DataCategory::LogItem, Instant::now());
        match self.pipeline.process_log(pending) {
            Ok(_) if limited => self.drop_log(DiscardReason::RatelimitBackoff),
            Ok(log) => {
                if let Some(full) = self.logs.push(log) {
                    self.dispatch(self.log_envelope(&full));
                }
            }
            Err(reason) => self.drop_log(reason),
        }
    }

    pub(super) fn drop_log(&self, reason: DiscardReason) {
        self.shared
            .discards
            .record(reason, DataCategory::LogItem, 1);
        self.shared.settle(1);
    }

    pub(super) fn log_envelope(&self, logs: &[Log]) -> Outgoing {
        Outgoing {
            envelope: Arc::new(log_batch::envelope(logs, self.pipeline.sdk())),
            counted: logs.len(),
            spooled: None,
            attempts: 0,
        }
    }

    /// Sends the logs waiting in the batch.
    pub(super) fn send_logs(&mut self) {
        if let Some(logs) = self.logs.take() {
            self.dispatch(self.log_envelope(&logs));
        }
    }

    /// At shutdown: a queued log joins the batch that is left behind.
    pub(super) fn on_log_at_shutdown(&mut self, pending: PendingLog) {
        match self.pipeline.process_log(pending) {
            Ok(log) => {
                if let Some(full) = self.logs.push(log) {
                    let out = self.log_envelope(&full);
                    self.leave_behind(out);
                }
            }
            Err(reason) => self.drop_log(reason),
        }
    }
}
