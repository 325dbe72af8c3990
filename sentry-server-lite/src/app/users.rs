//! Accounts: creating users (by an admin, by sign-up, by the operator; superusers only
//! by the operator), invitations into a team, password changes and deactivation.

use super::audit::{self, Target};
use super::members;
use super::sessions;
use super::settings::signup_enabled;
use super::teams;
use super::{AppError, Caller};
use crate::policy::{Action, Resource, Role};
use crate::secrets;
use crate::store::{Store, Team, User};

/// The shortest password accepted (in characters).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// What a page says when a password is shorter than [`MIN_PASSWORD_CHARS`].
pub fn password_too_short() -> String {
    format!("The password needs at least {MIN_PASSWORD_CHARS} characters.")
}

/// The user with this e-mail ([`AppError::NoSuchUser`] when there is none).
pub fn named(store: &dyn Store, email: &str) -> Result<User, AppError> {
    let email = email.trim();
    store
        .user_by_email(email)?
        .ok_or_else(|| AppError::NoSuchUser(email.to_owned()))
}

/// Checks a new password's length.
pub fn check_password_rule(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::PasswordTooShort);
    }
    Ok(())
}

/// Hashes a password in a slot of the bounded hashing ([`super::throttle::hashing`]).
fn hash(password: &str) -> Result<String, AppError> {
    super::throttle::hashing()
        .run(|| secrets::hash_password(password))?
        .map_err(|e| AppError::Hashing(e.to_string()))
}

fn check_email(store: &dyn Store, email: &str) -> Result<(), AppError> {
    if !email.contains('@') {
        return Err(AppError::InvalidEmail(email.to_owned()));
    }
    if store.user_by_email(email)?.is_some() {
        return Err(AppError::UserExists(email.to_owned()));
    }
    Ok(())
}

/// A user to create with [`create`].
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    /// E-mail (unique, case-insensitive).
    pub email: &'a str,
    /// The password; `None` generates one (not for sign-up).
    pub password: Option<String>,
    /// The team to add them to (an invitation by that team's managers).
    pub team: Option<&'a str>,
    /// Their role in `team`.
    pub role: Role,
}

/// A user made by [`create`], with the generated password when none was given (shown
/// once; only its argon2id hash is stored).
#[derive(Debug)]
pub struct Created {
    /// The new user.
    pub user: User,
    /// The generated password.
    pub generated_password: Option<String>,
    /// The team they joined.
    pub team: Option<Team>,
}

/// Creates a user, never a superuser: into a team (its managers), on the server
/// (superusers, the operator) or by anonymous sign-up when it is enabled.
pub fn create(store: &dyn Store, caller: &Caller, new: NewUser<'_>) -> Result<Created, AppError> {
    let team = match new.team {
        Some(slug) => Some(teams::checked(store, caller, slug, Action::CreateUser)?),
        None => {
            let resource = Resource::Server {
                signup_enabled: signup_enabled(store)?,
            };
            audit::authorize(store, caller, Action::CreateUser, &resource, Target::Server)?;
            None
        }
    };
    let signup = caller.active_user().is_none() && !caller.is_operator();
    check_email(store, new.email)?;
    let (password, generated) = match new.password {
        Some(p) => {
            check_password_rule(&p)?;
            (p, false)
        }
        None if signup => return Err(AppError::PasswordRequired),
        None => (secrets::generate_password(), true),
    };
    let user = store.create_user(new.email, &hash(&password)?, false)?;
    if let Some(t) = &team {
        members::join(store, t, &user, new.role)?;
    }
    let details = match &team {
        Some(t) => format!("team={} role={}", t.slug, new.role),
        None if signup => "signup".to_owned(),
        None => String::new(),
    };
    audit::record(
        store,
        caller,
        Action::CreateUser,
        Target::user(user.id),
        details,
    )?;
    Ok(Created {
        user,
        generated_password: generated.then_some(password),
        team,
    })
}

/// Creates an account for `email` with a password nobody knows, and an invitation
/// through which its owner sets one; answers the user and the invitation's path.
/// Needs the "create a user / invite" permission on `team`; the caller adds the
/// membership.
pub(super) fn invite(
    store: &dyn Store,
    caller: &Caller,
    team: &Team,
    email: &str,
    role: Role,
) -> Result<(User, String), AppError> {
    audit::authorize(
        store,
        caller,
        Action::CreateUser,
        &Resource::Team(super::refs::team_ref(team)),
        Target::team(team.id),
    )?;
    check_email(store, email)?;
    let unusable = hash(&secrets::random_hex(32))?;
    let user = store.create_user(email, &unusable, false)?;
    let link = sessions::create_invitation(store, user.id)?;
    audit::record(
        store,
        caller,
        Action::CreateUser,
        Target::user(user.id),
        format!("team={} role={role} invited", team.slug),
    )?;
    Ok((user, link))
}

