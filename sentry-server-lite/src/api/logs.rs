//! `GET /api/0/projects/{team}/{project}/logs/?query=&level=&trace=&since=&until=`: a
//! project's structured logs, newest first, paginated by a keyset cursor in Sentry-style
//! `Link` headers. One [`crate::app::logs`] call per request; [`log_json`] is the one
//! JSON form of a log.

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::header::{self, HeaderValue};
use serde_json::{json, Value};

use super::request::Api;
use super::ApiError;
use crate::app::logs::{self, LogParams};
use crate::app::projects::ProjectName;
use crate::app::AppState;
use crate::store::logs::StoredLog;
use crate::ui::url_encode;

/// The log routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/0/projects/{team}/{project}/logs/", get(project_logs))
}

/// A log as the API shows it: `id`, `timestamp` (RFC 3339), `level`, `severityNumber`,
/// `body`, `traceId`, `spanId`, `release`, `environment` and `attributes` (plain values).
pub fn log_json(l: &StoredLog) -> Value {
    let attributes: Value =
        serde_json::from_str(&l.attributes).unwrap_or_else(|_| Value::Object(Default::default()));
    json!({
        "id": l.id.to_string(),
        "timestamp": crate::clock::rfc3339_ms(l.timestamp_ms),
        "level": l.level,
        "severityNumber": l.severity,
        "body": l.body,
        "traceId": l.trace_id,
        "spanId": l.span_id,
        "release": l.release,
        "environment": l.environment,
        "attributes": attributes,
    })
}

async fn project_logs(
    api: Api,
    Path((team, project)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let base = api.base_url();
    api.run(move |store, who| {
        let parsed = LogParams::parse(&params).map_err(ApiError::bad_request)?;
        let name = ProjectName::in_team(&team, &project);
        let (_, mut rows) = logs::search(store, who, name, &parsed)?;
        let has_next = rows.len() as u64 > parsed.limit;
        rows.truncate(parsed.limit as usize);
        let items: Vec<Value> = rows.iter().map(log_json).collect();
        let mut response = Json(Value::Array(items)).into_response();
        let path = format!("/api/0/projects/{team}/{project}/logs/");
        let next = rows.last().map(logs::next_cursor).unwrap_or_default();
        if let Some(link) = link(&base, &path, &params, &next, has_next) {
            response.headers_mut().insert(header::LINK, link);
        }
        Ok(response)
    })
    .await
}

/// The `Link` header: `next` continues after the page's last log.
fn link(
    base: &str,
    path: &str,
    params: &HashMap<String, String>,
    next: &str,
    has_next: bool,
) -> Option<HeaderValue> {
    let mut query: Vec<String> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "cursor")
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect();
    query.sort();
    let url = |cursor: &str| {
        let mut q = query.clone();
        q.push(format!("cursor={}", url_encode(cursor)));
        format!("{base}{path}?{}", q.join("&"))
    };
    let first = params.get("cursor").is_none_or(|c| c.is_empty());
    let value = format!(
        "<{}>; rel=\"previous\"; results=\"{}\"; cursor=\"\", <{}>; rel=\"next\"; results=\"{has_next}\"; cursor=\"{next}\"",
        url(""),
        !first,
        url(next),
    );
    HeaderValue::from_str(&value).ok()
}
