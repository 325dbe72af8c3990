//! Performance tracing: transactions and their spans, sampled by `traces_sample_rate` or
//! `traces_sampler`, sent as `transaction` envelopes through the background worker, and
//! the `sentry-trace`/`baggage` headers that continue a trace across services.
//!
//! The caller's cost stays small: starting a span takes two random ids and a clock read,
//! finishing one pushes it onto its transaction under a short lock; the transaction is
//! turned into an event and queued (`try_send`) when it finishes, and everything else —
//! the scope, the client's defaults, serialization — happens on the worker. An
//! unsampled transaction records nothing and sends nothing, but still hands its trace on
//! through its headers.
//!
//! ```
//! use sentry_client::protocol::ItemType;
//!
//! let envelopes = sentry_client::test::with_captured_envelopes_options(
//!     || {
//!         let ctx = sentry_client::TransactionContext::new("nightly report", "task");
//!         let transaction = sentry_client::start_transaction(ctx);
//!         let span = transaction.start_child("db.query", "SELECT 1");
//!         span.set_data("rows", 1.into());
//!         span.finish();
//!         transaction.finish();
//!     },
//!     sentry_client::ClientOptions::new().traces_sample_rate(1.0),
//! );
//! let item = envelopes[0].item(&ItemType::Transaction).expect("a transaction item");
//! let transaction = item.event().expect("reads");
//! assert_eq!(transaction.transaction.as_deref(), Some("nightly report"));
//! let spans = transaction.spans.expect("spans");
//! assert_eq!(spans[0]["op"], "db.query");
//! assert_eq!(spans[0]["data"]["rows"], 1);
//! ```

mod headers;
mod span;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::protocol::{OrganizationId, SpanId, TraceId};
use crate::Hub;

pub use headers::{
    parse_sentry_trace_header, ParseSentryTraceError, SentryTrace, TraceHeader, TraceHeadersIter,
};
pub use span::{Data, Span, Transaction, TransactionData, TransactionOrSpan};

/// The most spans one transaction keeps; later ones are counted as dropped.
pub const MAX_SPANS: usize = 1_000;

/// Decides the sample rate of a transaction from its context (0.0 = never, 1.0 =
/// always); set as [`ClientOptions::traces_sampler`](crate::ClientOptions::traces_sampler).
pub type TracesSampler = dyn Fn(&TransactionContext) -> f32 + Send + Sync;

/// Extra data for a [`TracesSampler`] to decide on.
pub type CustomTransactionContext = Map<String, Value>;

/// What a transaction starts from: its name and operation, the trace it belongs to, its
/// parent span (when it continues a trace) and the parent's sampling decision.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionContext {
    name: String,
    op: String,
    trace_id: TraceId,
    parent_span_id: Option<SpanId>,
    span_id: SpanId,
    sampled: Option<bool>,
    custom: Option<CustomTransactionContext>,
    /// Set when the context continues a trace from request headers: the organization
    /// it came from (`sentry-org_id` in its baggage), if it said.
    incoming: Option<Option<OrganizationId>>,
}

impl TransactionContext {
    /// A transaction that starts a new trace.
    #[must_use = "this must be used with `start_transaction`"]
    pub fn new(name: &str, op: &str) -> Self {
        Self::new_with_trace_id(name, op, TraceId::default())
    }

    /// A transaction of the trace `trace_id`, without a parent span.
    #[must_use = "this must be used with `start_transaction`"]
    pub fn new_with_trace_id(name: &str, op: &str, trace_id: TraceId) -> Self {
        TransactionContext {
            name: name.into(),
            op: op.into(),
            trace_id,
            parent_span_id: None,
            span_id: SpanId::default(),
            sampled: None,
            custom: None,
            incoming: None,
        }
    }