/// Creates a superuser (the operator only: never through the web or the API).
pub fn create_superuser(
    store: &dyn Store,
    caller: &Caller,
    email: &str,
    password: &str,
) -> Result<User, AppError> {
    audit::operator_only(store, caller, Action::CreateUser.name(), Target::Server)?;
    if store.user_by_email(email)?.is_some() {
        return Err(AppError::UserExists(email.to_owned()));
    }
    check_password_rule(password)?;
    let user = store.create_user(email, &hash(password)?, true)?;
    audit::record(
        store,
        caller,
        Action::CreateUser,
        Target::user(user.id),
        "superuser",
    )?;
    Ok(user)
}

/// Sets a user's password hash (their superuser flag unchanged).
pub(super) fn set_password_hash(
    store: &dyn Store,
    user: &User,
    hash: &str,
) -> Result<(), AppError> {
    store.update_user(user.id, hash, user.is_superuser)?;
    Ok(())
}

/// Sets a user's password from an invitation (the invitation already used up).
pub(super) fn set_password(store: &dyn Store, user: &User, password: &str) -> Result<(), AppError> {
    check_password_rule(password)?;
    set_password_hash(store, user, &hash(password)?)
}

/// What a password change ended besides the old password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordChanged {
    /// The user's other sessions, logged out.
    pub sessions_ended: u64,
    /// The user's API tokens, revoked (whoever had the old password may have made one).
    pub tokens_revoked: usize,
}

/// The logged-in user changes their own password (`current` must be right): every
/// other session of theirs ends (`keep_session`: the digest of the one to keep) and
/// every API token of theirs is revoked. Wrong guesses of `current` are throttled per
/// user like logins ([`super::throttle::MAX_FAILURES`] per window, then
/// [`AppError::TooManyLogins`]), so a stolen session cannot try passwords on this form.
pub fn change_password(
    store: &dyn Store,
    caller: &Caller,
    logins: &super::throttle::LoginThrottle,
    current: &str,
    new: &str,
    keep_session: Option<&str>,
) -> Result<PasswordChanged, AppError> {
    let user = caller
        .active_user()
        .ok_or(AppError::Denied(crate::policy::Denied::Unauthenticated))?;
    check_password_rule(new)?;
    let key = format!("password-change:{}", user.id);
    let now = crate::clock::now_ms();
    let shared = sessions::take_attempt(store, logins, &key, super::throttle::MAX_FAILURES, now)?;
    let hash = &user.password_hash;
    if !super::throttle::hashing().run(|| secrets::verify_password(current, hash))? {
        return Err(AppError::WrongPassword);
    }
    if shared {
        store.clear_login_attempts(&key)?;
    } else {
        logins.succeeded(&key);
    }
    set_password(store, user, new)?;
    // Whoever else was logged in as this user (perhaps with the old password) is out,
    // and so is every token made with it.
    let sessions_ended = sessions::end_others(store, user.id, keep_session)?;
    let mut tokens_revoked = 0;
    for token in store.list_tokens(user.id)? {
        if store.delete_token(user.id, token.id)? {
            tokens_revoked += 1;
        }
    }
    tracing::info!(
        user = user.id,
        other_sessions_ended = sessions_ended,
        tokens_revoked,
        "password changed"
    );
    Ok(PasswordChanged {
        sessions_ended,
        tokens_revoked,
    })
}

/// Activates or deactivates a user (the operator only); an inactive user is anonymous
/// everywhere and cannot log in.
pub fn set_active(
    store: &dyn Store,
    caller: &Caller,
    email: &str,
    active: bool,
) -> Result<User, AppError> {
    audit::operator_only(store, caller, "user.set_active", Target::Server)?;
    let user = named(store, email)?;
    store.set_user_active(user.id, active)?;
    audit::record_named(
        store,
        caller,
        "user.set_active",
        Target::user(user.id),
        format!("active={active}"),
    )?;
    named(store, email)
}
