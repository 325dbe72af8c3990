//! Settings pages: a team's members and roles, a project's settings and keys (with DSNs),
//! owners and moves (the user's own account is in [`super::account`]). Each page and
//! each form is allowed by the policy alone; changes are audited like the API's.
//!
//! Inviting: an admin adds someone by e-mail; when there is no such account yet, one is
//! created (with a password nobody knows) and the admin gets an invitation link to hand
//! over, through which the new user sets a password ([`super::invite`]).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::form::FormData;
use super::invite;
use super::session::Viewer;
use super::{page, see_other, Chrome, UiError};
use crate::api::access::{self, audit_ok, check, team_ref};
use crate::api::{ApiError, ApiState};
use crate::policy::{Action, Resource, Role};
use crate::secrets;
use crate::store::accounts::{Member, ProjectUpdate};
use crate::store::{Project, Store, StoreError, Team};

/// The settings routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/settings/teams/{team}/", get(team_page).post(team_action))
        .route(
            "/settings/projects/{team}/{project}/",
            get(project_page).post(project_action),
        )
}

/// A one-time notice on a settings page (a new token or password, shown once).
#[derive(Default)]
pub struct Notice {
    pub(crate) text: String,
    pub(crate) secret: String,
}

fn store_failure(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(what) => ApiError::bad_request(format!("{what} already exists")),
        StoreError::Invalid(what) => ApiError::bad_request(what),
        StoreError::NotFound(_) => ApiError::not_found(),
        e => ApiError::from(e),
    }
}

// ---- team -------------------------------------------------------------------------------

/// A member row with what the viewer may do to it.
pub struct MemberRow {
    email: String,
    role: &'static str,
    is_owner: bool,
}

#[derive(Template)]
#[template(path = "team_settings.html")]
struct TeamPage {
    chrome: Chrome,
    team: Team,
    owner_email: String,
    members: Vec<MemberRow>,
    projects: Vec<(String, String)>,
    can_rename: bool,
    can_manage: bool,
    can_change_owner: bool,
    notice: Notice,
    csrf: String,
}

fn team_checked(
    store: &dyn Store,
    viewer: &Viewer,
    slug: &str,
    action: Action,
) -> Result<Team, ApiError> {
    let team = store.team_by_slug(slug)?.ok_or_else(ApiError::not_found)?;
    check(
        store,
        &viewer.who,
        action,
        &Resource::Team(team_ref(&team)),
        &format!("team:{}", team.id),
    )?;
    Ok(team)
}

fn team_page_data(
    store: &dyn Store,
    viewer: &Viewer,
    slug: &str,
    notice: Notice,
) -> Result<TeamPage, ApiError> {
    let team = team_checked(store, viewer, slug, Action::ViewTeamSettings)?;
    let r = Resource::Team(team_ref(&team));
    let members: Vec<Member> = store.team_members(team.id)?;
    let owner_email = match team.owner_id {
        Some(id) => store.user_by_id(id)?.map(|u| u.email).unwrap_or_default(),
        None => String::new(),
    };
    let projects = store
        .list_projects()?
        .into_iter()
        .filter(|p| p.team_id == team.id)
        .map(|p| {
            (
                p.name,
                format!("/settings/projects/{}/{}/", p.team_slug, p.slug),
            )
        })
        .collect();
    Ok(TeamPage {
        chrome: Chrome::new(format!("{} · team settings", team.name), viewer),
        owner_email,
        members: members
            .into_iter()
            .map(|m| MemberRow {
                is_owner: team.owner_id == Some(m.user_id),
                email: m.email,
                role: m.role.as_str(),
            })
            .collect(),
        projects,
        can_rename: viewer.can(Action::RenameTeam, &r),
        can_manage: viewer.can(Action::ManageMembers, &r),
        can_change_owner: viewer.can(Action::ChangeTeamOwner, &r),
        notice,
        csrf: viewer.csrf().unwrap_or_default().to_owned(),
        team,
    })
}

/// `GET /settings/teams/{team}/`.
pub async fn team_page(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    let t = access::with_store(&state, move |store| {
        team_page_data(store, &viewer, &slug, Notice::default())
    })
    .await?;
    page(&t)
}

fn role_of(form: &FormData) -> Result<Role, ApiError> {
    Role::parse(form.get("role").unwrap_or_default())
        .ok_or_else(|| ApiError::bad_request("Choose admin, member or agent."))
}

fn user_named(store: &dyn Store, email: &str) -> Result<crate::store::User, ApiError> {
    store
        .user_by_email(email.trim())?
        .ok_or_else(|| ApiError::bad_request(format!("No user with e-mail {email:?}.")))
}

