//! Administration endpoints: users, teams (members, owner), projects (settings, owner,
//! team, deletion) and project keys. Every handler finds the resource, asks
//! [`check`] for every action the request implies *before* changing anything, then
//! applies the change and writes it to the audit log.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{json, Value};

use super::access::{audit_ok, check, project_ref, signup_enabled, team_ref, with_store, ApiActor};
use super::{json as shapes, ApiError, ApiState};
use crate::policy::{can, Action, Resource, Role};
use crate::secrets;
use crate::store::accounts::ProjectUpdate;
use crate::store::{Project, ProjectKey, RateLimit, Store, StoreError, Team, User};

/// The administration routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/0/users/", axum::routing::post(create_user))
        .route("/api/0/teams/", get(list_teams).post(create_team))
        .route("/api/0/teams/{team}/", get(team_detail).put(update_team))
        .route(
            "/api/0/teams/{team}/members/",
            get(team_members).post(add_member),
        )
        .route(
            "/api/0/teams/{team}/members/{email}/",
            put(set_member_role).delete(remove_member),
        )
        .route(
            "/api/0/teams/{team}/projects/",
            axum::routing::post(create_project),
        )
        .route(
            "/api/0/projects/{team}/{project}/",
            get(project_detail)
                .put(update_project)
                .delete(delete_project),
        )
        .route(
            "/api/0/projects/{team}/{project}/keys/",
            get(list_keys).post(create_key),
        )
        .route(
            "/api/0/projects/{team}/{project}/keys/{key}/",
            put(update_key).delete(revoke_key),
        )
}

type Body = Result<Json<Value>, axum::extract::rejection::JsonRejection>;

/// The JSON object of a request body.
pub(crate) fn object(body: Body) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body {
        Ok(Json(Value::Object(map))) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("expected a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("invalid JSON body: {e}"))),
    }
}

fn str_field<'a>(
    body: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
    }
}

fn bool_field(body: &serde_json::Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a boolean"))),
    }
}

fn role_field(body: &serde_json::Map<String, Value>) -> Result<Option<Role>, ApiError> {
    str_field(body, "role")?
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                ApiError::bad_request(format!("unknown role {r:?}: use admin, member or agent"))
            })
        })
        .transpose()
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(what) => {
            ApiError(StatusCode::CONFLICT, format!("{what} already exists"))
        }
        StoreError::Invalid(what) => ApiError::bad_request(format!("invalid value: {what}")),
        StoreError::NotFound(_) => ApiError::not_found(),
        e => ApiError::from(e),
    }
}

fn user_json(u: &User) -> Value {
    json!({ "id": u.id.to_string(), "email": u.email, "isActive": u.is_active,
            "isSuperuser": u.is_superuser })
}

fn team_json(t: &Team) -> Value {
    json!({ "id": t.id.to_string(), "slug": t.slug, "name": t.name,
            "owner": t.owner_id.map(|o| o.to_string()) })
}

fn find_team(store: &dyn Store, slug: &str) -> Result<Team, ApiError> {
    store.team_by_slug(slug)?.ok_or_else(ApiError::not_found)
}

/// The team named `slug`, once the policy allows `action` on it (refusals are audited).
fn team_checked(
    store: &dyn Store,
    who: &ApiActor,
    slug: &str,
    action: Action,
) -> Result<Team, ApiError> {
    let team = find_team(store, slug)?;
    check(
        store,
        who,
        action,
        &Resource::Team(team_ref(&team)),
        &format!("team:{}", team.id),
    )?;
    Ok(team)
}

fn find_project(store: &dyn Store, team: &str, slug: &str) -> Result<Project, ApiError> {
    store
        .project_by_slug(slug)?
        .filter(|p| p.team_slug == team)
        .ok_or_else(ApiError::not_found)
}

/// A user named by e-mail in a request body (400 when there is none).
fn user_named(store: &dyn Store, email: &str) -> Result<User, ApiError> {
    store
        .user_by_email(email)?
        .ok_or_else(|| ApiError::bad_request(format!("no user with e-mail {email:?}")))
}

