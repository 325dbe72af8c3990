//! The distributed-tracing headers: `sentry-trace` (`{trace_id}-{span_id}[-{0|1}]`), read
//! from incoming requests and written on outgoing ones, and `baggage`, whose `sentry-*`
//! entries carry the trace's dynamic sampling context
//! ([`DynamicSamplingContext`](crate::protocol::DynamicSamplingContext)) to the next
//! service.

use std::fmt;
use std::str::FromStr;

use crate::protocol::{SpanId, TraceId};

/// A parsed `sentry-trace` header: the trace, the parent span, and the parent's
/// sampling decision if it made one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentryTrace {
    trace_id: TraceId,
    span_id: SpanId,
    sampled: Option<bool>,
}

impl SentryTrace {
    /// A header value for a span of a trace.
    pub fn new(trace_id: TraceId, span_id: SpanId, sampled: Option<bool>) -> Self {
        SentryTrace {
            trace_id,
            span_id,
            sampled,
        }
    }

    /// The trace.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The span that sent the header (the parent of what continues it).
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The sender's sampling decision, if it made one.
    pub fn sampled(&self) -> Option<bool> {
        self.sampled
    }
}

/// Why a `sentry-trace` value does not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid sentry-trace header {0:?}")]
pub struct ParseSentryTraceError(String);

impl FromStr for SentryTrace {
    type Err = ParseSentryTraceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseSentryTraceError(s.chars().take(80).collect());
        let mut parts = s.trim().splitn(3, '-');
        let trace_id = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let span_id = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let sampled = match parts.next() {
            None => None,
            Some("1") => Some(true),
            Some("0") => Some(false),
            Some(_) => return Err(err()),
        };
        Ok(SentryTrace::new(trace_id, span_id, sampled))
    }
}

impl fmt::Display for SentryTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.trace_id, self.span_id)?;
        match self.sampled {
            Some(true) => f.write_str("-1"),
            Some(false) => f.write_str("-0"),
            None => Ok(()),
        }
    }
}

/// Finds and parses the `sentry-trace` header among `headers` (names compared without
/// case); `None` when it is missing or does not read.
pub fn parse_sentry_trace_header<'a, I>(headers: I) -> Option<SentryTrace>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    headers
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("sentry-trace"))
        .and_then(|(_, value)| value.parse().ok())
}

/// An outgoing header: name and value.
pub type TraceHeader = (&'static str, String);

/// The headers that continue a trace in the service a request goes to: `sentry-trace`,
/// then `baggage` when there is a sampling context to pass on.
#[derive(Debug, Default)]
pub struct TraceHeadersIter {
    headers: std::vec::IntoIter<TraceHeader>,
}

impl TraceHeadersIter {
    pub(crate) fn new(sentry_trace: SentryTrace, baggage: Option<String>) -> Self {
        let mut headers = vec![("sentry-trace", sentry_trace.to_string())];
        if let Some(baggage) = baggage.filter(|b| !b.is_empty()) {
            headers.push(("baggage", baggage));
        }
        TraceHeadersIter {
            headers: headers.into_iter(),
        }
    }
}

impl Iterator for TraceHeadersIter {
    type Item = TraceHeader;

    fn next(&mut self) -> Option<TraceHeader> {
        self.headers.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentry_trace_reads_what_it_writes_and_refuses_garbage() {
        let value = "09e04486820349518ac7b5d2adbf6ba5-9cf635fa5b870b3a-1";
        let trace: SentryTrace = value.parse().expect("reads");
        assert_eq!(trace.sampled(), Some(true));
        assert_eq!(trace.to_string(), value);
        let unsampled: SentryTrace = "09e04486820349518ac7b5d2adbf6ba5-9cf635fa5b870b3a-0"
            .parse()
            .expect("reads");
        assert_eq!(unsampled.sampled(), Some(false));
        let deferred: SentryTrace = "09e04486820349518ac7b5d2adbf6ba5-9cf635fa5b870b3a"
            .parse()
            .expect("reads");
        assert_eq!(deferred.sampled(), None);
        for bad in ["", "abc", "09e04486820349518ac7b5d2adbf6ba5-xyz", "a-b-c-d"] {
            assert!(bad.parse::<SentryTrace>().is_err(), "{bad:?}");
        }
        let found = parse_sentry_trace_header([("Accept", "*/*"), ("SenTrY-TRAce", value)]);
        assert_eq!(found, Some(trace));
    }
}
