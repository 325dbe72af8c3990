//! [`Caller`]: who asks for an operation — the policy's [`Actor`] and, when logged in,
//! the user row.

use std::sync::Arc;

use super::audit::AnonymousRefusals;
use crate::policy::{self, Action, Actor, Resource};
use crate::store::{Store, StoreError, User};

/// The requesting actor and, when logged in, their user row.
#[derive(Clone, Debug)]
pub struct Caller {
    /// For the policy.
    pub actor: Actor,
    /// The user (also when inactive).
    pub user: Option<User>,
    /// Where an anonymous caller's refusals are sampled into the audit log (the
    /// server's; without one they are only counted: see [`super::audit`]).
    pub refusals: Option<Arc<AnonymousRefusals>>,
}

impl Caller {
    /// No (valid) credentials.
    pub fn anonymous() -> Caller {
        Caller {
            actor: Actor::Anonymous,
            user: None,
            refusals: None,
        }
    }

    /// An anonymous caller of a server whose audit log samples anonymous refusals into
    /// `refusals`.
    pub fn anonymous_of(refusals: &Arc<AnonymousRefusals>) -> Caller {
        Caller {
            refusals: Some(refusals.clone()),
            ..Caller::anonymous()
        }
    }

    /// The command line's operator.
    pub fn operator() -> Caller {
        Caller {
            actor: Actor::Operator,
            user: None,
            refusals: None,
        }
    }

    /// A user, with their flags and memberships loaded for the policy.
    pub fn user(store: &dyn Store, user: User) -> Result<Caller, StoreError> {
        let roles = store.memberships_of(user.id)?;
        Ok(Caller {
            actor: Actor::user(user.id, user.is_superuser, user.is_active, roles),
            user: Some(user),
            refusals: None,
        })
    }

    /// The active user, if any.
    pub fn active_user(&self) -> Option<&User> {
        self.user.as_ref().filter(|u| u.is_active)
    }

    /// Whether this is the command line's operator.
    pub fn is_operator(&self) -> bool {
        self.actor == Actor::Operator
    }

    /// Whether the policy allows `action` on `resource` (for showing buttons and
    /// choosing what to show).
    pub fn can(&self, action: Action, resource: &Resource) -> bool {
        policy::can(&self.actor, action, resource)
    }
}
