//! Converting `log` records into protocol events and breadcrumbs ([`event_from_record`],
//! [`exception_from_record`], [`breadcrumb_from_record`], public for custom
//! [`mappers`](crate::SentryLogger::mapper)).
//!
//! An event carries:
//!
//! - `level` from the record's level, `logger` = the record's target;
//! - `logentry.formatted` = the formatted message, and `logentry.message` = the format
//!   string when the record has no arguments (`record.args().as_str()`). With arguments
//!   `log` offers no way to get the template back, so `message` is left out and servers
//!   group by the formatted text with its numbers, ids, ... parameterized;
//! - `extra`: every key-value pair of the record, and the source location as
//!   `code.namespace` (module path), `code.filepath` and `code.lineno` (the
//!   OpenTelemetry names Sentry uses for code locations);
//! - with an `error` key holding an error (`error:err = e` in the macros), the
//!   exception chain of that error (deepest source first), mechanism `log`.
//!
//! A breadcrumb carries the level, `category` = target, the formatted message, and the
//! key-value pairs as `data`. A structured log ([`log_from_record`]) carries the level,
//! the formatted message as its body, and as attributes the key-value pairs (typed),
//! `logger.name` = target, `code.module.name`, `code.file.path`, `code.line.number`,
//! `sentry.message.template` when the record has no arguments, and `sentry.origin` =
//! `auto.log.log`.

use log::kv::{self, Key, Value as KvValue, VisitSource};
use log::Record;
use sentry_client::protocol::{Breadcrumb, Event, Exception, Log, LogEntry, Mechanism};
use serde_json::{Map, Value};

use crate::filter::{level_from_log, log_level_from_log};

/// The key whose error value turns an event into an exception event.
const ERROR_KEY: &str = "error";

/// A key-value value as JSON: booleans and numbers stay typed, the rest is its
/// `Display` text.
fn json_of(value: &KvValue<'_>) -> Value {
    if let Some(b) = value.to_bool() {
        return Value::Bool(b);
    }
    if let Some(i) = value.to_i64() {
        return Value::from(i);
    }
    if let Some(u) = value.to_u64() {
        return Value::from(u);
    }
    if let Some(f) = value.to_f64() {
        if let Some(n) = serde_json::Number::from_f64(f) {
            return Value::Number(n);
        }
    }
    if let Some(s) = value.to_borrowed_str() {
        return Value::String(s.to_owned());
    }
    Value::String(value.to_string())
}

/// Collects every key-value pair as JSON (the `error` key too, as its message).
struct KvToJson<'a>(&'a mut Map<String, Value>);

impl<'kvs> VisitSource<'kvs> for KvToJson<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: KvValue<'kvs>) -> Result<(), kv::Error> {
        self.0.insert(key.as_str().to_owned(), json_of(&value));
        Ok(())
    }
}

fn key_values(record: &Record<'_>) -> Map<String, Value> {
    let mut map = Map::new();
    // `visit` only fails when the visitor does, and ours never does.
    let _ = record.key_values().visit(&mut KvToJson(&mut map));
    map
}

/// The formatted message of a record.
pub(crate) fn message_of(record: &Record<'_>) -> String {
    match record.args().as_str() {
        Some(s) => s.to_owned(),
        None => record.args().to_string(),
    }
}

/// The event for a record mapped to [`LogFilter::Event`](crate::LogFilter::Event): the
/// record's level, `logger` = its target, `logentry` with the formatted message (and the
/// template when the record has no arguments), the key-value pairs and the source
/// location in `extra`, and, with an `error` value, that error's exception chain.
pub fn event_from_record(record: &Record<'_>) -> Event {
    let error_event = record
        .key_values()
        .get(Key::from_str(ERROR_KEY))
        .and_then(|v| v.to_borrowed_error().map(sentry_client::event_from_error));
    let mut event = match error_event {
        Some(mut e) => {
            if let Some(mech) = e
                .exception
                .values
                .last_mut()
                .and_then(|x| x.mechanism.as_mut())
            {
                mech.ty = Some("log".into());
            }
            e
        }
        None => Event::new(),
    };
    let formatted = message_of(record);
    event.level = Some(level_from_log(record.level()));
    event.logger = Some(record.target().to_owned());
    event.logentry = Some(LogEntry {
        message: record.args().as_str().map(str::to_owned),
        formatted: Some(formatted),
        ..Default::default()
    });
    let mut extra = key_values(record);
    if let Some(m) = record.module_path() {
        extra.insert("code.namespace".into(), Value::from(m));
    }
    if let Some(f) = record.file() {
        extra.insert("code.filepath".into(), Value::from(f));
    }
    if let Some(l) = record.line() {
        extra.insert("code.lineno".into(), Value::from(l));
    }
    event.extra = extra;
    event
}

