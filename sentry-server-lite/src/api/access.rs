//! Who is asking: the request's [`Caller`] from a bearer token (no credentials =
//! anonymous; an unknown or malformed token = 401). Whether they may is decided by the
//! application layer ([`crate::app`]), which asks [`crate::policy::authorize`] and
//! writes refusals to the audit log.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use http::header;
use http::StatusCode;

use super::{blocking, ApiError};
use crate::app::{AppState, Caller};
use crate::secrets::token_digest;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = |m: &str| ApiError(StatusCode::UNAUTHORIZED, m.to_owned());
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller::anonymous_of(&state.anonymous_refusals));
        };
        let value = value
            .to_str()
            .map_err(|_| unauthorized("Invalid authorization header."))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("Use `Authorization: Bearer <token>`."))?;
        // Tokens are looked up by their sha256: the database compares digests, never
        // the secret itself, so the lookup's timing reveals nothing about the token.
        let digest = token_digest(token);
        let store = state.store.clone();
        let found = blocking(move || match store.token_user(&digest)? {
            Some(user) => Ok(Some(Caller::user(store.as_ref(), user)?)),
            None => Ok(None),
        })
        .await?;
        found.ok_or_else(|| unauthorized("Invalid token."))
    }
}
