//! Lenient reading: an event is never refused for the shape of one of its parts.
//!
//! The strict reader ([`Event::from_slice`]) fails on the first value that does not fit
//! (a `null` in a list of exceptions, a line number of `-1`, a string where an object
//! belongs). A server must not lose the whole error for that, so [`Event::read_lenient`]
//! reads what fits and removes what does not, part by part: a field that does not read
//! is dropped from its struct, a list element that does not read is dropped from its
//! list (a `null` element is absent data and only left out), and each removal is recorded in a [`Report`] with its JSON path, the reason and
//! (when small) the value. It also coerces the shapes old and odd clients send: a single
//! object or value where a list belongs becomes a one-element list, and the raven-era
//! interface names (`sentry.interfaces.Exception`, ...) are read under their modern
//! keys ([`super::legacy`]).
//!
//! Valid events take the strict fast path (one pass, no copies); only an event that
//! fails it, or carries legacy keys, is parsed into a [`Value`] and read field by field,
//! so the cost of leniency is paid by the odd events alone. The work stays linear in the
//! size of the input: each part is tried once, and at most [`MAX_RECORDED`] removals
//! are kept (the rest are counted).
//!
//! ```
//! use sentry_client::protocol::Event;
//!
//! let raw = br#"{"exception":{"values":[null,{"type":"E","stacktrace":{"frames":[{"lineno":-1,"function":"f"}]}}]}}"#;
//! assert!(Event::from_slice(raw).is_err());
//! let read = Event::read_lenient(raw).unwrap();
//! let frame = &read.event.exception.values[0].stacktrace.as_ref().unwrap().frames[0];
//! assert_eq!(frame.function.as_deref(), Some("f"));
//! assert_eq!(frame.lineno, None);
//! let paths: Vec<&str> = read.report.removed().iter().map(|r| r.path.as_str()).collect();
//! // The null is absent data; the bad line number was removed and recorded.
//! assert_eq!(paths, ["exception.values[1].stacktrace.frames[0].lineno"]);
//! ```

use std::fmt::{self, Write as _};

use serde_json::{Map, Value};

use super::event::{Event, EventError};
use super::legacy;
use super::wire::Wire;

/// At most this many removals are recorded one by one; later ones are only counted.
pub const MAX_RECORDED: usize = 100;

/// The longest string value kept in a [`Removed`] record (longer ones are cut).
const MAX_VALUE_CHARS: usize = 200;

/// One part of an event that did not read and was removed.
#[derive(Clone, Debug, PartialEq)]
pub struct Removed {
    /// Its JSON path, such as `exception.values[0].stacktrace.frames[2].lineno`.
    pub path: String,
    /// Why it did not read.
    pub reason: String,
    /// The value as it came, when it is small (strings are cut to 200 characters,
    /// lists and objects left out).
    pub value: Option<Value>,
}

impl Removed {
    /// The entry for the event's `errors` list, in the shape Sentry records invalid data:
    /// `{"type": "invalid_data", "name": path, "value": ..., "reason": ...}`.
    pub fn to_error(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::from("invalid_data"));
        m.insert("name".into(), Value::from(self.path.clone()));
        if let Some(v) = &self.value {
            m.insert("value".into(), v.clone());
        }
        m.insert("reason".into(), Value::from(self.reason.clone()));
        Value::Object(m)
    }
}

/// What lenient reading removed, and where it is while reading.
#[derive(Debug, Default)]
pub struct Report {
    path: String,
    removed: Vec<Removed>,
    total: usize,
    keep: bool,
}

impl Report {
    /// A report for reading that drops what does not read.
    pub fn new() -> Self {
        Self::default()
    }

    /// A report for reading that keeps a struct field that does not read as raw JSON in
    /// the struct's `other` map (so that writing gives back what was read), as the read
    /// side of a server wants for bodies stored long ago. Removals are recorded as well.
    pub fn keeping() -> Self {
        Report {
            keep: true,
            ..Self::default()
        }
    }

