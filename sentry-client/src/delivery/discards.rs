//! Discard counters, by reason and category, reported as `client_report` items.
//!
//! Counting happens on whichever thread drops something (a full queue on the caller's,
//! everything else on the worker's); the worker drains the counters into a
//! [`ClientReport`] attached to the next envelope, or sent alone at shutdown.

use std::collections::BTreeMap;

use crate::sync::Mutex;

use crate::protocol::{
    ClientReport, DataCategory, DiscardReason, DiscardedEvent, Item, ItemType, Timestamp,
};

/// Thread-safe counters.
#[derive(Debug, Default)]
pub(crate) struct Discards {
    counts: Mutex<BTreeMap<(DiscardReason, DataCategory), u64>>,
}

impl Discards {
    /// Adds `n` discards.
    pub(crate) fn record(&self, reason: DiscardReason, category: DataCategory, n: u64) {
        if n > 0 {
            *self.counts.lock().entry((reason, category)).or_insert(0) += n;
        }
    }

    /// The current counts.
    pub(crate) fn snapshot(&self) -> Vec<(DiscardReason, DataCategory, u64)> {
        self.counts
            .lock()
            .iter()
            .map(|(&(r, c), &n)| (r, c, n))
            .collect()
    }

    /// Whether nothing is counted.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.lock().is_empty()
    }

    /// Takes the counts as a client report item (`None` when there is nothing to report).
    pub(crate) fn take_item(&self) -> Option<Item> {
        let counts = std::mem::take(&mut *self.counts.lock());
        if counts.is_empty() {
            return None;
        }
        let report = ClientReport {
            timestamp: Some(Timestamp::now()),
            discarded_events: counts
                .into_iter()
                .map(|((reason, category), quantity)| DiscardedEvent {
                    reason: reason.as_str().to_owned(),
                    category: category.as_str().to_owned(),
                    quantity,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let payload = serde_json::to_vec(&report).ok()?;
        Some(Item::json(ItemType::ClientReport, payload))
    }

    /// Puts a report's counts back (its envelope could not be sent).
    pub(crate) fn restore(&self, item: &Item) {
        if let Ok(report) = item.client_report() {
            let mut counts = self.counts.lock();
            for d in report.discarded_events {
                let reason = DiscardReason::ALL.iter().find(|r| r.as_str() == d.reason);
                let category = DataCategory::parse(&d.category);
                if let (Some(&r), Some(c)) = (reason, category) {
                    *counts.entry((r, c)).or_insert(0) += d.quantity;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_drain_into_one_report_and_restore() {
        let d = Discards::default();
        assert!(d.take_item().is_none());
        d.record(DiscardReason::QueueOverflow, DataCategory::Error, 2);
        d.record(DiscardReason::QueueOverflow, DataCategory::Error, 3);
        d.record(DiscardReason::BeforeSend, DataCategory::Error, 1);
        let item = d.take_item().expect("report");
        assert!(d.is_empty());
        let report = item.client_report().expect("parse");
        assert_eq!(
            report.count(DiscardReason::QueueOverflow, DataCategory::Error),
            5
        );
        assert_eq!(
            report.count(DiscardReason::BeforeSend, DataCategory::Error),
            1
        );
        d.restore(&item);
        assert_eq!(d.snapshot().len(), 2);
    }
}
