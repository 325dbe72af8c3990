//! [`AppError`]: why an application operation did not happen. Front ends map each
//! variant to their own answer; the messages here are the command line's.

use crate::policy::Denied;
use crate::store::StoreError;

use super::users::MIN_PASSWORD_CHARS;

/// Why an operation of [`crate::app`] failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The policy refused (already logged and audited).
    #[error("{0}")]
    Denied(Denied),
    /// The resource the request is about does not exist (404).
    #[error("the requested resource does not exist")]
    NotFound,
    /// A user named in the request (by e-mail) does not exist.
    #[error("no user with e-mail {0}")]
    NoSuchUser(String),
    /// A team named in the request (as the new team of a project) does not exist.
    #[error("no team {0:?}")]
    NoSuchTeam(String),
    /// The project has no key with this id or public key.
    #[error("project {project} has no key {key:?} (give its id or public key)")]
    NoSuchKey {
        /// The project's slug.
        project: String,
        /// The key as given.
        key: String,
    },
    /// The user is not a member of the team.
    #[error("{email} is not a member of team {team}")]
    NotAMember {
        /// The user's e-mail.
        email: String,
        /// The team's slug.
        team: String,
    },
    /// A value the operation needs is missing (e.g. a new team's slug).
    #[error("{0} is required")]
    Required(&'static str),
    /// The request asks for no change at all.
    #[error("nothing to change")]
    NothingToChange,
    /// A name (of a team or project) is empty.
    #[error("the name cannot be empty")]
    EmptyName,
    /// Not an e-mail address.
    #[error("{0:?} is not an e-mail address")]
    InvalidEmail(String),
    /// A new password is too short.
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    /// Signing up without a password.
    #[error("a password is required to sign up")]
    PasswordRequired,
    /// The e-mail is taken.
    #[error("a user with e-mail {0} already exists")]
    UserExists(String),
    /// The current password given to change it is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// Wrong e-mail or password at login (or an inactive user).
    #[error("wrong e-mail or password")]
    WrongCredentials,
    /// Too many failed password checks (from this address, or for this e-mail from it,
    /// or of this user's current password): retry after this many seconds.
    #[error("too many failed logins; retry in {0} s")]
    TooManyLogins(u64),
    /// Every password-hashing slot and queue place is taken: retry after this many
    /// seconds (503 with `Retry-After`).
    #[error("the server is busy checking passwords; retry in {0} s")]
    Busy(u64),
    /// Password hashing failed.
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task failed (panicked).
    #[error("a background task failed")]
    TaskFailed,
}

impl From<Denied> for AppError {
    fn from(d: Denied) -> Self {
        AppError::Denied(d)
    }
}

impl AppError {
    /// [`AppError::NotFound`], for `ok_or_else`.
    pub fn not_found() -> AppError {
        AppError::NotFound
    }
}

/// Result alias of the application layer.
pub type AppResult<T> = Result<T, AppError>;