    /// The recorded removals, in reading order (at most [`MAX_RECORDED`]).
    pub fn removed(&self) -> &[Removed] {
        &self.removed
    }

    /// How many parts were removed in all (recorded or only counted).
    pub fn total(&self) -> usize {
        self.total
    }

    /// Whether nothing was removed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Whether a struct field that does not read is kept raw in `other`.
    pub fn keeps_removed(&self) -> bool {
        self.keep
    }

    /// Descends into the object key `key`; returns the mark to [`Report::leave`] with.
    pub fn enter_key(&mut self, key: &str) -> usize {
        let mark = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(key);
        mark
    }

    /// Descends into the list index `index`; returns the mark to [`Report::leave`] with.
    pub fn enter_index(&mut self, index: usize) -> usize {
        let mark = self.path.len();
        // Writing into a String cannot fail.
        let _ = write!(self.path, "[{index}]");
        mark
    }

    /// Goes back up to where [`Report::enter_key`] or [`Report::enter_index`] was called.
    pub fn leave(&mut self, mark: usize) {
        self.path.truncate(mark);
    }

    /// Records that the value at the current path was removed.
    pub fn remove(&mut self, value: &Value, reason: impl fmt::Display) {
        self.total += 1;
        if self.removed.len() >= MAX_RECORDED {
            return;
        }
        let value = match value {
            Value::String(s) if s.chars().count() > MAX_VALUE_CHARS => {
                Some(Value::String(s.chars().take(MAX_VALUE_CHARS).collect()))
            }
            Value::Array(_) | Value::Object(_) => None,
            other => Some(other.clone()),
        };
        let path = if self.path.is_empty() {
            ".".to_owned()
        } else {
            self.path.clone()
        };
        self.removed.push(Removed {
            path,
            reason: reason.to_string(),
            value,
        });
    }

    /// The removals as `errors` entries ([`Removed::to_error`]), plus one entry that
    /// counts the removals past [`MAX_RECORDED`].
    pub fn to_errors(&self) -> Vec<Value> {
        let mut out: Vec<Value> = self.removed.iter().map(Removed::to_error).collect();
        let unrecorded = self.total - self.removed.len();
        if unrecorded > 0 {
            let mut m = Map::new();
            m.insert("type".into(), Value::from("invalid_data"));
            m.insert("name".into(), Value::from("..."));
            m.insert(
                "reason".into(),
                Value::from(format!("{unrecorded} more invalid parts were removed")),
            );
            out.push(Value::Object(m));
        }
        out
    }
}

/// An event read by [`Event::read_lenient`], with what was changed on the way.
#[derive(Debug)]
pub struct LenientEvent {
    /// The event: every part that read.
    pub event: Event,
    /// The parts that did not read and were removed.
    pub report: Report,
    /// Legacy keys read under their modern names, as `(legacy, modern)`.
    pub renamed: Vec<(String, &'static str)>,
    /// What was reshaped after reading: `stacktrace` when a top-level stack trace was
    /// moved into the event's only exception ([`legacy::attach_stacktrace`]),
    /// `logentry.formatted` when a template was formatted with its parameters
    /// ([`legacy::fill_formatted`]).
    pub reshaped: Vec<&'static str>,
}

impl LenientEvent {
    /// Whether the event differs from the bytes it was read from (a part removed, a
    /// legacy key renamed, a part reshaped), so that a server must store it re-written.
    pub fn changed(&self) -> bool {
        !self.report.is_empty() || !self.renamed.is_empty() || !self.reshaped.is_empty()
    }
}

/// The reshaping every read event gets (see [`LenientEvent::reshaped`]).
fn reshape(event: &mut Event) -> Vec<&'static str> {
    let mut done = Vec::new();
    if legacy::attach_stacktrace(event) {
        done.push("stacktrace");
    }
    if legacy::fill_formatted(event) {
        done.push("logentry.formatted");
    }
    done
}

