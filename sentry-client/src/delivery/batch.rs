//! The worker's batch of finished logs: one `log` item of at most [`MAX_LOGS`] per
//! envelope, sent when full, [`MAX_WAIT`] after its first log at the latest, and when a
//! flush or close asks. Every log in the batch is still *pending* for `flush`; the
//! envelope made from a batch settles them all when it is done with.

use std::time::{Duration, Instant};

use crate::protocol::{Envelope, Item, Log, Sdk};

/// Logs per `log` item (the protocol's limit for SDKs).
pub(crate) const MAX_LOGS: usize = 100;
/// The longest a finished log waits in the batch.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(5);

/// Finished logs waiting to be sent.
#[derive(Default)]
pub(crate) struct LogBatch {
    logs: Vec<Log>,
    deadline: Option<Instant>,
}

impl LogBatch {
    /// Adds a log; returns a full batch to send.
    pub(crate) fn push(&mut self, log: Log) -> Option<Vec<Log>> {
        if self.logs.is_empty() {
            self.deadline = Some(Instant::now() + MAX_WAIT);
        }
        self.logs.push(log);
        (self.logs.len() >= MAX_LOGS).then(|| self.take()).flatten()
    }

    /// Takes what is waiting (`None` when nothing is).
    pub(crate) fn take(&mut self) -> Option<Vec<Log>> {
        self.deadline = None;
        (!self.logs.is_empty()).then(|| std::mem::take(&mut self.logs))
    }

    /// When the batch must go.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether no log waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }
}

/// The envelope of a batch: one `log` item, the SDK in the header.
pub(crate) fn envelope(logs: &[Log], sdk: &Sdk) -> Envelope {
    let mut env = Envelope::new();
    env.headers.sdk = Some(Sdk {
        name: sdk.name.clone(),
        version: sdk.version.clone(),
        ..Default::default()
    });
    env.push(Item::from_logs(logs));
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::LogLevel;

    #[test]
    fn fills_up_to_the_limit() {
        let mut b = LogBatch::default();
        assert!(b.deadline().is_none());
        for i in 0..MAX_LOGS - 1 {
            assert!(b.push(Log::new(LogLevel::Info, format!("{i}"))).is_none());
        }
        assert!(b.deadline().is_some());
        let full = b.push(Log::new(LogLevel::Info, "last")).unwrap();
        assert_eq!(full.len(), MAX_LOGS);
        assert!(b.is_empty() && b.deadline().is_none());
        assert!(b.take().is_none());
    }
}
