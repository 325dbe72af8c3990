//! The JSON web API under `/api/0/` (the shape of Sentry's, a subset), authenticated with
//! `Authorization: Bearer <token>` (tokens from `sentry-server-lite token create`).
//!
//! A thin adapter over [`crate::app`]: handlers parse the request, call the application
//! operation (which asks [`crate::policy`] and writes the audit log) and render JSON;
//! [`ApiError`] maps an [`AppError`] to Sentry's status codes and `{"detail": ...}`. The
//! caller comes from [`access`]: no credentials means anonymous (public projects and
//! shared issues only), an unknown token is 401; handlers take it with the state as
//! [`request::Api`], whose `run` runs their work on the store's threads. Lists are
//! paginated with Sentry-style `Link` headers (`cursor=0:{offset}:0`).

pub mod access;
pub mod alerts;
pub mod attachments;
pub mod feedback;
pub mod health;
pub mod issues;
pub mod json;
pub mod logs;
pub mod projects;
pub mod request;
pub mod teams;

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::header::{self, HeaderValue};
use http::StatusCode;
use serde_json::{json, Value};

use crate::app::projects::ProjectName;
use crate::app::refs::project_ref;
use crate::app::{self, AppError, AppState};
use crate::policy::{Action, Denied, Resource};
use crate::store::{Issue, IssueFilter, IssueStatus, Page, StoreError, StoredEvent};
use crate::ui::url_encode;
use request::Api;

/// An API error: status and `{"detail": ...}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    pub(crate) fn not_found() -> Self {
        ApiError(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist".into(),
        )
    }
    pub(crate) fn bad_request(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }

    /// The HTTP status (the web pages answer with the same one).
    pub fn status(&self) -> StatusCode {
        self.0
    }

    /// The message shown to the caller.
    pub fn message(&self) -> &str {
        &self.1
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.0, Json(json!({ "detail": self.1 }))).into_response();
        retry_after(&mut r);
        r
    }
}

/// Adds `Retry-After` to a 503 (a saturated resource: 1 s) or a 429 (a throttle: 60 s)
/// answer of the API or a page, unless it has one.
pub(crate) fn retry_after(r: &mut Response) {
    let secs = match r.status() {
        StatusCode::SERVICE_UNAVAILABLE => crate::app::throttle::HASH_RETRY_AFTER,
        StatusCode::TOO_MANY_REQUESTS => 60,
        _ => return,
    };
    r.headers_mut()
        .entry(http::header::RETRY_AFTER)
        .or_insert_with(|| http::HeaderValue::from(secs));
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let bad = |m: String| ApiError::bad_request(m);
        match e {
            AppError::Denied(Denied::Unauthenticated) => ApiError(
                StatusCode::UNAUTHORIZED,
                "Authentication credentials were not provided.".into(),
            ),
            AppError::Denied(Denied::Forbidden) => ApiError(
                StatusCode::FORBIDDEN,
                "You do not have permission to perform this action.".into(),
            ),
            AppError::Denied(Denied::NotFound)
            | AppError::NotFound
            | AppError::NoSuchKey { .. }
            | AppError::NotAMember { .. } => ApiError::not_found(),
            AppError::NoSuchUser(email) => bad(format!("no user with e-mail {email:?}")),
            AppError::NoSuchTeam(t) => bad(format!("no team {t:?}")),
            AppError::Required(field) => bad(format!("{field} is required")),
            AppError::NothingToChange => bad("the request changes nothing".into()),
            AppError::EmptyName => bad("invalid value: the name cannot be empty".into()),
            AppError::InvalidEmail(e) => bad(format!("{e:?} is not an e-mail address")),
            AppError::PasswordTooShort => bad(format!(
                "password must have at least {} characters",
                app::users::MIN_PASSWORD_CHARS
            )),
            AppError::PasswordRequired => bad("password is required to sign up".into()),
            AppError::UserExists(_) => ApiError(StatusCode::CONFLICT, "user already exists".into()),
            AppError::WrongPassword | AppError::WrongCredentials => {
                ApiError(StatusCode::UNAUTHORIZED, "Wrong e-mail or password.".into())
            }
            AppError::Busy(wait) => ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the server is busy checking passwords; retry in {wait} s"),
            ),
            AppError::TooManyLogins(_) => ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed logins".into(),
            ),
            AppError::Store(StoreError::Conflict(what)) => {
                ApiError(StatusCode::CONFLICT, format!("{what} already exists"))
            }
            AppError::Store(StoreError::Invalid(what)) => bad(format!("invalid value: {what}")),
            AppError::Store(StoreError::NotFound(_)) => ApiError::not_found(),
            AppError::Store(e) => ApiError::from(e),
            AppError::Hashing(e) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e),
            AppError::TaskFailed => {
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, "task failed".into())
            }
        }
    }
}