async fn create_user(
    State(state): State<ApiState>,
    who: ApiActor,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    let email = str_field(&body, "email")?
        .ok_or_else(|| ApiError::bad_request("email is required"))?
        .to_owned();
    let password = str_field(&body, "password")?.map(str::to_owned);
    let team = str_field(&body, "team")?.map(str::to_owned);
    let role = role_field(&body)?.unwrap_or(Role::Member);
    with_store(&state, move |store| {
        let team = match team {
            Some(slug) => {
                let t = find_team(store, &slug)?;
                check(
                    store,
                    &who,
                    Action::CreateUser,
                    &Resource::Team(team_ref(&t)),
                    &format!("team:{}", t.id),
                )?;
                Some(t)
            }
            None => {
                let resource = Resource::Server {
                    signup_enabled: signup_enabled(store)?,
                };
                check(store, &who, Action::CreateUser, &resource, "server")?;
                None
            }
        };
        if who.active_user().is_none() && password.is_none() {
            return Err(ApiError::bad_request("password is required to sign up"));
        }
        if let Some(p) = &password {
            if p.chars().count() < 8 {
                return Err(ApiError::bad_request(
                    "password must have at least 8 characters",
                ));
            }
        }
        let (password, generated) = match password {
            Some(p) => (p, false),
            None => (secrets::generate_password(), true),
        };
        let hash = secrets::hash_password(&password)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        // Never a superuser: only `createsuperuser` makes those.
        let user = store
            .create_user(&email, &hash, false)
            .map_err(store_error)?;
        if let Some(t) = &team {
            store.set_membership(t.id, user.id, role)?;
        }
        audit_ok(
            store,
            &who,
            Action::CreateUser,
            &format!("user:{}", user.id),
            match &team {
                Some(t) => format!("team={} role={role}", t.slug),
                None => String::new(),
            },
        )?;
        let mut v = user_json(&user);
        if generated {
            // Shown once; only its argon2id hash is stored.
            v["password"] = json!(password);
        }
        Ok((StatusCode::CREATED, Json(v)).into_response())
    })
    .await
}

async fn list_teams(State(state): State<ApiState>, who: ApiActor) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let teams = store.list_teams()?;
        let visible: Vec<Value> = teams
            .iter()
            .filter(|t| {
                let in_team = match &who.actor {
                    crate::policy::Actor::User(u) if u.is_active => {
                        u.roles.contains_key(&t.id) || t.owner_id == Some(u.id)
                    }
                    _ => false,
                };
                in_team
                    || can(
                        &who.actor,
                        Action::ViewTeamSettings,
                        &Resource::Team(team_ref(t)),
                    )
            })
            .map(team_json)
            .collect();
        Ok(Json(visible).into_response())
    })
    .await
}

async fn create_team(
    State(state): State<ApiState>,
    who: ApiActor,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    with_store(&state, move |store| {
        check(
            store,
            &who,
            Action::CreateTeam,
            &Resource::Server {
                signup_enabled: false,
            },
            "server",
        )?;
        let slug =
            str_field(&body, "slug")?.ok_or_else(|| ApiError::bad_request("slug is required"))?;
        let name = str_field(&body, "name")?.unwrap_or(slug);
        let owner = match str_field(&body, "owner")? {
            Some(email) => Some(user_named(store, email)?.id),
            None => who.active_user().map(|u| u.id),
        };
        let team = store.create_team(slug, name, owner).map_err(store_error)?;
        audit_ok(
            store,
            &who,
            Action::CreateTeam,
            &format!("team:{}", team.id),
            format!("slug={slug}"),
        )?;
        Ok((StatusCode::CREATED, Json(team_json(&team))).into_response())
    })
    .await
}

async fn team_detail(
    State(state): State<ApiState>,
    who: ApiActor,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let team = team_checked(store, &who, &slug, Action::ViewTeamSettings)?;
        let members = store.team_members(team.id)?;
        let projects: Vec<Value> = store
            .list_projects()?
            .iter()
            .filter(|p| p.team_id == team.id)
            .map(shapes::project)
            .collect();
        let mut v = team_json(&team);
        v["members"] = json!(members);
        v["projects"] = json!(projects);
        Ok(Json(v).into_response())
    })
    .await
}

