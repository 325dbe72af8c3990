//! Server settings: whether anonymous sign-up is on, and the small values the server
//! and the command line record (the server's URL, quickstart state). Only the operator
//! (the command line, or the server itself at startup) writes them.

use super::audit::{self, Target};
use super::{AppError, Caller};
use crate::store::{Store, StoreError};

/// Environment variable that enables anonymous sign-up (`1`/`true`).
pub const SIGNUP_ENV: &str = "SENTRY_LITE_ALLOW_SIGNUP";
/// Setting written by `serve --allow-signup`.
pub const SIGNUP_SETTING: &str = "accounts.allow_signup";

/// Whether anonymous sign-up is on (env var or the `serve --allow-signup` setting).
pub fn signup_enabled(store: &dyn Store) -> Result<bool, StoreError> {
    if let Ok(v) = std::env::var(SIGNUP_ENV) {
        return Ok(matches!(v.trim(), "1" | "true" | "yes" | "on"));
    }
    Ok(store.get_setting(SIGNUP_SETTING)?.as_deref() == Some("true"))
}

/// Writes a setting (operator only; not audited: settings are configuration the
/// operator gives at startup).
pub fn set(store: &dyn Store, caller: &Caller, key: &str, value: &str) -> Result<(), AppError> {
    audit::operator_only(store, caller, "server.set_setting", Target::Server)?;
    store.set_setting(key, value)?;
    Ok(())
}
