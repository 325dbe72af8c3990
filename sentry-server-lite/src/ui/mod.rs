//! The web UI: server-rendered HTML pages (askama templates compiled into the binary,
//! a small stylesheet and a few lines of JavaScript, no framework, nothing from a CDN).
//!
//! A thin adapter over [`crate::app`], like the JSON API: a form POST is parsed and
//! handed to the same application operation (the same policy checks, the same audit
//! records), and [`UiError`] turns an [`AppError`] into an error page. Pages ask the
//! policy which buttons to show ([`crate::policy::can`]). Logins are sessions in the
//! accounts store (only a digest of the cookie's token is kept) with a per-session CSRF
//! token that every form carries; see [`session`].
//!
//! - `/` — projects overview (logged in) or the login form and the public projects
//! - `/login`, `/logout`, `/signup` — [`session`]; `/invite/{token}` — [`invite`]
//! - `/projects/{team}/{project}/` — issue list with tabs, search, sort, bulk actions
//! - `/issues/{id}/` — issue detail with its events; `/share/{share_id}/` — a shared issue
//! - `/projects/{team}/{project}/feedback/`, `/issues/{id}/attachments/{id}/` — [`feedback`]
//! - `/settings/...` — [`settings`]; `/account/` — [`account`]

pub mod account;
pub mod alerts;
pub mod detail;
pub mod event_view;
pub mod feedback;
pub mod form;
pub mod health;
pub mod invite;
pub mod issues;
pub mod logs;
pub mod projects;
pub mod session;
pub mod settings;
pub mod sparkline;
pub mod timefmt;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::app::{AppError, AppState};
use crate::policy::Denied;
use crate::store::StoreError;
use session::Viewer;

/// The stylesheet, served at `/static/style.css`.
pub const STYLE_CSS: &str = include_str!("../../templates/assets/style.css");
/// The few lines of JavaScript (copy buttons, select-all), served at `/static/app.js`.
pub const APP_JS: &str = include_str!("../../templates/assets/app.js");

/// The UI routes (state: the application's, shared with the JSON API).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(projects::home))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/signup", get(session::signup_page).post(session::signup))
        .route(
            "/invite/{token}",
            get(invite::accept_page).post(invite::accept),
        )
        .route("/projects/{team}/{project}/", get(issues::list))
        .route("/projects/{team}/{project}/bulk", post(issues::bulk))
        .route("/issues/{id}/", get(detail::issue_page))
        .route("/issues/{id}/actions", post(issues::issue_action))
        .route("/share/{share_id}/", get(detail::shared_page))
        .merge(settings::routes())
        .merge(alerts::routes())
        .merge(health::routes())
        .merge(feedback::routes())
        .merge(logs::routes())
        .merge(account::routes())
        .route("/static/style.css", get(style_css))
        .route("/static/app.js", get(app_js))
        .layer(axum::middleware::map_response(security_headers))
}

/// Headers on every page: no framing (clickjacking), scripts, styles and form targets
/// from this server only, no MIME sniffing, no full URLs (share or invitation tokens) in
/// the `Referer` sent elsewhere.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    // A response with a stricter policy of its own (an attachment download) keeps it.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                 form-action 'self'; base-uri 'none'",
            ),
        );
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn style_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        STYLE_CSS,
    )
        .into_response()
}

async fn app_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        APP_JS,
    )
        .into_response()
}

/// What every page's layout needs: the page title and who is looking.
#[derive(Clone, Debug, Default)]
pub struct Chrome {
    /// `<title>` and nothing else.
    pub title: String,
    /// The logged-in user's e-mail.
    pub user_email: Option<String>,
    /// The session's CSRF token (for the logout form).
    pub csrf: String,
}

impl Chrome {
    /// The layout for `viewer`.
    pub fn new(title: impl Into<String>, viewer: &Viewer) -> Chrome {
        Chrome {
            title: title.into(),
            user_email: viewer.active_user().map(|u| u.email.clone()),
            csrf: viewer.csrf().unwrap_or_default().to_owned(),
        }
    }
}

/// An error page (or, for "log in first", a redirect to the login page).
#[derive(Debug)]
pub struct UiError {
    status: StatusCode,
    message: String,
}

