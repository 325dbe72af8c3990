//! Issue writes: `PUT /api/0/issues/{id}/` (`status`, `isBookmarked`, `isPublic`),
//! `DELETE /api/0/issues/{id}/`, their bulk forms on the project's issue list
//! (`?id=1&id=2`, as Sentry's API has them) and the anonymous share link
//! `GET /api/0/shared/issues/{share_id}/`; each calls [`crate::app::issues`].

use axum::extract::{Path, RawQuery};
use axum::response::Response;
use axum::Json;
use http::StatusCode;
use serde_json::{json, Map, Value};

use super::request::{bool_field, Api, JsonObject};
use super::{json as shapes, ApiError};
use crate::app::issues::{self, IssueChanges};
use crate::app::projects::ProjectName;
use crate::app::Caller;
use crate::store::{Issue, IssueStatus, Project, Store};

/// Parses what a PUT asks for.
fn changes_of(body: &Map<String, Value>) -> Result<IssueChanges, ApiError> {
    let status = match body.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(IssueStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown status {s:?}: use resolved, unresolved or ignored"
            ))
        })?),
        Some(_) => return Err(ApiError::bad_request("status must be a string")),
    };
    let c = IssueChanges {
        status,
        bookmarked: bool_field(body, "isBookmarked")?,
        public: bool_field(body, "isPublic")?,
    };
    if c.is_empty() {
        return Err(ApiError::bad_request(
            "expected status, isBookmarked and/or isPublic",
        ));
    }
    Ok(c)
}

/// The issue as the caller sees it: with their bookmark and, when public, its share id.
pub(crate) fn issue_for(
    store: &dyn Store,
    who: &Caller,
    issue: &Issue,
    project: &Project,
    base_url: &str,
) -> Result<Value, ApiError> {
    let mut v = shapes::issue(issue, project, base_url);
    decorate(store, who, issue, &mut v)?;
    Ok(v)
}

/// Sets `isBookmarked` and `shareId` on an issue's JSON.
pub(crate) fn decorate(
    store: &dyn Store,
    who: &Caller,
    issue: &Issue,
    v: &mut Value,
) -> Result<(), ApiError> {
    if let Some(user) = who.active_user() {
        v["isBookmarked"] = json!(!store.bookmarked(user.id, &[issue.id])?.is_empty());
    }
    if issue.is_public {
        v["shareId"] = json!(store.issue_share_id(issue.id)?);
    }
    Ok(())
}

/// `PUT /api/0/issues/{id}/`.
pub async fn update_issue(
    api: Api,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let changes = changes_of(&body)?;
    let base = api.base_url();
    api.run(move |store, who| {
        let (issue, project) = issues::change(store, who, &id, changes)?;
        Ok(Json(issue_for(store, who, &issue, &project, &base)?))
    })
    .await
}

/// `DELETE /api/0/issues/{id}/`.
pub async fn delete_issue(api: Api, Path(id): Path<String>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        issues::delete(store, who, &id)?;
        Ok(StatusCode::ACCEPTED)
    })
    .await
}

/// The `id` parameters of a bulk request.
fn ids_of(query: Option<String>) -> Result<Vec<i64>, ApiError> {
    let ids: Vec<i64> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "id")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid id {v:?}")))
        })
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err(ApiError::bad_request("give the issues as ?id=1&id=2"));
    }
    Ok(ids)
}

/// `PUT /api/0/projects/{team}/{project}/issues/?id=1&id=2`.
pub async fn bulk_update(
    api: Api,
    Path((team, slug)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let changes = changes_of(&body)?;
    let ids = ids_of(query)?;
    api.run(move |store, who| {
        let project = ProjectName::in_team(&team, &slug);
        issues::change_many(store, who, project, &ids, changes)?;
        let mut v = json!({});
        if let Some(s) = changes.status {
            v["status"] = json!(s.as_str());
        }
        if let Some(b) = changes.bookmarked {
            v["isBookmarked"] = json!(b);
        }
        if let Some(p) = changes.public {
            v["isPublic"] = json!(p);
        }
        Ok(Json(v))
    })
    .await
}

/// `DELETE /api/0/projects/{team}/{project}/issues/?id=1&id=2`.
pub async fn bulk_delete(
    api: Api,
    Path((team, slug)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let ids = ids_of(query)?;
    api.run(move |store, who| {
        issues::delete_many(store, who, ProjectName::in_team(&team, &slug), &ids)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `GET /api/0/shared/issues/{share_id}/`: a public issue, for anyone with the link.
pub async fn shared_issue(api: Api, Path(share_id): Path<String>) -> Result<Response, ApiError> {
    let base = api.base_url();
    api.run(move |store, who| {
        let (issue, project) = issues::view_shared(store, who, &share_id)?;
        let tags = store.issue_tags(issue.id)?;
        let mut v = shapes::issue_detail(&issue, &project, &tags, &base);
        decorate(store, who, &issue, &mut v)?;
        if let Some(event) = store.latest_event(issue.id)? {
            v["latestEvent"] = shapes::event_detail(&event);
        }
        Ok(Json(v))
    })
    .await
}
