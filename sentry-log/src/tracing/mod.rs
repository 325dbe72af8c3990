//! The `tracing` adapter: [`layer()`] returns a [`SentryLayer`], a
//! `tracing_subscriber::Layer` to stack next to the `fmt` layer.
//!
//! ```
//! use sentry_log::LogFilter;
//! use tracing_subscriber::prelude::*;
//!
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
//!     // Warnings from the `payments` module are events too.
//!     .with(sentry_log::tracing::layer().filter(|event| {
//!         let md = event.metadata();
//!         match *md.level() {
//!             tracing::Level::WARN if md.target().starts_with("payments") => LogFilter::Event,
//!             _ => LogFilter::from_tracing_level(md.level()),
//!         }
//!     }));
//! # let events = sentry_client::test::with_captured_events(|| {
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::warn!(target: "payments::stripe", "card declined");
//!     tracing::warn!(target: "cart", "slow");
//! });
//! # });
//! # assert_eq!(events.len(), 1);
//! # assert_eq!(events[0].level, Some(sentry_client::Level::Warning));
//! ```
//!
//! **Events** carry the event's fields in `extra` (with `code.namespace`,
//! `code.filepath`, `code.lineno`), and one context per enclosing span, outermost
//! first, named after the span (`request`, or `span os` for a span named like a
//! well-known context, `request #2` for a second span of the same name) and holding its
//! fields as last recorded. An `error` field recorded as a `dyn Error`
//! (`error = &e as &dyn std::error::Error`) makes an exception event with the whole
//! chain; failing that, the first field recorded as an error does. **Breadcrumbs**
//! carry the fields as `data`.
//!
//! Events bridged from `log` by `tracing-log` (as `tracing_subscriber::fmt().init()`
//! sets up) keep the `log` record's target and location.
//!
//! **Levels.** The layer filters nothing for the other layers: it keeps the default
//! `enabled` (always) and gives no `max_level_hint`, since any hint it gave would be
//! combined with the `fmt` layer's and could hide the console's debug output. A global
//! filter (`EnvFilter`, `with_max_level`) below the layers decides what reaches
//! anything, this layer included; events it lets through and the mapping ignores cost a
//! level check here.

mod fields;

use std::fmt;

use ::tracing::{span, Event as TracingEvent, Subscriber};
use sentry_client::protocol::{Breadcrumb, Event, LogEntry};
use sentry_client::Hub;
use serde_json::{Map, Value};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use self::fields::{EventFields, JsonVisitor, SpanFields};
use crate::filter::{level_from_tracing, LogFilter};
use crate::reentrancy::{enter, is_sdk_target};

/// A filter closure of [`SentryLayer::filter`].
type EventFilter = dyn Fn(&TracingEvent<'_>) -> LogFilter + Send + Sync;

/// Context names with a meaning of their own in the protocol; a span with one of these
/// names gets a `span ` prefix.
const RESERVED_CONTEXTS: [&str; 18] = [
    "app",
    "browser",
    "cloud_resource",
    "culture",
    "device",
    "feedback",
    "flags",
    "gpu",
    "monitor",
    "os",
    "otel",
    "profile",
    "replay",
    "response",
    "runtime",
    "rust",
    "state",
    "trace",
];

/// A `tracing_subscriber::Layer` reporting events to Sentry: errors as events, warnings
/// and infos as breadcrumbs, unless [`filter`](Self::filter) says otherwise. See the
/// [module docs](self).
#[derive(Default)]
pub struct SentryLayer {
    filter: Option<Box<EventFilter>>,
}

/// A layer with the default mapping ([`LogFilter::from_tracing_level`]).
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer())
///     .with(sentry_log::tracing::layer());
/// // In a program: subscriber.init();
/// # drop(subscriber);
/// ```
pub fn layer() -> SentryLayer {
    SentryLayer::default()
}

