//! Client reports: how many events an SDK dropped, by reason and data category.

use std::fmt;

use super::values::Timestamp;
use super::wire::protocol_struct;

/// Why an SDK dropped data (the server-side allow-list; no others may be invented).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiscardReason {
    /// The send queue was full.
    QueueOverflow,
    /// The offline cache (spool) was full.
    CacheOverflow,
    /// An internal buffer overflowed.
    BufferOverflow,
    /// An active rate limit.
    RatelimitBackoff,
    /// A network failure that was finally given up on.
    NetworkError,
    /// The server answered 4xx/5xx (not 429).
    SendError,
    /// Dropped by `sample_rate`.
    SampleRate,
    /// `before_send` returned `None`.
    BeforeSend,
    /// An event processor dropped it.
    EventProcessor,
    /// An SDK-internal failure.
    InternalSdkError,
    /// Failed SDK-side validation.
    Invalid,
}

impl DiscardReason {
    /// Every reason this protocol version names, in declaration order (for readers that
    /// map a wire name back to a reason, and for fixed metric label sets).
    pub const ALL: [DiscardReason; 11] = [
        DiscardReason::QueueOverflow,
        DiscardReason::CacheOverflow,
        DiscardReason::BufferOverflow,
        DiscardReason::RatelimitBackoff,
        DiscardReason::NetworkError,
        DiscardReason::SendError,
        DiscardReason::SampleRate,
        DiscardReason::BeforeSend,
        DiscardReason::EventProcessor,
        DiscardReason::InternalSdkError,
        DiscardReason::Invalid,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscardReason::QueueOverflow => "queue_overflow",
            DiscardReason::CacheOverflow => "cache_overflow",
            DiscardReason::BufferOverflow => "buffer_overflow",
            DiscardReason::RatelimitBackoff => "ratelimit_backoff",
            DiscardReason::NetworkError => "network_error",
            DiscardReason::SendError => "send_error",
            DiscardReason::SampleRate => "sample_rate",
            DiscardReason::BeforeSend => "before_send",
            DiscardReason::EventProcessor => "event_processor",
            DiscardReason::InternalSdkError => "internal_sdk_error",
            DiscardReason::Invalid => "invalid",
        }
    }
}

impl fmt::Display for DiscardReason {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rate-limit data category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataCategory {
    /// Message-only events.
    Default,
    /// Error events.
    Error,
    /// Transactions.
    Transaction,
    /// Security reports.
    Security,
    /// Attachments.
    Attachment,
    /// Sessions.
    Session,
    /// Profiles.
    Profile,
    /// Replays.
    Replay,
    /// Cron check-ins.
    Monitor,
    /// Spans.
    Span,
    /// Log items.
    LogItem,
    /// User feedback.
    Feedback,
    /// Trace metrics.
    TraceMetric,
    /// Client reports and other internal data (never rate limited).
    Internal,
}

impl DataCategory {
    /// Every known category.
    pub const ALL: [DataCategory; 14] = [
        DataCategory::Default,
        DataCategory::Error,
        DataCategory::Transaction,
        DataCategory::Security,
        DataCategory::Attachment,
        DataCategory::Session,
        DataCategory::Profile,
        DataCategory::Replay,
        DataCategory::Monitor,
        DataCategory::Span,
        DataCategory::LogItem,
        DataCategory::Feedback,
        DataCategory::TraceMetric,
        DataCategory::Internal,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DataCategory::Default => "default",
            DataCategory::Error => "error",
            DataCategory::Transaction => "transaction",
            DataCategory::Security => "security",
            DataCategory::Attachment => "attachment",
            DataCategory::Session => "session",
            DataCategory::Profile => "profile",
            DataCategory::Replay => "replay",
            DataCategory::Monitor => "monitor",
            DataCategory::Span => "span",
            DataCategory::LogItem => "log_item",
            DataCategory::Feedback => "feedback",
            DataCategory::TraceMetric => "trace_metric",
            DataCategory::Internal => "internal",
        }
    }

    /// Parses a wire name; unknown names give `None` (never mapped to `default`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

protocol_struct! {
    /// One `(reason, category, quantity)` count.
    pub struct DiscardedEvent {
        /// The reason, e.g. `queue_overflow`.
        reason: String = "reason",
        /// The data category, e.g. `error`.
        category: String = "category",
        /// How many.
        quantity: u64 = "quantity",
    }
}

protocol_struct! {
    /// The payload of a `client_report` envelope item.
    pub struct ClientReport {
        /// When the report was made.
        timestamp: Option<Timestamp> = "timestamp",
        /// The counts.
        discarded_events: Vec<DiscardedEvent> = "discarded_events",
    }
}

impl ClientReport {
    /// Total quantity for a reason and category.
    pub fn count(&self, reason: DiscardReason, category: DataCategory) -> u64 {
        self.discarded_events
            .iter()
            .filter(|d| d.reason == reason.as_str() && d.category == category.as_str())
            .map(|d| d.quantity)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_report() {
        let r: ClientReport = serde_json::from_str(
            r#"{"timestamp":"2020-02-07T14:16:00Z","discarded_events":[{"reason":"queue_overflow","category":"error","quantity":23}]}"#,
        )
        .expect("parse");
        assert_eq!(
            r.count(DiscardReason::QueueOverflow, DataCategory::Error),
            23
        );
        assert_eq!(DataCategory::parse("log_item"), Some(DataCategory::LogItem));
        assert_eq!(DataCategory::parse("nope"), None);
    }
}