impl UiError {
    /// An error with a status and a message for the page.
    pub fn new(status: StatusCode, message: impl Into<String>) -> UiError {
        UiError {
            status,
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found() -> UiError {
        UiError::new(StatusCode::NOT_FOUND, "This page does not exist.")
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        let bad = |m: String| UiError::new(StatusCode::BAD_REQUEST, m);
        let missing = || {
            UiError::new(
                StatusCode::NOT_FOUND,
                "The requested resource does not exist",
            )
        };
        match e {
            AppError::Denied(Denied::Unauthenticated) => UiError::new(
                StatusCode::UNAUTHORIZED,
                "Authentication credentials were not provided.",
            ),
            AppError::Denied(Denied::Forbidden) => UiError::new(
                StatusCode::FORBIDDEN,
                "You do not have permission to perform this action.",
            ),
            AppError::Denied(Denied::NotFound)
            | AppError::NotFound
            | AppError::NoSuchKey { .. }
            | AppError::NotAMember { .. } => missing(),
            AppError::NoSuchUser(email) => bad(format!("No user with e-mail {email:?}.")),
            AppError::NoSuchTeam(t) => bad(format!("No team {t:?}.")),
            AppError::Required(field) => bad(format!("Enter the {field}.")),
            AppError::NothingToChange => bad("Nothing to change.".into()),
            AppError::EmptyName => bad("The name cannot be empty.".into()),
            AppError::InvalidEmail(_) => bad("Enter an e-mail address.".into()),
            AppError::PasswordTooShort | AppError::PasswordRequired => {
                bad(crate::app::users::password_too_short())
            }
            AppError::UserExists(_) => bad("There is already an account with this e-mail.".into()),
            AppError::WrongPassword => bad("The current password is wrong.".into()),
            AppError::WrongCredentials => {
                UiError::new(StatusCode::UNAUTHORIZED, "Wrong e-mail or password.")
            }
            AppError::Busy(wait) => UiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("The server is busy checking passwords; try again in {wait} s."),
            ),
            AppError::TooManyLogins(wait) => UiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed logins from here; try again in {} min.",
                    wait.div_ceil(60)
                ),
            ),
            AppError::Store(StoreError::Conflict(what)) => bad(format!("{what} already exists")),
            AppError::Store(StoreError::Invalid(what)) => bad(what),
            AppError::Store(StoreError::NotFound(_)) => missing(),
            AppError::Store(e) => UiError::from(e),
            AppError::Hashing(e) => UiError::new(StatusCode::INTERNAL_SERVER_ERROR, e),
            AppError::TaskFailed => UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "task failed"),
        }
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error in a page");
        match e {
            StoreError::Unavailable(_) => UiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry shortly",
            ),
            _ => UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage error"),
        }
    }
}

impl UiError {
    /// The message shown on the page.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "template error");
        UiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The page failed to render.",
        )
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let page = ErrorPage {
            chrome: Chrome {
                title: self.status.to_string(),
                ..Chrome::default()
            },
            status: self.status.as_u16(),
            reason: self.status.canonical_reason().unwrap_or("Error"),
            message: &self.message,
        };
        let mut r = match page.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, self.message).into_response(),
        };
        crate::api::retry_after(&mut r);
        r
    }
}

/// Renders a page template into a response.
pub fn page(t: &impl Template) -> Result<Response, UiError> {
    Ok(Html(t.render()?).into_response())
}

/// `303 See Other` to `to` (after a successful POST).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `target` when it is a path on this server, else `fallback`: the only redirect targets
/// taken from a request (`?next=` of the login page, `back` of the issue forms).
///
/// Refused: anything not starting with one `/` (`//host` is another site), backslashes
/// (browsers read `/\host` as `//host`) and control characters (browsers drop tabs and
/// line breaks from URLs, so `/<TAB>/host` would become `//host`).
pub fn local_path(target: Option<&str>, fallback: &str) -> String {
    match target {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.chars().any(|c| c == '\\' || c.is_control()) =>
        {
            p.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

/// Percent-encodes a URL query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        for ok in ["/", "/issues/1/?event=a", "/projects/t/p/?query=a%20b"] {
            assert_eq!(local_path(Some(ok), "/home"), ok);
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "\\\\evil.example",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/\r\n/evil.example/",
            "/\u{7f}/evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(local_path(Some(bad), "/home"), "/home", "{bad:?}");
        }
        assert_eq!(local_path(None, "/home"), "/home");
    }
}