impl ApiError {
    /// The API's answer to `e`, with `expected` (which fields a request may give) as
    /// the message when the request changes nothing.
    pub(crate) fn or_expected(e: AppError, expected: &str) -> ApiError {
        match e {
            AppError::NothingToChange => ApiError::bad_request(expected),
            e => ApiError::from(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error in API");
        match e {
            StoreError::Unavailable(_) => ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry shortly".into(),
            ),
            _ => ApiError(StatusCode::INTERNAL_SERVER_ERROR, "storage error".into()),
        }
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
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/0/projects/", get(list_projects))
        .route(
            "/api/0/projects/{team}/{project}/issues/",
            get(project_issues)
                .put(issues::bulk_update)
                .delete(issues::bulk_delete),
        )
        .route(
            "/api/0/projects/{team}/{project}/events/{event_id}/",
            get(project_event),
        )
        .route(
            "/api/0/issues/{id}/",
            get(issue_detail)
                .put(issues::update_issue)
                .delete(issues::delete_issue),
        )
        .route(
            "/api/0/shared/issues/{share_id}/",
            get(issues::shared_issue),
        )
        .route("/api/0/issues/{id}/events/", get(issue_events))
        .route("/api/0/issues/{id}/events/latest/", get(latest_event))
        .merge(teams::routes())
        .merge(projects::routes())
        .merge(alerts::routes())
        .merge(health::routes())
        .merge(attachments::routes())
        .merge(feedback::routes())
        .merge(logs::routes())
}

const MAX_PAGE: u64 = 100;

fn page_of(params: &HashMap<String, String>) -> Result<Page, ApiError> {
    let limit = match params.get("limit").or(params.get("per_page")) {
        Some(l) => l
            .parse::<u64>()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| {
                ApiError::bad_request(format!("invalid limit {l:?}: give 1 to {MAX_PAGE}"))
            })?,
        None => MAX_PAGE,
    };
    let offset = match params.get("cursor") {
        // Sentry's cursor form is `value:offset:is_prev`; we use the offset.
        Some(c) => c
            .split(':')
            .nth(1)
            .and_then(|o| o.parse::<u64>().ok())
            .filter(|o| *o <= app::issues::MAX_OFFSET)
            .ok_or_else(|| ApiError::bad_request(format!("invalid cursor {c:?}")))?,
        None => 0,
    };
    Ok(Page { offset, limit })
}

/// Builds the `Link` header for a page that returned `has_next` more rows. The URLs
/// start with the server's public URL (`base`), never with the request's `Host`.
fn link_header(
    base: &str,
    path: &str,
    params: &HashMap<String, String>,
    page: Page,
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
        q.push(format!("cursor={cursor}"));
        format!("{base}{path}?{}", q.join("&"))
    };
    let prev = format!("0:{}:1", page.offset.saturating_sub(page.limit));
    let next = format!("0:{}:0", page.offset.saturating_add(page.limit));
    let value = format!(
        "<{}>; rel=\"previous\"; results=\"{}\"; cursor=\"{prev}\", <{}>; rel=\"next\"; results=\"{}\"; cursor=\"{next}\"",
        url(&prev),
        page.offset > 0,
        url(&next),
        has_next
    );
    HeaderValue::from_str(&value).ok()
}

