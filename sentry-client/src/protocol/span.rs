//! [`Span`]: one timed operation of a transaction, as a `transaction` event carries it in
//! its `spans` list (the transaction itself is an [`Event`](super::Event) of type
//! `transaction` whose `contexts.trace` is its root span).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::span_id::{SpanId, SpanStatus, TraceId};
use super::values::Timestamp;
use super::TraceContext;

/// One timed operation inside a transaction.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Span {
    /// The span's id (random by default).
    #[serde(default)]
    pub span_id: SpanId,
    /// The trace it belongs to.
    #[serde(default)]
    pub trace_id: TraceId,
    /// The span it is a child of (the transaction's root span at least).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<SpanId>,
    /// Whether it ran in the same process as its parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_process_as_parent: Option<bool>,
    /// The operation, e.g. `db.query`, `http.client`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// What exactly ran, e.g. the query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it finished (`None` while it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// When it started.
    #[serde(default = "Timestamp::now")]
    pub start_timestamp: Timestamp,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SpanStatus>,
    /// Tags, string to string.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Data attributes.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
    /// What created the span (`manual` by default; integrations name themselves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Default for Span {
    fn default() -> Self {
        Span {
            span_id: SpanId::default(),
            trace_id: TraceId::default(),
            parent_span_id: None,
            same_process_as_parent: None,
            op: None,
            description: None,
            timestamp: None,
            start_timestamp: Timestamp::now(),
            status: None,
            tags: BTreeMap::new(),
            data: Map::new(),
            origin: None,
        }
    }
}

impl Span {
    /// Marks the span finished now (a finished span keeps its first end time).
    pub fn finish(&mut self) {
        if self.timestamp.is_none() {
            self.timestamp = Some(Timestamp::now());
        }
    }

    /// The span as the `trace` context of an event captured while it runs.
    pub fn trace_context(&self) -> TraceContext {
        TraceContext {
            span_id: self.span_id,
            trace_id: self.trace_id,
            parent_span_id: self.parent_span_id,
            op: self.op.clone(),
            description: self.description.clone(),
            status: self.status,
            origin: self.origin.clone(),
            data: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_writes_what_servers_read_and_reads_back() {
        let mut span = Span {
            op: Some("db.query".into()),
            description: Some("SELECT 1".into()),
            parent_span_id: Some(SpanId::default()),
            ..Default::default()
        };
        span.tags.insert("db".into(), "main".into());
        span.finish();
        let json = serde_json::to_value(&span).expect("json");
        assert_eq!(json["op"], "db.query");
        assert_eq!(json["span_id"].as_str().map(str::len), Some(16));
        assert_eq!(json["trace_id"].as_str().map(str::len), Some(32));
        assert!(json["start_timestamp"].is_number());
        assert!(json["timestamp"].is_number());
        let back: Span = serde_json::from_value(json).expect("read");
        assert_eq!(back, span);
        let trace = span.trace_context();
        assert_eq!(
            (trace.span_id, trace.trace_id),
            (span.span_id, span.trace_id)
        );
    }
}
