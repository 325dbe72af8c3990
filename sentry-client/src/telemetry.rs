//! What structured logs and metrics share on the worker: the trace of the scope they
//! were captured in, the SDK's default attributes, the user's attributes, and the run of
//! their `before_send_*` callback.

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::Value;

use crate::options::BeforeCallback;
use crate::protocol::{DiscardReason, LogAttribute, SpanId, TraceId, User};
use crate::scope::Scope;
use crate::ClientOptions;

/// The trace and span of a scope: its span's, else those of its `trace` context (set by
/// hand or a web integration); `None` where the scope says nothing (the caller falls back
/// to the client's own trace).
pub(crate) fn scope_trace(scope: Option<&Scope>) -> (Option<TraceId>, Option<SpanId>) {
    let Some(scope) = scope else {
        return (None, None);
    };
    match &scope.span {
        Some(span) => {
            let t = span.get_trace_context();
            (Some(t.trace_id), Some(t.span_id))
        }
        None => {
            let trace = scope.contexts.get("trace");
            let id_of = |k: &str| trace.and_then(|t| t.get(k)).and_then(Value::as_str);
            (
                id_of("trace_id").and_then(|t| t.parse().ok()),
                id_of("span_id").and_then(|t| t.parse::<SpanId>().ok()),
            )
        }
    }
}

/// The attributes every log or metric gets unless it has them: `sentry.environment`,
/// `sentry.release`, `sentry.sdk.name`, `sentry.sdk.version`, `server.address` when set,
/// and `os.name` / `os.version` from `os` (the default `os` context) when given.
pub(crate) fn default_attributes(
    options: &ClientOptions,
    os: Option<&Value>,
) -> Vec<(&'static str, LogAttribute)> {
    let os_field = |k: &str| os.and_then(|os| os.get(k)).and_then(Value::as_str);
    [
        ("sentry.environment", options.environment.as_deref()),
        ("sentry.release", options.release.as_deref()),
        ("sentry.sdk.name", Some(crate::SDK_NAME)),
        ("sentry.sdk.version", Some(crate::SDK_VERSION)),
        ("server.address", options.server_name.as_deref()),
        ("os.name", os_field("name")),
        ("os.version", os_field("version")),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, LogAttribute::from(v?))))
    .collect()
}

/// The user's attributes: `user.id`, `user.name`, `user.email`, those that are set.
pub(crate) fn user_attributes(user: &User) -> impl Iterator<Item = (&'static str, &str)> {
    [
        ("user.id", &user.id),
        ("user.name", &user.username),
        ("user.email", &user.email),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v.as_deref()?)))
}

/// Runs a `before_send_*` callback: `None` or a panic drops the value (`before_send`).
pub(crate) fn before_send<T>(
    callback: Option<&BeforeCallback<T>>,
    value: T,
) -> Result<T, DiscardReason> {
    match callback {
        Some(f) => catch_unwind(AssertUnwindSafe(|| f(value)))
            .ok()
            .flatten()
            .ok_or(DiscardReason::BeforeSend),
        None => Ok(value),
    }
}