async fn update_team(
    State(state): State<ApiState>,
    who: ApiActor,
    Path(slug): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    with_store(&state, move |store| {
        let team = find_team(store, &slug)?;
        let resource = Resource::Team(team_ref(&team));
        let target = format!("team:{}", team.id);
        let name = str_field(&body, "name")?;
        let owner = str_field(&body, "owner")?;
        if name.is_none() && owner.is_none() {
            return Err(ApiError::bad_request("expected name and/or owner"));
        }
        if name.is_some() {
            check(store, &who, Action::RenameTeam, &resource, &target)?;
        }
        if owner.is_some() {
            check(store, &who, Action::ChangeTeamOwner, &resource, &target)?;
        }
        let owner = owner.map(|e| user_named(store, e)).transpose()?;
        if let Some(name) = name {
            store.rename_team(team.id, name).map_err(store_error)?;
            audit_ok(
                store,
                &who,
                Action::RenameTeam,
                &target,
                format!("name={name}"),
            )?;
        }
        if let Some(owner) = owner {
            store.set_team_owner(team.id, owner.id)?;
            audit_ok(
                store,
                &who,
                Action::ChangeTeamOwner,
                &target,
                format!("owner=user:{}", owner.id),
            )?;
        }
        let team = find_team(store, &slug)?;
        Ok(Json(team_json(&team)).into_response())
    })
    .await
}

async fn team_members(
    State(state): State<ApiState>,
    who: ApiActor,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let team = team_checked(store, &who, &slug, Action::ViewTeamSettings)?;
        Ok(Json(store.team_members(team.id)?).into_response())
    })
    .await
}

fn change_member(
    store: &dyn Store,
    who: &ApiActor,
    slug: &str,
    email: &str,
    role: Option<Role>,
) -> Result<Response, ApiError> {
    let team = team_checked(store, who, slug, Action::ManageMembers)?;
    let target = format!("team:{}", team.id);
    let user = user_named(store, email)?;
    match role {
        Some(role) => {
            store.set_membership(team.id, user.id, role)?;
            audit_ok(
                store,
                who,
                Action::ManageMembers,
                &target,
                format!("user:{} role={role}", user.id),
            )?;
        }
        None => {
            if !store.remove_membership(team.id, user.id)? {
                return Err(ApiError::not_found());
            }
            audit_ok(
                store,
                who,
                Action::ManageMembers,
                &target,
                format!("user:{} removed", user.id),
            )?;
        }
    }
    Ok(Json(store.team_members(team.id)?).into_response())
}

async fn add_member(
    State(state): State<ApiState>,
    who: ApiActor,
    Path(slug): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    let email = str_field(&body, "email")?
        .ok_or_else(|| ApiError::bad_request("email is required"))?
        .to_owned();
    let role = role_field(&body)?.unwrap_or(Role::Member);
    with_store(&state, move |store| {
        change_member(store, &who, &slug, &email, Some(role))
    })
    .await
}

async fn set_member_role(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((slug, email)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    let role = role_field(&body)?.ok_or_else(|| ApiError::bad_request("role is required"))?;
    with_store(&state, move |store| {
        change_member(store, &who, &slug, &email, Some(role))
    })
    .await
}

async fn remove_member(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((slug, email)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        change_member(store, &who, &slug, &email, None)
    })
    .await
}

async fn create_project(
    State(state): State<ApiState>,
    who: ApiActor,
    Path(team): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    with_store(&state, move |store| {
        check(
            store,
            &who,
            Action::CreateProject,
            &Resource::Server {
                signup_enabled: false,
            },
            "server",
        )?;
        let team = find_team(store, &team)?;
        let slug =
            str_field(&body, "slug")?.ok_or_else(|| ApiError::bad_request("slug is required"))?;
        let name = str_field(&body, "name")?.unwrap_or(slug);
        let owner = match str_field(&body, "owner")? {
            Some(email) => Some(user_named(store, email)?.id),
            None => None,
        };
        let project = store
            .create_project(team.id, slug, name, owner)
            .map_err(store_error)?;
        store.create_key(project.id, "Default")?;
        audit_ok(
            store,
            &who,
            Action::CreateProject,
            &format!("project:{}", project.id),
            format!("team={} slug={slug}", team.slug),
        )?;
        Ok((StatusCode::CREATED, Json(shapes::project(&project))).into_response())
    })
    .await
}

