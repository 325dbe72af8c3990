//! [`Transaction`], [`Span`] and [`TransactionOrSpan`]: the handles code holds while the
//! work they time runs. A transaction owns its finished spans; a span is shared by its
//! clones and lands in its transaction when it finishes.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, MutexGuard};

use serde_json::{Map, Value};

use super::headers::{SentryTrace, TraceHeadersIter};
use super::{TransactionContext, MAX_SPANS};
use crate::draft::TransactionDraft;
use crate::protocol::{self, Request, SpanId, SpanStatus, Timestamp, TraceContext};
use crate::sync::Mutex;
use crate::Client;

/// What a transaction holds until it finishes.
#[derive(Debug)]
pub(crate) struct TransactionInner {
    /// Set while the transaction is sampled and not finished: where it is sent.
    client: Option<Arc<Client>>,
    /// The client of an unsampled transaction (for the baggage header only).
    baggage_client: Option<Arc<Client>>,
    sampled: bool,
    sample_rate: f32,
    name: String,
    context: TraceContext,
    start: Timestamp,
    spans: Vec<protocol::Span>,
    dropped_spans: u64,
    tags: BTreeMap<String, String>,
    extra: Map<String, Value>,
    request: Option<Request>,
}

/// A running transaction: the root of a tree of spans, sent with them when it
/// finishes. Clones share it.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub(crate) inner: Arc<Mutex<TransactionInner>>,
}

impl PartialEq for Transaction {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Transaction {
    fn new(client: Option<Arc<Client>>, sampled: bool, rate: f32, ctx: TransactionContext) -> Self {
        let (baggage_client, client) = if sampled {
            (client.clone(), client)
        } else {
            (client, None)
        };
        let context = TraceContext {
            span_id: ctx.span_id,
            trace_id: ctx.trace_id,
            parent_span_id: ctx.parent_span_id,
            op: Some(ctx.op).filter(|op| !op.is_empty()),
            origin: Some("manual".into()),
            ..Default::default()
        };
        Transaction {
            inner: Arc::new(Mutex::new(TransactionInner {
                client,
                baggage_client,
                sampled,
                sample_rate: rate,
                name: ctx.name,
                context,
                start: Timestamp::now(),
                spans: Vec::new(),
                dropped_spans: 0,
                tags: BTreeMap::new(),
                extra: Map::new(),
                request: None,
            })),
        }
    }

    pub(crate) fn sampled(client: Arc<Client>, ctx: TransactionContext, rate: f32) -> Self {
        Self::new(Some(client), true, rate, ctx)
    }

    pub(crate) fn unsampled(client: Option<Arc<Client>>, ctx: TransactionContext) -> Self {
        Self::new(client, false, 0.0, ctx)
    }

    /// Sets a data attribute of the transaction's root span.
    pub fn set_data(&self, key: &str, value: Value) {
        self.inner.lock().context.data.insert(key.into(), value);
    }

    /// Sets extra data of the transaction event.
    pub fn set_extra(&self, key: &str, value: Value) {
        self.inner.lock().extra.insert(key.into(), value);
    }

    /// Sets a tag of the transaction event.
    pub fn set_tag<V: ToString>(&self, key: &str, value: V) {
        self.inner.lock().tags.insert(key.into(), value.to_string());
    }

    /// The transaction's data and tags, to read or change under one lock.
    pub fn data(&self) -> TransactionData<'_> {
        TransactionData(self.inner.lock())
    }

    /// The transaction as the `trace` context of events captured under it.
    pub fn get_trace_context(&self) -> TraceContext {
        self.inner.lock().context.clone()
    }

    /// Its status, if set.
    pub fn get_status(&self) -> Option<SpanStatus> {
        self.inner.lock().context.status
    }

    /// Sets its status (`ok`, `internal_error`, ...).
    pub fn set_status(&self, status: SpanStatus) {
        self.inner.lock().context.status = Some(status);
    }

    /// Sets its operation.
    pub fn set_op(&self, op: &str) {
        self.inner.lock().context.op = Some(op.into());
    }

    /// Renames it.
    pub fn set_name(&self, name: &str) {
        self.inner.lock().name = name.into();
    }

    /// Sets the HTTP request it handles.
    pub fn set_request(&self, request: Request) {
        self.inner.lock().request = Some(request);
    }