/// `POST /settings/teams/{team}/`: `action` = `rename`, `owner`, `add`, `role`, `remove`.
pub async fn team_action(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let form = FormData::parse(&body);
    viewer.verify_csrf(&form)?;
    let to = format!("/settings/teams/{slug}/");
    let base = state.base_url.clone();
    let notice = access::with_store(&state, move |store| {
        let who = &viewer.who;
        let action = form.get("action").unwrap_or_default();
        let email = form.get("email").unwrap_or_default().trim();
        let needed = match action {
            "rename" => Action::RenameTeam,
            "owner" => Action::ChangeTeamOwner,
            "add" | "role" | "remove" => Action::ManageMembers,
            _ => return Err(ApiError::bad_request("Unknown action.")),
        };
        let team = team_checked(store, &viewer, &slug, needed)?;
        let target = format!("team:{}", team.id);
        let mut notice = Notice::default();
        match action {
            "rename" => {
                let name = form.get("name").unwrap_or_default().trim();
                if name.is_empty() {
                    return Err(ApiError::bad_request("The name cannot be empty."));
                }
                store.rename_team(team.id, name).map_err(store_failure)?;
                audit_ok(
                    store,
                    who,
                    Action::RenameTeam,
                    &target,
                    format!("name={name}"),
                )?;
            }
            "owner" => {
                let owner = user_named(store, email)?;
                store.set_team_owner(team.id, owner.id)?;
                audit_ok(
                    store,
                    who,
                    Action::ChangeTeamOwner,
                    &target,
                    format!("owner=user:{}", owner.id),
                )?;
            }
            "add" => {
                let role = role_of(&form)?;
                let user = match store.user_by_email(email)? {
                    Some(u) => u,
                    None => {
                        // An invitation: a new account, allowed by the policy's
                        // "create a user / invite" row for this team.
                        check(
                            store,
                            who,
                            Action::CreateUser,
                            &Resource::Team(team_ref(&team)),
                            &target,
                        )?;
                        if !email.contains('@') {
                            return Err(ApiError::bad_request("Enter an e-mail address."));
                        }
                        // Nobody knows this password: the invitee sets theirs through
                        // the invitation link.
                        let unusable = secrets::hash_password(&secrets::random_hex(32))
                            .map_err(|e| StoreError::Invalid(e.to_string()))?;
                        let user = store
                            .create_user(email, &unusable, false)
                            .map_err(store_failure)?;
                        let link = invite::create(store, user.id)?;
                        audit_ok(
                            store,
                            who,
                            Action::CreateUser,
                            &format!("user:{}", user.id),
                            format!("team={} role={role} invited", team.slug),
                        )?;
                        notice = Notice {
                            text: format!(
                                "Account {email} created. Send them this invitation link \
                                 (shown once, valid for 7 days); it lets them set a password:"
                            ),
                            secret: format!("{base}{link}"),
                        };
                        user
                    }
                };
                store.set_membership(team.id, user.id, role)?;
                audit_ok(
                    store,
                    who,
                    Action::ManageMembers,
                    &target,
                    format!("user:{} role={role}", user.id),
                )?;
            }
            "role" => {
                let role = role_of(&form)?;
                let user = user_named(store, email)?;
                store.set_membership(team.id, user.id, role)?;
                audit_ok(
                    store,
                    who,
                    Action::ManageMembers,
                    &target,
                    format!("user:{} role={role}", user.id),
                )?;
            }
            _ => {
                let user = user_named(store, email)?;
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
        if notice.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(team_page_data(store, &viewer, &slug, notice)?))
    })
    .await?;
    match notice {
        Some(t) => page(&t),
        None => Ok(see_other(&to)),
    }
}

// ---- project ----------------------------------------------------------------------------

/// A key with its DSN.
pub struct KeyRow {
    id: i64,
    label: String,
    dsn: String,
    is_active: bool,
    rate_limit: String,
}

#[derive(Template)]
#[template(path = "project_settings.html")]
struct ProjectPage {
    chrome: Chrome,
    project: Project,
    origins: String,
    owner_email: String,
    members: Vec<String>,
    teams: Vec<(String, String)>,
    keys: Vec<KeyRow>,
    can_edit: bool,
    can_keys: bool,
    can_owner: bool,
    can_move: bool,
    can_delete: bool,
    csrf: String,
}

/// `scheme://public_key@host/project_id`.
pub fn dsn(base_url: &str, public_key: &str, project_id: i64) -> String {
    let (scheme, host) = base_url.split_once("://").unwrap_or(("http", base_url));
    format!(
        "{scheme}://{public_key}@{}/{project_id}",
        host.trim_end_matches('/')
    )
}

fn project_checked(
    store: &dyn Store,
    viewer: &Viewer,
    team: &str,
    slug: &str,
    action: Action,
) -> Result<(Project, Resource), ApiError> {
    let (p, pref) = access::project_checked(store, &viewer.who, team, slug, action)?;
    Ok((p, Resource::Project(pref)))
}

/// `GET /settings/projects/{team}/{project}/`.
pub async fn project_page(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path((team, slug)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let base = state.base_url.clone();
    let t = access::with_store(&state, move |store| {
        let (p, r) = project_checked(store, &viewer, &team, &slug, Action::EditProject)?;
        let can_keys = viewer.can(Action::ManageKeys, &r);
        let keys = if can_keys {
            store
                .list_keys(p.id)?
                .into_iter()
                .map(|k| KeyRow {
                    dsn: dsn(&base, &k.public_key, p.id),
                    id: k.id,
                    label: k.label,
                    is_active: k.is_active,
                    rate_limit: k
                        .rate_limit
                        .map(|l| format!("{} per {} s", l.count, l.window_secs))
                        .unwrap_or_else(|| "none".into()),
                })
                .collect()
        } else {
            Vec::new()
        };
        let owner_email = match p.owner_id {
            Some(id) => store.user_by_id(id)?.map(|u| u.email).unwrap_or_default(),
            None => String::new(),
        };
        let members = store
            .team_members(p.team_id)?
            .into_iter()
            .map(|m| m.email)
            .collect();
        let can_move = viewer.can(Action::MoveProject, &r);
        let teams = if can_move {
            store
                .list_teams()?
                .into_iter()
                .map(|t| (t.slug, t.name))
                .collect()
        } else {
            Vec::new()
        };
        Ok(ProjectPage {
            chrome: Chrome::new(format!("{} · project settings", p.name), &viewer),
            origins: p.allowed_origins.join("\n"),
            owner_email,
            members,
            teams,
            keys,
            can_edit: true,
            can_keys,
            can_owner: viewer.can(Action::ChangeProjectOwner, &r),
            can_move,
            can_delete: viewer.can(Action::DeleteProject, &r),
            csrf: viewer.csrf().unwrap_or_default().to_owned(),
            project: p,
        })
    })
    .await?;
    page(&t)
}

/// `POST /settings/projects/{team}/{project}/`: `action` = `edit`, `key-create`,
/// `key-revoke`, `key-activate`, `owner`, `move`, `delete`.
pub async fn project_action(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path((team, slug)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, UiError> {
    let form = FormData::parse(&body);
    viewer.verify_csrf(&form)?;
    let to = access::with_store(&state, move |store| {
        let who = &viewer.who;
        let action = form.get("action").unwrap_or_default();
        let needed = match action {
            "edit" => Action::EditProject,
            "key-create" | "key-revoke" | "key-activate" => Action::ManageKeys,
            "owner" => Action::ChangeProjectOwner,
            "move" => Action::MoveProject,
            "delete" => Action::DeleteProject,
            _ => return Err(ApiError::bad_request("Unknown action.")),
        };
        let (p, _) = project_checked(store, &viewer, &team, &slug, needed)?;
        let target = format!("project:{}", p.id);
        let mut to = format!("/settings/projects/{}/{}/", p.team_slug, p.slug);
        match action {
            "edit" => {
                let name = form.get("name").unwrap_or_default().trim();
                if name.is_empty() {
                    return Err(ApiError::bad_request("The name cannot be empty."));
                }
                let update = ProjectUpdate {
                    name: Some(name.to_owned()),
                    is_public: Some(form.get("public").is_some()),
                    allowed_origins: Some(
                        form.get("origins")
                            .unwrap_or_default()
                            .split(|c: char| c.is_whitespace() || c == ',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    ),
                };
                store.update_project(p.id, &update).map_err(store_failure)?;
                audit_ok(
                    store,
                    who,
                    Action::EditProject,
                    &target,
                    format!("{update:?}"),
                )?;
            }
            "key-create" => {
                let label = form.get("label").unwrap_or_default().trim();
                let label = if label.is_empty() { "Default" } else { label };
                let k = store.create_key(p.id, label)?;
                audit_ok(
                    store,
                    who,
                    Action::ManageKeys,
                    &target,
                    format!("key:{} created", k.id),
                )?;
            }
            "key-revoke" | "key-activate" => {
                let key = form
                    .get("key")
                    .and_then(|k| k.parse::<i64>().ok())
                    .and_then(|id| store.key_by_id(id).ok().flatten())
                    .filter(|k| k.project_id == p.id)
                    .ok_or_else(ApiError::not_found)?;
                let active = action == "key-activate";
                store.set_key_active(key.id, active)?;
                audit_ok(
                    store,
                    who,
                    Action::ManageKeys,
                    &target,
                    format!("key:{} active={active}", key.id),
                )?;
            }
            "owner" => {
                let owner = user_named(store, form.get("email").unwrap_or_default())?;
                store.set_project_owner(p.id, owner.id)?;
                audit_ok(
                    store,
                    who,
                    Action::ChangeProjectOwner,
                    &target,
                    format!("owner=user:{}", owner.id),
                )?;
            }
            "move" => {
                let t = form.get("team").unwrap_or_default();
                let t = store
                    .team_by_slug(t)?
                    .ok_or_else(|| ApiError::bad_request(format!("No team {t:?}.")))?;
                store.move_project(p.id, t.id)?;
                audit_ok(
                    store,
                    who,
                    Action::MoveProject,
                    &target,
                    format!("team={}", t.slug),
                )?;
                to = format!("/settings/projects/{}/{}/", t.slug, p.slug);
            }
            _ => {
                store.delete_project(p.id)?;
                audit_ok(store, who, Action::DeleteProject, &target, String::new())?;
                to = "/".to_owned();
            }
        }
        Ok(to)
    })
    .await?;
    Ok(see_other(&to))
}
