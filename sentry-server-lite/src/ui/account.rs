//! The user's own account page: password change and API tokens.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::form::FormData;
use super::session::Viewer;
use super::settings::Notice;
use super::timefmt::absolute;
use super::{page, see_other, Chrome, UiError};
use crate::api::access;
use crate::api::ApiState;
use crate::secrets;
use crate::store::{ApiTokenInfo, StoreError};

/// The account routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/account/", get(account_page))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(token_action))
}

fn logged_in(viewer: &Viewer) -> Result<crate::store::User, UiError> {
    viewer
        .active_user()
        .cloned()
        .ok_or_else(|| UiError::new(StatusCode::UNAUTHORIZED, "Log in first."))
}

/// A token row.
pub struct TokenRow {
    id: i64,
    label: String,
    created: String,
    last_used: String,
}

impl From<ApiTokenInfo> for TokenRow {
    fn from(t: ApiTokenInfo) -> Self {
        TokenRow {
            id: t.id,
            label: t.label,
            created: absolute(t.created_at_ms),
            last_used: t.last_used_at_ms.map(absolute).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    tokens: Vec<TokenRow>,
    notice: Notice,
    error: String,
    csrf: String,
}

async fn render_account(
    state: &ApiState,
    viewer: &Viewer,
    notice: Notice,
    error: &str,
    status: StatusCode,
) -> Result<Response, UiError> {
    let user = logged_in(viewer)?;
    let uid = user.id;
    let tokens = access::with_store(state, move |store| Ok(store.list_tokens(uid)?)).await?;
    let t = AccountPage {
        chrome: Chrome::new("Account", viewer),
        email: user.email,
        tokens: tokens.into_iter().map(TokenRow::from).collect(),
        notice,
        error: error.to_owned(),
        csrf: viewer.csrf().unwrap_or_default().to_owned(),
    };
    let mut r = page(&t)?;
    *r.status_mut() = status;
    Ok(r)
}

/// `GET /account/`.
pub async fn account_page(
    State(state): State<ApiState>,
    viewer: Viewer,
) -> Result<Response, UiError> {
    render_account(&state, &viewer, Notice::default(), "", StatusCode::OK).await
}

/// `POST /account/password`: current and new password.
pub async fn change_password(
    State(state): State<ApiState>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, UiError> {
    let form = FormData::parse(&body);
    viewer.verify_csrf(&form)?;
    let user = logged_in(&viewer)?;
    let current = form.get("current").unwrap_or_default().to_owned();
    let new = form.get("new").unwrap_or_default().to_owned();
    let this_session = viewer.session_digest().map(str::to_owned);
    let changed = access::with_store(&state, move |store| {
        if !secrets::verify_password(&current, &user.password_hash) {
            return Ok(Err("The current password is wrong."));
        }
        if new.chars().count() < 8 {
            return Ok(Err("The new password needs at least 8 characters."));
        }
        let hash = secrets::hash_password(&new).map_err(|e| StoreError::Invalid(e.to_string()))?;
        store.update_user(user.id, &hash, user.is_superuser)?;
        // Whoever else was logged in as this user (perhaps with the old password) is out.
        let ended = store.delete_user_sessions(user.id, this_session.as_deref())?;
        tracing::info!(
            user = user.id,
            other_sessions_ended = ended,
            "password changed"
        );
        Ok(Ok(()))
    })
    .await?;
    match changed {
        Ok(()) => {
            let notice = Notice {
                text: "Your password was changed; your other sessions were logged out.".into(),
                secret: String::new(),
            };
            render_account(&state, &viewer, notice, "", StatusCode::OK).await
        }
        Err(e) => {
            render_account(
                &state,
                &viewer,
                Notice::default(),
                e,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `POST /account/tokens`: `action=create` (with `label`) or `action=delete` (with `id`).
pub async fn token_action(
    State(state): State<ApiState>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, UiError> {
    let form = FormData::parse(&body);
    viewer.verify_csrf(&form)?;
    let user = logged_in(&viewer)?;
    match form.get("action") {
        Some("create") => {
            let label = form.get("label").unwrap_or_default().trim().to_owned();
            let (token, digest) = secrets::new_api_token();
            access::with_store(&state, move |store| {
                Ok(store.create_token(user.id, &digest, &label)?)
            })
            .await?;
            let notice = Notice {
                text: "New API token (shown once; only its digest is stored):".into(),
                secret: token,
            };
            render_account(&state, &viewer, notice, "", StatusCode::OK).await
        }
        Some("delete") => {
            let id: i64 = form
                .get("id")
                .and_then(|i| i.parse().ok())
                .ok_or_else(|| UiError::bad_request("Invalid token id."))?;
            let gone =
                access::with_store(&state, move |store| Ok(store.delete_token(user.id, id)?))
                    .await?;
            if !gone {
                return Err(UiError::not_found());
            }
            Ok(see_other("/account/"))
        }
        _ => Err(UiError::bad_request("Unknown action.")),
    }
}
