//! The project's Logs page (`/projects/{team}/{project}/logs/`): filters (free text and
//! `key:value`, level, trace), the logs newest first with their level's colour, each
//! log's attributes in a table that opens on click (`<details>`, no script), and an
//! "Older" link (the API's keyset cursor). And the "Logs of this trace" section of an
//! event's page ([`trace_logs`]). Both call [`crate::app::logs`], as the API does.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::session::Viewer;
use super::{page, timefmt, url_encode, Chrome, UiError};
use crate::app::logs::{self, LogParams};
use crate::app::projects::ProjectName;
use crate::app::{with_store, AppError, Caller};
use crate::store::logs::StoredLog;
use crate::store::{Project, Store};

/// The Logs page route.
pub fn routes() -> Router<crate::app::AppState> {
    Router::new().route("/projects/{team}/{project}/logs/", get(logs_page))
}

/// A log as the pages show it.
pub struct LogRow {
    /// `2024-06-01 12:00:00.123`.
    pub when: String,
    /// `trace` … `fatal` (the CSS class `log-<level>` colours it).
    pub level: String,
    /// The message.
    pub body: String,
    /// The trace id, when it has one.
    pub trace_id: String,
    /// The attributes, key and value as text, in key order.
    pub attributes: Vec<(String, String)>,
}

fn row(l: &StoredLog) -> LogRow {
    let attributes = match serde_json::from_str::<Value>(&l.attributes) {
        Ok(Value::Object(map)) => {
            let mut pairs: Vec<(String, String)> = map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect();
            pairs.sort();
            pairs
        }
        _ => Vec::new(),
    };
    LogRow {
        when: timefmt::absolute(l.timestamp_ms),
        level: l.level.clone(),
        body: l.body.clone(),
        trace_id: l.trace_id.clone().unwrap_or_default(),
        attributes,
    }
}

#[derive(Template)]
#[template(path = "project_logs.html")]
struct LogsPage {
    chrome: Chrome,
    project: Project,
    issues_url: String,
    query: String,
    level: String,
    trace: String,
    levels: Vec<&'static str>,
    rows: Vec<LogRow>,
    older_url: Option<String>,
    error: String,
}

/// `GET /projects/{team}/{project}/logs/?query=&level=&trace=&cursor=`.
pub async fn logs_page(
    State(state): State<crate::app::AppState>,
    viewer: Viewer,
    Path((team, slug)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let t = with_store(&state, move |store| {
        let name = ProjectName::in_team(&team, &slug);
        let text = |k: &str| params.get(k).cloned().unwrap_or_default();
        let (parsed, error) = match LogParams::parse(&params) {
            Ok(p) => (p, String::new()),
            Err(e) => (
                LogParams {
                    limit: logs::MAX_PAGE,
                    ..Default::default()
                },
                e,
            ),
        };
        let (project, mut found) = logs::search(store, &viewer.who, name, &parsed)?;
        let more = found.len() as u64 > parsed.limit;
        found.truncate(parsed.limit as usize);
        let older_url = match (more, found.last()) {
            (true, Some(last)) => {
                let mut q: Vec<String> = ["query", "level", "trace"]
                    .iter()
                    .filter_map(|k| params.get(*k).map(|v| format!("{k}={}", url_encode(v))))
                    .collect();
                q.push(format!("cursor={}", url_encode(&logs::next_cursor(last))));
                Some(format!("?{}", q.join("&")))
            }
            _ => None,
        };
        Ok::<_, UiError>(LogsPage {
            chrome: Chrome::new(format!("{} · logs", project.name), &viewer),
            issues_url: super::issues::list_url(&project),
            query: text("query"),
            level: text("level"),
            trace: text("trace"),
            levels: sentry_client::protocol::LogLevel::ALL
                .iter()
                .map(|l| l.as_str())
                .collect(),
            rows: found.iter().map(row).collect(),
            older_url,
            error,
            project,
        })
    })
    .await?;
    page(&t)
}

/// The "Logs of this trace" section of an event's page.
pub struct TraceLogs {
    /// The trace.
    pub trace_id: String,
    /// Its logs, oldest first.
    pub rows: Vec<LogRow>,
    /// The project's Logs page filtered to the trace.
    pub url: String,
}

/// The logs sharing the event's trace (`contexts.trace.trace_id` of `event_body`), in
/// time order; `None` when the event has no trace.
pub fn trace_logs(
    store: &dyn Store,
    caller: &Caller,
    project: &Project,
    trace_id: Option<&str>,
) -> Result<Option<TraceLogs>, AppError> {
    let Some(trace_id) = trace_id.and_then(|t| logs::trace_id(t).ok()) else {
        return Ok(None);
    };
    let name = ProjectName::in_team(&project.team_slug, &project.slug);
    let rows = logs::of_trace(store, caller, name, &trace_id)?;
    Ok(Some(TraceLogs {
        url: format!(
            "/projects/{}/{}/logs/?trace={trace_id}",
            project.team_slug, project.slug
        ),
        trace_id,
        rows: rows.iter().map(row).collect(),
    }))
}