/// The exception event for a record mapped to
/// [`LogFilter::Exception`](crate::LogFilter::Exception): the event of
/// [`event_from_record`], and when the record has no `error` value, one exception with the
/// target as its type and the formatted message as its value (mechanism `log`).
pub fn exception_from_record(record: &Record<'_>) -> Event {
    let mut event = event_from_record(record);
    if event.exception.values.is_empty() {
        event.exception.values.push(Exception {
            ty: Some(record.target().to_owned()),
            value: Some(message_of(record)),
            module: record.module_path().map(str::to_owned),
            mechanism: Some(Mechanism {
                ty: Some("log".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    event
}

/// The structured log for a record mapped to [`LogFilter::Log`](crate::LogFilter::Log).
pub fn log_from_record(record: &Record<'_>) -> Log {
    let mut log = Log::new(log_level_from_log(record.level()), message_of(record));
    for (k, v) in key_values(record) {
        log.attributes.insert(k, v.into());
    }
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            log.attributes.insert(k.to_owned(), v.into());
        }
    };
    put("logger.name", Some(record.target().into()));
    put("code.module.name", record.module_path().map(Value::from));
    put("code.file.path", record.file().map(Value::from));
    put("code.line.number", record.line().map(Value::from));
    put(
        "sentry.message.template",
        record.args().as_str().map(Value::from),
    );
    put("sentry.origin", Some("auto.log.log".into()));
    log
}

/// The breadcrumb for a record mapped to
/// [`LogFilter::Breadcrumb`](crate::LogFilter::Breadcrumb).
pub fn breadcrumb_from_record(record: &Record<'_>) -> Breadcrumb {
    let level = level_from_log(record.level());
    Breadcrumb {
        ty: (level >= sentry_client::Level::Error).then(|| "error".to_owned()),
        category: Some(record.target().to_owned()),
        message: Some(message_of(record)),
        level,
        data: key_values(record),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_values_keep_their_json_types() {
        let kvs: [(&str, KvValue<'_>); 5] = [
            ("ok", KvValue::from(true)),
            ("n", KvValue::from(-3i64)),
            ("big", KvValue::from(u64::MAX)),
            ("ratio", KvValue::from(0.5f64)),
            ("name", KvValue::from("alice")),
        ];
        let record = Record::builder()
            .args(format_args!("x"))
            .key_values(&kvs)
            .build();
        let map = key_values(&record);
        assert_eq!(map["ok"], Value::Bool(true));
        assert_eq!(map["n"], Value::from(-3));
        assert_eq!(map["big"], Value::from(u64::MAX));
        assert_eq!(map["ratio"], Value::from(0.5));
        assert_eq!(map["name"], Value::from("alice"));
    }

    #[test]
    fn template_only_without_arguments() {
        let record = Record::builder()
            .args(format_args!("static text"))
            .level(log::Level::Error)
            .target("app::db")
            .build();
        let e = event_from_record(&record);
        let entry = e.logentry.expect("logentry");
        assert_eq!(entry.message.as_deref(), Some("static text"));
        assert_eq!(entry.formatted.as_deref(), Some("static text"));
        assert_eq!(e.logger.as_deref(), Some("app::db"));

        let n = 7;
        let entry = event_from_record(
            &Record::builder()
                .args(format_args!("row {n} missing"))
                .level(log::Level::Error)
                .build(),
        )
        .logentry
        .expect("logentry");
        assert_eq!(entry.message, None);
        assert_eq!(entry.formatted.as_deref(), Some("row 7 missing"));
    }

    #[test]
    fn error_breadcrumbs_have_error_type() {
        let record = Record::builder()
            .args(format_args!("x"))
            .level(log::Level::Error)
            .build();
        assert_eq!(breadcrumb_from_record(&record).ty.as_deref(), Some("error"));
        let record = Record::builder()
            .args(format_args!("x"))
            .level(log::Level::Warn)
            .build();
        assert_eq!(breadcrumb_from_record(&record).ty, None);
    }
}
