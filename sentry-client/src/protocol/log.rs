//! Structured logs: the `log` envelope item (`content_type:
//! application/vnd.sentry.items.log+json`, `item_count`, payload `{"items": [...]}`), one
//! [`Log`] per entry, under the official `sentry::protocol` names.
//!
//! A log is `{timestamp, trace_id, level, body, severity_number, attributes}`; each
//! attribute is written typed, `{"value": .., "type": "string" | "integer" | "double" |
//! "boolean"}`. Writing is exact ([`Item::from_logs`]); reading for a server is lenient
//! ([`read_log_item`]): a log that does not read is dropped and counted, never the item,
//! and every count and size is bounded ([`LogLimits`]) before the work it bounds.
//!
//! ```
//! use sentry_client::protocol::{read_log_item, Item, Log, LogLevel, LogLimits};
//!
//! let mut log = Log::new(LogLevel::Info, "checkout done");
//! log.attributes.insert("cart.items".into(), 3.into());
//! let item = Item::from_logs(&[log]);
//! assert_eq!(item.headers.item_count, Some(1));
//! let read = read_log_item(&item.payload, &LogLimits::default()).unwrap();
//! assert_eq!(read.logs[0].log.body, "checkout done");
//! assert_eq!(read.logs[0].log.attributes["cart.items"].0, 3);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::envelope::{Item, ItemType};
use super::span_id::{SpanId, TraceId};
use super::values::Timestamp;

/// The content type of a `log` container item.
pub const LOG_CONTENT_TYPE: &str = "application/vnd.sentry.items.log+json";

/// The attribute under which the span of a log travels (the protocol's
/// `sentry.trace.parent_span_id`; newer SDKs also send a top-level `span_id`).
pub const SPAN_ID_ATTRIBUTE: &str = "sentry.trace.parent_span_id";

/// One structured log.
#[derive(Clone, Debug, PartialEq)]
pub struct Log {
    /// The severity.
    pub level: LogLevel,
    /// The message.
    pub body: String,
    /// The trace the log belongs to (filled from the scope when `None`).
    pub trace_id: Option<TraceId>,
    /// When it happened.
    pub timestamp: SystemTime,
    /// The OpenTelemetry severity number (1–24); written from the level when `None`.
    pub severity_number: Option<LogSeverityNumber>,
    /// Typed attributes (`sentry.message.template`, `code.file.path`, the caller's own).
    pub attributes: BTreeMap<String, LogAttribute>,
}

impl Log {
    /// A log at `level` with `body`, now, without attributes.
    pub fn new(level: LogLevel, body: impl Into<String>) -> Log {
        Log {
            level,
            body: body.into(),
            trace_id: None,
            timestamp: SystemTime::now(),
            severity_number: None,
            attributes: BTreeMap::new(),
        }
    }

    /// The span id in the attributes (`sentry.trace.parent_span_id`, or the official
    /// Rust crate's `parent_span_id`), when it is one.
    pub fn span_id(&self) -> Option<SpanId> {
        [SPAN_ID_ATTRIBUTE, "parent_span_id"]
            .iter()
            .filter_map(|k| self.attributes.get(*k))
            .find_map(|a| a.0.as_str().and_then(|s| s.parse().ok()))
    }

    /// The attribute `key` as a string, if it is one.
    pub fn attribute_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(|a| a.0.as_str())
    }
}

impl Serialize for Log {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("timestamp", &unix_seconds(self.timestamp))?;
        if let Some(t) = &self.trace_id {
            m.serialize_entry("trace_id", t)?;
        }
        m.serialize_entry("level", self.level.as_str())?;
        m.serialize_entry("body", &self.body)?;
        let severity = self
            .severity_number
            .unwrap_or_else(|| self.level.severity_number());
        m.serialize_entry("severity_number", &severity.0)?;
        if !self.attributes.is_empty() {
            m.serialize_entry("attributes", &self.attributes)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Log {
    /// Reads one log the lenient way (see [`read_log_item`]); an entry that does not
    /// read as a log is an error here.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        read_one(&value, &LogLimits::default())
            .map(|r| r.log)
            .ok_or_else(|| serde::de::Error::custom("not a log: needs a string body"))
    }
}

/// Seconds since the epoch, to the microsecond (0 before it).
pub(super) fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_micros() as f64) / 1e6,
        Err(_) => 0.0,
    }
}

