//! The JSON web API under `/api/0/` (the shape of Sentry's, a subset), authenticated with
//! `Authorization: Bearer <token>` (tokens from `sentry-server-lite token create`).
//!
//! Until the accounts work adds the permission policy, any valid token has full access.
//! Lists are paginated with Sentry-style `Link` headers (`cursor=0:{offset}:0`).

pub mod json;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;
use serde_json::{json, Value};

use crate::secrets::token_digest;
use crate::store::{IssueFilter, IssueStatus, Page, Project, Store, StoreError, User};

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Public base URL (for permalinks).
    pub base_url: String,
}

/// An API error: status and `{"detail": ...}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn not_found() -> Self {
        ApiError(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist".into(),
        )
    }
    fn bad_request(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "detail": self.1 }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error in API");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, "storage error".into())
    }
}

/// The authenticated user of an API request.
pub struct ApiUser(pub User);

impl FromRequestParts<ApiState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let unauthorized = |m: &str| ApiError(StatusCode::UNAUTHORIZED, m.to_owned());
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("Authentication credentials were not provided."))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("Use `Authorization: Bearer <token>`."))?;
        let digest = token_digest(token);
        let store = state.store.clone();
        let user = blocking(move || store.user_by_token(&digest)).await?;
        user.map(ApiUser)
            .ok_or_else(|| unauthorized("Invalid token."))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "task failed".into()))?
        .map_err(ApiError::from)
}

/// The API routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/0/projects/", get(list_projects))
        .route(
            "/api/0/projects/{team}/{project}/issues/",
            get(project_issues),
        )
        .route(
            "/api/0/projects/{team}/{project}/events/{event_id}/",
            get(project_event),
        )
        .route("/api/0/issues/{id}/", get(issue_detail).put(update_issue))
        .route("/api/0/issues/{id}/events/", get(issue_events))
        .route("/api/0/issues/{id}/events/latest/", get(latest_event))
}

const MAX_PAGE: u64 = 100;

fn page_of(params: &HashMap<String, String>) -> Result<Page, ApiError> {
    let limit = match params.get("limit").or(params.get("per_page")) {
        Some(l) => l
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?
            .clamp(1, MAX_PAGE),
        None => MAX_PAGE,
    };
    let offset = match params.get("cursor") {
        // Sentry's cursor form is `value:offset:is_prev`; we use the offset.
        Some(c) => c
            .split(':')
            .nth(1)
            .and_then(|o| o.parse::<u64>().ok())
            .ok_or_else(|| ApiError::bad_request(format!("invalid cursor {c:?}")))?,
        None => 0,
    };
    Ok(Page { offset, limit })
}

/// Builds the `Link` header for a page that returned `has_next` more rows.
fn link_header(
    headers: &HeaderMap,
    path: &str,
    params: &HashMap<String, String>,
    page: Page,
    has_next: bool,
) -> Option<HeaderValue> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let mut query: Vec<String> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "cursor")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    query.sort();
    let url = |cursor: &str| {
        let mut q = query.clone();
        q.push(format!("cursor={cursor}"));
        format!("http://{host}{path}?{}", q.join("&"))
    };
    let prev = format!("0:{}:1", page.offset.saturating_sub(page.limit));
    let next = format!("0:{}:0", page.offset + page.limit);
    let value = format!(
        "<{}>; rel=\"previous\"; results=\"{}\"; cursor=\"{prev}\", <{}>; rel=\"next\"; results=\"{}\"; cursor=\"{next}\"",
        url(&prev),
        page.offset > 0,
        url(&next),
        has_next
    );
    HeaderValue::from_str(&value).ok()
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn paginated(items: Vec<Value>, link: Option<HeaderValue>) -> Response {
    let mut response = Json(Value::Array(items)).into_response();
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

async fn list_projects(
    State(state): State<ApiState>,
    ApiUser(_user): ApiUser,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let projects = blocking(move || store.list_projects()).await?;
    Ok(Json(projects.iter().map(json::project).collect::<Vec<_>>()).into_response())
}

async fn find_project(
    state: &ApiState,
    team: String,
    project: String,
) -> Result<Project, ApiError> {
    let store = state.store.clone();
    let p = blocking(move || store.project_by_slug(&project)).await?;
    p.filter(|p| p.team_slug == team)
        .ok_or_else(ApiError::not_found)
}

/// Parses Sentry-style search: `is:resolved`, `key:value` tag filters (values may be
/// quoted) and free text matched against title and culprit.
pub fn parse_query(query: &str) -> Result<IssueFilter, String> {
    let mut filter = IssueFilter::default();
    let mut text = Vec::new();
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    for token in tokens {
        match token.split_once(':') {
            Some(("is", v)) => {
                filter.status = Some(
                    IssueStatus::parse(v).ok_or_else(|| format!("unknown status {v:?} in is:"))?,
                )
            }
            Some((k, v)) if !k.is_empty() && !v.is_empty() && !k.contains('/') => {
                filter.tags.push((k.to_owned(), v.to_owned()))
            }
            _ => text.push(token),
        }
    }
    if !text.is_empty() {
        filter.text = Some(text.join(" "));
    }
    Ok(filter)
}

async fn project_issues(
    State(state): State<ApiState>,
    ApiUser(_user): ApiUser,
    Path((team, project)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let p = find_project(&state, team.clone(), project.clone()).await?;
    let page = page_of(&params)?;
    // Like Sentry, a request without `query` lists unresolved issues.
    let mut filter = match params.get("query") {
        Some(q) => parse_query(q).map_err(ApiError::bad_request)?,
        None => IssueFilter {
            status: Some(IssueStatus::Unresolved),
            ..Default::default()
        },
    };
    if let Some(s) = params.get("status") {
        filter.status = match s.as_str() {
            "" | "all" => None,
            s => Some(
                IssueStatus::parse(s)
                    .ok_or_else(|| ApiError::bad_request(format!("unknown status {s:?}")))?,
            ),
        };
    }
    let store = state.store.clone();
    let pid = p.id;
    let mut issues = blocking(move || {
        store.list_issues(
            pid,
            &filter,
            Page {
                limit: page.limit + 1,
                ..page
            },
        )
    })
    .await?;
    let has_next = issues.len() as u64 > page.limit;
    issues.truncate(page.limit as usize);
    let items = issues
        .iter()
        .map(|i| json::issue(i, &p, &state.base_url))
        .collect();
    let path = format!("/api/0/projects/{team}/{project}/issues/");
    Ok(paginated(
        items,
        link_header(&headers, &path, &params, page, has_next),
    ))
}

async fn load_issue(
    state: &ApiState,
    id: &str,
) -> Result<(crate::store::Issue, Project), ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let store = state.store.clone();
    blocking(move || {
        let Some(issue) = store.issue(id)? else {
            return Ok(None);
        };
        Ok(store.project_by_id(issue.project_id)?.map(|p| (issue, p)))
    })
    .await?
    .ok_or_else(ApiError::not_found)
}

async fn issue_detail(
    State(state): State<ApiState>,
    ApiUser(_user): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (issue, project) = load_issue(&state, &id).await?;
    let store = state.store.clone();
    let issue_id = issue.id;
    let tags = blocking(move || store.issue_tags(issue_id)).await?;
    Ok(Json(json::issue_detail(&issue, &project, &tags, &state.base_url)).into_response())
}

async fn update_issue(
    State(state): State<ApiState>,
    ApiUser(_user): ApiUser,
    Path(id): Path<String>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let (issue, project) = load_issue(&state, &id).await?;
    let status = match body.get("status") {
        Some(Value::String(s)) => IssueStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown status {s:?}: use resolved, unresolved or ignored"
            ))
        })?,
        _ => {
            return Err(ApiError::bad_request(
                "expected {\"status\": \"resolved\"|\"unresolved\"|\"ignored\"}",
            ))
        }
    };
    let store = state.store.clone();
    let issue_id = issue.id;
    let updated = blocking(move || store.set_issue_status(issue_id, status))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(json::issue(&updated, &project, &state.base_url)).into_response())
}