async fn project_detail(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((team, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let p = find_project(store, &team, &slug)?;
        let r = Resource::Project(project_ref(store, &p)?);
        check(
            store,
            &who,
            Action::ViewIssues,
            &r,
            &format!("project:{}", p.id),
        )?;
        let mut v = shapes::project(&p);
        v["owner"] = json!(p.owner_id.map(|o| o.to_string()));
        Ok(Json(v).into_response())
    })
    .await
}

async fn update_project(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((team, slug)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    with_store(&state, move |store| {
        let p = find_project(store, &team, &slug)?;
        let r = Resource::Project(project_ref(store, &p)?);
        let target = format!("project:{}", p.id);
        let origins = match body.get("allowedOrigins") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|i| i.as_str().map(|s| s.trim().to_owned()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| ApiError::bad_request("allowedOrigins must be strings"))?,
            ),
            Some(_) => return Err(ApiError::bad_request("allowedOrigins must be an array")),
        };
        let update = ProjectUpdate {
            name: str_field(&body, "name")?.map(str::to_owned),
            is_public: bool_field(&body, "isPublic")?,
            allowed_origins: origins,
        };
        let owner = str_field(&body, "owner")?;
        let new_team = str_field(&body, "team")?;
        if update == ProjectUpdate::default() && owner.is_none() && new_team.is_none() {
            return Err(ApiError::bad_request(
                "expected name, isPublic, allowedOrigins, owner and/or team",
            ));
        }
        // Every action the request implies is checked before anything changes.
        if update != ProjectUpdate::default() {
            check(store, &who, Action::EditProject, &r, &target)?;
        }
        if owner.is_some() {
            check(store, &who, Action::ChangeProjectOwner, &r, &target)?;
        }
        if new_team.is_some() {
            check(store, &who, Action::MoveProject, &r, &target)?;
        }
        let owner = owner.map(|e| user_named(store, e)).transpose()?;
        let new_team = new_team
            .map(|t| {
                store
                    .team_by_slug(t)?
                    .ok_or_else(|| ApiError::bad_request(format!("no team {t:?}")))
            })
            .transpose()?;
        if update != ProjectUpdate::default() {
            store.update_project(p.id, &update).map_err(store_error)?;
            audit_ok(
                store,
                &who,
                Action::EditProject,
                &target,
                format!("{update:?}"),
            )?;
        }
        if let Some(owner) = owner {
            store.set_project_owner(p.id, owner.id)?;
            audit_ok(
                store,
                &who,
                Action::ChangeProjectOwner,
                &target,
                format!("owner=user:{}", owner.id),
            )?;
        }
        if let Some(t) = new_team {
            store.move_project(p.id, t.id)?;
            audit_ok(
                store,
                &who,
                Action::MoveProject,
                &target,
                format!("team={}", t.slug),
            )?;
        }
        let p = store.project_by_id(p.id)?.ok_or_else(ApiError::not_found)?;
        Ok(Json(shapes::project(&p)).into_response())
    })
    .await
}