impl Event {
    /// Reads an event as a server must: never refused for the shape of one of its parts
    /// (see the [module docs](self)). Only bytes that are not a JSON object fail.
    pub fn read_lenient(bytes: &[u8]) -> Result<LenientEvent, EventError> {
        // The fast path checks UTF-8 once for the whole payload and then parses from
        // `&str` (serde_json's slice reader would check every string again).
        if let Ok(text) = std::str::from_utf8(bytes) {
            if let Ok(mut event) = serde_json::from_str::<Event>(text) {
                if !legacy::has_legacy_keys(&event.other) {
                    let reshaped = reshape(&mut event);
                    return Ok(LenientEvent {
                        event,
                        report: Report::new(),
                        renamed: Vec::new(),
                        reshaped,
                    });
                }
            }
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| EventError {
            path: ".".into(),
            message: format!("not JSON: {e}"),
        })?;
        Self::from_value_lenient(value, Report::new())
    }

    /// Reads an event from parsed JSON leniently into `report` (see
    /// [`Event::read_lenient`]); legacy interface names are renamed first. Fails only
    /// when `value` is not an object.
    pub fn from_value_lenient(
        value: Value,
        mut report: Report,
    ) -> Result<LenientEvent, EventError> {
        let Value::Object(mut fields) = value else {
            return Err(EventError {
                path: ".".into(),
                message: "an event must be a JSON object".into(),
            });
        };
        let renamed = legacy::rename(&mut fields);
        let value = Value::Object(fields);
        let mut event = Event::lenient(&value, &mut report).unwrap_or_default();
        let reshaped = reshape(&mut event);
        Ok(LenientEvent {
            event,
            report,
            renamed,
            reshaped,
        })
    }
}

/// Reads a list leniently: elements that do not read are removed; `null` elements are
/// left out (absent, not recorded); a single value where the list belongs is read as a
/// list of one; `null` is empty.
pub(crate) fn seq<T: Wire>(value: &Value, report: &mut Report) -> Option<Vec<T>> {
    match value {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                // A null in a list is absent data (as Relay reads it), left out unrecorded.
                if item.is_null() {
                    continue;
                }
                let mark = report.enter_index(i);
                if let Some(v) = T::lenient(item, report) {
                    out.push(v);
                }
                report.leave(mark);
            }
            Some(out)
        }
        single => T::lenient(single, report).map(|v| vec![v]),
    }
}

/// Reads an optional value leniently: `null` is `None`.
pub(crate) fn option<T: Wire>(value: &Value, report: &mut Report) -> Option<Option<T>> {
    match value {
        Value::Null => Some(None),
        v => T::lenient(v, report).map(Some),
    }
}

