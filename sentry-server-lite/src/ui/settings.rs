//! Settings pages: a team's members and roles, a project's settings and keys (with DSNs),
//! owners and moves (the user's own account is in [`super::account`]). Each page is
//! allowed by the policy; each form calls the same [`crate::app`] operation as the API.
//!
//! Inviting: an admin adds someone by e-mail; when there is no such account yet, one is
//! created (with a password nobody knows) and the admin gets an invitation link to hand
//! over, through which the new user sets a password ([`super::invite`]).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::form::{FormData, Posted};
use super::session::Viewer;
use super::{page, see_other, Chrome, UiError};
use crate::app::keys::KeyChanges;
use crate::app::projects::{ProjectChanges, ProjectName};
use crate::app::refs::team_ref;
use crate::app::teams::TeamChanges;
use crate::app::{keys, members, projects, teams, with_store, AppState};
use crate::policy::{Action, Resource, Role};
use crate::store::accounts::{Member, ProjectUpdate};
use crate::store::{Project, ScrubSettings, Store, Team};

/// The settings routes.
pub fn routes() -> Router<AppState> {
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

fn team_page_data(
    store: &dyn Store,
    viewer: &Viewer,
    slug: &str,
    notice: Notice,
) -> Result<TeamPage, UiError> {
    let team = teams::checked(store, &viewer.who, slug, Action::ViewTeamSettings)?;
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
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
) -> Result<Response, UiError> {
    let t = with_store(&state, move |store| {
        team_page_data(store, &viewer, &slug, Notice::default())
    })
    .await?;
    page(&t)
}

fn role_of(form: &FormData) -> Result<Role, UiError> {
    Role::parse(form.get("role").unwrap_or_default())
        .ok_or_else(|| UiError::bad_request("Choose admin, member or agent."))
}

/// `POST /settings/teams/{team}/`: `action` = `rename`, `owner`, `add`, `role`, `remove`.
pub async fn team_action(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Posted { viewer, form }: Posted,
) -> Result<Response, UiError> {
    let to = format!("/settings/teams/{slug}/");
    let base = state.base_url.clone();
    let notice = with_store(&state, move |store| {
        let who = &viewer.who;
        let action = form.get("action").unwrap_or_default();
        let email = form.get("email").unwrap_or_default().trim();
        let mut notice = Notice::default();
        match action {
            "rename" => {
                let name = Some(form.get("name").unwrap_or_default());
                let changes = TeamChanges {
                    name,
                    ..TeamChanges::default()
                };
                teams::update(store, who, &slug, changes)?;
            }
            "owner" => {
                let changes = TeamChanges {
                    owner_email: Some(email),
                    ..TeamChanges::default()
                };
                teams::update(store, who, &slug, changes)?;
            }
            "add" | "role" => {
                // A role the form does not know is refused after the policy's answer.
                teams::checked(store, who, &slug, Action::ManageMembers)?;
                let role = role_of(&form)?;
                if action == "role" {
                    members::set_role(store, who, &slug, email, role)?;
                } else if let Some(link) = members::add(store, who, &slug, email, role)?.invitation
                {
                    notice = Notice {
                        text: format!(
                            "Account {email} created. Send them this invitation link \
                             (shown once, valid for 7 days); it lets them set a password:"
                        ),
                        secret: format!("{base}{link}"),
                    };
                }
            }
            "remove" => {
                members::remove(store, who, &slug, email)?;
            }
            _ => return Err(UiError::bad_request("Unknown action.")),
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
    sensitive_fields: String,
    safe_fields: String,
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

/// `GET /settings/projects/{team}/{project}/`.
pub async fn project_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((team, slug)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let base = state.base_url.clone();
    let t = with_store(&state, move |store| {
        let name = ProjectName::in_team(&team, &slug);
        let (p, pref) = projects::checked(store, &viewer.who, name, Action::EditProject)?;
        let r = Resource::Project(pref);
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
        Ok::<_, UiError>(ProjectPage {
            chrome: Chrome::new(format!("{} · project settings", p.name), &viewer),
            origins: p.allowed_origins.join("\n"),
            sensitive_fields: p.scrubbing.sensitive_fields.join("\n"),
            safe_fields: p.scrubbing.safe_fields.join("\n"),
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

/// `POST /settings/projects/{team}/{project}/`: `action` = `edit`, `scrubbing`,
/// `attachments`, `key-create`,
/// `key-revoke`, `key-activate`, `owner`, `move`, `delete`.
pub async fn project_action(
    State(state): State<AppState>,
    Path((team, slug)): Path<(String, String)>,
    Posted { viewer, form }: Posted,
) -> Result<Response, UiError> {
    let to = with_store(&state, move |store| {
        let who = &viewer.who;
        let name = ProjectName::in_team(&team, &slug);
        let settings_of = |p: &Project| format!("/settings/projects/{}/{}/", p.team_slug, p.slug);
        let action = form.get("action").unwrap_or_default();
        let to = match action {
            "edit" => {
                let settings = ProjectUpdate {
                    name: Some(form.get("name").unwrap_or_default().trim().to_owned()),
                    is_public: Some(form.get("public").is_some()),
                    allowed_origins: Some(
                        form.get("origins")
                            .unwrap_or_default()
                            .split(|c: char| c.is_whitespace() || c == ',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    ),
                    scrubbing: None,
                    store_attachments: None,
                };
                let changes = ProjectChanges {
                    settings,
                    ..ProjectChanges::default()
                };
                settings_of(&projects::update(store, who, name, changes)?)
            }
            "scrubbing" => {
                let lines = |field: &str| -> Vec<String> {
                    form.get(field)
                        .unwrap_or_default()
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect()
                };
                let changes = ProjectChanges {
                    settings: ProjectUpdate {
                        scrubbing: Some(ScrubSettings {
                            data_scrubber: form.get("data_scrubber").is_some(),
                            sensitive_fields: lines("sensitive_fields"),
                            safe_fields: lines("safe_fields"),
                            scrub_ip_addresses: form.get("scrub_ip").is_some(),
                        }),
                        ..ProjectUpdate::default()
                    },
                    ..ProjectChanges::default()
                };
                settings_of(&projects::update(store, who, name, changes)?)
            }
            "attachments" => {
                let changes = ProjectChanges {
                    settings: ProjectUpdate {
                        store_attachments: Some(form.get("store_attachments").is_some()),
                        ..ProjectUpdate::default()
                    },
                    ..ProjectChanges::default()
                };
                settings_of(&projects::update(store, who, name, changes)?)
            }
            "key-create" => {
                let label = form.get("label").unwrap_or_default().trim();
                let label = if label.is_empty() { "Default" } else { label };
                settings_of(&keys::create(store, who, name, label)?.0)
            }
            "key-revoke" | "key-activate" => {
                // Keys are named by id in the form (never by public key).
                let key = form
                    .get("key")
                    .and_then(|k| k.parse::<i64>().ok())
                    .map(|id| id.to_string())
                    .unwrap_or_default();
                let changes = KeyChanges {
                    active: Some(action == "key-activate"),
                    rate_limit: None,
                };
                settings_of(&keys::update(store, who, name, &key, changes)?.0)
            }
            "owner" => {
                let changes = ProjectChanges {
                    owner_email: Some(form.get("email").unwrap_or_default()),
                    ..ProjectChanges::default()
                };
                settings_of(&projects::update(store, who, name, changes)?)
            }
            "move" => {
                let changes = ProjectChanges {
                    team: Some(form.get("team").unwrap_or_default()),
                    ..ProjectChanges::default()
                };
                settings_of(&projects::update(store, who, name, changes)?)
            }
            "delete" => {
                projects::delete(store, who, name)?;
                "/".to_owned()
            }
            _ => return Err(UiError::bad_request("Unknown action.")),
        };
        Ok(to)
    })
    .await?;
    Ok(see_other(&to))
}