    /// Sets what created it (`manual` by default, `auto.http.tower`, ...).
    pub fn set_origin(&self, origin: &str) {
        self.inner.lock().context.origin = Some(origin.into());
    }

    /// The headers that continue this trace in a service this transaction calls.
    pub fn iter_headers(&self) -> TraceHeadersIter {
        let inner = self.inner.lock();
        TraceHeadersIter::new(sentry_trace_of(&inner, &inner.context), dsc_baggage(&inner))
    }

    /// Whether it is sampled (recorded and sent when it finishes).
    pub fn is_sampled(&self) -> bool {
        self.inner.lock().sampled
    }

    /// Finishes it now and queues it, with its finished spans, for sending (nothing when
    /// unsampled). Finishing twice sends once.
    pub fn finish(self) {
        let (client, draft) = {
            let mut inner = self.inner.lock();
            let Some(client) = inner.client.take() else {
                return;
            };
            (client, transaction_draft(&mut inner))
        };
        let scope = crate::Hub::with(|hub| hub.top_snapshot().1);
        client.capture_transaction(draft, scope);
    }

    /// Starts a child span of the transaction's root span; finish it with
    /// [`Span::finish`].
    #[must_use = "a span must be finished with `finish()`"]
    pub fn start_child(&self, op: &str, description: &str) -> Span {
        let (trace_id, parent, sampled) = {
            let inner = self.inner.lock();
            (inner.context.trace_id, inner.context.span_id, inner.sampled)
        };
        Span::new(&self.inner, trace_id, parent, sampled, op, description)
    }
}

/// What a finished transaction hands to the worker (its spans move into it).
fn transaction_draft(inner: &mut TransactionInner) -> TransactionDraft {
    TransactionDraft {
        id: crate::draft::new_event_id(),
        timestamp: Timestamp::now(),
        start: inner.start.clone(),
        name: inner.name.clone(),
        context: inner.context.clone(),
        spans: std::mem::take(&mut inner.spans),
        dropped_spans: inner.dropped_spans,
        tags: std::mem::take(&mut inner.tags),
        extra: std::mem::take(&mut inner.extra),
        request: inner.request.take(),
    }
}

fn sentry_trace_of(inner: &TransactionInner, span: &TraceContext) -> SentryTrace {
    SentryTrace::new(span.trace_id, span.span_id, Some(inner.sampled))
}

/// The dynamic sampling context of a transaction (for its `baggage` header).
fn dsc(inner: &TransactionInner) -> Option<protocol::DynamicSamplingContext> {
    let client = inner.client.as_ref().or(inner.baggage_client.as_ref())?;
    let options = client.options();
    let mut dsc = protocol::DynamicSamplingContext::new()
        .with_trace_id(inner.context.trace_id)
        .with_sample_rate(inner.sample_rate)
        .with_sampled(inner.sampled);
    if let Some(dsn) = &options.dsn {
        dsc = dsc.with_public_key(dsn.public_key().to_owned());
    }
    dsc.release = options.release.as_deref().map(str::to_owned);
    dsc.environment = options.environment.as_deref().map(str::to_owned);
    dsc.transaction = Some(inner.name.clone());
    dsc.org_id = options
        .org_id
        .or_else(|| options.dsn.as_ref().and_then(|d| d.org_id()))
        .map(|o| o.to_string());
    Some(dsc)
}

/// The `baggage` header of a transaction: its dynamic sampling context.
fn dsc_baggage(inner: &TransactionInner) -> Option<String> {
    dsc(inner).map(|d| d.to_baggage())
}

/// A transaction's data and tags under its lock ([`Transaction::data`]).
pub struct TransactionData<'a>(MutexGuard<'a, TransactionInner>);

impl TransactionData<'_> {
    /// The root span's data attributes.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> + '_ {
        self.0.context.data.iter()
    }

    /// Sets a data attribute.
    pub fn set_data(&mut self, key: impl Into<String>, value: Value) {
        self.0.context.data.insert(key.into(), value);
    }

    /// Sets a tag.
    pub fn set_tag(&mut self, key: impl Into<String>, value: String) {
        self.0.tags.insert(key.into(), value);
    }
}

