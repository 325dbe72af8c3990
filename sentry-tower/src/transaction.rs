//! One performance transaction per request, when the client traces
//! ([`traces_sample_rate`](sentry_client::ClientOptions::traces_sample_rate) above zero
//! or a [`traces_sampler`](sentry_client::ClientOptions::traces_sampler)): named like
//! the request's events (`METHOD route`), operation `http.server`, continuing the
//! caller's `sentry-trace` when the layer continues traces, set on the request's scope
//! (so spans started in the handler and the tracing layer's spans are its children, and
//! the request's events carry its trace), and finished with the response's status.

use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use sentry_client::protocol::SpanStatus;
use sentry_client::{Hub, Transaction, TransactionContext, TransactionOrSpan};

use crate::request::RequestInfo;
use crate::trace::TraceContext;

/// Whether the client records transactions at all.
pub(crate) fn tracing_enabled(options: &sentry_client::ClientOptions) -> bool {
    options.traces_sample_rate > 0.0 || options.traces_sampler.is_some()
}

/// Starts the request's transaction on `hub`; `None` when not sampled. The request's
/// trace (what its events carry) becomes the transaction's.
pub(crate) fn start(hub: &Arc<Hub>, info: &RequestInfo) -> Option<Transaction> {
    let name = info.transaction_name();
    let ctx = if info.continue_traces {
        TransactionContext::continue_from_headers(&name, "http.server", header_pairs(&info.headers))
    } else {
        TransactionContext::new(&name, "http.server")
    };
    let transaction = hub.start_transaction(ctx.clone());
    if !transaction.is_sampled() {
        return None;
    }
    transaction.set_origin("auto.http.tower");
    transaction.set_request(info.to_request());
    let _ = info.trace.set(TraceContext {
        trace_id: ctx.trace_id().to_string(),
        span_id: ctx.span_id().to_string(),
        parent_span_id: ctx.parent_span_id().map(|id| id.to_string()),
        sampled: Some(true),
    });
    hub.configure_scope(|scope| scope.set_span(Some(TransactionOrSpan::from(transaction.clone()))));
    Some(transaction)
}

/// The request headers as name/value pairs (values that are not text skipped).
fn header_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
}

/// Finishes the transaction with `status` (`None`: the handler panicked), on the
/// request's hub so that its scope (tags set by the handler) applies.
pub(crate) fn finish(hub: &Arc<Hub>, transaction: Transaction, status: Option<StatusCode>) {
    let span_status = match status {
        Some(code) => {
            transaction.set_data("http.response.status_code", code.as_u16().into());
            status_of(code)
        }
        None => SpanStatus::InternalError,
    };
    transaction.set_status(span_status);
    Hub::run(Arc::clone(hub), || transaction.finish());
}

/// The span status of an HTTP status code.
pub(crate) fn status_of(code: StatusCode) -> SpanStatus {
    match code.as_u16() {
        100..=399 => SpanStatus::Ok,
        401 => SpanStatus::Unauthenticated,
        403 => SpanStatus::PermissionDenied,
        404 => SpanStatus::NotFound,
        409 => SpanStatus::AlreadyExists,
        429 => SpanStatus::ResourceExhausted,
        400..=499 => SpanStatus::InvalidArgument,
        501 => SpanStatus::Unimplemented,
        503 => SpanStatus::Unavailable,
        504 => SpanStatus::DeadlineExceeded,
        _ => SpanStatus::InternalError,
    }
}
