//! Continuing the caller's trace: the `sentry-trace` and `baggage` request headers.
//!
//! `sentry-trace: <trace_id 32 hex>-<span_id 16 hex>[-<sampled 0|1>]` names the caller's
//! trace and span. `baggage` (W3C) carries the caller's dynamic sampling context as
//! `sentry-` prefixed members; its `sentry-trace_id` is used when there is no
//! `sentry-trace` header, and `sentry-sampled` when `sentry-trace` has no flag. The
//! request then gets the trace context `{trace_id, span_id: <new>, parent_span_id:
//! <caller's span>, op: "http.server"}`, so its events link to the caller's trace.
//! Without either header, a request gets a fresh trace id (shared by all its events).

use http::{HeaderMap, HeaderName};
use serde_json::{Map, Value};

use crate::request::random_hex;

/// The trace context of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// This request's span: 16 lowercase hex digits, new per request.
    pub span_id: String,
    /// The caller's span, when the request continues a trace.
    pub parent_span_id: Option<String>,
    /// The caller's sampling decision, when it sent one.
    pub sampled: Option<bool>,
}

impl TraceContext {
    /// A new trace (no caller).
    pub fn fresh() -> TraceContext {
        TraceContext {
            trace_id: random_hex(32),
            span_id: random_hex(16),
            parent_span_id: None,
            sampled: None,
        }
    }

    /// The trace the headers continue, if they name one.
    pub fn from_headers(headers: &HeaderMap) -> Option<TraceContext> {
        // Static names: a lookup by `&str` would parse and hash the name each time.
        static SENTRY_TRACE: HeaderName = HeaderName::from_static("sentry-trace");
        static BAGGAGE: HeaderName = HeaderName::from_static("baggage");
        let header = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let from_trace = header(&SENTRY_TRACE).and_then(parse_sentry_trace);
        let baggage = header(&BAGGAGE).map(parse_baggage).unwrap_or_default();
        let baggage_sampled =
            baggage
                .iter()
                .find(|(k, _)| k == "sampled")
                .and_then(|(_, v)| match v.as_str() {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                });
        match from_trace {
            Some((trace_id, parent, sampled)) => Some(TraceContext {
                trace_id,
                span_id: random_hex(16),
                parent_span_id: Some(parent),
                sampled: sampled.or(baggage_sampled),
            }),
            None => {
                let trace_id = baggage
                    .iter()
                    .find(|(k, _)| k == "trace_id")
                    .map(|(_, v)| v.to_ascii_lowercase())
                    .filter(|v| is_hex(v, 32))?;
                Some(TraceContext {
                    trace_id,
                    span_id: random_hex(16),
                    parent_span_id: None,
                    sampled: baggage_sampled,
                })
            }
        }
    }

    /// The `contexts.trace` object.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("type".into(), "trace".into());
        map.insert("trace_id".into(), self.trace_id.clone().into());
        map.insert("span_id".into(), self.span_id.clone().into());
        if let Some(parent) = &self.parent_span_id {
            map.insert("parent_span_id".into(), parent.clone().into());
        }
        map.insert("op".into(), "http.server".into());
        if let Some(sampled) = self.sampled {
            map.insert("sampled".into(), sampled.into());
        }
        Value::Object(map)
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `trace_id-span_id[-sampled]` → (trace id, span id, sampled), lowercased. An all-zero
/// id is invalid.
fn parse_sentry_trace(value: &str) -> Option<(String, String, Option<bool>)> {
    let mut parts = value.trim().split('-');
    let trace_id = parts.next()?.to_ascii_lowercase();
    let span_id = parts.next()?.to_ascii_lowercase();
    let sampled = match parts.next() {
        None => None,
        Some("1") => Some(true),
        Some("0") => Some(false),
        Some(_) => return None,
    };
    if parts.next().is_some()
        || !is_hex(&trace_id, 32)
        || !is_hex(&span_id, 16)
        || trace_id.bytes().all(|b| b == b'0')
        || span_id.bytes().all(|b| b == b'0')
    {
        return None;
    }
    Some((trace_id, span_id, sampled))
}

/// The `sentry-` members of a `baggage` header, prefix removed, values percent-decoded
/// only as far as Sentry writes them (plain tokens).
fn parse_baggage(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .filter_map(|member| {
            let member = member.split(';').next()?.trim();
            let (key, val) = member.split_once('=')?;
            let key = key.trim().strip_prefix("sentry-")?;
            Some((key.to_owned(), val.trim().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn continues_sentry_trace() {
        let t = TraceContext::from_headers(&headers(&[(
            "sentry-trace",
            "771A43A4192642F0B136D5159A501700-B0E6F15B45C36B12-1",
        )]))
        .expect("trace");
        assert_eq!(t.trace_id, "771a43a4192642f0b136d5159a501700");
        assert_eq!(t.parent_span_id.as_deref(), Some("b0e6f15b45c36b12"));
        assert_eq!(t.sampled, Some(true));
        assert!(is_hex(&t.span_id, 16));
        assert_ne!(t.span_id, "b0e6f15b45c36b12");
        let v = t.to_value();
        assert_eq!(v["parent_span_id"], "b0e6f15b45c36b12");
        assert_eq!(v["op"], "http.server");
    }

    #[test]
    fn baggage_fills_in() {
        let t = TraceContext::from_headers(&headers(&[
            (
                "sentry-trace",
                "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12",
            ),
            (
                "baggage",
                "other=1, sentry-sampled=false,sentry-public_key=abc",
            ),
        ]))
        .expect("trace");
        assert_eq!(t.sampled, Some(false));
        let t = TraceContext::from_headers(&headers(&[(
            "baggage",
            "sentry-trace_id=0123456789abcdef0123456789abcdef;prop, sentry-release=1",
        )]))
        .expect("trace from baggage");
        assert_eq!(t.trace_id, "0123456789abcdef0123456789abcdef");
        assert_eq!(t.parent_span_id, None);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "xyz",
            "771a43a4192642f0b136d5159a501700",
            "771a43a4192642f0b136d5159a50170-b0e6f15b45c36b12",
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b1z",
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-2",
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1-x",
            "00000000000000000000000000000000-b0e6f15b45c36b12",
        ] {
            assert_eq!(
                TraceContext::from_headers(&headers(&[("sentry-trace", bad)])),
                None,
                "{bad:?}"
            );
        }
        assert_eq!(TraceContext::from_headers(&HeaderMap::new()), None);
    }

    #[test]
    fn fresh_ids_are_hex() {
        let t = TraceContext::fresh();
        assert!(is_hex(&t.trace_id, 32) && is_hex(&t.span_id, 16));
        assert_ne!(t.trace_id, TraceContext::fresh().trace_id);
    }
}
