//! Trace metrics: the `trace_metric` envelope item (`content_type:
//! application/vnd.sentry.items.trace-metric+json`, `item_count`, payload `{"items":
//! [...]}`, the same container as the `log` item), one [`Metric`] per entry, under the
//! official `sentry::protocol` names.
//!
//! A metric is `{timestamp, trace_id, span_id?, name, value, type, unit?, attributes}`;
//! `type` is `counter`, `gauge` or `distribution`, `unit` a lowercase [`Unit`] name, and
//! the attributes are typed exactly as a log's ([`LogAttribute`]). Writing is exact
//! ([`Item::from_metrics`]); reading for a server is lenient ([`read_metric_item`]): a
//! metric that does not read is dropped and counted, never the item, and every count and
//! size is bounded ([`MetricLimits`]) before the work it bounds.
//!
//! ```
//! use sentry_client::protocol::{read_metric_item, Item, Metric, MetricLimits, MetricType, Unit};
//!
//! let mut metric = Metric::new(MetricType::Distribution, "http.response_time", 187.5);
//! metric.unit = Some(Unit::Millisecond);
//! metric.attributes.insert("http.route".into(), "/health".into());
//! let item = Item::from_metrics(&[metric]);
//! assert_eq!(item.headers.item_count, Some(1));
//! let read = read_metric_item(&item.payload, &MetricLimits::default()).unwrap();
//! assert_eq!(read.metrics[0].name, "http.response_time");
//! assert_eq!(read.metrics[0].unit, Some(Unit::Millisecond));
//! assert_eq!(read.metrics[0].attributes["http.route"].0, "/health");
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::de::Deserializer;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::envelope::{Item, ItemType};
use super::log::{
    container_entries, read_attributes, read_time, read_trace_id, unix_seconds, ContainerError,
    LogAttribute,
};
use super::span_id::{SpanId, TraceId};

/// The content type of a `trace_metric` container item.
pub const METRIC_CONTENT_TYPE: &str = "application/vnd.sentry.items.trace-metric+json";

/// One metric value, as the SDK sends it (Sentry aggregates them).
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Counter, gauge or distribution.
    pub r#type: MetricType,
    /// The name, with dots for hierarchy (`http.requests`).
    pub name: Cow<'static, str>,
    /// The value (a non-finite one is dropped by the SDK as `invalid`).
    pub value: f64,
    /// When it was recorded.
    pub timestamp: SystemTime,
    /// The trace it belongs to (all zeros when a reader found none).
    pub trace_id: TraceId,
    /// The span that was active, if any.
    pub span_id: Option<SpanId>,
    /// The unit of a gauge or distribution (counters have none).
    pub unit: Option<Unit>,
    /// Typed attributes, the same values as a log's.
    pub attributes: BTreeMap<Cow<'static, str>, LogAttribute>,
}

impl Metric {
    /// A metric of `ty` named `name` with `value`, now, in no trace, without unit or
    /// attributes.
    pub fn new(ty: MetricType, name: impl Into<Cow<'static, str>>, value: f64) -> Metric {
        Metric {
            r#type: ty,
            name: name.into(),
            value,
            timestamp: SystemTime::now(),
            trace_id: TraceId::from([0; 16]),
            span_id: None,
            unit: None,
            attributes: BTreeMap::new(),
        }
    }

    /// The attribute `key` as a string, if it is one.
    pub fn attribute_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(|a| a.0.as_str())
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("timestamp", &unix_seconds(self.timestamp))?;
        m.serialize_entry("trace_id", &self.trace_id)?;
        if let Some(span) = &self.span_id {
            m.serialize_entry("span_id", span)?;
        }
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("value", &self.value)?;
        m.serialize_entry("type", self.r#type.as_str())?;
        if let Some(unit) = &self.unit {
            m.serialize_entry("unit", unit.as_str())?;
        }
        if !self.attributes.is_empty() {
            m.serialize_entry("attributes", &self.attributes)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Metric {
    /// Reads one metric the lenient way (see [`read_metric_item`]); an entry that does
    /// not read as a metric is an error here.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        read_one(&value, &MetricLimits::default()).ok_or_else(|| {
            serde::de::Error::custom("not a metric: needs a name, a numeric value and a type")
        })
    }
}

