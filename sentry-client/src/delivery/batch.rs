//! The worker's batches of finished logs and metrics: one container item (`log`,
//! `trace_metric`) of at most [`MAX_PER_ITEM`] entries per envelope, sent when full,
//! [`MAX_WAIT`] after its first entry at the latest, and when a flush or close asks.
//! Every entry in a batch is still *pending* for `flush`; the envelope made from a batch
//! settles them all when it is done with.

use std::time::{Duration, Instant};

use crate::protocol::{DataCategory, Envelope, Item, Log, Metric, Sdk};

/// Entries per container item (the protocol's limit for SDKs).
pub(crate) const MAX_PER_ITEM: usize = 100;
/// The longest a finished entry waits in its batch.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(5);

/// What the worker batches.
pub(crate) trait Batched: Sized {
    /// The category its discards and rate limits count in.
    const CATEGORY: DataCategory;
    /// The container item of a batch.
    fn item(batch: &[Self]) -> Item;
}

impl Batched for Log {
    const CATEGORY: DataCategory = DataCategory::LogItem;
    fn item(batch: &[Self]) -> Item {
        Item::from_logs(batch)
    }
}

impl Batched for Metric {
    const CATEGORY: DataCategory = DataCategory::TraceMetric;
    fn item(batch: &[Self]) -> Item {
        Item::from_metrics(batch)
    }
}

/// Finished entries waiting to be sent.
pub(crate) struct Batch<T> {
    entries: Vec<T>,
    deadline: Option<Instant>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            entries: Vec::new(),
            deadline: None,
        }
    }
}

impl<T> Batch<T> {
    /// Adds an entry; returns a full batch to send.
    pub(crate) fn push(&mut self, entry: T) -> Option<Vec<T>> {
        if self.entries.is_empty() {
            self.deadline = Some(Instant::now() + MAX_WAIT);
        }
        self.entries.push(entry);
        (self.entries.len() >= MAX_PER_ITEM)
            .then(|| self.take())
            .flatten()
    }

    /// Takes what is waiting (`None` when nothing is).
    pub(crate) fn take(&mut self) -> Option<Vec<T>> {
        self.deadline = None;
        (!self.entries.is_empty()).then(|| std::mem::take(&mut self.entries))
    }

    /// When the batch must go (`None` while it is empty).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

/// The worker's batches, one per kind.
#[derive(Default)]
pub(crate) struct Batches {
    pub(crate) logs: Batch<Log>,
    pub(crate) metrics: Batch<Metric>,
}

impl Batches {
    /// When the first of them must go.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        [self.logs.deadline(), self.metrics.deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.deadline().is_none()
    }
}

/// The envelope of a batch: one container item, the SDK in the header.
pub(crate) fn envelope<T: Batched>(batch: &[T], sdk: &Sdk) -> Envelope {
    let mut env = Envelope::new();
    env.headers.sdk = Some(Sdk {
        name: sdk.name.clone(),
        version: sdk.version.clone(),
        ..Default::default()
    });
    env.push(T::item(batch));
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{LogLevel, MetricType};

    #[test]
    fn fills_up_to_the_limit() {
        let mut b = Batch::default();
        assert!(b.deadline().is_none());
        for i in 0..MAX_PER_ITEM - 1 {
            assert!(b.push(Log::new(LogLevel::Info, format!("{i}"))).is_none());
        }
        assert!(b.deadline().is_some());
        let full = b.push(Log::new(LogLevel::Info, "last")).unwrap();
        assert_eq!(full.len(), MAX_PER_ITEM);
        assert!(b.deadline().is_none());
        assert!(b.take().is_none());
    }

    #[test]
    fn the_earliest_batch_sets_the_deadline() {
        let mut b = Batches::default();
        assert!(b.is_empty());
        b.metrics.push(Metric::new(MetricType::Counter, "m", 1.0));
        let first = b.deadline();
        b.logs.push(Log::new(LogLevel::Info, "later"));
        assert_eq!(b.deadline(), first);
        assert!(b.logs.deadline() >= first);
        let env = envelope(&b.metrics.take().unwrap(), &Sdk::default());
        assert_eq!(env.items[0].headers.item_count, Some(1));
        assert_eq!(b.deadline(), b.logs.deadline());
    }
}