/// A running span of a transaction. Clones share it.
#[derive(Clone, Debug)]
pub struct Span {
    transaction: Arc<Mutex<TransactionInner>>,
    sampled: bool,
    span: Arc<Mutex<protocol::Span>>,
}

impl PartialEq for Span {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.span, &other.span)
    }
}

impl Span {
    fn new(
        transaction: &Arc<Mutex<TransactionInner>>,
        trace_id: protocol::TraceId,
        parent: SpanId,
        sampled: bool,
        op: &str,
        description: &str,
    ) -> Span {
        let span = protocol::Span {
            trace_id,
            parent_span_id: Some(parent),
            op: Some(op.into()),
            description: Some(description.to_owned()).filter(|d| !d.is_empty()),
            origin: Some("manual".into()),
            ..Default::default()
        };
        Span {
            transaction: Arc::clone(transaction),
            sampled,
            span: Arc::new(Mutex::new(span)),
        }
    }

    /// Sets a data attribute.
    pub fn set_data(&self, key: &str, value: Value) {
        self.span.lock().data.insert(key.into(), value);
    }

    /// Sets a tag.
    pub fn set_tag<V: ToString>(&self, key: &str, value: V) {
        self.span.lock().tags.insert(key.into(), value.to_string());
    }

    /// The span's data, to read or change under one lock.
    pub fn data(&self) -> Data<'_> {
        Data(self.span.lock())
    }

    /// The span as the `trace` context of events captured under it.
    pub fn get_trace_context(&self) -> TraceContext {
        self.span.lock().trace_context()
    }

    /// Its id.
    pub fn get_span_id(&self) -> SpanId {
        self.span.lock().span_id
    }

    /// Its status, if set.
    pub fn get_status(&self) -> Option<SpanStatus> {
        self.span.lock().status
    }

    /// Sets its status.
    pub fn set_status(&self, status: SpanStatus) {
        self.span.lock().status = Some(status);
    }

    /// Sets its operation.
    pub fn set_op(&self, op: &str) {
        self.span.lock().op = Some(op.into());
    }

    /// Sets its description.
    pub fn set_name(&self, name: &str) {
        self.span.lock().description = Some(name.into());
    }

    /// Records the HTTP request it made or handled as data attributes (method, URL,
    /// query).
    pub fn set_request(&self, request: Request) {
        let mut span = self.span.lock();
        if let Some(method) = request.method {
            span.data.insert("method".into(), method.into());
        }
        if let Some(url) = request.url {
            span.data.insert("url".into(), url.to_string().into());
        }
        if let Some(query) = request.query_string {
            span.data.insert("query".into(), query);
        }
    }

    /// Sets what created it.
    pub fn set_origin(&self, origin: &str) {
        self.span.lock().origin = Some(origin.into());
    }

    /// The headers that continue this trace in a service this span calls.
    pub fn iter_headers(&self) -> TraceHeadersIter {
        let context = self.get_trace_context();
        let inner = self.transaction.lock();
        TraceHeadersIter::new(sentry_trace_of(&inner, &context), dsc_baggage(&inner))
    }

    /// Whether its transaction is sampled.
    pub fn is_sampled(&self) -> bool {
        self.sampled
    }

    /// Finishes it now and hands it to its transaction (up to [`MAX_SPANS`] per
    /// transaction; nothing when unsampled or once the transaction finished).
    pub fn finish(self) {
        if !self.sampled {
            return;
        }
        let span = {
            let mut span = self.span.lock();
            if span.timestamp.is_some() {
                return;
            }
            span.finish();
            span.clone()
        };
        let mut inner = self.transaction.lock();
        if inner.client.is_none() {
            return;
        }
        if inner.spans.len() < MAX_SPANS {
            inner.spans.push(span);
        } else {
            inner.dropped_spans += 1;
        }
    }

    /// Starts a child span of this one.
    #[must_use = "a span must be finished with `finish()`"]
    pub fn start_child(&self, op: &str, description: &str) -> Span {
        let (trace_id, parent) = {
            let span = self.span.lock();
            (span.trace_id, span.span_id)
        };
        Span::new(
            &self.transaction,
            trace_id,
            parent,
            self.sampled,
            op,
            description,
        )
    }
}

/// A span's data under its lock ([`Span::data`]); derefs to the protocol span.
pub struct Data<'a>(MutexGuard<'a, protocol::Span>);