/// The severity of a log (OpenTelemetry's `SeverityText`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
        LogLevel::Fatal,
    ];

    /// The wire name (`trace` … `fatal`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Fatal => "fatal",
        }
    }

    /// Reads a level name, with the aliases SDKs use (`warning`, `critical`, `log`).
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "info" | "log" => LogLevel::Info,
            "warn" | "warning" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "fatal" | "critical" => LogLevel::Fatal,
            _ => return None,
        })
    }

    /// The first severity number of the level's range (1, 5, 9, 13, 17, 21).
    pub fn severity_number(self) -> LogSeverityNumber {
        LogSeverityNumber(1 + 4 * self as u8)
    }

    /// The level of a severity number (1–4 trace … 21–24 fatal).
    pub fn from_severity_number(n: LogSeverityNumber) -> LogLevel {
        LogLevel::ALL[usize::from((n.0 - 1) / 4).min(5)]
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OpenTelemetry severity number, 1 to 24.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogSeverityNumber(u8);

impl LogSeverityNumber {
    /// The least severe number.
    pub const MIN: u8 = 1;
    /// The most severe number.
    pub const MAX: u8 = 24;

    /// The number.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for LogSeverityNumber {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        if (Self::MIN..=Self::MAX).contains(&n) {
            Ok(LogSeverityNumber(n))
        } else {
            Err(format!(
                "a severity number is {} to {}, not {n}",
                Self::MIN,
                Self::MAX
            ))
        }
    }
}

/// An attribute value: a string, an integer, a double or a boolean (anything else is
/// written as its JSON text, typed `string`).
#[derive(Clone, Debug, PartialEq)]
pub struct LogAttribute(pub Value);

impl<T> From<T> for LogAttribute
where
    Value: From<T>,
{
    fn from(value: T) -> Self {
        LogAttribute(Value::from(value))
    }
}

impl LogAttribute {
    /// The protocol's type name of the value.
    pub fn type_name(&self) -> &'static str {
        match &self.0 {
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() => "integer",
            Value::Number(n) if n.is_f64() => "double",
            _ => "string",
        }
    }
}

