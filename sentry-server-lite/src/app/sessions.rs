//! Logins and invitations, both rows of the accounts store's sessions table (only the
//! sha256 of a token is kept).
//!
//! Logging in checks the password (one argon2 verification whatever the outcome, so the
//! timing does not tell which accounts exist, in a slot of the bounded hashing) after the
//! login throttle by client address and by account and address ([`super::throttle`] in
//! memory, or the database's shared count on PostgreSQL), ends
//! the browser's previous session and starts a new one with a fresh token.
//!
//! An invitation is a session of the invited user keyed by the digest of
//! `invite:{token}`, never equal to a login session's digest: an invitation token used
//! as a session cookie finds no session, and the other way round.

use std::sync::OnceLock;

use std::net::IpAddr;

use super::throttle::{
    account_key, address_key, hashing, LoginThrottle, MAX_ADDRESS_ATTEMPTS, MAX_FAILURES, WINDOW_MS,
};
use super::users;
use super::AppError;
use crate::clock::now_ms;
use crate::secrets;
use crate::store::accounts::SessionInfo;
use crate::store::{Store, User};

/// How long a login lasts.
pub const SESSION_TTL_MS: i64 = 14 * 24 * 3600 * 1000;
/// How long an invitation link works.
pub const INVITE_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// A session just started: the token for the cookie (shown to nobody else).
#[derive(Debug)]
pub struct Started {
    /// The session token (64 hex digits).
    pub token: String,
}

/// Whether `token` has the form of a session token: 64 hex digits.
pub fn is_session_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The live session of a cookie's token (not an invitation), if any.
pub fn session(store: &dyn Store, token: &str) -> Result<Option<SessionInfo>, AppError> {
    if !is_session_token(token) {
        return Ok(None);
    }
    Ok(store.session(&secrets::token_digest(token), now_ms())?)
}

/// Starts a session for `user`, ending the browser's previous one (`previous`: its
/// token digest).
pub fn start(store: &dyn Store, user: &User, previous: Option<&str>) -> Result<Started, AppError> {
    let token = secrets::random_hex(32);
    let csrf = secrets::random_hex(16);
    if let Some(previous) = previous {
        store.delete_session(previous)?;
    }
    store.create_session(
        &secrets::token_digest(&token),
        user.id,
        &csrf,
        now_ms() + SESSION_TTL_MS,
    )?;
    Ok(Started { token })
}

/// Ends a session (by its token digest).
pub fn end(store: &dyn Store, digest: &str) -> Result<(), AppError> {
    store.delete_session(digest)?;
    Ok(())
}

/// Ends every session of a user except `keep` (a digest); how many ended.
pub(super) fn end_others(
    store: &dyn Store,
    user_id: i64,
    keep: Option<&str>,
) -> Result<u64, AppError> {
    Ok(store.delete_user_sessions(user_id, keep)?)
}

/// A hash of a random password, verified against when the e-mail is unknown.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| secrets::hash_password(&secrets::random_hex(16)).unwrap_or_default())
}

/// The user when `password` is theirs and they are active. One argon2 verification in
/// every case (unknown e-mail, inactive user, wrong password).
fn check_password(user: Option<User>, password: &str) -> Option<User> {
    match user {
        Some(u) => {
            let ok = secrets::verify_password(password, &u.password_hash);
            (ok && u.is_active).then_some(u)
        }
        None => {
            secrets::verify_password(password, decoy_hash());
            None
        }
    }
}

/// Logs in with e-mail and password from `client` (the peer address, when known):
/// [`AppError::TooManyLogins`] while the address's attempts or the failures for this
/// e-mail from this address are used up ([`super::throttle`]), [`AppError::Busy`] when
/// password hashing is saturated, [`AppError::WrongCredentials`] for a wrong e-mail or
/// password or an inactive user; else the user, whose session [`start`] begins.
pub fn log_in(
    store: &dyn Store,
    logins: &LoginThrottle,
    client: Option<IpAddr>,
    email: &str,
    password: &str,
) -> Result<User, AppError> {
    let now = now_ms();
    let (address, account) = (address_key(client), account_key(email, client));
    take_attempt(store, logins, &address, MAX_ADDRESS_ATTEMPTS, now)?;
    let shared = take_attempt(store, logins, &account, MAX_FAILURES, now)?;
    let user = store.user_by_email(email)?;
    match hashing().run(|| check_password(user, password))? {
        Some(user) => {
            for key in [&address, &account] {
                if shared {
                    store.clear_login_attempts(key)?;
                } else {
                    logins.succeeded(key);
                }
            }
            Ok(user)
        }
        None => {
            tracing::info!("failed web login");
            Err(AppError::WrongCredentials)
        }
    }
}

