//! Administration endpoints for users and teams: creating users (`/api/0/users/`),
//! listing and creating teams, a team's details, name and owner, its members and their
//! roles. Each handler parses the body, calls the [`crate::app`] operation (which checks
//! every action the request implies before changing anything and audits the change) and
//! renders the result. Also the JSON body helpers the other endpoints share.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{json, Value};

use super::{json as shapes, ApiError};
use crate::app::refs::team_ref;
use crate::app::teams::TeamChanges;
use crate::app::users::NewUser;
use crate::app::{members, teams, users, with_store, AppState, Caller};
use crate::policy::{Action, Actor, Resource, Role};
use crate::store::{Team, User};

/// The user and team routes.
pub fn routes() -> Router<AppState> {
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
}

/// A JSON request body, or why it is not one.
pub(crate) type Body = Result<Json<Value>, axum::extract::rejection::JsonRejection>;

/// The JSON object of a request body.
pub(crate) fn object(body: Body) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body {
        Ok(Json(Value::Object(map))) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("expected a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("invalid JSON body: {e}"))),
    }
}

/// An optional string field.
pub(crate) fn str_field<'a>(
    body: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
    }
}

/// An optional boolean field.
pub(crate) fn bool_field(
    body: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<bool>, ApiError> {
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

fn user_json(u: &User) -> Value {
    json!({ "id": u.id.to_string(), "email": u.email, "isActive": u.is_active,
            "isSuperuser": u.is_superuser })
}

fn team_json(t: &Team) -> Value {
    json!({ "id": t.id.to_string(), "slug": t.slug, "name": t.name,
            "owner": t.owner_id.map(|o| o.to_string()) })
}

async fn create_user(
    State(state): State<AppState>,
    who: Caller,
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
        let new = NewUser {
            email: &email,
            password,
            team: team.as_deref(),
            role,
        };
        let created = users::create(store, &who, new)?;
        let mut v = user_json(&created.user);
        if let Some(password) = created.generated_password {
            // Shown once; only its argon2id hash is stored.
            v["password"] = json!(password);
        }
        Ok((StatusCode::CREATED, Json(v)).into_response())
    })
    .await
}

async fn list_teams(State(state): State<AppState>, who: Caller) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let teams = store.list_teams()?;
        let visible: Vec<Value> = teams
            .iter()
            .filter(|t| {
                let in_team = match &who.actor {
                    Actor::User(u) if u.is_active => {
                        u.roles.contains_key(&t.id) || t.owner_id == Some(u.id)
                    }
                    _ => false,
                };
                in_team || who.can(Action::ViewTeamSettings, &Resource::Team(team_ref(t)))
            })
            .map(team_json)
            .collect();
        Ok(Json(visible).into_response())
    })
    .await
}

async fn create_team(
    State(state): State<AppState>,
    who: Caller,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    with_store(&state, move |store| {
        // A missing slug is refused after the policy's answer (`AppError::Required`).
        let slug = str_field(&body, "slug")?.unwrap_or_default();
        let name = str_field(&body, "name")?;
        let owner = str_field(&body, "owner")?;
        let team = teams::create(store, &who, slug, name, owner)?;
        Ok((StatusCode::CREATED, Json(team_json(&team))).into_response())
    })
    .await
}

async fn team_detail(
    State(state): State<AppState>,
    who: Caller,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let team = teams::checked(store, &who, &slug, Action::ViewTeamSettings)?;
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
    State(state): State<AppState>,
    who: Caller,
    Path(slug): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    with_store(&state, move |store| {
        let changes = TeamChanges {
            name: str_field(&body, "name")?,
            owner_email: str_field(&body, "owner")?,
        };
        let team = teams::update(store, &who, &slug, changes)
            .map_err(|e| ApiError::or_expected(e, "expected name and/or owner"))?;
        Ok(Json(team_json(&team)).into_response())
    })
    .await
}

async fn team_members(
    State(state): State<AppState>,
    who: Caller,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let team = teams::checked(store, &who, &slug, Action::ViewTeamSettings)?;
        Ok(Json(store.team_members(team.id)?).into_response())
    })
    .await
}

async fn set_role(
    state: &AppState,
    who: Caller,
    slug: String,
    email: String,
    role: Role,
) -> Result<Response, ApiError> {
    with_store(state, move |store| {
        let (team, _) = members::set_role(store, &who, &slug, &email, role)?;
        Ok(Json(store.team_members(team.id)?).into_response())
    })
    .await
}

async fn add_member(
    State(state): State<AppState>,
    who: Caller,
    Path(slug): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    let email = str_field(&body, "email")?
        .ok_or_else(|| ApiError::bad_request("email is required"))?
        .to_owned();
    let role = role_field(&body)?.unwrap_or(Role::Member);
    set_role(&state, who, slug, email, role).await
}

async fn set_member_role(
    State(state): State<AppState>,
    who: Caller,
    Path((slug, email)): Path<(String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let body = object(body)?;
    let role = role_field(&body)?.ok_or_else(|| ApiError::bad_request("role is required"))?;
    set_role(&state, who, slug, email, role).await
}

async fn remove_member(
    State(state): State<AppState>,
    who: Caller,
    Path((slug, email)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    with_store(&state, move |store| {
        let (team, _) = members::remove(store, &who, &slug, &email)?;
        Ok(Json(store.team_members(team.id)?).into_response())
    })
    .await
}