async fn delete_project(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((team, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let p = find_project(store, &team, &slug)?;
        let r = Resource::Project(project_ref(store, &p)?);
        let target = format!("project:{}", p.id);
        check(store, &who, Action::DeleteProject, &r, &target)?;
        store.delete_project(p.id)?;
        audit_ok(
            store,
            &who,
            Action::DeleteProject,
            &target,
            format!("slug={}", p.slug),
        )?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

fn key_json(base_url: &str, k: &ProjectKey, with_secret: bool) -> Value {
    let (scheme, host) = base_url.split_once("://").unwrap_or(("http", base_url));
    let host = host.trim_end_matches('/');
    let mut v = json!({
        "id": k.id.to_string(),
        "name": k.label,
        "public": k.public_key,
        "isActive": k.is_active,
        "rateLimit": k.rate_limit.map(|l| json!({"count": l.count, "window": l.window_secs})),
        "projectId": k.project_id,
        "dsn": { "public": format!("{scheme}://{}@{host}/{}", k.public_key, k.project_id) },
    });
    if with_secret {
        v["secret"] = json!(k.secret_key);
        v["dsn"]["secret"] = json!(format!(
            "{scheme}://{}:{}@{host}/{}",
            k.public_key, k.secret_key, k.project_id
        ));
    }
    v
}

async fn list_keys(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((team, slug)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let base = state.base_url.clone();
    with_store(&state, move |store| {
        let p = find_project(store, &team, &slug)?;
        let r = Resource::Project(project_ref(store, &p)?);
        let target = format!("project:{}", p.id);
        check(store, &who, Action::ViewIssues, &r, &target)?;
        if who.active_user().is_none() {
            // Keys are for the project's people, not for anonymous readers of a public one.
            return Err(ApiError(
                StatusCode::UNAUTHORIZED,
                "Authentication credentials were not provided.".into(),
            ));
        }
        let secrets = can(&who.actor, Action::ManageKeys, &r);
        let keys: Vec<Value> = store
            .list_keys(p.id)?
            .iter()
            .map(|k| key_json(&base, k, secrets))
            .collect();
        Ok(Json(keys).into_response())
    })
    .await
}

async fn create_key(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((team, slug)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    let base = state.base_url.clone();
    with_store(&state, move |store| {
        let p = find_project(store, &team, &slug)?;
        let r = Resource::Project(project_ref(store, &p)?);
        let target = format!("project:{}", p.id);
        check(store, &who, Action::ManageKeys, &r, &target)?;
        let label = str_field(&body, "name")?.unwrap_or("Default");
        let key = store.create_key(p.id, label)?;
        audit_ok(
            store,
            &who,
            Action::ManageKeys,
            &target,
            format!("key:{} created", key.id),
        )?;
        Ok((StatusCode::CREATED, Json(key_json(&base, &key, true))).into_response())
    })
    .await
}

fn find_key(store: &dyn Store, p: &Project, key: &str) -> Result<ProjectKey, ApiError> {
    let id: i64 = key.parse().map_err(|_| ApiError::not_found())?;
    store
        .key_by_id(id)?
        .filter(|k| k.project_id == p.id)
        .ok_or_else(ApiError::not_found)
}

async fn update_key(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((team, slug, key)): Path<(String, String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    let base = state.base_url.clone();
    with_store(&state, move |store| {
        let p = find_project(store, &team, &slug)?;
        let r = Resource::Project(project_ref(store, &p)?);
        let target = format!("project:{}", p.id);
        check(store, &who, Action::ManageKeys, &r, &target)?;
        let k = find_key(store, &p, &key)?;
        let active = bool_field(&body, "isActive")?;
        let limit = match body.get("rateLimit") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(v) => {
                let count = v.get("count").and_then(Value::as_u64);
                let window = v.get("window").and_then(Value::as_u64);
                match (count, window) {
                    (Some(count), Some(window_secs)) if window_secs > 0 => {
                        Some(Some(RateLimit { count, window_secs }))
                    }
                    _ => {
                        return Err(ApiError::bad_request(
                            "rateLimit must be {\"count\": n, \"window\": seconds > 0} or null",
                        ))
                    }
                }
            }
        };
        if active.is_none() && limit.is_none() {
            return Err(ApiError::bad_request("expected isActive and/or rateLimit"));
        }
        if let Some(active) = active {
            store.set_key_active(k.id, active)?;
            audit_ok(
                store,
                &who,
                Action::ManageKeys,
                &target,
                format!("key:{} active={active}", k.id),
            )?;
        }
        if let Some(limit) = limit {
            store.set_key_rate_limit(k.id, limit)?;
            audit_ok(
                store,
                &who,
                Action::ManageKeys,
                &target,
                format!("key:{} rate_limit={limit:?}", k.id),
            )?;
        }
        let k = find_key(store, &p, &key)?;
        Ok(Json(key_json(&base, &k, true)).into_response())
    })
    .await
}

async fn revoke_key(
    State(state): State<ApiState>,
    who: ApiActor,
    Path((team, slug, key)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let p = find_project(store, &team, &slug)?;
        let r = Resource::Project(project_ref(store, &p)?);
        let target = format!("project:{}", p.id);
        check(store, &who, Action::ManageKeys, &r, &target)?;
        let k = find_key(store, &p, &key)?;
        store.set_key_active(k.id, false)?;
        audit_ok(
            store,
            &who,
            Action::ManageKeys,
            &target,
            format!("key:{} revoked", k.id),
        )?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}