/// The default lenient read of a leaf: the strict read, and on failure a removal.
pub(crate) fn leaf<T: Wire>(value: &Value, report: &mut Report) -> Option<T> {
    match T::de(value) {
        Ok(v) => Some(v),
        Err(e) => {
            report.remove(value, e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &str) -> LenientEvent {
        Event::read_lenient(raw.as_bytes()).expect(raw)
    }

    /// The removed paths, sorted (the order of an object's keys depends on whether
    /// serde_json keeps insertion order in this build).
    fn paths(r: &LenientEvent) -> Vec<&str> {
        let mut p: Vec<&str> = r.report.removed().iter().map(|x| x.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    #[test]
    fn valid_events_take_the_fast_path_unchanged() {
        let r = read(r#"{"message":"m","exception":[{"type":"E"}]}"#);
        assert!(!r.changed());
        assert_eq!(r.event.exception.values[0].ty.as_deref(), Some("E"));
    }

    #[test]
    fn bad_parts_are_removed_and_recorded() {
        let r = read(
            r#"{"level":"loud","user":"bob","tags":{"a":"1","b":{"x":1}},
               "exception":[{"type":"E","value":"v","stacktrace":{"frames":
                 [{"function":"f","lineno":-1,"colno":"x"},null,7,{"function":"g"}]}}],
               "breadcrumbs":[{"message":"ok"},5],"extra":{"k":1}}"#,
        );
        assert_eq!(
            paths(&r),
            [
                "breadcrumbs.values[1]",
                "exception.values[0].stacktrace.frames[0].colno",
                "exception.values[0].stacktrace.frames[0].lineno",
                "exception.values[0].stacktrace.frames[2]",
                "level",
                "tags.b",
                "user"
            ]
        );
        let e = &r.event;
        let frames = &e.exception.values[0]
            .stacktrace
            .as_ref()
            .expect("st")
            .frames;
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].function.as_deref(), Some("f"));
        assert_eq!(frames[1].function.as_deref(), Some("g"));
        assert_eq!(e.tags.get("a"), Some("1"));
        assert_eq!(e.breadcrumbs.len(), 1);
        assert_eq!(e.extra["k"], 1);
        assert!(e.level.is_none() && e.user.is_none());
        let level = r
            .report
            .removed()
            .iter()
            .find(|x| x.path == "level")
            .expect("level");
        assert_eq!(level.value, Some(Value::from("loud")));
        assert!(!level.reason.is_empty());
        // Removed parts are not written back.
        let back: Value = serde_json::from_slice(&e.to_json_vec()).expect("json");
        assert!(back.get("user").is_none() && back.get("level").is_none());
    }

    #[test]
    fn single_values_become_lists() {
        let r = read(
            r#"{"exception":{"type":"E","value":"v"},"fingerprint":"fp",
               "breadcrumbs":{"values":{"message":"b"}},"threads":{"values":null}}"#,
        );
        assert!(r.report.is_empty(), "{:?}", r.report);
        assert_eq!(r.event.exception.values[0].ty.as_deref(), Some("E"));
        assert_eq!(r.event.fingerprint, Some(vec!["fp".to_owned()]));
        assert_eq!(r.event.breadcrumbs.values[0].message.as_deref(), Some("b"));
        assert!(r.event.threads.is_empty());
    }

    #[test]
    fn only_non_objects_fail() {
        assert!(Event::read_lenient(b"not json").is_err());
        assert!(Event::read_lenient(b"[1]").is_err());
        assert!(Event::read_lenient(b"\"x\"").is_err());
        let r = read("{}");
        assert!(!r.changed());
    }

    #[test]
    fn removals_past_the_cap_are_counted() {
        let frames: Vec<String> = (0..250).map(|_| r#"{"lineno":-1}"#.to_owned()).collect();
        let raw = format!(r#"{{"stacktrace":{{"frames":[{}]}}}}"#, frames.join(","));
        let r = read(&raw);
        assert_eq!(r.report.total(), 250);
        assert_eq!(r.report.removed().len(), MAX_RECORDED);
        let errors = r.report.to_errors();
        assert_eq!(errors.len(), MAX_RECORDED + 1);
        assert_eq!(errors[0]["name"], "stacktrace.frames[0].lineno");
        assert_eq!(errors[0]["type"], "invalid_data");
        assert!(errors[MAX_RECORDED]["reason"]
            .as_str()
            .is_some_and(|s| s.starts_with("150 more")));
        let frames = &r.event.stacktrace.as_ref().expect("st").frames;
        assert_eq!(
            frames.len(),
            250,
            "the frames stay, without their line numbers"
        );
    }

    #[test]
    fn keeping_puts_bad_fields_back_raw() {
        let raw = r#"{"exception":[{"type":"E","stacktrace":5}],"user":"x"}"#;
        let value: Value = serde_json::from_str(raw).expect("json");
        let r = Event::from_value_lenient(value.clone(), Report::keeping()).expect("object");
        assert_eq!(r.report.total(), 2);
        let back: Value = serde_json::from_slice(&r.event.to_json_vec()).expect("json");
        assert_eq!(back, value);
    }
}
