//! Who is asking and whether they may: the request's [`Actor`] (from a bearer token; no
//! credentials = anonymous; an unknown token = 401), the one place handlers ask
//! [`policy::authorize`], refusal logging and the audit trail.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use http::header;
use http::StatusCode;

use super::{blocking, ApiError, ApiState};
use crate::policy::{self, Action, Actor, Denied, ProjectRef, Resource, TeamRef};
use crate::secrets::token_digest;
use crate::store::accounts::AuditEntry;
use crate::store::{Project, Store, StoreError, Team, User};

/// Environment variable that enables anonymous sign-up (`1`/`true`).
pub const SIGNUP_ENV: &str = "SENTRY_LITE_ALLOW_SIGNUP";
/// Setting written by `serve --allow-signup`.
pub const SIGNUP_SETTING: &str = "accounts.allow_signup";

/// The requesting actor and, when logged in, their user row.
#[derive(Clone, Debug)]
pub struct ApiActor {
    /// For the policy.
    pub actor: Actor,
    /// The user (also when inactive).
    pub user: Option<User>,
}

impl ApiActor {
    /// The active user, if any.
    pub fn active_user(&self) -> Option<&User> {
        self.user.as_ref().filter(|u| u.is_active)
    }
}

/// Loads the policy's view of a user (flags and memberships).
pub fn actor_of(store: &dyn Store, user: &User) -> Result<Actor, StoreError> {
    let roles = store.memberships_of(user.id)?;
    Ok(Actor::user(
        user.id,
        user.is_superuser,
        user.is_active,
        roles,
    ))
}

impl FromRequestParts<ApiState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let unauthorized = |m: &str| ApiError(StatusCode::UNAUTHORIZED, m.to_owned());
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(ApiActor {
                actor: Actor::Anonymous,
                user: None,
            });
        };
        let value = value
            .to_str()
            .map_err(|_| unauthorized("Invalid authorization header."))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("Use `Authorization: Bearer <token>`."))?;
        // Tokens are looked up by their sha256: the database compares digests, never
        // the secret itself, so the lookup's timing reveals nothing about the token.
        let digest = token_digest(token);
        let store = state.store.clone();
        let found = blocking(move || {
            let Some(user) = store.token_user(&digest)? else {
                return Ok(None);
            };
            let actor = actor_of(store.as_ref(), &user)?;
            Ok(Some((actor, user)))
        })
        .await?;
        let (actor, user) = found.ok_or_else(|| unauthorized("Invalid token."))?;
        Ok(ApiActor {
            actor,
            user: Some(user),
        })
    }
}

/// The policy's view of a team.
pub fn team_ref(team: &Team) -> TeamRef {
    TeamRef {
        id: team.id,
        owner_id: team.owner_id,
    }
}

/// The policy's view of a project (looks up its team's owner).
pub fn project_ref(store: &dyn Store, project: &Project) -> Result<ProjectRef, StoreError> {
    let team_owner = store.team_by_id(project.team_id)?.and_then(|t| t.owner_id);
    Ok(ProjectRef {
        id: project.id,
        team: TeamRef {
            id: project.team_id,
            owner_id: team_owner,
        },
        owner_id: project.owner_id,
        is_public: project.is_public,
    })
}

/// A project by team and project slug once the policy allows `action` on it: 404 when
/// there is none (or the slugs do not match), else the policy's answer (the refusal
/// audited by [`check`]). Used by the JSON API and the web pages alike.
pub fn project_checked(
    store: &dyn Store,
    who: &ApiActor,
    team: &str,
    slug: &str,
    action: Action,
) -> Result<(Project, ProjectRef), ApiError> {
    let project = store
        .project_by_slug(slug)?
        .filter(|p| p.team_slug == team)
        .ok_or_else(ApiError::not_found)?;
    let pref = project_ref(store, &project)?;
    check(
        store,
        who,
        action,
        &Resource::Project(pref),
        &format!("project:{}", project.id),
    )?;
    Ok((project, pref))
}

/// Whether anonymous sign-up is on (env var or the `serve --allow-signup` setting).
pub fn signup_enabled(store: &dyn Store) -> Result<bool, StoreError> {
    if let Ok(v) = std::env::var(SIGNUP_ENV) {
        return Ok(matches!(v.trim(), "1" | "true" | "yes" | "on"));
    }
    Ok(store.get_setting(SIGNUP_SETTING)?.as_deref() == Some("true"))
}

fn denied_error(denied: Denied) -> ApiError {
    match denied {
        Denied::Unauthenticated => ApiError(
            StatusCode::UNAUTHORIZED,
            "Authentication credentials were not provided.".into(),
        ),
        Denied::Forbidden => ApiError(
            StatusCode::FORBIDDEN,
            "You do not have permission to perform this action.".into(),
        ),
        Denied::NotFound => ApiError::not_found(),
    }
}

/// Asks the policy; a refusal is logged (who tried what on what, no secrets), written
/// to the audit log and turned into the HTTP answer.
pub fn check(
    store: &dyn Store,
    who: &ApiActor,
    action: Action,
    resource: &Resource,
    target: &str,
) -> Result<(), ApiError> {
    match policy::authorize(&who.actor, action, resource) {
        Ok(()) => Ok(()),
        Err(denied) => {
            let outcome = match denied {
                Denied::Unauthenticated => "unauthenticated",
                Denied::Forbidden => "forbidden",
                Denied::NotFound => "not_found",
            };
            tracing::warn!(
                actor = ?who.actor.user_id(),
                action = action.name(),
                target,
                outcome,
                "refused"
            );
            store
                .audit(&AuditEntry {
                    actor_id: who.actor.user_id(),
                    action: action.name().to_owned(),
                    target: target.to_owned(),
                    outcome: outcome.to_owned(),
                    details: String::new(),
                })
                .map_err(ApiError::from)?;
            Err(denied_error(denied))
        }
    }
}

/// Records a permitted change in the audit log.
pub fn audit_ok(
    store: &dyn Store,
    who: &ApiActor,
    action: Action,
    target: &str,
    details: String,
) -> Result<(), ApiError> {
    tracing::info!(actor = ?who.actor.user_id(), action = action.name(), target, "changed");
    store
        .audit(&AuditEntry {
            actor_id: who.actor.user_id(),
            action: action.name().to_owned(),
            target: target.to_owned(),
            outcome: "ok".to_owned(),
            details,
        })
        .map_err(ApiError::from)
}

/// Runs a blocking closure with the store and the actor.
pub async fn with_store<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(&dyn Store) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let store: Arc<dyn Store> = state.store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|_| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "task failed".into()))?
}
