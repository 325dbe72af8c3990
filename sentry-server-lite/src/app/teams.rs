//! Teams: creating one, renaming it, changing its owner; finding one the caller may
//! act on.

use super::audit::{self, Target};
use super::refs::team_ref;
use super::users;
use super::{AppError, Caller};
use crate::policy::{Action, Resource};
use crate::store::{Store, Team};

/// The team named `slug` (404 when there is none).
pub fn find(store: &dyn Store, slug: &str) -> Result<Team, AppError> {
    store.team_by_slug(slug)?.ok_or(AppError::NotFound)
}

/// The team named `slug`, once the policy allows `action` on it (refusals audited).
pub fn checked(
    store: &dyn Store,
    caller: &Caller,
    slug: &str,
    action: Action,
) -> Result<Team, AppError> {
    let team = find(store, slug)?;
    audit::authorize(
        store,
        caller,
        action,
        &Resource::Team(team_ref(&team)),
        Target::team(team.id),
    )?;
    Ok(team)
}

/// Creates a team (superusers and the operator). Its owner is the user named by
/// `owner_email`, else the calling user (none for the operator); the owner becomes an
/// admin member.
pub fn create(
    store: &dyn Store,
    caller: &Caller,
    slug: &str,
    name: Option<&str>,
    owner_email: Option<&str>,
) -> Result<Team, AppError> {
    let server = Resource::Server {
        signup_enabled: false,
    };
    audit::authorize(store, caller, Action::CreateTeam, &server, Target::Server)?;
    if slug.is_empty() {
        return Err(AppError::Required("slug"));
    }
    let owner = match owner_email {
        Some(email) => Some(users::named(store, email)?.id),
        None => caller.active_user().map(|u| u.id),
    };
    let team = store.create_team(slug, name.unwrap_or(slug), owner)?;
    audit::record(
        store,
        caller,
        Action::CreateTeam,
        Target::team(team.id),
        format!("slug={slug}"),
    )?;
    Ok(team)
}

/// What [`update`] changes (`None` leaves it).
#[derive(Clone, Copy, Debug, Default)]
pub struct TeamChanges<'a> {
    /// The new display name.
    pub name: Option<&'a str>,
    /// The new owner's e-mail.
    pub owner_email: Option<&'a str>,
}

/// Renames a team and/or changes its owner ([`AppError::NothingToChange`] when neither
/// is given). Every action is checked before anything changes; answers the team as it
/// is now.
pub fn update(
    store: &dyn Store,
    caller: &Caller,
    slug: &str,
    changes: TeamChanges<'_>,
) -> Result<Team, AppError> {
    let team = find(store, slug)?;
    if changes.name.is_none() && changes.owner_email.is_none() {
        return Err(AppError::NothingToChange);
    }
    let resource = Resource::Team(team_ref(&team));
    let target = Target::team(team.id);
    if changes.name.is_some() {
        audit::authorize(store, caller, Action::RenameTeam, &resource, target)?;
    }
    if changes.owner_email.is_some() {
        audit::authorize(store, caller, Action::ChangeTeamOwner, &resource, target)?;
    }
    let name = changes.name.map(str::trim);
    if name == Some("") {
        return Err(AppError::EmptyName);
    }
    let owner = changes
        .owner_email
        .map(|e| users::named(store, e))
        .transpose()?;
    if let Some(name) = name {
        store.rename_team(team.id, name)?;
        audit::record(
            store,
            caller,
            Action::RenameTeam,
            target,
            format!("name={name}"),
        )?;
    }
    if let Some(owner) = owner {
        store.set_team_owner(team.id, owner.id)?;
        audit::record(
            store,
            caller,
            Action::ChangeTeamOwner,
            target,
            format!("owner={}", Target::user(owner.id)),
        )?;
    }
    find(store, slug)
}
