//! Projects: creating one (with its first key), editing its settings, changing its owner
//! or team, deleting it; finding one the caller may act on.

use super::audit::{self, Target};
use super::refs::project_ref;
use super::{keys, teams, users};
use super::{AppError, Caller};
use crate::policy::{Action, ProjectRef, Resource};
use crate::store::accounts::ProjectUpdate;
use crate::store::{Project, ProjectKey, Store, Team};

/// How a request names a project: by its (globally unique) slug, and by its team's
/// slug where the address has one (a different team answers 404).
#[derive(Clone, Copy, Debug)]
pub struct ProjectName<'a> {
    /// The team's slug, when the address has one.
    pub team: Option<&'a str>,
    /// The project's slug.
    pub slug: &'a str,
}

impl<'a> ProjectName<'a> {
    /// `/{team}/{project}/` as in the web addresses.
    pub fn in_team(team: &'a str, slug: &'a str) -> Self {
        ProjectName {
            team: Some(team),
            slug,
        }
    }

    /// A slug alone (the command line).
    pub fn slug(slug: &'a str) -> Self {
        ProjectName { team: None, slug }
    }
}

/// The project `name` (404 when there is none).
pub fn find(store: &dyn Store, name: ProjectName<'_>) -> Result<Project, AppError> {
    store
        .project_by_slug(name.slug)?
        .filter(|p| name.team.is_none() || name.team == Some(p.team_slug.as_str()))
        .ok_or(AppError::NotFound)
}

/// The project `name`, once the policy allows `action` on it (refusals audited).
pub fn checked(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    action: Action,
) -> Result<(Project, ProjectRef), AppError> {
    let project = find(store, name)?;
    let pref = project_ref(store, &project)?;
    audit::authorize(
        store,
        caller,
        action,
        &Resource::Project(pref),
        Target::project(project.id),
    )?;
    Ok((project, pref))
}

/// Who owns a new project.
#[derive(Clone, Copy, Debug)]
pub enum NewOwner<'a> {
    /// Nobody (the team's owner owns it through the team).
    Nobody,
    /// The team's owner.
    TeamOwner,
    /// The user with this e-mail.
    User(&'a str),
}

/// Creates a project in the team `team_slug` with one key, `Default` (superusers and
/// the operator).
pub fn create(
    store: &dyn Store,
    caller: &Caller,
    team_slug: &str,
    slug: &str,
    name: Option<&str>,
    owner: NewOwner<'_>,
) -> Result<(Team, Project, ProjectKey), AppError> {
    let server = Resource::Server {
        signup_enabled: false,
    };
    audit::authorize(
        store,
        caller,
        Action::CreateProject,
        &server,
        Target::Server,
    )?;
    let team = teams::find(store, team_slug)?;
    if slug.is_empty() {
        return Err(AppError::Required("slug"));
    }
    let owner = match owner {
        NewOwner::Nobody => None,
        NewOwner::TeamOwner => team.owner_id,
        NewOwner::User(email) => Some(users::named(store, email)?.id),
    };
    let project = store.create_project(team.id, slug, name.unwrap_or(slug), owner)?;
    let key = keys::create_first(store, &project)?;
    audit::record(
        store,
        caller,
        Action::CreateProject,
        Target::project(project.id),
        format!("team={} slug={slug}", team.slug),
    )?;
    Ok((team, project, key))
}

/// What [`update`] changes (`None` leaves it).
#[derive(Clone, Debug, Default)]
pub struct ProjectChanges<'a> {
    /// Name, public flag, allowed origins.
    pub settings: ProjectUpdate,
    /// The new owner's e-mail.
    pub owner_email: Option<&'a str>,
    /// The slug of the team to move it to.
    pub team: Option<&'a str>,
}

/// Edits a project's settings, changes its owner and/or moves it to another team
/// ([`AppError::NothingToChange`] when the request asks for none of these). Every
/// action is checked before anything changes; answers the project as it is now.
pub fn update(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    changes: ProjectChanges<'_>,
) -> Result<Project, AppError> {
    let p = find(store, name)?;
    let edit = changes.settings != ProjectUpdate::default();
    if !edit && changes.owner_email.is_none() && changes.team.is_none() {
        return Err(AppError::NothingToChange);
    }
    let r = Resource::Project(project_ref(store, &p)?);
    let target = Target::project(p.id);
    if edit {
        audit::authorize(store, caller, Action::EditProject, &r, target)?;
    }
    if changes.owner_email.is_some() {
        audit::authorize(store, caller, Action::ChangeProjectOwner, &r, target)?;
    }
    if changes.team.is_some() {
        audit::authorize(store, caller, Action::MoveProject, &r, target)?;
    }
    if changes.settings.name.as_deref().map(str::trim) == Some("") {
        return Err(AppError::EmptyName);
    }
    let owner = changes
        .owner_email
        .map(|e| users::named(store, e))
        .transpose()?;
    let new_team = changes
        .team
        .map(|t| {
            store
                .team_by_slug(t)?
                .ok_or_else(|| AppError::NoSuchTeam(t.to_owned()))
        })
        .transpose()?;
    if edit {
        store.update_project(p.id, &changes.settings)?;
        audit::record(
            store,
            caller,
            Action::EditProject,
            target,
            format!("{:?}", changes.settings),
        )?;
    }
    if let Some(owner) = owner {
        store.set_project_owner(p.id, owner.id)?;
        audit::record(
            store,
            caller,
            Action::ChangeProjectOwner,
            target,
            format!("owner={}", Target::user(owner.id)),
        )?;
    }
    if let Some(t) = new_team {
        store.move_project(p.id, t.id)?;
        audit::record(
            store,
            caller,
            Action::MoveProject,
            target,
            format!("team={}", t.slug),
        )?;
    }
    store.project_by_id(p.id)?.ok_or(AppError::NotFound)
}

/// Deletes a project with its keys, issues and events; answers what it was.
pub fn delete(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
) -> Result<Project, AppError> {
    let (p, _) = checked(store, caller, name, Action::DeleteProject)?;
    store.delete_project(p.id)?;
    audit::record(
        store,
        caller,
        Action::DeleteProject,
        Target::project(p.id),
        format!("slug={}", p.slug),
    )?;
    Ok(p)
}