async fn issue_events(
    State(state): State<ApiState>,
    ApiUser(_user): ApiUser,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (issue, _) = load_issue(&state, &id).await?;
    let page = page_of(&params)?;
    let store = state.store.clone();
    let issue_id = issue.id;
    let mut events = blocking(move || {
        store.list_events(
            issue_id,
            Page {
                limit: page.limit + 1,
                ..page
            },
        )
    })
    .await?;
    let has_next = events.len() as u64 > page.limit;
    events.truncate(page.limit as usize);
    let items = events.iter().map(json::event_summary).collect();
    let path = format!("/api/0/issues/{id}/events/");
    Ok(paginated(
        items,
        link_header(&headers, &path, &params, page, has_next),
    ))
}

async fn latest_event(
    State(state): State<ApiState>,
    ApiUser(_user): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (issue, _) = load_issue(&state, &id).await?;
    let store = state.store.clone();
    let issue_id = issue.id;
    let event = blocking(move || store.latest_event(issue_id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(json::event_detail(&event)).into_response())
}

async fn project_event(
    State(state): State<ApiState>,
    ApiUser(_user): ApiUser,
    Path((team, project, event_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let p = find_project(&state, team, project).await?;
    let event_id: String = event_id
        .chars()
        .filter(|c| *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    let store = state.store.clone();
    let pid = p.id;
    let event = blocking(move || store.event(pid, &event_id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(json::event_detail(&event)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_syntax() {
        let f = parse_query(r#"is:resolved level:error release:"app 1.0" boom  here"#).expect("ok");
        assert_eq!(f.status, Some(IssueStatus::Resolved));
        assert_eq!(
            f.tags,
            vec![
                ("level".to_string(), "error".to_string()),
                ("release".to_string(), "app 1.0".to_string())
            ]
        );
        assert_eq!(f.text.as_deref(), Some("boom here"));
        assert!(parse_query("is:nope").is_err());
        assert_eq!(parse_query("").expect("empty"), IssueFilter::default());
    }

    #[test]
    fn cursors() {
        let mut params = HashMap::new();
        params.insert("cursor".to_string(), "0:200:0".to_string());
        params.insert("limit".to_string(), "1000".to_string());
        assert_eq!(
            page_of(&params).expect("page"),
            Page {
                offset: 200,
                limit: 100
            }
        );
        params.insert("cursor".to_string(), "bad".to_string());
        assert!(page_of(&params).is_err());
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("h:1"));
        let mut p = HashMap::new();
        p.insert("query".to_string(), "is:resolved".to_string());
        let link = link_header(
            &headers,
            "/x/",
            &p,
            Page {
                offset: 0,
                limit: 10,
            },
            true,
        )
        .expect("link");
        assert_eq!(
            link.to_str().expect("ascii"),
            "<http://h:1/x/?query=is%3Aresolved&cursor=0:0:1>; rel=\"previous\"; results=\"false\"; cursor=\"0:0:1\", \
             <http://h:1/x/?query=is%3Aresolved&cursor=0:10:0>; rel=\"next\"; results=\"true\"; cursor=\"0:10:0\""
        );
    }
}
