//! `tracing` events as structured logs: [`log_from_event`].

use ::tracing::{Event as TracingEvent, Subscriber};
use sentry_client::protocol::Log;
use serde_json::Value;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::fields::{EventFields, SpanFields};
use crate::filter::log_level_from_tracing;

/// The structured log for a `tracing` event, as the layer sends it for
/// [`LogFilter::Log`](crate::LogFilter::Log): the level, the message as the body, and as
/// attributes the event's fields, then the fields of the enclosing spans (innermost
/// first, never replacing a field already there), `code.module.name`, `code.file.path`,
/// `code.line.number`, `logger.name` (the target) and `sentry.origin` =
/// `auto.tracing`. With `ctx` the spans are read; without, only the event.
pub fn log_from_event<'context, S>(
    event: &TracingEvent<'_>,
    ctx: impl Into<Option<&'context Context<'context, S>>>,
) -> Log
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut fields = EventFields::new(false);
    event.record(&mut fields);
    log_from_fields(event, fields, ctx.into())
}

pub(crate) fn log_from_fields<S>(
    event: &TracingEvent<'_>,
    fields: EventFields,
    ctx: Option<&Context<'_, S>>,
) -> Log
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let md = event.metadata();
    let body = fields.message.unwrap_or_else(|| md.name().to_owned());
    let mut log = Log::new(log_level_from_tracing(md.level()), body);
    for (k, v) in fields.fields {
        log.attributes.insert(k, v.into());
    }
    if let Some(scope) = ctx.and_then(|ctx| ctx.event_scope(event)) {
        for span in scope {
            if let Some(span_fields) = span.extensions().get::<SpanFields>() {
                for (k, v) in &span_fields.0 {
                    if !log.attributes.contains_key(k) {
                        log.attributes.insert(k.clone(), v.clone().into());
                    }
                }
            }
        }
    }
    let origin = fields.log;
    let target = origin.target.unwrap_or_else(|| md.target().to_owned());
    let module = origin
        .module_path
        .or_else(|| md.module_path().map(Into::into));
    let file = origin.file.or_else(|| md.file().map(Into::into));
    let line = origin.line.or_else(|| md.line().map(u64::from));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            log.attributes.insert(k.to_owned(), v.into());
        }
    };
    put("logger.name", Some(target.into()));
    put("code.module.name", module.map(Value::from));
    put("code.file.path", file.map(Value::from));
    put("code.line.number", line.map(Value::from));
    put("sentry.origin", Some("auto.tracing".into()));
    log
}
