//! Issue writes: `PUT /api/0/issues/{id}/` (`status`, `isBookmarked`, `isPublic`),
//! `DELETE /api/0/issues/{id}/`, their bulk forms on the project's issue list
//! (`?id=1&id=2`, as Sentry's API has them) and the anonymous share link
//! `GET /api/0/shared/issues/{share_id}/`.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::{json, Map, Value};

use super::access::{audit_ok, check, project_ref, with_store, ApiActor};
use super::admin::object;
use super::{json as shapes, ApiError, ApiState};
use crate::policy::{Action, ProjectRef, Resource};
use crate::store::{Issue, IssueStatus, Project, Store};

type Body = Result<Json<Value>, axum::extract::rejection::JsonRejection>;

/// What a PUT asks for.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Changes {
    pub(crate) status: Option<IssueStatus>,
    pub(crate) bookmarked: Option<bool>,
    pub(crate) public: Option<bool>,
}

impl Changes {
    fn parse(body: &Map<String, Value>) -> Result<Changes, ApiError> {
        let status = match body.get("status") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(IssueStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown status {s:?}: use resolved, unresolved or ignored"
                ))
            })?),
            Some(_) => return Err(ApiError::bad_request("status must be a string")),
        };
        let flag = |name: &str| match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::bad_request(format!("{name} must be a boolean"))),
        };
        let c = Changes {
            status,
            bookmarked: flag("isBookmarked")?,
            public: flag("isPublic")?,
        };
        if c.status.is_none() && c.bookmarked.is_none() && c.public.is_none() {
            return Err(ApiError::bad_request(
                "expected status, isBookmarked and/or isPublic",
            ));
        }
        Ok(c)
    }

    pub(crate) fn actions(&self) -> Vec<Action> {
        let mut out = Vec::new();
        if self.status.is_some() {
            out.push(Action::ResolveIssue);
        }
        if self.bookmarked.is_some() {
            out.push(Action::Bookmark);
        }
        match self.public {
            Some(true) => out.push(Action::MakeIssuePublic),
            Some(false) => out.push(Action::MakeIssuePrivate),
            None => {}
        }
        out
    }
}

pub(crate) fn issue_resource(project: ProjectRef, issue: &Issue) -> Resource {
    Resource::Issue {
        project,
        is_public: issue.is_public,
        by_share_link: false,
    }
}

pub(crate) fn load(store: &dyn Store, id: &str) -> Result<(Issue, Project, ProjectRef), ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let issue = store.issue(id)?.ok_or_else(ApiError::not_found)?;
    let project = store
        .project_by_id(issue.project_id)?
        .ok_or_else(ApiError::not_found)?;
    let pref = project_ref(store, &project)?;
    Ok((issue, project, pref))
}

pub(crate) fn apply(
    store: &dyn Store,
    who: &ApiActor,
    issue_id: i64,
    c: Changes,
) -> Result<(), ApiError> {
    let target = format!("issue:{issue_id}");
    if let Some(status) = c.status {
        store.set_issue_status(issue_id, status)?;
        audit_ok(
            store,
            who,
            Action::ResolveIssue,
            &target,
            format!("status={}", status.as_str()),
        )?;
    }
    if let (Some(on), Some(user)) = (c.bookmarked, who.active_user()) {
        // A user's own bookmark: not a permission-relevant change, not audited.
        store.set_bookmark(user.id, issue_id, on)?;
    }
    if let Some(public) = c.public {
        store.set_issue_public(issue_id, public)?;
        let action = if public {
            Action::MakeIssuePublic
        } else {
            Action::MakeIssuePrivate
        };
        audit_ok(store, who, action, &target, String::new())?;
    }
    Ok(())
}

/// Deletes an issue (with its events and bookmarks) and records it in the audit log;
/// the caller has asked the policy for [`Action::DeleteIssue`].
pub(crate) fn remove(store: &dyn Store, who: &ApiActor, issue_id: i64) -> Result<(), ApiError> {
    store.delete_issue(issue_id)?;
    audit_ok(
        store,
        who,
        Action::DeleteIssue,
        &format!("issue:{issue_id}"),
        String::new(),
    )
}

