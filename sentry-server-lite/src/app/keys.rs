//! Project keys: listing them (secrets only for those who manage them), creating,
//! revoking and re-activating them, setting their rate limits.

use super::audit::{self, Target};
use super::projects::{self, ProjectName};
use super::{AppError, Caller};
use crate::policy::{Action, Denied, Resource};
use crate::secrets;
use crate::store::{Project, ProjectKey, RateLimit, Store};

/// The largest event count of a key's rate limit.
pub const MAX_RATE_LIMIT_COUNT: u64 = 1_000_000_000_000;

/// Checks a key's rate limit: a window of 1 s to [`crate::ratelimit::MAX_WINDOW_SECS`]
/// (100 years) and a count of at most [`MAX_RATE_LIMIT_COUNT`] (400 otherwise).
pub fn check_rate_limit(limit: &RateLimit) -> Result<(), AppError> {
    let max_window = crate::ratelimit::MAX_WINDOW_SECS;
    if !(1..=max_window).contains(&limit.window_secs) {
        return Err(invalid(format!(
            "the rate limit's window must be 1 to {max_window} seconds"
        )));
    }
    if limit.count > MAX_RATE_LIMIT_COUNT {
        return Err(invalid(format!(
            "the rate limit's count must be at most {MAX_RATE_LIMIT_COUNT}"
        )));
    }
    Ok(())
}

fn invalid(what: String) -> AppError {
    AppError::Store(crate::store::StoreError::Invalid(what))
}

/// The first key of a project just created by [`projects::create`].
pub(super) fn create_first(store: &dyn Store, project: &Project) -> Result<ProjectKey, AppError> {
    Ok(store.create_key(project.id, "Default")?)
}

/// A project's keys as [`list`] shows them.
#[derive(Debug)]
pub struct KeyList {
    /// The project.
    pub project: Project,
    /// Its keys.
    pub keys: Vec<ProjectKey>,
    /// Whether the caller may see the secret keys.
    pub with_secrets: bool,
}

/// The keys of a project the caller may see: its people (not anonymous readers of a
/// public project, who get 401); secrets for those who manage keys.
pub fn list(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
) -> Result<KeyList, AppError> {
    let (project, pref) = projects::checked(store, caller, name, Action::ViewIssues)?;
    if caller.active_user().is_none() && !caller.is_operator() {
        return Err(AppError::Denied(Denied::Unauthenticated));
    }
    let with_secrets = caller.can(Action::ManageKeys, &Resource::Project(pref));
    Ok(KeyList {
        keys: store.list_keys(project.id)?,
        project,
        with_secrets,
    })
}

/// A key of `project` by id or public key (compared in constant time).
pub fn find(store: &dyn Store, project: &Project, key: &str) -> Result<ProjectKey, AppError> {
    store
        .list_keys(project.id)?
        .into_iter()
        .find(|k| {
            k.id.to_string() == key
                || secrets::constant_time_eq(k.public_key.as_bytes(), key.as_bytes())
        })
        .ok_or_else(|| AppError::NoSuchKey {
            project: project.slug.clone(),
            key: key.to_owned(),
        })
}

/// Creates a key labelled `label`.
pub fn create(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    label: &str,
) -> Result<(Project, ProjectKey), AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ManageKeys)?;
    let key = store.create_key(p.id, label)?;
    audit::record(
        store,
        caller,
        Action::ManageKeys,
        Target::project(p.id),
        format!("key:{} created", key.id),
    )?;
    Ok((p, key))
}

/// What [`update`] changes (`None` leaves it).
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyChanges {
    /// Active (`false` revokes).
    pub active: Option<bool>,
    /// The rate limit (`Some(None)`: unlimited).
    pub rate_limit: Option<Option<RateLimit>>,
}

/// Revokes, re-activates and/or rate-limits the key `key` (id or public key); answers
/// it as it is now ([`AppError::NothingToChange`] when `changes` is empty).
pub fn update(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    key: &str,
    changes: KeyChanges,
) -> Result<(Project, ProjectKey), AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ManageKeys)?;
    let k = find(store, &p, key)?;
    if changes.active.is_none() && changes.rate_limit.is_none() {
        return Err(AppError::NothingToChange);
    }
    if let Some(Some(limit)) = &changes.rate_limit {
        check_rate_limit(limit)?;
    }
    let target = Target::project(p.id);
    if let Some(active) = changes.active {
        store.set_key_active(k.id, active)?;
        let what = if active { "active=true" } else { "revoked" };
        audit::record(
            store,
            caller,
            Action::ManageKeys,
            target,
            format!("key:{} {what}", k.id),
        )?;
    }
    if let Some(limit) = changes.rate_limit {
        store.set_key_rate_limit(k.id, limit)?;
        audit::record(
            store,
            caller,
            Action::ManageKeys,
            target,
            format!("key:{} rate_limit={limit:?}", k.id),
        )?;
    }
    let k = find(store, &p, &k.id.to_string())?;
    Ok((p, k))
}