impl Serialize for LogAttribute {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("LogAttribute", 2)?;
        match &self.0 {
            Value::String(v) => st.serialize_field("value", v)?,
            Value::Bool(v) => st.serialize_field("value", v)?,
            Value::Number(n) if n.is_i64() || n.is_f64() => st.serialize_field("value", n)?,
            // u64 above i64::MAX would lose digits as a double: written as text.
            other => st.serialize_field("value", &other.to_string())?,
        }
        st.serialize_field("type", self.type_name())?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for LogAttribute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LogAttribute;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an attribute {value, type} or a plain value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LogAttribute, A::Error> {
                let mut obj = serde_json::Map::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    obj.insert(k, v);
                }
                Ok(attribute_from(Value::Object(obj)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<LogAttribute, E> {
                Ok(LogAttribute(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<LogAttribute, E> {
                Ok(LogAttribute(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<LogAttribute, E> {
                Ok(LogAttribute(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<LogAttribute, E> {
                Ok(LogAttribute(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<LogAttribute, E> {
                Ok(LogAttribute(v.into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `{value, type}` → the typed value (an integer sent as text reads as an integer);
/// anything else is kept as it came.
fn attribute_from(v: Value) -> LogAttribute {
    let Value::Object(mut obj) = v else {
        return LogAttribute(v);
    };
    let (Some(value), ty) = (obj.remove("value"), obj.get("type").and_then(Value::as_str)) else {
        return LogAttribute(Value::Object(obj));
    };
    let typed = match (ty, &value) {
        (Some("integer"), Value::String(s)) => s.parse::<i64>().map(Value::from).ok(),
        (Some("double"), Value::String(s)) => s.parse::<f64>().ok().map(Value::from),
        (Some("boolean"), Value::String(s)) => s.parse::<bool>().ok().map(Value::from),
        _ => None,
    };
    LogAttribute(typed.unwrap_or(value))
}

impl Item {
    /// A `log` container item of these logs (the SDK sends at most 100 per item).
    pub fn from_logs(logs: &[Log]) -> Item {
        #[derive(Serialize)]
        struct Container<'a> {
            items: &'a [Log],
        }
        let payload = serde_json::to_vec(&Container { items: logs }).unwrap_or_default();
        let mut item = Item::new(ItemType::Log, payload);
        item.headers.content_type = Some(LOG_CONTENT_TYPE.into());
        item.headers.item_count = Some(logs.len() as u64);
        item
    }
}

/// Bounds of [`read_log_item`], each checked before the work it bounds.
#[derive(Clone, Debug)]
pub struct LogLimits {
    /// Logs read from one item; the rest are dropped (counted). Default: 1,000.
    pub max_logs: usize,
    /// Attributes kept per log; the rest are dropped. Default: 256.
    pub max_attributes: usize,
    /// Characters of a body; longer ones are cut. Default: 8,192.
    pub max_body_chars: usize,
    /// Characters of an attribute key; longer keys drop the attribute. Default: 256.
    pub max_key_chars: usize,
    /// Characters of a string attribute value; longer ones are cut. Default: 4,096.
    pub max_value_chars: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_logs: 1_000,
            max_attributes: 256,
            max_body_chars: 8_192,
            max_key_chars: 256,
            max_value_chars: 4_096,
        }
    }
}

/// One log as a server reads it: the log and its span, from the top-level `span_id`
/// or the span attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadLog {
    /// The log (an all-zero trace id reads as none).
    pub log: Log,
    /// The span that was active, if the SDK said.
    pub span_id: Option<SpanId>,
}

/// What [`read_log_item`] read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogBatch {
    /// The logs that read.
    pub logs: Vec<ReadLog>,
    /// Entries dropped: not a log, or beyond `max_logs`.
    pub dropped: usize,
}

/// Why the payload of a container item (`log`, `trace_metric`) is not a container at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContainerError {
    /// The payload is not JSON.
    #[error("the container item is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The payload has no `items` array.
    #[error("the container item has no `items` array")]
    NoItems,
}

/// Why a `log` item's payload is not a container at all (the name it had before metrics
/// shared it).
pub type LogItemError = ContainerError;

/// The entries of a container payload: `{"items": [...]}`, a bare array, or a single
/// object that `is_entry` accepts (as some SDKs once sent).
pub(super) fn container_entries(
    payload: &[u8],
    is_entry: impl Fn(&serde_json::Map<String, Value>) -> bool,
) -> Result<Vec<Value>, ContainerError> {
    let value: Value = serde_json::from_slice(payload)?;
    match value {
        Value::Object(mut obj) => match obj.remove("items") {
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(ContainerError::NoItems),
            None if is_entry(&obj) => Ok(vec![Value::Object(obj)]),
            None => Err(ContainerError::NoItems),
        },
        Value::Array(items) => Ok(items),
        _ => Err(ContainerError::NoItems),
    }
}

/// Reads a `log` item's payload leniently: `{"items": [...]}` (a bare array, or a single
/// log object as some SDKs once sent, read too). Entries that are not logs (no string
/// `body`) are dropped and counted; a missing level reads as `info` (or from
/// `severity_number`), a missing timestamp as now, a bad trace id as none.
pub fn read_log_item(payload: &[u8], limits: &LogLimits) -> Result<LogBatch, ContainerError> {
    let entries = container_entries(payload, |obj| obj.contains_key("body"))?;
    let mut batch = LogBatch {
        logs: Vec::with_capacity(entries.len().min(limits.max_logs)),
        dropped: entries.len().saturating_sub(limits.max_logs),
    };
    for entry in entries.iter().take(limits.max_logs) {
        match read_one(entry, limits) {
            Some(log) => batch.logs.push(log),
            None => batch.dropped += 1,
        }
    }
    Ok(batch)
}

fn read_one(v: &Value, limits: &LogLimits) -> Option<ReadLog> {
    let obj = v.as_object()?;
    let body = match obj.get("body")? {
        Value::String(s) => cut(s, limits.max_body_chars),
        Value::Null => return None,
        other => cut(&other.to_string(), limits.max_body_chars),
    };
    let severity_number = obj
        .get("severity_number")
        .and_then(Value::as_u64)
        .and_then(|n| u8::try_from(n).ok())
        .and_then(|n| LogSeverityNumber::try_from(n).ok());
    let level = obj
        .get("level")
        .and_then(Value::as_str)
        .and_then(LogLevel::parse)
        .or_else(|| severity_number.map(LogLevel::from_severity_number))
        .unwrap_or(LogLevel::Info);
    let timestamp = obj
        .get("timestamp")
        .and_then(read_time)
        .unwrap_or_else(SystemTime::now);
    let trace_id = obj
        .get("trace_id")
        .and_then(Value::as_str)
        .and_then(read_trace_id);
    let attributes = read_attributes(
        obj.get("attributes"),
        limits.max_attributes,
        limits.max_key_chars,
        limits.max_value_chars,
    )
    .collect();
    let log = Log {
        level,
        body,
        trace_id,
        timestamp,
        severity_number,
        attributes,
    };
    let span_id = obj
        .get("span_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<SpanId>().ok())
        .or_else(|| log.span_id());
    Some(ReadLog { log, span_id })
}

/// The typed attributes of an `attributes` object: at most `max_attributes`, keys empty
/// or longer than `max_key_chars` dropped, string values cut at `max_value_chars`.
pub(super) fn read_attributes(
    attributes: Option<&Value>,
    max_attributes: usize,
    max_key_chars: usize,
    max_value_chars: usize,
) -> impl Iterator<Item = (String, LogAttribute)> + '_ {
    let attrs = match attributes {
        Some(Value::Object(attrs)) => Some(attrs),
        _ => None,
    };
    attrs
        .into_iter()
        .flat_map(move |attrs| attrs.iter().take(max_attributes))
        .filter(move |(k, _)| !k.is_empty() && k.chars().count() <= max_key_chars)
        .map(move |(k, a)| {
            let mut attr = attribute_from(a.clone());
            if let Value::String(s) = &attr.0 {
                if s.chars().count() > max_value_chars {
                    attr = LogAttribute(Value::String(cut(s, max_value_chars)));
                }
            }
            (k.clone(), attr)
        })
}

/// A timestamp as seconds (a number or a numeric string) or RFC 3339 text.
pub(super) fn read_time(v: &Value) -> Option<SystemTime> {
    let secs = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s
            .parse::<f64>()
            .ok()
            .or_else(|| Timestamp::parse_rfc3339(s).map(|t| t.as_unix()))?,
        _ => return None,
    };
    (0.0..1e11)
        .contains(&secs)
        .then(|| UNIX_EPOCH + Duration::from_secs_f64(secs))
}

/// A trace id as 32 hex digits or a dashed UUID; all zeros (sentry-python's "none") is none.
pub(super) fn read_trace_id(s: &str) -> Option<TraceId> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let id: TraceId = hex.to_ascii_lowercase().parse().ok()?;
    (id != TraceId::from([0u8; 16])).then_some(id)
}

/// `s` cut to at most `max` characters.
pub(super) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_typed_attributes_and_severity() {
        let mut log = Log::new(LogLevel::Warn, "disk low");
        log.timestamp = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        log.trace_id = Some("0123456789abcdef0123456789abcdef".parse().unwrap());
        log.attributes.insert("free".into(), 12.into());
        log.attributes.insert("ratio".into(), 0.5.into());
        log.attributes.insert("ok".into(), false.into());
        log.attributes.insert("host".into(), "db1".into());
        log.attributes.insert("big".into(), u64::MAX.into());
        let v = serde_json::to_value(&log).unwrap();
        assert_eq!(v["timestamp"], 1_700_000_000.25);
        assert_eq!(v["level"], "warn");
        assert_eq!(v["severity_number"], 13);
        assert_eq!(v["trace_id"], "0123456789abcdef0123456789abcdef");
        let a = &v["attributes"];
        assert_eq!(
            a["free"],
            serde_json::json!({"value": 12, "type": "integer"})
        );
        assert_eq!(
            a["ratio"],
            serde_json::json!({"value": 0.5, "type": "double"})
        );
        assert_eq!(
            a["ok"],
            serde_json::json!({"value": false, "type": "boolean"})
        );
        assert_eq!(
            a["host"],
            serde_json::json!({"value": "db1", "type": "string"})
        );
        assert_eq!(a["big"]["type"], "string");
        assert_eq!(a["big"]["value"], u64::MAX.to_string());
    }

    #[test]
    fn item_round_trips_through_an_envelope() {
        let logs: Vec<Log> = (0..3)
            .map(|i| Log::new(LogLevel::Info, format!("n{i}")))
            .collect();
        let mut env = super::super::Envelope::new();
        env.push(Item::from_logs(&logs));
        let bytes = env.to_vec();
        let back = super::super::Envelope::from_slice(&bytes, &Default::default()).unwrap();
        let item = back.item(&ItemType::Log).unwrap();
        assert_eq!(item.headers.content_type.as_deref(), Some(LOG_CONTENT_TYPE));
        assert_eq!(item.headers.item_count, Some(3));
        let read = read_log_item(&item.payload, &LogLimits::default()).unwrap();
        assert_eq!(read.logs.len(), 3);
        assert_eq!(read.logs[2].log.body, "n2");
    }

    #[test]
    fn reads_what_other_sdks_send_leniently() {
        let payload = br#"{"items":[
          {"timestamp":1700000000.5,"trace_id":"00000000-0000-0000-0000-000000000000",
           "span_id":"0123456789abcdef","level":"warning","body":"py",
           "attributes":{"n":{"value":"7","type":"integer"},"plain":3,"":1}},
          {"timestamp":"2024-06-01T12:00:00Z","severity_number":18,"body":"from number",
           "trace_id":"771a43a4-1926-42f0-b136-d5159a501700",
           "attributes":{"sentry.trace.parent_span_id":{"value":"fedcba9876543210","type":"string"}}},
          {"level":"info"},
          "junk"
        ]}"#;
        let read = read_log_item(payload, &LogLimits::default()).unwrap();
        assert_eq!(read.dropped, 2);
        let py = &read.logs[0];
        assert_eq!(py.log.level, LogLevel::Warn);
        assert_eq!(py.log.trace_id, None);
        assert_eq!(py.span_id.unwrap().to_string(), "0123456789abcdef");
        assert_eq!(py.log.attributes["n"].0, 7);
        assert_eq!(py.log.attributes["plain"].0, 3);
        assert!(!py.log.attributes.contains_key(""));
        let second = &read.logs[1];
        assert_eq!(second.log.level, LogLevel::Error);
        assert_eq!(
            second.log.trace_id.unwrap().to_string(),
            "771a43a4192642f0b136d5159a501700"
        );
        assert_eq!(second.span_id.unwrap().to_string(), "fedcba9876543210");
    }

    #[test]
    fn bounds_are_applied() {
        let limits = LogLimits {
            max_logs: 2,
            max_attributes: 1,
            max_body_chars: 3,
            ..Default::default()
        };
        let payload = br#"{"items":[{"body":"abcdef","attributes":{"a":1,"b":2}},{"body":"x"},{"body":"y"}]}"#;
        let read = read_log_item(payload, &limits).unwrap();
        assert_eq!(read.logs.len(), 2);
        assert_eq!(read.dropped, 1);
        assert_eq!(read.logs[0].log.body, "abc");
        assert_eq!(read.logs[0].log.attributes.len(), 1);
        assert!(read_log_item(b"[", &limits).is_err());
        assert!(read_log_item(br#"{"items":3}"#, &limits).is_err());
    }

    #[test]
    fn levels_and_numbers_agree() {
        for level in LogLevel::ALL {
            assert_eq!(
                LogLevel::from_severity_number(level.severity_number()),
                level
            );
            assert_eq!(LogLevel::parse(level.as_str()), Some(level));
        }
        assert_eq!(
            LogLevel::from_severity_number(LogSeverityNumber::try_from(24).unwrap()),
            LogLevel::Fatal
        );
        assert!(LogSeverityNumber::try_from(0).is_err());
    }
}
