//! The audit trail: every permission-relevant change and every refusal, written by the
//! application layer only. [`authorize`] asks the policy and records a refusal;
//! [`record`] records a change that was made. [`Target`] names what an entry is about
//! (`team:3`, `project:5`, ...), in one spelling for every front end.
//!
//! Entries of the command line's operator have no actor id and details starting with
//! `cli`; entries of users carry their id; refusals of anonymous callers carry none.

use std::fmt;

use super::{AppError, Caller};
use crate::policy::{self, Action, Denied, Resource};
use crate::store::accounts::AuditEntry;
use crate::store::Store;

/// What an audit entry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The server as a whole (creating teams, projects, users).
    Server,
    /// A user.
    User(i64),
    /// A team.
    Team(i64),
    /// A project.
    Project(i64),
    /// An issue.
    Issue(i64),
}

impl Target {
    /// `user:{id}`.
    pub fn user(id: i64) -> Target {
        Target::User(id)
    }
    /// `team:{id}`.
    pub fn team(id: i64) -> Target {
        Target::Team(id)
    }
    /// `project:{id}`.
    pub fn project(id: i64) -> Target {
        Target::Project(id)
    }
    /// `issue:{id}`.
    pub fn issue(id: i64) -> Target {
        Target::Issue(id)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Server => f.write_str("server"),
            Target::User(id) => write!(f, "user:{id}"),
            Target::Team(id) => write!(f, "team:{id}"),
            Target::Project(id) => write!(f, "project:{id}"),
            Target::Issue(id) => write!(f, "issue:{id}"),
        }
    }
}

/// The audit log's name of a refusal.
fn outcome(denied: Denied) -> &'static str {
    match denied {
        Denied::Unauthenticated => "unauthenticated",
        Denied::Forbidden => "forbidden",
        Denied::NotFound => "not_found",
    }
}

fn write(
    store: &dyn Store,
    caller: &Caller,
    action: &str,
    target: Target,
    outcome: &str,
    details: String,
) -> Result<(), AppError> {
    let details = if caller.is_operator() {
        format!("cli {details}").trim_end().to_owned()
    } else {
        details
    };
    store.audit(&AuditEntry {
        actor_id: caller.actor.user_id(),
        action: action.to_owned(),
        target: target.to_string(),
        outcome: outcome.to_owned(),
        details,
    })?;
    Ok(())
}

/// Asks the policy; a refusal is logged (who tried what on what, no secrets), written
/// to the audit log and answered as [`AppError::Denied`].
pub fn authorize(
    store: &dyn Store,
    caller: &Caller,
    action: Action,
    resource: &Resource,
    target: Target,
) -> Result<(), AppError> {
    match policy::authorize(&caller.actor, action, resource) {
        Ok(()) => Ok(()),
        Err(denied) => refuse(store, caller, action.name(), target, denied),
    }
}

/// Allows only the command line's operator (for what no row of the permission table
/// covers: superusers, user activation, server settings, other users' tokens); others
/// are refused (403, audited).
pub fn operator_only(
    store: &dyn Store,
    caller: &Caller,
    action: &str,
    target: Target,
) -> Result<(), AppError> {
    if caller.is_operator() {
        return Ok(());
    }
    let denied = if caller.active_user().is_some() {
        Denied::Forbidden
    } else {
        Denied::Unauthenticated
    };
    refuse(store, caller, action, target, denied)
}

fn refuse(
    store: &dyn Store,
    caller: &Caller,
    action: &str,
    target: Target,
    denied: Denied,
) -> Result<(), AppError> {
    let outcome = outcome(denied);
    tracing::warn!(
        actor = ?caller.actor.user_id(),
        operator = caller.is_operator(),
        action,
        target = %target,
        outcome,
        "refused"
    );
    write(store, caller, action, target, outcome, String::new())?;
    Err(AppError::Denied(denied))
}

/// Records a permitted change in the audit log (`details`: new values, never secrets).
pub fn record(
    store: &dyn Store,
    caller: &Caller,
    action: Action,
    target: Target,
    details: impl Into<String>,
) -> Result<(), AppError> {
    record_named(store, caller, action.name(), target, details)
}

/// [`record`] for a change no row of the permission table names (e.g. `user.set_active`).
pub fn record_named(
    store: &dyn Store,
    caller: &Caller,
    action: &str,
    target: Target,
    details: impl Into<String>,
) -> Result<(), AppError> {
    tracing::info!(
        actor = ?caller.actor.user_id(),
        operator = caller.is_operator(),
        action,
        target = %target,
        "changed"
    );
    write(store, caller, action, target, "ok", details.into())
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn targets_have_one_spelling() {
        assert_eq!(Target::Server.to_string(), "server");
        assert_eq!(Target::user(1).to_string(), "user:1");
        assert_eq!(Target::team(2).to_string(), "team:2");
        assert_eq!(Target::project(3).to_string(), "project:3");
        assert_eq!(Target::issue(4).to_string(), "issue:4");
    }
}