/// The kind of a [`Metric`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A count of occurrences; Sentry sums the values.
    Counter,
    /// A current level (queue depth, open connections) that goes up and down.
    Gauge,
    /// Values whose spread matters (durations, sizes): percentiles, averages.
    Distribution,
}

impl MetricType {
    /// The wire name (`counter`, `gauge`, `distribution`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Distribution => "distribution",
        }
    }

    /// Reads a wire name (any case).
    pub fn parse(s: &str) -> Option<MetricType> {
        [
            MetricType::Counter,
            MetricType::Gauge,
            MetricType::Distribution,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MetricType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MetricType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Cow<'de, str> = Deserialize::deserialize(d)?;
        MetricType::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown metric type {s:?}")))
    }
}

/// The unit of a measurement: a time, an amount of information, a fraction, or any other
/// name. Written as its lowercase singular name (`millisecond`, `kibibyte`, `percent`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Unit {
    Nanosecond,
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Bit,
    Byte,
    Kilobyte,
    Kibibyte,
    Megabyte,
    Mebibyte,
    Gigabyte,
    Gibibyte,
    Terabyte,
    Tebibyte,
    Petabyte,
    Pebibyte,
    Exabyte,
    Exbibyte,
    /// A fraction, 0 to 1.
    Ratio,
    /// A fraction, 0 to 100.
    Percent,
    /// Any other unit, written as given (the official crate's name for it).
    Other(Cow<'static, str>),
}

/// The named units with their wire names.
static NAMED_UNITS: [(&str, Unit); 24] = [
    ("nanosecond", Unit::Nanosecond),
    ("microsecond", Unit::Microsecond),
    ("millisecond", Unit::Millisecond),
    ("second", Unit::Second),
    ("minute", Unit::Minute),
    ("hour", Unit::Hour),
    ("day", Unit::Day),
    ("week", Unit::Week),
    ("bit", Unit::Bit),
    ("byte", Unit::Byte),
    ("kilobyte", Unit::Kilobyte),
    ("kibibyte", Unit::Kibibyte),
    ("megabyte", Unit::Megabyte),
    ("mebibyte", Unit::Mebibyte),
    ("gigabyte", Unit::Gigabyte),
    ("gibibyte", Unit::Gibibyte),
    ("terabyte", Unit::Terabyte),
    ("tebibyte", Unit::Tebibyte),
    ("petabyte", Unit::Petabyte),
    ("pebibyte", Unit::Pebibyte),
    ("exabyte", Unit::Exabyte),
    ("exbibyte", Unit::Exbibyte),
    ("ratio", Unit::Ratio),
    ("percent", Unit::Percent),
];

/// Symbols read as named units (case matters: `b` is a bit, `B` a byte).
static UNIT_SYMBOLS: [(&str, Unit); 24] = [
    ("ns", Unit::Nanosecond),
    ("us", Unit::Microsecond),
    ("\u{b5}s", Unit::Microsecond),
    ("\u{3bc}s", Unit::Microsecond),
    ("ms", Unit::Millisecond),
    ("s", Unit::Second),
    ("min", Unit::Minute),
    ("h", Unit::Hour),
    ("d", Unit::Day),
    ("b", Unit::Bit),
    ("B", Unit::Byte),
    ("kB", Unit::Kilobyte),
    ("KiB", Unit::Kibibyte),
    ("MB", Unit::Megabyte),
    ("MiB", Unit::Mebibyte),
    ("GB", Unit::Gigabyte),
    ("GiB", Unit::Gibibyte),
    ("TB", Unit::Terabyte),
    ("TiB", Unit::Tebibyte),
    ("PB", Unit::Petabyte),
    ("PiB", Unit::Pebibyte),
    ("EB", Unit::Exabyte),
    ("EiB", Unit::Exbibyte),
    ("%", Unit::Percent),
];

