//! `tracing` spans as performance spans: a span the [span filter](super::SentryLayer::span_filter)
//! lets through (by default `INFO` and above, as the official layer) becomes a child of
//! the span it runs in — its `tracing` parent's performance span, else the current
//! scope's span (a sentry-tower request, say) — or, at the root, a new transaction when
//! the client traces. Entering it makes it the scope's span (events and child spans in
//! it link to it); closing it finishes it. Its fields are the span's data; the special
//! fields `sentry.name`, `sentry.op` and `sentry.trace` (a `sentry-trace` value to
//! continue) name it, as with the official layer. Nothing is done for a span nobody
//! records: without a client, a parent or tracing on, a new span costs one hub lookup.

use std::cell::RefCell;

use ::tracing::{span, Metadata};
use sentry_client::{Hub, TransactionContext, TransactionOrSpan};
use serde_json::{Map, Value};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::fields::JsonVisitor;

/// The performance span of a `tracing` span, kept in its extensions.
pub(super) struct SentrySpan(TransactionOrSpan);

thread_local! {
    /// The scope span each entered span replaced, innermost last, to put back on exit.
    static REPLACED: RefCell<Vec<(span::Id, Option<TransactionOrSpan>)>> =
        const { RefCell::new(Vec::new()) };
}

/// The default span filter: `ERROR`, `WARN` and `INFO` spans.
pub(super) fn default_span_filter(metadata: &Metadata<'_>) -> bool {
    *metadata.level() <= ::tracing::Level::INFO
}

/// Starts the performance span of a new `tracing` span, if it gets one.
pub(super) fn on_new_span<S>(attrs: &span::Attributes<'_>, id: &span::Id, ctx: &Context<'_, S>)
where
    S: ::tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else {
        return;
    };
    let hub = Hub::current();
    let Some(client) = hub.client().filter(|c| c.is_enabled()) else {
        return;
    };
    let parent = span
        .parent()
        .and_then(|p| p.extensions().get::<SentrySpan>().map(|s| s.0.clone()))
        .or_else(|| hub.current_span());
    let options = client.options();
    if parent.is_none() && options.traces_sample_rate <= 0.0 && options.traces_sampler.is_none() {
        return;
    }
    let mut fields = Map::new();
    attrs.record(&mut JsonVisitor(&mut fields));
    let text = |key: &str, fields: &mut Map<String, Value>| match fields.remove(key) {
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
        None => None,
    };
    let name = text("sentry.name", &mut fields).unwrap_or_else(|| span.name().to_owned());
    let op = text("sentry.op", &mut fields)
        .unwrap_or_else(|| format!("{}::{}", span.metadata().target(), span.name()));
    let trace = text("sentry.trace", &mut fields);
    let performance: TransactionOrSpan = match parent {
        Some(parent) => parent.start_child(&op, &name).into(),
        None => {
            let ctx = match &trace {
                Some(header) => TransactionContext::continue_from_headers(
                    &name,
                    &op,
                    [("sentry-trace", header.as_str())],
                ),
                None => TransactionContext::new(&name, &op),
            };
            let transaction = hub.start_transaction(ctx);
            transaction.set_origin("auto.tracing");
            transaction.into()
        }
    };
    if !performance.is_sampled() {
        return;
    }
    if let TransactionOrSpan::Span(s) = &performance {
        s.set_origin("auto.tracing");
    }
    set_location(&performance, span.metadata());
    for (key, value) in fields {
        performance.set_data(&key, value);
    }
    span.extensions_mut().insert(SentrySpan(performance));
}

/// Records the code location of the span's callsite as data, as the official layer does.
fn set_location(span: &TransactionOrSpan, metadata: &Metadata<'_>) {
    if let Some(module) = metadata.module_path() {
        span.set_data("code.namespace", module.into());
    }
    if let Some(file) = metadata.file() {
        span.set_data("code.filepath", file.into());
    }
    if let Some(line) = metadata.line() {
        span.set_data("code.lineno", line.into());
    }
}

fn performance_span<S>(span: &SpanRef<'_, S>) -> Option<TransactionOrSpan>
where
    S: ::tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    span.extensions().get::<SentrySpan>().map(|s| s.0.clone())
}

/// Makes the span the current scope's span while it is entered.
pub(super) fn on_enter<S>(id: &span::Id, ctx: &Context<'_, S>)
where
    S: ::tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(performance) = ctx.span(id).as_ref().and_then(performance_span) else {
        return;
    };
    let replaced = Hub::current().configure_scope(|scope| {
        let replaced = scope.get_span();
        scope.set_span(Some(performance));
        replaced
    });
    REPLACED.with(|r| r.borrow_mut().push((id.clone(), replaced)));
}

/// Puts back the scope span the span replaced on enter.
pub(super) fn on_exit(id: &span::Id) {
    let replaced = REPLACED.with(|r| {
        let mut stack = r.borrow_mut();
        let at = stack.iter().rposition(|(entered, _)| entered == id)?;
        Some(stack.remove(at).1)
    });
    if let Some(replaced) = replaced {
        Hub::current().configure_scope(|scope| scope.set_span(replaced));
    }
}

/// Records new field values as data of the span.
pub(super) fn on_record<S>(id: &span::Id, values: &span::Record<'_>, ctx: &Context<'_, S>)
where
    S: ::tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(performance) = ctx.span(id).as_ref().and_then(performance_span) else {
        return;
    };
    let mut fields = Map::new();
    values.record(&mut JsonVisitor(&mut fields));
    for (key, value) in fields {
        performance.set_data(&key, value);
    }
}

/// Finishes the span (a transaction is sent).
pub(super) fn on_close<S>(id: &span::Id, ctx: &Context<'_, S>)
where
    S: ::tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(span) = ctx.span(id) else {
        return;
    };
    let performance = span.extensions_mut().remove::<SentrySpan>();
    if let Some(SentrySpan(performance)) = performance {
        performance.finish();
    }
}
