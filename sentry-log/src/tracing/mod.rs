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
//! **Spans** become performance spans when the client traces (`traces_sample_rate`, a
//! `traces_sampler`) or run inside a span already (a sentry-tower request): a root span
//! starts a transaction, a nested one is a child of its parent, entering one makes it
//! the scope's span, closing one finishes it; see [`SentryLayer::span_filter`].
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
mod mapping;
mod spans;

pub use self::mapping::{CombinedEventMapping, EventMapping};

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
type FilterFn = dyn Fn(&TracingEvent<'_>) -> LogFilter + Send + Sync;

/// The official `sentry-tracing`'s name for the flags that say what an event becomes:
/// the same type as [`LogFilter`] (`Ignore`, `Breadcrumb`, `Event`; `Exception` acts as
/// `Event` here).
pub use crate::filter::LogFilter as EventFilter;

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

/// A span filter closure of [`SentryLayer::span_filter`].
type SpanFilterFn = dyn Fn(&::tracing::Metadata<'_>) -> bool + Send + Sync;

/// A mapper closure of [`SentryLayer::event_mapper`].
type MapperFn<S> = dyn Fn(&TracingEvent<'_>, Context<'_, S>) -> EventMapping + Send + Sync;

/// A `tracing_subscriber::Layer` reporting events to Sentry: errors as events, warnings
/// and infos as breadcrumbs, unless [`filter`](Self::filter) or
/// [`event_mapper`](Self::event_mapper) says otherwise. See the [module docs](self).
///
/// `S` is the subscriber the layer is stacked on, as in the official layer; it is
/// inferred where the layer is added (`registry().with(layer())`).
pub struct SentryLayer<S = tracing_subscriber::Registry> {
    filter: Option<Box<FilterFn>>,
    mapper: Option<Box<MapperFn<S>>>,
    span_filter: Box<SpanFilterFn>,
}

impl<S> Default for SentryLayer<S> {
    fn default() -> Self {
        SentryLayer {
            filter: None,
            mapper: None,
            span_filter: Box::new(spans::default_span_filter),
        }
    }
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
pub fn layer<S>() -> SentryLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    SentryLayer::default()
}

impl<S> SentryLayer<S> {
    /// Builds what each event becomes itself ([`EventMapping`], e.g. with
    /// [`event_from_event`] and a few edits), instead of a [`filter`](Self::filter)
    /// choosing among the built-in conversions, which it overrides, as the official
    /// layer's `event_mapper`. It runs for every event that reaches the layer (not the
    /// SDK's own, not re-entrant ones) while a client is active.
    pub fn event_mapper<F>(mut self, mapper: F) -> Self
    where
        F: Fn(&TracingEvent<'_>, Context<'_, S>) -> EventMapping + Send + Sync + 'static,
    {
        self.mapper = Some(Box::new(mapper));
        self
    }

    /// Maps each event to a Sentry event, a breadcrumb, or nothing, instead of by level.
    /// The closure runs for every event that reaches the layer, so keep it cheap.
    pub fn filter<F>(mut self, filter: F) -> Self
    where
        F: Fn(&TracingEvent<'_>) -> LogFilter + Send + Sync + 'static,
    {
        self.filter = Some(Box::new(filter));
        self
    }

    /// Decides which `tracing` spans become performance spans (children of the current
    /// span, or transactions at the root when the client traces); by default `INFO` and
    /// above, as the official layer.
    pub fn span_filter<F>(mut self, filter: F) -> Self
    where
        F: Fn(&::tracing::Metadata<'_>) -> bool + Send + Sync + 'static,
    {
        self.span_filter = Box::new(filter);
        self
    }

    /// Maps each event by its metadata, as the official layer's `event_filter`: the
    /// same as [`filter`](Self::filter) with a closure that reads `event.metadata()`.
    pub fn event_filter<F>(self, filter: F) -> Self
    where
        F: Fn(&::tracing::Metadata<'_>) -> EventFilter + Send + Sync + 'static,
    {
        self.filter(move |event| filter(event.metadata()))
    }

    fn map(&self, event: &TracingEvent<'_>) -> LogFilter {
        match &self.filter {
            None => LogFilter::from_tracing_level(event.metadata().level()),
            Some(f) => f(event),
        }
    }

    /// The slow path: the event is wanted by Sentry.
    #[cold]
    fn capture(&self, event: &TracingEvent<'_>, mapping: LogFilter, ctx: Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if is_sdk_target(event.metadata().target()) {
            return;
        }
        let Some(_guard) = enter() else {
            return;
        };
        let hub = Hub::current();
        if !hub.is_active() {
            return;
        }
        let wants_event = mapping.intersects(LogFilter::Event | LogFilter::Exception);
        let mut fields = EventFields::new(wants_event);
        event.record(&mut fields);
        let target = fields.log.target.clone();
        if is_sdk_target(target.as_deref().unwrap_or(event.metadata().target())) {
            return;
        }
        if mapping.contains(LogFilter::Breadcrumb) {
            let crumb_fields = if wants_event {
                // The event consumes its own copy of the fields.
                let mut again = EventFields::new(false);
                event.record(&mut again);
                again
            } else {
                std::mem::replace(&mut fields, EventFields::new(false))
            };
            hub.add_breadcrumb(crumb_from_fields(event, crumb_fields));
        }
        if wants_event {
            hub.capture_event(event_from_fields(event, fields, Some(&ctx)));
        }
    }
}

/// The breadcrumb for a `tracing` event, as the layer adds it (level, `category` = the
/// target, the message, the fields as `data`). `ctx` is accepted for the official
/// signature and not used: breadcrumbs carry no span data.
pub fn breadcrumb_from_event<'context, S>(
    event: &TracingEvent<'_>,
    ctx: impl Into<Option<&'context Context<'context, S>>>,
) -> Breadcrumb
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let _ = ctx.into();
    let mut fields = EventFields::new(false);
    event.record(&mut fields);
    crumb_from_fields(event, fields)
}

/// The Sentry event for a `tracing` event, as the layer captures it (see the
/// [module docs](self)); with `ctx`, the enclosing spans become contexts.
pub fn event_from_event<'context, S>(
    event: &TracingEvent<'_>,
    ctx: impl Into<Option<&'context Context<'context, S>>>,
) -> Event
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut fields = EventFields::new(true);
    event.record(&mut fields);
    event_from_fields(event, fields, ctx.into())
}