impl Unit {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Unit::Other(name) => name,
            named => NAMED_UNITS
                .iter()
                .find(|(_, u)| u == named)
                .map(|(n, _)| *n)
                .unwrap_or(""),
        }
    }

    /// Reads a unit name: a wire name in any case or its plural (`Milliseconds`), or a
    /// symbol (`ms`, `KiB`, `%`); anything else is [`Unit::Other`].
    pub fn parse(name: impl Into<Cow<'static, str>>) -> Unit {
        let name = name.into();
        let trimmed = name.trim();
        if let Some((_, unit)) = UNIT_SYMBOLS.iter().find(|(s, _)| *s == trimmed) {
            return unit.clone();
        }
        let lower = trimmed.to_ascii_lowercase();
        let singular = lower.strip_suffix('s').unwrap_or(&lower);
        NAMED_UNITS
            .iter()
            .find(|(n, _)| *n == lower || *n == singular)
            .map(|(_, u)| u.clone())
            .unwrap_or(Unit::Other(name))
    }
}

impl From<&'static str> for Unit {
    fn from(name: &'static str) -> Unit {
        Unit::parse(name)
    }
}

impl From<String> for Unit {
    fn from(name: String) -> Unit {
        Unit::parse(name)
    }
}

impl From<Cow<'static, str>> for Unit {
    fn from(name: Cow<'static, str>) -> Unit {
        Unit::parse(name)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Unit::parse(String::deserialize(d)?))
    }
}

impl Item {
    /// A `trace_metric` container item of these metrics (the SDK sends at most 100 per
    /// item).
    pub fn from_metrics(metrics: &[Metric]) -> Item {
        #[derive(Serialize)]
        struct Container<'a> {
            items: &'a [Metric],
        }
        let payload = serde_json::to_vec(&Container { items: metrics }).unwrap_or_default();
        let mut item = Item::new(ItemType::TraceMetric, payload);
        item.headers.content_type = Some(METRIC_CONTENT_TYPE.into());
        item.headers.item_count = Some(metrics.len() as u64);
        item
    }
}

/// Bounds of [`read_metric_item`], each checked before the work it bounds.
#[derive(Clone, Debug)]
pub struct MetricLimits {
    /// Metrics read from one item; the rest are dropped (counted). Default: 1,000.
    pub max_metrics: usize,
    /// Characters of a name; a longer name drops the metric. Default: 256.
    pub max_name_chars: usize,
    /// Characters of a unit; a longer unit is dropped. Default: 64.
    pub max_unit_chars: usize,
    /// Attributes kept per metric; the rest are dropped. Default: 256.
    pub max_attributes: usize,
    /// Characters of an attribute key; longer keys drop the attribute. Default: 256.
    pub max_key_chars: usize,
    /// Characters of a string attribute value; longer ones are cut. Default: 4,096.
    pub max_value_chars: usize,
}

impl Default for MetricLimits {
    fn default() -> Self {
        MetricLimits {
            max_metrics: 1_000,
            max_name_chars: 256,
            max_unit_chars: 64,
            max_attributes: 256,
            max_key_chars: 256,
            max_value_chars: 4_096,
        }
    }
}

/// What [`read_metric_item`] read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricBatch {
    /// The metrics that read.
    pub metrics: Vec<Metric>,
    /// Entries dropped: not a metric, or beyond `max_metrics`.
    pub dropped: usize,
}

