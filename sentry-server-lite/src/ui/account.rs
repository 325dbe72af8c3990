//! The user's own account page: password change and API tokens
//! ([`crate::app::users::change_password`], [`crate::app::tokens`]).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::form::Posted;
use super::session::Viewer;
use super::settings::Notice;
use super::timefmt::absolute;
use super::{page, see_other, Chrome, UiError};
use crate::app::{tokens, users, with_store, AppError, AppState};
use crate::store::ApiTokenInfo;

/// The account routes.
pub fn routes() -> Router<AppState> {
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
    state: &AppState,
    viewer: &Viewer,
    notice: Notice,
    error: &str,
    status: StatusCode,
) -> Result<Response, UiError> {
    let user = logged_in(viewer)?;
    let uid = user.id;
    let tokens = with_store(state, move |store| {
        Ok::<_, UiError>(store.list_tokens(uid)?)
    })
    .await?;
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
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, UiError> {
    render_account(&state, &viewer, Notice::default(), "", StatusCode::OK).await
}

/// `POST /account/password`: current and new password.
pub async fn change_password(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted,
) -> Result<Response, UiError> {
    logged_in(&viewer)?;
    let current = form.get("current").unwrap_or_default().to_owned();
    let new = form.get("new").unwrap_or_default().to_owned();
    let this_session = viewer.session_digest().map(str::to_owned);
    let who = viewer.who.clone();
    let logins = state.logins.clone();
    let changed = with_store(&state, move |store| {
        Ok::<_, UiError>(users::change_password(
            store,
            &who,
            &logins,
            &current,
            &new,
            this_session.as_deref(),
        ))
    })
    .await?;
    let error = match changed {
        Ok(changed) => {
            let notice = Notice {
                text: format!(
                    "Your password was changed; your other sessions were logged out and \
                     your API tokens revoked ({}).",
                    changed.tokens_revoked
                ),
                secret: String::new(),
            };
            return render_account(&state, &viewer, notice, "", StatusCode::OK).await;
        }
        Err(AppError::TooManyLogins(wait)) => {
            let error = format!(
                "Too many wrong current passwords; try again in {} min.",
                wait.div_ceil(60)
            );
            return render_account(
                &state,
                &viewer,
                Notice::default(),
                &error,
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
        }
        Err(AppError::WrongPassword) => "The current password is wrong.".to_owned(),
        Err(AppError::PasswordTooShort) => format!(
            "The new password needs at least {} characters.",
            crate::app::users::MIN_PASSWORD_CHARS
        ),
        Err(e) => return Err(e.into()),
    };
    render_account(
        &state,
        &viewer,
        Notice::default(),
        &error,
        StatusCode::BAD_REQUEST,
    )
    .await
}

/// `POST /account/tokens`: `action=create` (with `label`) or `action=delete` (with `id`).
pub async fn token_action(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted,
) -> Result<Response, UiError> {
    logged_in(&viewer)?;
    let who = viewer.who.clone();
    match form.get("action") {
        Some("create") => {
            let label = form.get("label").unwrap_or_default().trim().to_owned();
            let (_, token) = with_store(&state, move |store| {
                Ok::<_, UiError>(tokens::create(store, &who, None, &label)?)
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
            with_store(&state, move |store| {
                tokens::delete(store, &who, id).map_err(|e| match e {
                    AppError::NotFound => UiError::not_found(),
                    e => e.into(),
                })
            })
            .await?;
            Ok(see_other("/account/"))
        }
        _ => Err(UiError::bad_request("Unknown action.")),
    }
}