/// Takes one attempt under `key` (at most `max` per window): counted in the database
/// when it is shared by several instances (answers `true` then), else in memory.
pub(super) fn take_attempt(
    store: &dyn Store,
    logins: &LoginThrottle,
    key: &str,
    max: u32,
    now: i64,
) -> Result<bool, AppError> {
    let shared = store.take_login_attempt(key, max, WINDOW_MS, now)?;
    let verdict = match shared {
        Some(verdict) => verdict,
        None => logins.attempt(key, max, now),
    };
    match verdict {
        Ok(()) => Ok(shared.is_some()),
        Err(wait) => {
            tracing::warn!("password check refused: too many attempts");
            Err(AppError::TooManyLogins(wait))
        }
    }
}

/// The sessions-table key of an invitation token (never equal to a login session's).
fn invite_digest(token: &str) -> String {
    secrets::token_digest(&format!("invite:{token}"))
}

/// Creates an invitation for `user_id`, an account just made by an operation that asked
/// the policy ([`super::members::add`]); answers its path (`/invite/{token}`).
pub fn create_invitation(store: &dyn Store, user_id: i64) -> Result<String, AppError> {
    let token = secrets::random_hex(32);
    store.create_session(
        &invite_digest(&token),
        user_id,
        &secrets::random_hex(16),
        now_ms() + INVITE_TTL_MS,
    )?;
    Ok(format!("/invite/{token}"))
}

/// The invitation of `token` while it is valid: the invited user and its CSRF token.
pub fn invitation(store: &dyn Store, token: &str) -> Result<Option<SessionInfo>, AppError> {
    Ok(store.session(&invite_digest(token), now_ms())?)
}

/// Accepts an invitation: sets the invited user's password and uses the invitation up.
/// `false` when it is not valid (any more). Used once across every instance: of
/// concurrent acceptances only the one whose delete removed the (unexpired) invitation
/// sets the password.
pub fn accept_invitation(
    store: &dyn Store,
    token: &str,
    user: &User,
    password: &str,
) -> Result<bool, AppError> {
    users::check_password_rule(password)?;
    let digest = invite_digest(token);
    if store.session(&digest, now_ms())?.is_none() || !store.delete_session(&digest)? {
        return Ok(false);
    }
    users::set_password(store, user, password)?;
    tracing::info!(user = user.id, "invitation accepted");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(active: bool) -> User {
        User {
            id: 1,
            email: "a@example.com".into(),
            password_hash: secrets::hash_password("right-password").expect("hash"),
            is_superuser: false,
            is_active: active,
        }
    }

    #[test]
    fn passwords_are_checked_against_a_decoy_for_unknown_users() {
        assert!(decoy_hash().starts_with("$argon2"), "a real hash to verify");
        assert!(!secrets::verify_password("", decoy_hash()));
        assert_eq!(check_password(None, "right-password"), None);
        assert_eq!(check_password(Some(user(false)), "right-password"), None);
        assert_eq!(check_password(Some(user(true)), "wrong-password"), None);
        assert_eq!(
            check_password(Some(user(true)), "right-password").map(|u| u.id),
            Some(1)
        );
    }

    #[test]
    fn session_tokens_are_64_hex_digits() {
        assert!(is_session_token(&secrets::random_hex(32)));
        assert!(!is_session_token(&format!(
            "invite:{}",
            secrets::random_hex(32)
        )));
        assert!(!is_session_token(&secrets::random_hex(16)));
        assert!(!is_session_token(&"z".repeat(64)));
    }
}