/// Reads a `trace_metric` item's payload leniently: `{"items": [...]}` (a bare array, or
/// a single metric object, read too). Entries that are not metrics (no name, no finite
/// numeric value, no known type) are dropped and counted; a missing timestamp reads as
/// now, a missing or bad trace id as all zeros, a bad span id or unit as none.
pub fn read_metric_item(
    payload: &[u8],
    limits: &MetricLimits,
) -> Result<MetricBatch, ContainerError> {
    let entries = container_entries(payload, |obj| obj.contains_key("name"))?;
    let mut batch = MetricBatch {
        metrics: Vec::with_capacity(entries.len().min(limits.max_metrics)),
        dropped: entries.len().saturating_sub(limits.max_metrics),
    };
    for entry in entries.iter().take(limits.max_metrics) {
        match read_one(entry, limits) {
            Some(metric) => batch.metrics.push(metric),
            None => batch.dropped += 1,
        }
    }
    Ok(batch)
}

fn read_one(v: &Value, limits: &MetricLimits) -> Option<Metric> {
    let obj = v.as_object()?;
    let name = obj.get("name")?.as_str()?.trim();
    if name.is_empty() || name.chars().count() > limits.max_name_chars {
        return None;
    }
    let value = match obj.get("value")? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !value.is_finite() {
        return None;
    }
    let ty = MetricType::parse(obj.get("type")?.as_str()?)?;
    let id_of = |k: &str| obj.get(k).and_then(Value::as_str);
    let unit = id_of("unit")
        .map(str::trim)
        .filter(|u| !u.is_empty() && u.chars().count() <= limits.max_unit_chars)
        .map(|u| Unit::parse(u.to_owned()));
    let attributes = read_attributes(
        obj.get("attributes"),
        limits.max_attributes,
        limits.max_key_chars,
        limits.max_value_chars,
    )
    .map(|(k, a)| (Cow::Owned(k), a))
    .collect();
    Some(Metric {
        r#type: ty,
        name: Cow::Owned(name.to_owned()),
        value,
        timestamp: obj
            .get("timestamp")
            .and_then(read_time)
            .unwrap_or_else(SystemTime::now),
        trace_id: id_of("trace_id")
            .and_then(read_trace_id)
            .unwrap_or_else(|| TraceId::from([0; 16])),
        span_id: id_of("span_id").and_then(|s| s.parse().ok()),
        unit,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn writes_the_protocol_shape() {
        let mut m = Metric::new(MetricType::Gauge, "queue.depth", 42.0);
        m.timestamp = UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        m.trace_id = "0123456789abcdef0123456789abcdef".parse().unwrap();
        m.span_id = Some("0011223344556677".parse().unwrap());
        m.unit = Some(Unit::Kibibyte);
        m.attributes.insert("shard".into(), 3.into());
        m.attributes.insert("ok".into(), true.into());
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "timestamp": 1_700_000_000.25,
                "trace_id": "0123456789abcdef0123456789abcdef",
                "span_id": "0011223344556677",
                "name": "queue.depth",
                "value": 42.0,
                "type": "gauge",
                "unit": "kibibyte",
                "attributes": {
                    "ok": {"value": true, "type": "boolean"},
                    "shard": {"value": 3, "type": "integer"},
                },
            })
        );
        let counter = serde_json::to_value(Metric::new(MetricType::Counter, "c", 1.0)).unwrap();
        assert!(counter.get("unit").is_none() && counter.get("span_id").is_none());
        assert!(counter.get("attributes").is_none());
    }

    #[test]
    fn item_round_trips_through_an_envelope() {
        let metrics: Vec<Metric> = (0..3)
            .map(|i| Metric::new(MetricType::Counter, format!("n{i}"), f64::from(i)))
            .collect();
        let mut env = super::super::Envelope::new();
        env.push(Item::from_metrics(&metrics));
        let back = super::super::Envelope::from_slice(&env.to_vec(), &Default::default()).unwrap();
        let item = back.item(&ItemType::TraceMetric).unwrap();
        assert_eq!(
            item.headers.content_type.as_deref(),
            Some(METRIC_CONTENT_TYPE)
        );
        assert_eq!(item.headers.item_count, Some(3));
        let read = read_metric_item(&item.payload, &MetricLimits::default()).unwrap();
        assert_eq!(read.dropped, 0);
        for (read, sent) in read.metrics.iter().zip(&metrics) {
            let micros = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_micros();
            assert!(micros(read.timestamp).abs_diff(micros(sent.timestamp)) <= 1);
            let mut sent = sent.clone();
            sent.timestamp = read.timestamp;
            assert_eq!(*read, sent);
        }
    }

    #[test]
    fn reads_leniently_and_within_bounds() {
        let payload = br#"{"items":[
          {"timestamp":1700000000.5,"trace_id":"771a43a4-1926-42f0-b136-d5159a501700",
           "span_id":"0123456789abcdef","name":"db.query","value":"12.5","type":"Distribution",
           "unit":"ms","attributes":{"db":{"value":"pg","type":"string"},"n":{"value":"7","type":"integer"},"":1}},
          {"name":"jobs","value":1,"type":"counter","unit":"Widgets","span_id":"bad"},
          {"name":"no.value","type":"gauge"},
          {"name":"nan","value":"NaN","type":"gauge"},
          {"name":"what","value":1,"type":"set"},
          "junk"
        ]}"#;
        let read = read_metric_item(payload, &MetricLimits::default()).unwrap();
        assert_eq!(read.dropped, 4);
        let q = &read.metrics[0];
        assert_eq!(q.r#type, MetricType::Distribution);
        assert_eq!(q.value, 12.5);
        assert_eq!(q.unit, Some(Unit::Millisecond));
        assert_eq!(q.trace_id.to_string(), "771a43a4192642f0b136d5159a501700");
        assert_eq!(q.span_id.unwrap().to_string(), "0123456789abcdef");
        assert_eq!(q.attributes["n"].0, 7);
        assert_eq!(q.attribute_str("db"), Some("pg"));
        assert!(!q.attributes.contains_key(""));
        let jobs = &read.metrics[1];
        assert_eq!(jobs.unit, Some(Unit::Other("Widgets".into())));
        assert_eq!(
            (jobs.span_id, jobs.trace_id),
            (None, TraceId::from([0; 16]))
        );
        let limits = MetricLimits {
            max_metrics: 1,
            ..Default::default()
        };
        let two =
            br#"[{"name":"a","value":1,"type":"gauge"},{"name":"b","value":2,"type":"gauge"}]"#;
        let read = read_metric_item(two, &limits).unwrap();
        assert_eq!((read.metrics.len(), read.dropped), (1, 1));
        let single = br#"{"name":"a","value":1,"type":"gauge"}"#;
        assert_eq!(read_metric_item(single, &limits).unwrap().metrics.len(), 1);
        assert!(read_metric_item(b"[", &limits).is_err());
        assert!(read_metric_item(br#"{"items":3}"#, &limits).is_err());
    }

    #[test]
    fn units_read_names_plurals_and_symbols() {
        for (name, unit) in &NAMED_UNITS {
            assert_eq!(Unit::parse(*name), *unit);
            assert_eq!(unit.as_str(), *name);
            assert_eq!(Unit::from(format!("{}s", name.to_uppercase())), *unit);
        }
        assert_eq!(Unit::from("µs"), Unit::Microsecond);
        assert_eq!(Unit::from("b"), Unit::Bit);
        assert_eq!(Unit::from("B"), Unit::Byte);
        assert_eq!(Unit::from("%"), Unit::Percent);
        assert_eq!(Unit::from("requests").as_str(), "requests");
        assert_eq!(serde_json::to_value(Unit::Second).unwrap(), "second");
        let back: Unit = serde_json::from_value("Kibibytes".into()).unwrap();
        assert_eq!(back, Unit::Kibibyte);
        assert_eq!(MetricType::parse("GAUGE"), Some(MetricType::Gauge));
    }
}
