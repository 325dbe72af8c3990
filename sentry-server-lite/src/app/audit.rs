//! The audit trail: every permission-relevant change and every refusal, written by the
//! application layer only. [`authorize`] asks the policy and records a refusal;
//! [`record`] records a change that was made. [`Target`] names what an entry is about
//! (`team:3`, `project:5`, ...), in one spelling for every front end.
//!
//! Entries of the command line's operator have no actor id and details starting with
//! `cli`; entries of users carry their id; refusals of anonymous callers carry none.
//!
//! Refusals of anonymous callers are not written row by row (anyone could fill the log,
//! through the writer's connection, as fast as they can send requests): each is counted
//! ([`anonymous_refusals`], `sentry_lite_anonymous_refusals_total` at `/metrics`) and
//! logged at debug level, and the server's [`AnonymousRefusals`] writes a sample: the
//! first refusal of each action, target and outcome per minute, at most
//! [`ANONYMOUS_ROWS_PER_MINUTE`] rows a minute. Refusals of logged-in users and of the
//! operator are all written. Rows older than the retention's `audit_max_age_days`
//! (default 90) are deleted by the retention pass.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

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

/// Audit rows written for anonymous refusals per minute and server, at most.
pub const ANONYMOUS_ROWS_PER_MINUTE: usize = 20;

static ANONYMOUS_REFUSED: AtomicU64 = AtomicU64::new(0);

/// Anonymous refusals so far (in this process), audited or not.
pub fn anonymous_refusals() -> u64 {
    ANONYMOUS_REFUSED.load(Ordering::Relaxed)
}

/// Which anonymous refusals of one server are written to its audit log (see the
/// module doc): the keys written in the current minute.
#[derive(Debug, Default)]
pub struct AnonymousRefusals {
    minute: Mutex<(i64, HashSet<String>)>,
}

impl AnonymousRefusals {
    /// Whether a refusal with this `key` at `now_ms` gets a row.
    fn admit(&self, key: String, now_ms: i64) -> bool {
        let minute = now_ms.div_euclid(60_000);
        let mut m = self.minute.lock();
        if m.0 != minute {
            *m = (minute, HashSet::new());
        }
        m.1.len() < ANONYMOUS_ROWS_PER_MINUTE && m.1.insert(key)
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
    if caller.actor.user_id().is_none() && !caller.is_operator() {
        ANONYMOUS_REFUSED.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(action, target = %target, outcome, "anonymous request refused");
        let sampled = caller.refusals.as_ref().is_some_and(|r| {
            r.admit(
                format!("{action} {target} {outcome}"),
                crate::clock::now_ms(),
            )
        });
        if sampled {
            write(store, caller, action, target, outcome, "sampled".to_owned())?;
        }
        return Err(AppError::Denied(denied));
    }
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
    use super::{AnonymousRefusals, Target, ANONYMOUS_ROWS_PER_MINUTE};

    #[test]
    fn anonymous_refusals_are_sampled_per_minute() {
        let r = AnonymousRefusals::default();
        assert!(r.admit("a".into(), 0));
        assert!(!r.admit("a".into(), 59_999), "once per key and minute");
        assert!(r.admit("a".into(), 60_000), "a new minute");
        let admitted = (0..100)
            .filter(|i| r.admit(format!("k{i}"), 60_001))
            .count();
        assert_eq!(admitted, ANONYMOUS_ROWS_PER_MINUTE - 1);
    }

    #[test]
    fn targets_have_one_spelling() {
        assert_eq!(Target::Server.to_string(), "server");
        assert_eq!(Target::user(1).to_string(), "user:1");
        assert_eq!(Target::team(2).to_string(), "team:2");
        assert_eq!(Target::project(3).to_string(), "project:3");
        assert_eq!(Target::issue(4).to_string(), "issue:4");
    }
}