/// The issue as the actor sees it: with their bookmark and, when public, its share id.
pub(crate) fn issue_for(
    store: &dyn Store,
    who: &ApiActor,
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
    who: &ApiActor,
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
    State(state): State<ApiState>,
    who: ApiActor,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let changes = Changes::parse(&object(body)?)?;
    let base = state.base_url.clone();
    with_store(&state, move |store| {
        let (issue, project, pref) = load(store, &id)?;
        let r = issue_resource(pref, &issue);
        let target = format!("issue:{}", issue.id);
        for action in changes.actions() {
            check(store, &who, action, &r, &target)?;
        }
        apply(store, &who, issue.id, changes)?;
        let issue = store.issue(issue.id)?.ok_or_else(ApiError::not_found)?;
        Ok(Json(issue_for(store, &who, &issue, &project, &base)?).into_response())
    })
    .await
}

/// `DELETE /api/0/issues/{id}/`.
pub async fn delete_issue(
    State(state): State<ApiState>,
    who: ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let (issue, _, pref) = load(store, &id)?;
        let target = format!("issue:{}", issue.id);
        check(
            store,
            &who,
            Action::DeleteIssue,
            &issue_resource(pref, &issue),
            &target,
        )?;
        remove(store, &who, issue.id)?;
        Ok(StatusCode::ACCEPTED.into_response())
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

/// Checks every action on every issue of a bulk request, before anything changes. Ids
/// of other projects answer 404 like missing ones.
pub(crate) fn bulk_targets(
    store: &dyn Store,
    who: &ApiActor,
    team: &str,
    slug: &str,
    ids: &[i64],
    actions: &[Action],
) -> Result<Vec<i64>, ApiError> {
    let project = store
        .project_by_slug(slug)?
        .filter(|p| p.team_slug == team)
        .ok_or_else(ApiError::not_found)?;
    let pref = project_ref(store, &project)?;
    let target = format!("project:{}", project.id);
    for action in actions {
        check(store, who, *action, &Resource::Project(pref), &target)?;
    }
    for id in ids {
        let issue = store
            .issue(*id)?
            .filter(|i| i.project_id == project.id)
            .ok_or_else(ApiError::not_found)?;
        for action in actions {
            check(
                store,
                who,
                *action,
                &issue_resource(pref, &issue),
                &format!("issue:{id}"),
            )?;
        }
    }
    Ok(ids.to_vec())
}

/// `PUT /api/0/projects/{team}/{project}/issues/?id=1&id=2`.
pub async fn bulk_update(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((team, slug)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let changes = Changes::parse(&object(body)?)?;
    let ids = ids_of(query)?;
    with_store(&state, move |store| {
        let ids = bulk_targets(store, &who, &team, &slug, &ids, &changes.actions())?;
        for id in &ids {
            apply(store, &who, *id, changes)?;
        }
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
        Ok(Json(v).into_response())
    })
    .await
}

/// `DELETE /api/0/projects/{team}/{project}/issues/?id=1&id=2`.
pub async fn bulk_delete(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((team, slug)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let ids = ids_of(query)?;
    with_store(&state, move |store| {
        let ids = bulk_targets(store, &who, &team, &slug, &ids, &[Action::DeleteIssue])?;
        for id in ids {
            remove(store, &who, id)?;
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// `GET /api/0/shared/issues/{share_id}/`: a public issue, for anyone with the link.
pub async fn shared_issue(
    State(state): State<ApiState>,
    who: ApiActor,
    Path(share_id): Path<String>,
) -> Result<Response, ApiError> {
    let base = state.base_url.clone();
    with_store(&state, move |store| {
        let issue = store
            .issue_by_share_id(&share_id)?
            .ok_or_else(ApiError::not_found)?;
        let project = store
            .project_by_id(issue.project_id)?
            .ok_or_else(ApiError::not_found)?;
        let r = Resource::Issue {
            project: project_ref(store, &project)?,
            is_public: issue.is_public,
            by_share_link: true,
        };
        check(
            store,
            &who,
            Action::ViewIssues,
            &r,
            &format!("issue:{}", issue.id),
        )?;
        let tags = store.issue_tags(issue.id)?;
        let mut v = shapes::issue_detail(&issue, &project, &tags, &base);
        decorate(store, &who, &issue, &mut v)?;
        if let Some(event) = store.latest_event(issue.id)? {
            v["latestEvent"] = shapes::event_detail(&event);
        }
        Ok(Json(v).into_response())
    })
    .await
}