fn paginated(items: Vec<Value>, link: Option<HeaderValue>) -> Response {
    let mut response = Json(Value::Array(items)).into_response();
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

async fn list_projects(api: Api) -> Result<Response, ApiError> {
    // Anonymous callers (no token) get the public projects only: the policy decides, as
    // for everyone else, so public data is discoverable without knowing its address.
    api.run(|store, who| {
        let mut visible = Vec::new();
        for p in store.list_projects()? {
            let r = Resource::Project(project_ref(store, &p)?);
            if who.can(Action::ViewIssues, &r) {
                visible.push(json::project(&p));
            }
        }
        Ok(Json(visible))
    })
    .await
}

/// A page of one more row than asked for, to know whether there is a next one.
fn one_more(page: Page) -> Page {
    Page {
        limit: page.limit + 1,
        ..page
    }
}

/// The response for `rows` fetched with [`one_more`]: at most `page.limit` items and
/// the `Link` header of the request (the public URL, `path`, `params`).
fn page_response<T>(
    mut rows: Vec<T>,
    item: impl FnMut(&T) -> Result<Value, ApiError>,
    (base, path, params): (&str, &str, &HashMap<String, String>),
    page: Page,
) -> Result<Response, ApiError> {
    let has_next = rows.len() as u64 > page.limit;
    rows.truncate(page.limit as usize);
    let items = rows.iter().map(item).collect::<Result<Vec<_>, _>>()?;
    Ok(paginated(
        items,
        link_header(base, path, params, page, has_next),
    ))
}

async fn project_issues(
    api: Api,
    Path((team, project)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let base = api.base_url();
    api.run(move |store, who| {
        let name = ProjectName::in_team(&team, &project);
        let (p, _) = app::projects::checked(store, who, name, Action::ViewIssues)?;
        let page = page_of(&params)?;
        // Like Sentry, a request without `query` lists unresolved issues.
        let mut filter = match params.get("query") {
            Some(q) => app::issues::parse_query(q).map_err(ApiError::bad_request)?,
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
        let query = crate::store::IssueQuery {
            filter,
            ..Default::default()
        };
        let rows = store.search_issues(p.id, &query, one_more(page))?.issues;
        let path = format!("/api/0/projects/{team}/{project}/issues/");
        let item = |i: &Issue| issues::issue_for(store, who, i, &p, &base);
        page_response(rows, item, (&base, &path, &params), page)
    })
    .await
}

async fn issue_detail(api: Api, Path(id): Path<String>) -> Result<Response, ApiError> {
    let base = api.base_url();
    api.run(move |store, who| {
        let (issue, project, _) = app::issues::view(store, who, &id)?;
        let tags = store.issue_tags(issue.id)?;
        let mut v = json::issue_detail(&issue, &project, &tags, &base);
        issues::decorate(store, who, &issue, &mut v)?;
        Ok(Json(v))
    })
    .await
}

async fn issue_events(
    api: Api,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let base = api.base_url();
    api.run(move |store, who| {
        let (issue, _, _) = app::issues::view(store, who, &id)?;
        let page = page_of(&params)?;
        let rows = store.list_events(issue.id, one_more(page))?;
        let path = format!("/api/0/issues/{id}/events/");
        let item = |e: &StoredEvent| Ok(json::event_summary(e));
        page_response(rows, item, (&base, &path, &params), page)
    })
    .await
}

async fn latest_event(api: Api, Path(id): Path<String>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (issue, _, _) = app::issues::view(store, who, &id)?;
        let event = store
            .latest_event(issue.id)?
            .ok_or_else(ApiError::not_found)?;
        Ok(Json(json::event_detail(&event)))
    })
    .await
}

async fn project_event(
    api: Api,
    Path((team, project, event_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let name = ProjectName::in_team(&team, &project);
        let (p, _) = app::projects::checked(store, who, name, Action::ViewIssues)?;
        let event_id: String = event_id
            .chars()
            .filter(|c| *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        let event = store
            .event(p.id, &event_id)?
            .ok_or_else(ApiError::not_found)?;
        Ok(Json(json::event_detail(&event)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors() {
        let mut params = HashMap::new();
        params.insert("cursor".to_string(), "0:200:0".to_string());
        params.insert("limit".to_string(), "100".to_string());
        assert_eq!(
            page_of(&params).expect("page"),
            Page {
                offset: 200,
                limit: 100
            }
        );
        // Out of range: refused, never clamped or wrapped.
        for (k, v) in [
            ("limit", "1000"),
            ("limit", "0"),
            ("cursor", "0:18446744073709551615:0"),
            ("cursor", "bad"),
        ] {
            let mut params = params.clone();
            params.insert(k.to_string(), v.to_string());
            assert!(page_of(&params).is_err(), "{k}={v}");
        }
        let mut p = HashMap::new();
        p.insert("query".to_string(), "is:resolved".to_string());
        let link = link_header(
            "http://h:1",
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