impl Data<'_> {
    /// Sets a data attribute.
    pub fn set_data(&mut self, key: String, value: Value) {
        self.0.data.insert(key, value);
    }

    /// Sets a tag.
    pub fn set_tag(&mut self, key: String, value: String) {
        self.0.tags.insert(key, value);
    }
}

impl Deref for Data<'_> {
    type Target = protocol::Span;

    fn deref(&self) -> &protocol::Span {
        &self.0
    }
}

impl DerefMut for Data<'_> {
    fn deref_mut(&mut self) -> &mut protocol::Span {
        &mut self.0
    }
}

/// A transaction or a span: what a scope holds as the current span
/// ([`Scope::set_span`](crate::Scope::set_span)) and what integrations start children of.
#[derive(Clone, Debug, PartialEq)]
pub enum TransactionOrSpan {
    /// A transaction.
    Transaction(Transaction),
    /// A span.
    Span(Span),
}

impl From<Transaction> for TransactionOrSpan {
    fn from(t: Transaction) -> Self {
        TransactionOrSpan::Transaction(t)
    }
}

impl From<Span> for TransactionOrSpan {
    fn from(s: Span) -> Self {
        TransactionOrSpan::Span(s)
    }
}

impl TransactionOrSpan {
    /// Sets a data attribute.
    pub fn set_data(&self, key: &str, value: Value) {
        match self {
            Self::Transaction(t) => t.set_data(key, value),
            Self::Span(s) => s.set_data(key, value),
        }
    }

    /// Sets a tag.
    pub fn set_tag<V: ToString>(&self, key: &str, value: V) {
        match self {
            Self::Transaction(t) => t.set_tag(key, value),
            Self::Span(s) => s.set_tag(key, value),
        }
    }

    /// The `trace` context of events captured under it.
    pub fn get_trace_context(&self) -> TraceContext {
        match self {
            Self::Transaction(t) => t.get_trace_context(),
            Self::Span(s) => s.get_trace_context(),
        }
    }

    /// Its status, if set.
    pub fn get_status(&self) -> Option<SpanStatus> {
        match self {
            Self::Transaction(t) => t.get_status(),
            Self::Span(s) => s.get_status(),
        }
    }

    /// Sets its status.
    pub fn set_status(&self, status: SpanStatus) {
        match self {
            Self::Transaction(t) => t.set_status(status),
            Self::Span(s) => s.set_status(status),
        }
    }

    /// Sets its operation.
    pub fn set_op(&self, op: &str) {
        match self {
            Self::Transaction(t) => t.set_op(op),
            Self::Span(s) => s.set_op(op),
        }
    }

    /// Renames it (a span: its description).
    pub fn set_name(&self, name: &str) {
        match self {
            Self::Transaction(t) => t.set_name(name),
            Self::Span(s) => s.set_name(name),
        }
    }

    /// Sets the HTTP request.
    pub fn set_request(&self, request: Request) {
        match self {
            Self::Transaction(t) => t.set_request(request),
            Self::Span(s) => s.set_request(request),
        }
    }

    /// The headers that continue this trace.
    pub fn iter_headers(&self) -> TraceHeadersIter {
        match self {
            Self::Transaction(t) => t.iter_headers(),
            Self::Span(s) => s.iter_headers(),
        }
    }

    /// Whether it is sampled.
    pub fn is_sampled(&self) -> bool {
        match self {
            Self::Transaction(t) => t.is_sampled(),
            Self::Span(s) => s.is_sampled(),
        }
    }

    /// Starts a child span.
    #[must_use = "a span must be finished with `finish()`"]
    pub fn start_child(&self, op: &str, description: &str) -> Span {
        match self {
            Self::Transaction(t) => t.start_child(op, description),
            Self::Span(s) => s.start_child(op, description),
        }
    }

    /// Finishes it.
    pub fn finish(self) {
        match self {
            Self::Transaction(t) => t.finish(),
            Self::Span(s) => s.finish(),
        }
    }

    /// Its `sentry-trace` value (for a transaction continuing it).
    pub(crate) fn sentry_trace(&self) -> SentryTrace {
        let context = self.get_trace_context();
        SentryTrace::new(context.trace_id, context.span_id, Some(self.is_sampled()))
    }
}
