//! Small value types that several protocol structs share: [`Timestamp`], [`Level`],
//! [`Values`] (a list that may arrive wrapped in `{"values": [...]}`), [`PairList`] (a
//! string map that may arrive as `[[k, v], ...]`) and [`ThreadId`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lenient::{seq, Report};
use super::wire::{Key, Seed, Ser, Wire};

/// A point in time, read from Unix seconds (integer or float) or an RFC 3339 string.
///
/// The form that was read is remembered and written back, so an event passes through a
/// parse and a write unchanged. A timestamp made by [`Timestamp::now`] is written as float
/// seconds, the most compact form every server accepts.
#[derive(Clone, Debug)]
pub struct Timestamp {
    unix: f64,
    repr: TimestampRepr,
}

#[derive(Clone, Debug)]
enum TimestampRepr {
    Float,
    Int,
    Text(Box<str>),
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.unix == other.unix
    }
}

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// A timestamp from Unix seconds, rounded to microseconds (which keeps the written
    /// form short; no SDK or server keeps more).
    pub fn from_unix(secs: f64) -> Self {
        Timestamp {
            unix: (secs * 1e6).round() / 1e6,
            repr: TimestampRepr::Float,
        }
    }

    /// Seconds since the Unix epoch.
    pub fn as_unix(&self) -> f64 {
        self.unix
    }

    /// Parses an RFC 3339 string; a string without a zone is taken as UTC.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let unix = super::rfc3339::parse(s.trim(), false)?;
        Some(Timestamp {
            unix,
            repr: TimestampRepr::Text(s.into()),
        })
    }

    /// The time as an RFC 3339 string in UTC with microseconds, e.g. `2024-06-01T12:00:00.123456Z`.
    pub fn to_rfc3339(&self) -> String {
        super::rfc3339::format(self.unix)
    }

    /// The time as a `SystemTime` (clamped at the epoch).
    pub fn to_system_time(&self) -> SystemTime {
        if self.unix.is_finite() && self.unix > 0.0 {
            UNIX_EPOCH + Duration::from_secs_f64(self.unix)
        } else {
            UNIX_EPOCH
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        let unix = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => -e.duration().as_secs_f64(),
        };
        Timestamp::from_unix(unix)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.repr {
            TimestampRepr::Text(t) => s.serialize_str(t),
            TimestampRepr::Int => s.serialize_i64(self.unix as i64),
            // Exactly the number that was read (sentry-rust sends sub-microsecond
            // digits); timestamps made here were rounded by `from_unix`.
            TimestampRepr::Float => s.serialize_f64(self.unix),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("Unix seconds or an RFC 3339 timestamp")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                // Beyond 2^53 an f64 cannot hold the integer, so it could not be written
                // back as read; no real timestamp is that far (285 million years) away.
                if v.unsigned_abs() > 1 << 53 {
                    return Err(E::custom(format_args!("timestamp {v} out of range")));
                }
                Ok(Timestamp {
                    unix: v as f64,
                    repr: TimestampRepr::Int,
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                if v.is_finite() {
                    Ok(Timestamp {
                        unix: v,
                        repr: TimestampRepr::Float,
                    })
                } else {
                    Err(E::custom("timestamp is not a finite number"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                if let Some(t) = Timestamp::parse_rfc3339(v) {
                    return Ok(t);
                }
                // Some SDKs send Unix seconds as a string.
                match v.trim().parse::<f64>() {
                    Ok(f) if f.is_finite() => Ok(Timestamp {
                        unix: f,
                        repr: TimestampRepr::Text(v.into()),
                    }),
                    _ => Err(E::custom(format_args!("invalid timestamp {v:?}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The severity of an event or breadcrumb.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Debug information.
    Debug,
    /// Informational (the default, as in the official crate: a breadcrumb without a
    /// level is `info`; an event without one is `error`, see
    /// [`Event::level_or_default`](super::Event::level_or_default)).
    #[default]
    Info,
    /// A warning.
    Warning,
    /// An error.
    Error,
    /// A fatal error, such as a panic.
    Fatal,
}

impl Level {
    /// The wire name: `debug`, `info`, `warning`, `error`, `fatal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a level name that is not one of the known names or aliases.
#[derive(Debug, thiserror::Error)]
#[error("unknown level {0:?} (expected debug, info, warning, error or fatal)")]
pub struct ParseLevelError(String);

impl std::str::FromStr for Level {
    type Err = ParseLevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "debug" | "trace" => Ok(Level::Debug),
            "info" | "log" => Ok(Level::Info),
            "warning" | "warn" => Ok(Level::Warning),
            "error" | "err" => Ok(Level::Error),
            "fatal" | "critical" => Ok(Level::Fatal),
            _ => Err(ParseLevelError(s.to_owned())),
        }
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Level {
    /// The level of a Python `logging` number, as raven-python sent it: 10 debug, 20 info,
    /// 30 warning, 40 error, 50 fatal.
    pub fn from_logging_number(n: u64) -> Option<Level> {
        match n {
            10 => Some(Level::Debug),
            20 => Some(Level::Info),
            30 => Some(Level::Warning),
            40 => Some(Level::Error),
            50 => Some(Level::Fatal),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Level;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a level name or a Python logging number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Level, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Level, E> {
                Level::from_logging_number(v)
                    .ok_or_else(|| E::custom(format_args!("unknown level number {v}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Level, E> {
                Err(E::custom(format_args!("unknown level number {v}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list that SDKs send either bare (`[...]`) or wrapped (`{"values": [...]}`).
///
/// The form that was read is written back; a list built in code is written wrapped.
#[derive(Clone, Debug, PartialEq)]
pub struct Values<T> {
    /// The entries, oldest first.
    pub values: Vec<T>,
    /// Whether the list was read as a bare array.
    pub bare: bool,
    /// Other keys of the wrapping object, kept as they were.
    pub other: Map<String, Value>,
}

impl<T> Default for Values<T> {
    fn default() -> Self {
        Values {
            values: Vec::new(),
            bare: false,
            other: Map::new(),
        }
    }
}

impl<T> Values<T> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }
    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// Iterates over the entries.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.values.iter()
    }
}

impl<T> From<Vec<T>> for Values<T> {
    fn from(values: Vec<T>) -> Self {
        Values {
            values,
            bare: false,
            other: Map::new(),
        }
    }
}

impl<'a, T> IntoIterator for &'a Values<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.values.iter()
    }
}

impl<T: Wire> Wire for Values<T> {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Wire> Visitor<'de> for V<T> {
            type Value = Values<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list or an object with \"values\"")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Values::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut values = Vec::new();
                while let Some(v) = seq.next_element_seed(Seed::<T>::new())? {
                    values.push(v);
                }
                Ok(Values {
                    values,
                    bare: true,
                    other: Map::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Values::default();
                let mut wrapped = false;
                while let Some(k) = map.next_key::<Key<'de>>()? {
                    if k.0 == "values" {
                        wrapped = true;
                        out.values = map.next_value_seed(Seed::<Vec<T>>::new())?;
                    } else {
                        let v: Value = map.next_value()?;
                        out.other.insert(k.0.into_owned(), v);
                    }
                }
                // An object without `values` is one entry (old clients sent a single
                // exception so), written back wrapped.
                if !wrapped && !out.other.is_empty() {
                    let one = T::de(Value::Object(std::mem::take(&mut out.other)))
                        .map_err(de::Error::custom)?;
                    out.values.push(one);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.bare && self.other.is_empty() {
            let mut seq = s.serialize_seq(Some(self.values.len()))?;
            for v in &self.values {
                seq.serialize_element(&Ser(v))?;
            }
            seq.end()
        } else {
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("values", &Ser(&self.values))?;
            for (k, v) in &self.other {
                m.serialize_entry(k, v)?;
            }
            m.end()
        }
    }
    fn skip(&self) -> bool {
        self.values.is_empty() && self.other.is_empty()
    }
    /// Lenient: a bare list, an object with `values` (its other keys kept), or a single
    /// entry (an object without `values`, as raven-era clients sent one exception); the
    /// entries' paths are `.values[i]` in every form.
    fn lenient(value: &Value, report: &mut Report) -> Option<Self> {
        match value {
            Value::Null => Some(Values::default()),
            // Paths name the entries `.values[i]` whatever the form, as Sentry does.
            Value::Array(_) => {
                let mark = report.enter_key("values");
                let values = seq(value, report);
                report.leave(mark);
                values.map(|values| Values {
                    values,
                    bare: true,
                    other: Map::new(),
                })
            }
            Value::Object(m) if m.contains_key("values") => {
                let mut out = Values::default();
                for (k, v) in m {
                    if k != "values" {
                        out.other.insert(k.clone(), v.clone());
                        continue;
                    }
                    let mark = report.enter_key("values");
                    match seq(v, report) {
                        Some(values) => out.values = values,
                        None if report.keeps_removed() => {
                            out.other.insert(k.clone(), v.clone());
                        }
                        None => {}
                    }
                    report.leave(mark);
                }
                Some(out)
            }
            single @ Value::Object(_) => {
                let mark = report.enter_key("values");
                let index = report.enter_index(0);
                let one = T::lenient(single, report);
                report.leave(index);
                report.leave(mark);
                one.map(|v| Values::from(vec![v]))
            }
            other => {
                report.remove(other, "expected a list or an object");
                None
            }
        }
    }
}

/// An ordered string map that SDKs send as an object or as a list of `[key, value]` pairs
/// (tags, request headers). Non-string values are turned into strings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PairList {
    pairs: Vec<(String, String)>,
    as_pairs: bool,
}

impl PairList {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }
    /// The value for `key` (first match).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// The value for `key`, comparing keys ASCII case-insensitively (for headers).
    pub fn get_ignore_case(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
    /// Sets `key` to `value`, replacing an existing entry.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.pairs.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.pairs.push((key, value));
        }
    }
    /// Appends a pair even if the key exists (repeated headers).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((key.into(), value.into()));
    }
    /// Removes every entry for `key`.
    pub fn remove(&mut self, key: &str) {
        self.pairs.retain(|(k, _)| k != key);
    }
    /// Iterates over the pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }
    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for PairList {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut out = PairList::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

impl Wire for PairList {
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PairList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings or a list of [key, value] pairs")
            }
            fn visit_unit<E: de::Error>(self) -> Result<PairList, E> {
                Ok(PairList::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PairList, A::Error> {
                let mut out = PairList::default();
                while let Some(k) = map.next_key::<String>()? {
                    let v: Option<String> = map.next_value_seed(Seed::<Option<String>>::new())?;
                    if let Some(v) = v {
                        out.pairs.push((k, v));
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PairList, A::Error> {
                let mut out = PairList {
                    pairs: Vec::new(),
                    as_pairs: true,
                };
                while let Some(pair) = seq.next_element_seed(Seed::<Vec<Option<String>>>::new())? {
                    match <[Option<String>; 2]>::try_from(pair) {
                        Ok([Some(k), Some(v)]) => out.pairs.push((k, v)),
                        Ok([Some(_), None]) => {}
                        _ => return Err(de::Error::custom("expected a [key, value] pair")),
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.as_pairs {
            let mut seq = s.serialize_seq(Some(self.pairs.len()))?;
            for (k, v) in &self.pairs {
                seq.serialize_element(&[k, v])?;
            }
            seq.end()
        } else {
            let mut m = s.serialize_map(Some(self.pairs.len()))?;
            for (k, v) in &self.pairs {
                m.serialize_entry(k, v)?;
            }
            m.end()
        }
    }
    fn skip(&self) -> bool {
        self.pairs.is_empty()
    }
    /// Lenient: an entry or pair that does not read (an object as a value, a pair of
    /// three) is removed alone.
    fn lenient(value: &Value, report: &mut Report) -> Option<Self> {
        let mut out = PairList::default();
        match value {
            Value::Null => {}
            Value::Object(m) => {
                for (k, v) in m {
                    let mark = report.enter_key(k);
                    if let Some(Some(v)) = Option::<String>::lenient(v, report) {
                        out.pairs.push((k.clone(), v));
                    }
                    report.leave(mark);
                }
            }
            Value::Array(items) => {
                out.as_pairs = true;
                for (i, item) in items.iter().enumerate() {
                    let mark = report.enter_index(i);
                    match <[Option<String>; 2]>::try_from(
                        Vec::<Option<String>>::de(item).unwrap_or_default(),
                    ) {
                        Ok([Some(k), Some(v)]) => out.pairs.push((k, v)),
                        Ok([Some(_), None]) => {}
                        _ => report.remove(item, "expected a [key, value] pair"),
                    }
                    report.leave(mark);
                }
            }
            other => {
                report.remove(other, "expected an object or a list of [key, value] pairs");
                return None;
            }
        }
        Some(out)
    }
}

impl Serialize for PairList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.ser(s)
    }
}

impl<'de> Deserialize<'de> for PairList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::de(d)
    }
}

impl<T: Wire> Serialize for Values<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.ser(s)
    }
}

impl<'de, T: Wire> Deserialize<'de> for Values<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::de(d)
    }
}

/// A thread id, sent as a number or a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ThreadId {
    /// A numeric id.
    Int(u64),
    /// A string id.
    String(String),
}

super::wire::wire_via_serde!(Timestamp, ThreadId);

impl super::wire::Wire for Level {
    fn de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <Self as Deserialize>::deserialize(d)
    }
    fn ser<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize(s)
    }
    /// A bare `Level` field (a breadcrumb's) is left out when it is the default `info`,
    /// as the official SDK writes it; an explicit `"info"` that was read is kept in the
    /// struct's `other` map and written back, so reading and writing loses nothing.
    fn skip(&self) -> bool {
        *self == Level::Info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_forms_round_trip() {
        for text in [
            r#""2024-06-01T12:00:00.123456Z""#,
            "1595256674.296",
            // sentry-rust writes f64 seconds with sub-microsecond digits.
            "1795619381.8015053",
            "1595256674",
            r#""2024-06-01T12:00:00+02:00""#,
        ] {
            let t: Timestamp = serde_json::from_str(text).expect(text);
            assert_eq!(serde_json::to_string(&t).expect("write"), text);
        }
        let t: Timestamp = serde_json::from_str(r#""2024-06-01T12:00:00""#).expect("no zone");
        assert_eq!(t.as_unix(), 1_717_243_200.0);
        assert_eq!(
            Timestamp::from_unix(1_717_243_200.5).to_rfc3339(),
            "2024-06-01T12:00:00.500000Z"
        );
        assert!(serde_json::from_str::<Timestamp>(r#""yesterday""#).is_err());
        // Integers an f64 cannot hold exactly would not be written back as read.
        assert!(serde_json::from_str::<Timestamp>("18446744073709551615").is_err());
        assert!(serde_json::from_str::<Timestamp>("-9007199254740993").is_err());
        let far: Timestamp = serde_json::from_str("9007199254740992").expect("2^53");
        assert_eq!(
            serde_json::to_string(&far).expect("write"),
            "9007199254740992"
        );
        // Timestamps made here are rounded to microseconds and written short.
        let made = Timestamp::from_unix(1_717_243_200.123_456_7);
        assert_eq!(
            serde_json::to_string(&made).expect("write"),
            "1717243200.123457"
        );
    }

    #[test]
    fn level_aliases() {
        for (s, l) in [
            ("warn", Level::Warning),
            ("CRITICAL", Level::Fatal),
            ("log", Level::Info),
        ] {
            assert_eq!(s.parse::<Level>().expect(s), l);
        }
        assert!("loud".parse::<Level>().is_err());
    }

    #[test]
    fn pair_list_both_forms() {
        let p: PairList = serde_json::from_str(r#"[["a","1"],["b",2]]"#).expect("pairs");
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(
            serde_json::to_string(&p).expect("w"),
            r#"[["a","1"],["b","2"]]"#
        );
        let m: PairList = serde_json::from_str(r#"{"a":"1","b":true}"#).expect("map");
        assert_eq!(m.get("b"), Some("true"));
        assert!(serde_json::from_str::<PairList>(r#"[["a"]]"#).is_err());
    }
}