/// The target: the bridged `log` record's, else the event's.
fn target_of(event: &TracingEvent<'_>, fields: &EventFields) -> String {
    fields
        .log
        .target
        .clone()
        .unwrap_or_else(|| event.metadata().target().to_owned())
}

fn crumb_from_fields(event: &TracingEvent<'_>, fields: EventFields) -> Breadcrumb {
    let level = level_from_tracing(event.metadata().level());
    Breadcrumb {
        ty: (level >= sentry_client::Level::Error).then(|| "error".to_owned()),
        category: Some(target_of(event, &fields)),
        message: fields.message,
        level,
        data: fields.fields,
        ..Default::default()
    }
}

fn event_from_fields<S>(
    event: &TracingEvent<'_>,
    mut fields: EventFields,
    ctx: Option<&Context<'_, S>>,
) -> Event
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let md = event.metadata();
    let target = target_of(event, &fields);
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
    ev.level = Some(level_from_tracing(md.level()));
    ev.logger = Some(target);
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
    if let Some(scope) = ctx.and_then(|ctx| ctx.event_scope(event)) {
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
    ev
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

impl<S> Layer<S> for SentryLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if is_sdk_target(attrs.metadata().target()) {
            return;
        }
        if (self.span_filter)(attrs.metadata()) {
            spans::on_new_span(attrs, id, &ctx);
        }
        if attrs.is_empty() {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut map = Map::new();
        attrs.record(&mut JsonVisitor(&mut map));
        span.extensions_mut().insert(SpanFields(map));
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        spans::on_enter(id, &ctx);
    }

    fn on_exit(&self, id: &span::Id, _ctx: Context<'_, S>) {
        spans::on_exit(id);
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        spans::on_close(&id, &ctx);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        if is_sdk_target(span.metadata().target()) {
            return;
        }
        spans::on_record(id, values, &ctx);
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
        if let Some(mapper) = &self.mapper {
            if is_sdk_target(event.metadata().target()) {
                return;
            }
            let Some(_guard) = enter() else {
                return;
            };
            let hub = Hub::current();
            if hub.is_active() {
                mapping::apply(&hub, mapper(event, ctx));
            }
            return;
        }
        let mapping = self.map(event);
        if !mapping.is_empty() {
            self.capture(event, mapping, ctx);
        }
    }
}

impl<S> fmt::Debug for SentryLayer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryLayer")
            .field(
                "filter",
                &match (&self.mapper, &self.filter) {
                    (Some(_), _) => "mapper",
                    (None, Some(_)) => "custom",
                    (None, None) => "by level",
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
