//! Team members: adding someone (inviting them when they have no account yet), changing
//! a role, removing a member.

use super::audit::{self, Target};
use super::teams;
use super::users;
use super::{AppError, Caller};
use crate::policy::{Action, Role};
use crate::store::{Store, Team, User};

/// Sets a role without asking the policy: for an operation that has asked for an
/// action implying it ([`users::create`] into a team).
pub(super) fn join(
    store: &dyn Store,
    team: &Team,
    user: &User,
    role: Role,
) -> Result<(), AppError> {
    store.set_membership(team.id, user.id, role)?;
    Ok(())
}

/// Adds the existing user `email` to the team or changes their role.
pub fn set_role(
    store: &dyn Store,
    caller: &Caller,
    team_slug: &str,
    email: &str,
    role: Role,
) -> Result<(Team, User), AppError> {
    let team = teams::checked(store, caller, team_slug, Action::ManageMembers)?;
    let user = users::named(store, email)?;
    join(store, &team, &user, role)?;
    record(store, caller, &team, &user, &format!("role={role}"))?;
    Ok((team, user))
}

/// Writes a change of `user`'s membership in `team` (`what`) to the audit log.
fn record(
    store: &dyn Store,
    caller: &Caller,
    team: &Team,
    user: &User,
    what: &str,
) -> Result<(), AppError> {
    audit::record(
        store,
        caller,
        Action::ManageMembers,
        Target::team(team.id),
        format!("{} {what}", Target::user(user.id)),
    )
}

/// A member added by [`add`]: the user and, when their account was created for it, the
/// invitation path (`/invite/{token}`, shown once).
#[derive(Debug)]
pub struct Added {
    /// The member.
    pub user: User,
    /// The invitation to hand over, when the account is new.
    pub invitation: Option<String>,
}

/// Adds `email` to the team with `role`; when there is no such account, creates one
/// with an invitation (which needs the "create a user / invite" permission too).
pub fn add(
    store: &dyn Store,
    caller: &Caller,
    team_slug: &str,
    email: &str,
    role: Role,
) -> Result<Added, AppError> {
    let team = teams::checked(store, caller, team_slug, Action::ManageMembers)?;
    let (user, invitation) = match store.user_by_email(email)? {
        Some(u) => (u, None),
        None => {
            let (user, link) = users::invite(store, caller, &team, email, role)?;
            (user, Some(link))
        }
    };
    join(store, &team, &user, role)?;
    record(store, caller, &team, &user, &format!("role={role}"))?;
    Ok(Added { user, invitation })
}

/// Removes `email` from the team.
pub fn remove(
    store: &dyn Store,
    caller: &Caller,
    team_slug: &str,
    email: &str,
) -> Result<(Team, User), AppError> {
    let team = teams::checked(store, caller, team_slug, Action::ManageMembers)?;
    let user = users::named(store, email)?;
    if !store.remove_membership(team.id, user.id)? {
        return Err(AppError::NotAMember {
            email: user.email,
            team: team.slug,
        });
    }
    record(store, caller, &team, &user, "removed")?;
    Ok((team, user))
}
