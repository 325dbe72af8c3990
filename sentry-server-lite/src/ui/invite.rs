//! Invitations: accepting one sets the new account's password and logs in.
//!
//! An invitation is a session of the invited user (the accounts store's sessions table:
//! only the digest of its random token is kept) that lives 7 days and is never put in a
//! cookie: its token travels in the link `/invite/{token}` that the admin hands over.
//! Opening the link shows a form to choose a password; sending it sets the password,
//! deletes the invitation and starts an ordinary login session.
//!
//! The row is keyed by the digest of `invite:{token}`, not of the token itself, and the
//! session cookie is only looked up when it is 64 hex digits: an invitation token put in
//! a cookie (with or without the prefix) finds no session, and a login session's token
//! put in an invitation link finds no invitation.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::form::FormData;
use super::session::{start_session, Viewer};
use super::{page, Chrome, UiError};
use crate::api::access;
use crate::api::ApiState;
use crate::clock::now_ms;
use crate::secrets;
use crate::store::{Store, StoreError, StoreResult};

/// How long an invitation link works.
pub const INVITE_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// The sessions-table key of an invitation token (never equal to a login session's).
fn invite_digest(token: &str) -> String {
    secrets::token_digest(&format!("invite:{token}"))
}

/// Creates an invitation for `user_id`; answers its path (`/invite/{token}`).
pub fn create(store: &dyn Store, user_id: i64) -> StoreResult<String> {
    let token = secrets::random_hex(32);
    store.create_session(
        &invite_digest(&token),
        user_id,
        &secrets::random_hex(16),
        now_ms() + INVITE_TTL_MS,
    )?;
    Ok(format!("/invite/{token}"))
}

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage {
    chrome: Chrome,
    email: String,
    csrf: String,
    error: String,
}

/// The invited user and the invitation's CSRF token (404 when unknown or expired).
async fn lookup(state: &ApiState, token: &str) -> Result<(crate::store::User, String), UiError> {
    let digest = invite_digest(token);
    let found =
        access::with_store(state, move |store| Ok(store.session(&digest, now_ms())?)).await?;
    found.map(|s| (s.user, s.csrf_token)).ok_or_else(|| {
        UiError::new(
            StatusCode::NOT_FOUND,
            "This invitation is not valid (any more).",
        )
    })
}

fn render(viewer: &Viewer, email: String, csrf: String, error: &str) -> Result<Response, UiError> {
    let mut r = page(&InvitePage {
        chrome: Chrome::new("Accept the invitation", viewer),
        email,
        csrf,
        error: error.to_owned(),
    })?;
    if !error.is_empty() {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

/// `GET /invite/{token}`.
pub async fn accept_page(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let (user, csrf) = lookup(&state, &token).await?;
    render(&viewer, user.email, csrf, "")
}

/// `POST /invite/{token}`: `password` and `confirm`.
pub async fn accept(
    State(state): State<ApiState>,
    viewer: Viewer,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, UiError> {
    let form = FormData::parse(&body);
    let (user, csrf) = lookup(&state, &token).await?;
    let sent = form.get("csrf").unwrap_or_default();
    if !secrets::constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
        return Err(UiError::new(
            StatusCode::FORBIDDEN,
            "The form's security token did not match; reload the page and try again.",
        ));
    }
    let password = form.get("password").unwrap_or_default().to_owned();
    if password.chars().count() < 8 {
        return render(
            &viewer,
            user.email,
            csrf,
            "The password needs at least 8 characters.",
        );
    }
    if form.get("confirm") != Some(password.as_str()) {
        return render(&viewer, user.email, csrf, "The two passwords differ.");
    }
    let digest = invite_digest(&token);
    let (id, superuser) = (user.id, user.is_superuser);
    let accepted = access::with_store(&state, move |store| {
        let hash =
            secrets::hash_password(&password).map_err(|e| StoreError::Invalid(e.to_string()))?;
        // Used once, across every instance: of concurrent acceptances only the one whose
        // delete removed the (unexpired) invitation sets the password.
        if store.session(&digest, now_ms())?.is_none() || !store.delete_session(&digest)? {
            return Ok(false);
        }
        store.update_user(id, &hash, superuser)?;
        tracing::info!(user = id, "invitation accepted");
        Ok(true)
    })
    .await?;
    if !accepted {
        return Err(UiError::new(
            StatusCode::NOT_FOUND,
            "This invitation is not valid (any more).",
        ));
    }
    start_session(&state, &viewer, &user, "/").await
}
