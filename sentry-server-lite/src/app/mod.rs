//! The application layer: one function per domain operation, shared by the JSON API
//! ([`crate::api`]), the web pages ([`crate::ui`]) and the command line ([`crate::cli`]).
//!
//! Each operation looks up what it works on, asks [`crate::policy::authorize`] for every
//! action it implies before changing anything (refusals are written to the audit log by
//! [`audit::authorize`]), makes the change through the store and records it with
//! [`audit::record`]. It answers a domain result or an [`AppError`], which each front end
//! turns into its own answer (an HTTP status and message, an error page, a command-line
//! error). These modules are the only callers of the store's mutating methods.
//!
//! Who asks is a [`Caller`]: anonymous, a logged-in user (from an API token or a web
//! session) or the command line's operator ([`crate::policy::Actor::Operator`], a
//! superuser everywhere, named `cli` in the audit log).
//!
//! - [`teams`], [`members`]: teams, their names, owners and members
//! - [`projects`], [`keys`]: projects, their settings, owners, teams and keys
//! - [`users`], [`tokens`], [`sessions`]: accounts, API tokens, logins and invitations
//! - [`issues`]: resolving, bookmarking, sharing and deleting issues
//! - [`settings`]: server settings (sign-up); [`throttle`]: the failed-login throttle
//! - [`alerts`]: alert rules, their deliveries, test notifications
//! - [`attachments`], [`feedback`]: files sent with events, what users said
//! - [`logs`]: a project's structured logs, a trace's logs

pub mod alerts;
pub mod attachments;
pub mod audit;
pub mod caller;
pub mod error;
pub mod feedback;
pub mod health;
pub mod issues;
pub mod keys;
pub mod logs;
pub mod members;
pub mod projects;
pub mod refs;
pub mod sessions;
pub mod settings;
pub mod teams;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::sync::Arc;

pub use audit::Target;
pub use caller::Caller;
pub use error::AppError;

use crate::store::Store;
use throttle::LoginThrottle;

/// What the JSON API and the web pages share: the store, the public URL and the
/// failed-login throttle.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Public base URL (for permalinks, DSNs and invitation links).
    pub base_url: String,
    /// Failed web logins per e-mail (see [`throttle`]).
    pub logins: Arc<LoginThrottle>,
    /// The sample of anonymous refusals written to the audit log (see [`audit`]).
    pub anonymous_refusals: Arc<audit::AnonymousRefusals>,
    /// How alerts are sent (rules are checked against it: private networks).
    pub alerts: Arc<crate::alerts::AlertConfig>,
}

impl AppState {
    /// The state for a store reached at `base_url`.
    pub fn new(store: Arc<dyn Store>, base_url: impl Into<String>) -> AppState {
        AppState {
            store,
            base_url: base_url.into(),
            logins: Arc::default(),
            anonymous_refusals: Arc::default(),
            alerts: Arc::default(),
        }
    }
}

/// Runs a blocking closure with the store on tokio's blocking threads (the store is
/// synchronous); a closure that panics answers [`AppError::TaskFailed`].
pub async fn with_store<T, E>(
    state: &AppState,
    f: impl FnOnce(&dyn Store) -> Result<T, E> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<AppError> + Send + 'static,
{
    let store: Arc<dyn Store> = state.store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|_| E::from(AppError::TaskFailed))?
}
