//! Counters and histograms, rendered in the Prometheus text format at `/metrics`.
//!
//! Every label set is fixed: item types, client-report reasons and categories that the
//! protocol does not name are counted under `other`, so that no request can add a
//! label (a time series) of its own.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use sentry_client::protocol::{DataCategory, DiscardReason, ItemType};

/// The label of everything outside a fixed label set.
pub const OTHER_LABEL: &str = "other";

/// The label of an item type: its wire name when the protocol knows it, else `other`.
pub fn item_label(ty: &ItemType) -> String {
    match ty {
        ItemType::Unknown(_) | ItemType::Missing => OTHER_LABEL.to_owned(),
        known => known.as_str().to_owned(),
    }
}

fn reason_label(reason: &str) -> &'static str {
    DiscardReason::ALL
        .iter()
        .map(|r| r.as_str())
        .find(|r| *r == reason)
        .unwrap_or(OTHER_LABEL)
}

fn category_label(category: &str) -> &'static str {
    DataCategory::parse(category)
        .map(DataCategory::as_str)
        .unwrap_or(OTHER_LABEL)
}

/// A fixed-bucket histogram.
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, value: f64) {
        for (b, bound) in self.buckets.iter().zip(self.bounds) {
            if value <= *bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_micros
            .fetch_add((value * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, bound) in self.buckets.iter().zip(self.bounds) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                b.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// All server metrics.
pub struct Metrics {
    /// Events committed.
    pub events_accepted: AtomicU64,
    /// Events whose id was already stored (SDK retries); answered 200, not stored twice.
    pub events_duplicate: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    items_not_stored: Mutex<BTreeMap<String, u64>>,
    client_discards: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// UDP datagrams received.
    pub udp_datagrams: AtomicU64,
    /// UDP datagrams dropped because the processing queue was full.
    pub udp_dropped: AtomicU64,
    /// Events deleted by retention.
    pub retention_deleted: AtomicU64,
    /// Parts of events that did not read and were removed at ingest (lenient reading).
    pub invalid_parts: AtomicU64,
    /// HTTP connections open now.
    pub http_connections_open: AtomicU64,
    /// HTTP connections closed, or requests answered 408, by a timeout (header read,
    /// idle, body).
    pub http_timeouts: AtomicU64,
    /// Events per committed batch.
    pub batch_size: Histogram,
    /// Seconds per batch commit.
    pub commit_seconds: Histogram,
    /// Alert delivery tries by action type and outcome.
    pub alert_deliveries: crate::alerts::DeliveryCounters,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            events_accepted: AtomicU64::new(0),
            events_duplicate: AtomicU64::new(0),
            rejected: Mutex::new(BTreeMap::new()),
            items_not_stored: Mutex::new(BTreeMap::new()),
            client_discards: Mutex::new(BTreeMap::new()),
            udp_datagrams: AtomicU64::new(0),
            udp_dropped: AtomicU64::new(0),
            retention_deleted: AtomicU64::new(0),
            invalid_parts: AtomicU64::new(0),
            http_connections_open: AtomicU64::new(0),
            http_timeouts: AtomicU64::new(0),
            batch_size: Histogram::new(&[
                1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
            ]),
            commit_seconds: Histogram::new(&[
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
            alert_deliveries: Default::default(),
        }
    }
}

impl Metrics {
    /// Counts a refused request or datagram by reason (a short snake_case label).
    pub fn reject(&self, reason: &'static str) {
        *self.rejected.lock().entry(reason).or_default() += 1;
    }

    /// Rejections for a reason so far.
    pub fn rejected(&self, reason: &str) -> u64 {
        self.rejected.lock().get(reason).copied().unwrap_or(0)
    }

    /// Counts parts of an event removed because they did not read.
    pub fn invalid_parts_removed(&self, n: usize) {
        self.invalid_parts.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts an item that was accepted but not stored (session, transaction, ...);
    /// types the protocol does not know count as `other`.
    pub fn item_not_stored(&self, item_type: &ItemType) {
        *self
            .items_not_stored
            .lock()
            .entry(item_label(item_type))
            .or_default() += 1;
    }

    /// Adds a client report's discard counts; unknown reasons and categories count as
    /// `other`.
    pub fn client_discard(&self, reason: &str, category: &str, quantity: u64) {
        let labels = (reason_label(reason), category_label(category));
        let mut discards = self.client_discards.lock();
        let n = discards.entry(labels).or_default();
        *n = n.saturating_add(quantity);
    }

    /// The Prometheus text exposition, with the current writer queue depth.
    pub fn render(&self, queue_depth: usize, queue_capacity: usize) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            &mut out,
            "sentry_lite_events_accepted_total",
            "Events committed to the database.",
            self.events_accepted.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "sentry_lite_events_duplicate_total",
            "Events answered 200 whose id was already stored.",
            self.events_duplicate.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP sentry_lite_events_rejected_total Requests or datagrams refused, by reason.\n\
             # TYPE sentry_lite_events_rejected_total counter"
        );
        for (reason, n) in self.rejected.lock().iter() {
            let _ = writeln!(
                out,
                "sentry_lite_events_rejected_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP sentry_lite_items_not_stored_total Envelope items accepted but not stored, by type.\n\
             # TYPE sentry_lite_items_not_stored_total counter"
        );
        for (ty, n) in self.items_not_stored.lock().iter() {
            let _ = writeln!(
                out,
                "sentry_lite_items_not_stored_total{{type=\"{}\"}} {n}",
                escape(ty)
            );
        }
        let _ = writeln!(
            out,
            "# HELP sentry_lite_client_discarded_total Discards reported by SDK client reports.\n\
             # TYPE sentry_lite_client_discarded_total counter"
        );
        for ((reason, category), n) in self.client_discards.lock().iter() {
            let _ = writeln!(
                out,
                "sentry_lite_client_discarded_total{{reason=\"{}\",category=\"{}\"}} {n}",
                escape(reason),
                escape(category)
            );
        }
        counter(
            &mut out,
            "sentry_lite_udp_datagrams_total",
            "UDP datagrams received.",
            self.udp_datagrams.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "sentry_lite_udp_dropped_total",
            "UDP datagrams dropped because the processing queue was full.",
            self.udp_dropped.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "sentry_lite_retention_deleted_total",
            "Events deleted by retention.",
            self.retention_deleted.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "sentry_lite_event_invalid_parts_removed_total",
            "Parts of events that did not read and were removed (recorded on each event).",
            self.invalid_parts.load(Ordering::Relaxed),
        );
        self.render_http(&mut out);
        let _ = writeln!(
            out,
            "# HELP sentry_lite_writer_queue_depth Events waiting for the writer.\n\
             # TYPE sentry_lite_writer_queue_depth gauge\nsentry_lite_writer_queue_depth {queue_depth}\n\
             # HELP sentry_lite_writer_queue_capacity Writer queue capacity.\n\
             # TYPE sentry_lite_writer_queue_capacity gauge\nsentry_lite_writer_queue_capacity {queue_capacity}"
        );
        self.batch_size.render(
            &mut out,
            "sentry_lite_writer_batch_size",
            "Events per committed transaction.",
        );
        self.commit_seconds.render(
            &mut out,
            "sentry_lite_writer_commit_seconds",
            "Time to write and commit one batch.",
        );
        self.alert_deliveries.render(&mut out);
        out
    }
}

impl Metrics {
    fn render_http(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP sentry_lite_http_connections_open HTTP connections open.\n\
             # TYPE sentry_lite_http_connections_open gauge\n\
             sentry_lite_http_connections_open {}\n\
             # HELP sentry_lite_http_timeouts_total Connections or requests ended by a timeout.\n\
             # TYPE sentry_lite_http_timeouts_total counter\n\
             sentry_lite_http_timeouts_total {}",
            self.http_connections_open.load(Ordering::Relaxed),
            self.http_timeouts.load(Ordering::Relaxed),
        );
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.reject("unknown_key");
        m.reject("unknown_key");
        m.item_not_stored(&ItemType::Session);
        m.client_discard("queue_overflow", "error", 3);
        // Invented names share one label each.
        for i in 0..100 {
            m.item_not_stored(&ItemType::parse(&format!("made_up_{i}")));
            m.client_discard(&format!("why_{i}"), &format!("cat_{i}"), 1);
        }
        m.batch_size.observe(7.0);
        m.commit_seconds.observe(0.003);
        let text = m.render(5, 100);
        assert!(text.contains("sentry_lite_events_rejected_total{reason=\"unknown_key\"} 2"));
        assert!(text.contains("sentry_lite_items_not_stored_total{type=\"session\"} 1"));
        assert!(text.contains(
            "sentry_lite_client_discarded_total{reason=\"queue_overflow\",category=\"error\"} 3"
        ));
        assert!(text.contains("sentry_lite_items_not_stored_total{type=\"other\"} 100"));
        assert!(text.contains(
            "sentry_lite_client_discarded_total{reason=\"other\",category=\"other\"} 100"
        ));
        assert!(!text.contains("made_up") && !text.contains("why_") && !text.contains("cat_"));
        assert!(text.contains("sentry_lite_writer_queue_depth 5"));
        assert!(text.contains("sentry_lite_writer_batch_size_bucket{le=\"10\"} 1"));
        assert!(text.contains("sentry_lite_writer_batch_size_bucket{le=\"5\"} 0"));
        assert!(text.contains("sentry_lite_writer_commit_seconds_count 1"));
    }
}