    /// Continues the trace an incoming request's `sentry-trace` header names (with
    /// its sampling decision); a new trace when there is none or it does not read.
    #[must_use = "this must be used with `start_transaction`"]
    pub fn continue_from_headers<'a, I: IntoIterator<Item = (&'a str, &'a str)>>(
        name: &str,
        op: &str,
        headers: I,
    ) -> Self {
        let mut trace = None;
        let mut org_id = None;
        for (key, value) in headers {
            if key.eq_ignore_ascii_case("sentry-trace") {
                trace = value.parse::<SentryTrace>().ok();
            } else if key.eq_ignore_ascii_case("baggage") {
                org_id = org_id.or_else(|| baggage_org_id(value));
            }
        }
        match trace {
            Some(trace) => TransactionContext {
                incoming: Some(org_id),
                ..Self::continue_from_sentry_trace(name, op, &trace)
            },
            None => Self::new(name, op),
        }
    }

    /// Continues the trace of a parsed `sentry-trace` header.
    #[must_use = "this must be used with `start_transaction`"]
    pub fn continue_from_sentry_trace(name: &str, op: &str, trace: &SentryTrace) -> Self {
        TransactionContext {
            parent_span_id: Some(trace.span_id()),
            sampled: trace.sampled(),
            ..Self::new_with_trace_id(name, op, trace.trace_id())
        }
    }

    /// Continues the trace of a running transaction or span (work handed to another
    /// thread, say), as its child; a new trace when `span` is `None`.
    #[must_use = "this must be used with `start_transaction`"]
    pub fn continue_from_span(name: &str, op: &str, span: Option<TransactionOrSpan>) -> Self {
        match span {
            Some(span) => {
                let trace = span.sentry_trace();
                Self::continue_from_sentry_trace(name, op, &trace)
            }
            None => Self::new(name, op),
        }
    }

    /// Fixes the sampling decision (`None` leaves it to the options).
    pub fn set_sampled(&mut self, sampled: impl Into<Option<bool>>) {
        self.sampled = sampled.into();
    }

    /// The sampling decision made already (by the parent), if any.
    pub fn sampled(&self) -> Option<bool> {
        self.sampled
    }

    /// The transaction's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The transaction's operation.
    pub fn operation(&self) -> &str {
        &self.op
    }

    /// The trace.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The transaction's own span id.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The parent span, when the transaction continues a trace.
    pub fn parent_span_id(&self) -> Option<SpanId> {
        self.parent_span_id
    }

    /// The extra data for the sampler.
    pub fn custom(&self) -> Option<&CustomTransactionContext> {
        self.custom.as_ref()
    }

    /// The extra data for the sampler, to change.
    pub fn custom_mut(&mut self) -> &mut Option<CustomTransactionContext> {
        &mut self.custom
    }

    /// Adds a value for the sampler; returns the value the key had.
    pub fn custom_insert(&mut self, key: String, value: Value) -> Option<Value> {
        self.custom.get_or_insert_with(Map::new).insert(key, value)
    }
}

/// The `sentry-org_id` entry of a `baggage` header.
fn baggage_org_id(baggage: &str) -> Option<OrganizationId> {
    baggage.split(',').find_map(|entry| {
        let (key, value) = entry.split_once('=')?;
        (key.trim() == "sentry-org_id")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// Whether a trace from organization `incoming` is continued by an SDK of organization
/// `ours`: two known ids must match; with one of them unknown, only when not strict.
fn continues(ours: Option<OrganizationId>, incoming: Option<OrganizationId>, strict: bool) -> bool {
    match (ours, incoming) {
        (Some(a), Some(b)) => a == b,
        (None, None) => true,
        _ => !strict,
    }
}

/// Starts a transaction on the current hub; see [`Hub::start_transaction`].
#[must_use = "a transaction must be finished with `finish()` to be sent"]
pub fn start_transaction(ctx: TransactionContext) -> Transaction {
    Hub::with(|hub| hub.start_transaction(ctx))
}

impl Hub {
    /// Starts a transaction, sampled as the client's options say (the context's own
    /// decision first, then `traces_sampler`, then `traces_sample_rate`). Without a
    /// client, or when not sampled, the transaction records nothing and is not sent.
    #[must_use = "a transaction must be finished with `finish()` to be sent"]
    pub fn start_transaction(&self, ctx: TransactionContext) -> Transaction {
        match self.client().filter(|c| c.is_enabled()) {
            Some(client) => {
                let options = client.options();
                let ours = options
                    .org_id
                    .or_else(|| options.dsn.as_ref().and_then(|d| d.org_id()));
                let foreign = ctx.incoming.is_some_and(|incoming| {
                    !continues(ours, incoming, options.strict_trace_continuation)
                });
                let ctx = if foreign {
                    // Another organization's trace (or an unknown one, when strict):
                    // this transaction starts a trace of its own.
                    TransactionContext {
                        custom: ctx.custom,
                        ..TransactionContext::new(&ctx.name, &ctx.op)
                    }
                } else {
                    ctx
                };
                let rate = sample_rate(&options.traces_sampler, options.traces_sample_rate, &ctx);
                // A sampler decides (it sees the parent's decision in the context); else
                // the parent's decision holds; else the rate.
                let sampled = match (&options.traces_sampler, ctx.sampled) {
                    (None, Some(decided)) => decided,
                    _ => rate > 0.0 && (rate >= 1.0 || client.random_unit() < f64::from(rate)),
                };
                if sampled {
                    Transaction::sampled(client, ctx, rate)
                } else {
                    Transaction::unsampled(Some(client), ctx)
                }
            }
            None => Transaction::unsampled(None, ctx),
        }
    }
}

/// The rate a transaction is sampled at: the sampler's answer, else the options' rate,
/// clamped to 0..=1 (a parent's decision counts as 1 or 0).
fn sample_rate(sampler: &Option<Arc<TracesSampler>>, rate: f32, ctx: &TransactionContext) -> f32 {
    let rate = match (ctx.sampled, sampler) {
        (_, Some(sampler)) => {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sampler(ctx))).unwrap_or(0.0)
        }
        (Some(true), None) => 1.0,
        (Some(false), None) => 0.0,
        (None, None) => rate,
    };
    if rate.is_nan() {
        0.0
    } else {
        rate.clamp(0.0, 1.0)
    }
}