impl SentryLayer {
    /// Maps each event to a Sentry event, a breadcrumb, or nothing, instead of by level.
    /// The closure runs for every event that reaches the layer, so keep it cheap.
    pub fn filter<F>(mut self, filter: F) -> Self
    where
        F: Fn(&TracingEvent<'_>) -> LogFilter + Send + Sync + 'static,
    {
        self.filter = Some(Box::new(filter));
        self
    }

    fn map(&self, event: &TracingEvent<'_>) -> LogFilter {
        match &self.filter {
            None => LogFilter::from_tracing_level(event.metadata().level()),
            Some(f) => f(event),
        }
    }

    /// The slow path: the event is wanted by Sentry.
    #[cold]
    fn capture<S>(&self, event: &TracingEvent<'_>, mapping: LogFilter, ctx: Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let md = event.metadata();
        if is_sdk_target(md.target()) {
            return;
        }
        let Some(_guard) = enter() else {
            return;
        };
        let hub = Hub::current();
        if !hub.is_active() {
            return;
        }
        let mut fields = EventFields::new(mapping == LogFilter::Event);
        event.record(&mut fields);
        let target = fields.log.target.clone();
        let target = target.as_deref().unwrap_or(md.target());
        if is_sdk_target(target) {
            return;
        }
        let level = level_from_tracing(md.level());
        match mapping {
            LogFilter::Ignore => {}
            LogFilter::Breadcrumb => hub.add_breadcrumb(Breadcrumb {
                ty: (level >= sentry_client::Level::Error).then(|| "error".to_owned()),
                category: Some(target.to_owned()),
                message: fields.message,
                level,
                data: fields.fields,
                ..Default::default()
            }),
            LogFilter::Event => {
                let mut ev = match fields.exception.take() {
                    Some(mut e) => {
                        if let Some(mech) = e
                            .exception
                            .values
                            .last_mut()
                            .and_then(|x| x.mechanism.as_mut())
                        {
                            mech.ty = Some("tracing".into());
                        }
                        e
                    }
                    None => Event::new(),
                };
                ev.level = Some(level);
                ev.logger = Some(target.to_owned());
                ev.logentry = Some(LogEntry {
                    formatted: Some(fields.message.unwrap_or_else(|| md.name().to_owned())),
                    ..Default::default()
                });
                let mut extra = fields.fields;
                let origin = fields.log;
                let module = origin
                    .module_path
                    .or_else(|| md.module_path().map(Into::into));
                if let Some(m) = module {
                    extra.insert("code.namespace".into(), Value::from(m));
                }
                if let Some(f) = origin.file.or_else(|| md.file().map(Into::into)) {
                    extra.insert("code.filepath".into(), Value::from(f));
                }
                if let Some(l) = origin.line.or_else(|| md.line().map(u64::from)) {
                    extra.insert("code.lineno".into(), Value::from(l));
                }
                ev.extra = extra;
                if let Some(scope) = ctx.event_scope(event) {
                    for span in scope.from_root() {
                        let fields = span
                            .extensions()
                            .get::<SpanFields>()
                            .map(|f| f.0.clone())
                            .unwrap_or_default();
                        let key = context_key(span.name(), &ev.contexts);
                        ev.contexts.insert(key, Value::Object(fields));
                    }
                }
                hub.capture_event(ev);
            }
        }
    }
}

/// The context name for a span: its name, prefixed when reserved, numbered when taken.
fn context_key(name: &str, taken: &Map<String, Value>) -> String {
    let base = if RESERVED_CONTEXTS.contains(&name) {
        format!("span {name}")
    } else {
        name.to_owned()
    };
    if !taken.contains_key(&base) {
        return base;
    }
    let mut n = 2;
    loop {
        let key = format!("{base} #{n}");
        if !taken.contains_key(&key) {
            return key;
        }
        n += 1;
    }
}

impl<S> Layer<S> for SentryLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if attrs.is_empty() || is_sdk_target(attrs.metadata().target()) {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut map = Map::new();
        attrs.record(&mut JsonVisitor(&mut map));
        span.extensions_mut().insert(SpanFields(map));
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        if is_sdk_target(span.metadata().target()) {
            return;
        }
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(fields) => values.record(&mut JsonVisitor(&mut fields.0)),
            None => {
                let mut map = Map::new();
                values.record(&mut JsonVisitor(&mut map));
                extensions.insert(SpanFields(map));
            }
        }
    }

    fn on_event(&self, event: &TracingEvent<'_>, ctx: Context<'_, S>) {
        let mapping = self.map(event);
        if mapping != LogFilter::Ignore {
            self.capture(event, mapping, ctx);
        }
    }
}

impl fmt::Debug for SentryLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryLayer")
            .field(
                "filter",
                &if self.filter.is_some() {
                    "custom"
                } else {
                    "by level"
                },
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keys_avoid_reserved_and_taken_names() {
        let mut taken = Map::new();
        assert_eq!(context_key("request", &taken), "request");
        taken.insert("request".into(), Value::Null);
        assert_eq!(context_key("request", &taken), "request #2");
        taken.insert("request #2".into(), Value::Null);
        assert_eq!(context_key("request", &taken), "request #3");
        assert_eq!(context_key("os", &taken), "span os");
        assert_eq!(context_key("trace", &taken), "span trace");
    }
}
