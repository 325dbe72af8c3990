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
//! put in an invitation link finds no invitation (see [`crate::app::sessions`]).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::form::FormData;
use super::session::{csrf_mismatch, start_session, Viewer};
use super::{page, Chrome, UiError};
use crate::app::{sessions, with_store, AppError, AppState};
use crate::secrets;
use crate::store::Store;

/// Creates an invitation for `user_id`; answers its path (`/invite/{token}`).
pub fn create(store: &dyn Store, user_id: i64) -> Result<String, AppError> {
    sessions::create_invitation(store, user_id)
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
async fn lookup(state: &AppState, token: &str) -> Result<(crate::store::User, String), UiError> {
    let token = token.to_owned();
    let found = with_store(state, move |store| {
        Ok::<_, UiError>(sessions::invitation(store, &token)?)
    })
    .await?;
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
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let (user, csrf) = lookup(&state, &token).await?;
    render(&viewer, user.email, csrf, "")
}

/// `POST /invite/{token}`: `password` and `confirm`.
pub async fn accept(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
    form: FormData,
) -> Result<Response, UiError> {
    let (user, csrf) = lookup(&state, &token).await?;
    let sent = form.get("csrf").unwrap_or_default();
    if !secrets::constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
        return Err(csrf_mismatch());
    }
    let password = form.get("password").unwrap_or_default().to_owned();
    if password.chars().count() < crate::app::users::MIN_PASSWORD_CHARS {
        let why = crate::app::users::password_too_short();
        return render(&viewer, user.email, csrf, &why);
    }
    if form.get("confirm") != Some(password.as_str()) {
        return render(&viewer, user.email, csrf, "The two passwords differ.");
    }
    let invited = user.clone();
    let accepted = with_store(&state, move |store| {
        Ok::<_, UiError>(sessions::accept_invitation(
            store, &token, &invited, &password,
        )?)
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
