//! API tokens: a user creates and deletes their own; the operator creates them for
//! anyone. Only a token's sha256 is stored; the token is shown once.

use super::audit::{self, Target};
use super::users;
use super::{AppError, Caller};
use crate::policy::Denied;
use crate::secrets;
use crate::store::{Store, User};

/// Creates a token for the user `email` (the operator), or for the calling user when
/// `email` is `None`; answers the user and the token.
pub fn create(
    store: &dyn Store,
    caller: &Caller,
    email: Option<&str>,
    label: &str,
) -> Result<(User, String), AppError> {
    let user = match email {
        Some(email) => {
            audit::operator_only(store, caller, "token.create", Target::Server)?;
            users::named(store, email)?
        }
        None => caller
            .active_user()
            .cloned()
            .ok_or(AppError::Denied(Denied::Unauthenticated))?,
    };
    let (token, digest) = secrets::new_api_token();
    store.create_token(user.id, &digest, label)?;
    Ok((user, token))
}

/// Deletes one of the calling user's tokens (404 when it is not theirs).
pub fn delete(store: &dyn Store, caller: &Caller, token_id: i64) -> Result<(), AppError> {
    let user = caller
        .active_user()
        .ok_or(AppError::Denied(Denied::Unauthenticated))?;
    if !store.delete_token(user.id, token_id)? {
        return Err(AppError::NotFound);
    }
    Ok(())
}
