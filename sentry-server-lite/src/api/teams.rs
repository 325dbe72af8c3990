//! Administration endpoints for users and teams: creating users (`/api/0/users/`),
//! listing and creating teams, a team's details, name and owner, its members and their
//! roles. Each handler parses the body, calls the [`crate::app`] operation (which checks
//! every action the request implies before changing anything and audits the change) and
//! renders the result.

use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, put};
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{json, Value};

use super::request::{required_str, role_field, str_field, Api, JsonObject};
use super::{json as shapes, ApiError};
use crate::app::refs::team_ref;
use crate::app::teams::TeamChanges;
use crate::app::users::NewUser;
use crate::app::{members, teams, users, AppState};
use crate::policy::{Action, Actor, Resource, Role};
use crate::store::accounts::Member;
use crate::store::{Store, Team, User};

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

fn user_json(u: &User) -> Value {
    json!({ "id": u.id.to_string(), "email": u.email, "isActive": u.is_active,
            "isSuperuser": u.is_superuser })
}

fn team_json(t: &Team) -> Value {
    json!({ "id": t.id.to_string(), "slug": t.slug, "name": t.name,
            "owner": t.owner_id.map(|o| o.to_string()) })
}

async fn create_user(api: Api, JsonObject(body): JsonObject) -> Result<Response, ApiError> {
    let email = required_str(&body, "email")?;
    let password = str_field(&body, "password")?.map(str::to_owned);
    let team = str_field(&body, "team")?.map(str::to_owned);
    let role = role_field(&body)?.unwrap_or(Role::Member);
    api.run(move |store, who| {
        let new = NewUser {
            email: &email,
            password,
            team: team.as_deref(),
            role,
        };
        let created = users::create(store, who, new)?;
        let mut v = user_json(&created.user);
        if let Some(password) = created.generated_password {
            // Shown once; only its argon2id hash is stored.
            v["password"] = json!(password);
        }
        Ok((StatusCode::CREATED, Json(v)))
    })
    .await
}

async fn list_teams(api: Api) -> Result<Response, ApiError> {
    api.run(|store, who| {
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
        Ok(Json(visible))
    })
    .await
}

async fn create_team(api: Api, JsonObject(body): JsonObject) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        // A missing slug is refused after the policy's answer (`AppError::Required`).
        let slug = str_field(&body, "slug")?.unwrap_or_default();
        let name = str_field(&body, "name")?;
        let owner = str_field(&body, "owner")?;
        let team = teams::create(store, who, slug, name, owner)?;
        Ok((StatusCode::CREATED, Json(team_json(&team))))
    })
    .await
}

async fn team_detail(api: Api, Path(slug): Path<String>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let team = teams::checked(store, who, &slug, Action::ViewTeamSettings)?;
        let projects: Vec<Value> = store
            .list_projects()?
            .iter()
            .filter(|p| p.team_id == team.id)
            .map(shapes::project)
            .collect();
        let mut v = team_json(&team);
        v["members"] = json!(store.team_members(team.id)?);
        v["projects"] = json!(projects);
        Ok(Json(v))
    })
    .await
}

async fn update_team(
    api: Api,
    Path(slug): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let changes = TeamChanges {
            name: str_field(&body, "name")?,
            owner_email: str_field(&body, "owner")?,
        };
        let team = teams::update(store, who, &slug, changes)
            .map_err(|e| ApiError::or_expected(e, "expected name and/or owner"))?;
        Ok(Json(team_json(&team)))
    })
    .await
}

/// The members of `team`, the answer of every member request.
fn members_of(store: &dyn Store, team: &Team) -> Result<Json<Vec<Member>>, ApiError> {
    Ok(Json(store.team_members(team.id)?))
}

async fn team_members(api: Api, Path(slug): Path<String>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        members_of(
            store,
            &teams::checked(store, who, &slug, Action::ViewTeamSettings)?,
        )
    })
    .await
}

/// Sets `email`'s role in `slug` (adding them when they are not a member).
async fn set_role(api: Api, slug: String, email: String, role: Role) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (team, _) = members::set_role(store, who, &slug, &email, role)?;
        members_of(store, &team)
    })
    .await
}

async fn add_member(
    api: Api,
    Path(slug): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let email = required_str(&body, "email")?;
    let role = role_field(&body)?.unwrap_or(Role::Member);
    set_role(api, slug, email, role).await
}

async fn set_member_role(
    api: Api,
    Path((slug, email)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let role = role_field(&body)?.ok_or_else(|| ApiError::bad_request("role is required"))?;
    set_role(api, slug, email, role).await
}

async fn remove_member(
    api: Api,
    Path((slug, email)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    api.run(move |store, who| members_of(store, &members::remove(store, who, &slug, &email)?.0))
        .await
}
