//! Reading `tracing` fields: span fields into JSON maps, event fields into the parts of
//! an event or breadcrumb.

use std::error::Error;
use std::fmt;

use ::tracing::field::{Field, Visit};
use sentry_client::protocol::Event;
use serde_json::{Map, Value};

/// The fields of a span, kept in the span's extensions from `on_new_span` and updated
/// by `on_record`.
#[derive(Debug, Default)]
pub(crate) struct SpanFields(pub(crate) Map<String, Value>);

fn json_f64(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number)
}

/// Records every field into a JSON map (errors and `Debug` values as text).
pub(crate) struct JsonVisitor<'a>(pub(crate) &'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), json_f64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

/// The location fields `tracing-log` adds to events that came from the `log` crate.
#[derive(Debug, Default)]
pub(crate) struct LogOrigin {
    pub(crate) target: Option<String>,
    pub(crate) module_path: Option<String>,
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u64>,
}

/// Splits an event's fields into message, error, `log.*` origin and the rest.
#[derive(Default)]
pub(crate) struct EventFields {
    /// Build an exception event from an error field (only for events, not breadcrumbs).
    want_exception: bool,
    /// The `message` field.
    pub(crate) message: Option<String>,
    /// Every other field.
    pub(crate) fields: Map<String, Value>,
    /// The exception event built from the `error` field (or, failing that, from the
    /// first field recorded as an error).
    pub(crate) exception: Option<Event>,
    exception_from_error_field: bool,
    /// The name and text of a non-`error` field the exception was built from, put back
    /// among the fields if an `error` field replaces it.
    exception_source: Option<(String, String)>,
    /// Where a `log` record bridged by `tracing-log` came from.
    pub(crate) log: LogOrigin,
}

impl EventFields {
    /// Empty fields; `want_exception` builds an exception event from an error field.
    pub(crate) fn new(want_exception: bool) -> Self {
        EventFields {
            want_exception,
            ..Default::default()
        }
    }

    fn put(&mut self, field: &Field, value: Value) {
        match field.name() {
            "message" => {
                self.message = Some(match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
            }
            "log.target" => self.log.target = value.as_str().map(str::to_owned),
            "log.module_path" => self.log.module_path = value.as_str().map(str::to_owned),
            "log.file" => self.log.file = value.as_str().map(str::to_owned),
            "log.line" => self.log.line = value.as_u64(),
            name => {
                self.fields.insert(name.to_owned(), value);
            }
        }
    }
}

impl Visit for EventFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, json_f64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        let is_error_field = field.name() == "error";
        let take = self.want_exception
            && !self.exception_from_error_field
            && (is_error_field || self.exception.is_none());
        if take {
            if let Some((name, text)) = self.exception_source.take() {
                self.fields.insert(name, Value::from(text));
            }
            // The error lives only for this call: build the chain now.
            self.exception = Some(sentry_client::event_from_error(value));
            self.exception_from_error_field = is_error_field;
            if !is_error_field {
                self.exception_source = Some((field.name().to_owned(), value.to_string()));
            }
        } else {
            self.put(field, Value::from(value.to_string()));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}
