//! Logins: the session cookie, CSRF tokens, and the login, logout and sign-up pages.
//!
//! A session is a random 32-byte token in the `sentry_lite_session` cookie (`HttpOnly`,
//! `SameSite=Lax`, `Secure` when the server is reached over TLS); the accounts store
//! keeps only its sha256 with the user, the expiry and the session's CSRF token. Every
//! form of a logged-in page carries that CSRF token and every POST compares it in
//! constant time. The login and sign-up forms, which have no session yet, use a
//! double-submit token: a random value in a cookie and in the form, which must agree.
//! Logging out deletes the session row, so the cookie is dead even if it was copied;
//! logging in deletes the browser's previous session and always issues a new token.
//! Starting and ending sessions, checking passwords and throttling failed logins are
//! done by [`crate::app::sessions`]; sign-up by [`crate::app::users::create`]; these
//! handlers parse the forms, set the cookies and render the pages.

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::form::FormData;
use super::{local_path, page, see_other, Chrome, UiError};
use crate::app::settings::signup_enabled;
use crate::app::users::NewUser;
use crate::app::{sessions, users, with_store, AppError, AppState, Caller};
use crate::policy::{self, Action, Actor, Resource, Role};
use crate::secrets;
use crate::store::User;

use crate::app::sessions::{is_session_token, SESSION_TTL_MS};

/// The session cookie.
pub const SESSION_COOKIE: &str = "sentry_lite_session";
/// The login form's double-submit CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "sentry_lite_login_csrf";

/// Who is looking at a page: the policy's actor, the user and the session.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// Who is asking, for the application's operations and [`policy::can`].
    pub who: Caller,
    /// `(token digest, csrf token)` of the live session.
    session: Option<(String, String)>,
    /// Whether cookies must be `Secure`.
    pub secure: bool,
    /// The login CSRF cookie as sent, if any.
    login_csrf: Option<String>,
}

impl Viewer {
    /// The token hash of the live session, if any.
    pub fn session_digest(&self) -> Option<&str> {
        self.session.as_ref().map(|(digest, _)| digest.as_str())
    }

    /// The policy's actor.
    pub fn actor(&self) -> &Actor {
        &self.who.actor
    }

    /// The logged-in (active) user.
    pub fn active_user(&self) -> Option<&User> {
        self.who.active_user()
    }

    /// The session's CSRF token.
    pub fn csrf(&self) -> Option<&str> {
        self.session.as_ref().map(|(_, c)| c.as_str())
    }

    /// Whether the policy allows `action` on `resource` (for showing buttons).
    pub fn can(&self, action: Action, resource: &Resource) -> bool {
        policy::can(self.actor(), action, resource)
    }

    /// Checks a posted form's CSRF token against the session's (403 when it differs or
    /// there is no session: the policy then decides with an anonymous actor anyway).
    pub fn verify_csrf(&self, form: &FormData) -> Result<(), UiError> {
        let sent = form.get("csrf").unwrap_or_default();
        match self.csrf() {
            Some(expected) if secrets::constant_time_eq(sent.as_bytes(), expected.as_bytes()) => {
                Ok(())
            }
            Some(_) => Err(csrf_mismatch()),
            None => Err(UiError::new(StatusCode::UNAUTHORIZED, "Log in first.")),
        }
    }
}

/// The answer to a form whose CSRF token is not the one expected (403).
pub(crate) fn csrf_mismatch() -> UiError {
    UiError::new(
        StatusCode::FORBIDDEN,
        "The form's security token did not match; reload the page and try again.",
    )
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Whether the request reached us over TLS (a proxy's `X-Forwarded-Proto`, or an https
/// public URL).
fn is_tls(headers: &HeaderMap, base_url: &str) -> bool {
    base_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value; `max_age_secs = 0` deletes it.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}");
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let secure = is_tls(&parts.headers, &state.base_url);
        let login_csrf = cookie(&parts.headers, LOGIN_CSRF_COOKIE).map(str::to_owned);
        let anonymous = |session| Viewer {
            who: Caller::anonymous_of(&state.anonymous_refusals),
            session,
            secure,
            login_csrf: login_csrf.clone(),
        };
        // Session tokens are 64 hex digits (`start_session`); nothing else is looked up,
        // which also keeps invitation tokens (stored under another digest) out.
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| is_session_token(t))
        else {
            return Ok(anonymous(None));
        };
        let digest = secrets::token_digest(token);
        let token = token.to_owned();
        let found = with_store(state, move |store| {
            let Some(session) = sessions::session(store, &token)? else {
                return Ok::<_, UiError>(None);
            };
            let who = Caller::user(store, session.user)?;
            Ok(Some((who, session.csrf_token)))
        })
        .await?;
        Ok(match found {
            Some((who, csrf_token)) => Viewer {
                who,
                session: Some((digest, csrf_token)),
                secure,
                login_csrf,
            },
            // An expired or unknown cookie: a visitor.
            None => anonymous(None),
        })
    }
}

/// The login form's CSRF token for this visitor: the cookie's, or a fresh one together
/// with the `Set-Cookie` header that stores it.
pub fn login_csrf(viewer: &Viewer) -> (String, Option<HeaderValue>) {
    match &viewer.login_csrf {
        Some(t) if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) => (t.clone(), None),
        _ => {
            let t = secrets::random_hex(16);
            let header = set_cookie(LOGIN_CSRF_COOKIE, &t, 3600, viewer.secure);
            (t, Some(header))
        }
    }
}

/// Adds a `Set-Cookie` header to a response when there is one.
pub fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    login_csrf: String,
    login_error: String,
    login_email: String,
    next: String,
    signup_enabled: bool,
}

/// `?next=` of the login page.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

async fn signup_on(state: &AppState) -> Result<bool, UiError> {
    with_store(state, |store| Ok(signup_enabled(store)?)).await
}

fn login_response(
    viewer: &Viewer,
    status: StatusCode,
    error: &str,
    email: &str,
    next: &str,
    signup_enabled: bool,
) -> Result<Response, UiError> {
    let (token, set) = login_csrf(viewer);
    let t = LoginPage {
        chrome: Chrome::new("Log in", viewer),
        login_csrf: token,
        login_error: error.to_owned(),
        login_email: email.to_owned(),
        next: next.to_owned(),
        signup_enabled,
    };
    let mut r = page(&t)?;
    *r.status_mut() = status;
    Ok(with_cookie(r, set))
}

/// `GET /login`.
pub async fn login_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NextQuery>,
) -> Result<Response, UiError> {
    let next = local_path(q.next.as_deref(), "/");
    if viewer.active_user().is_some() {
        return Ok(see_other(&next));
    }
    let signup = signup_on(&state).await?;
    login_response(&viewer, StatusCode::OK, "", "", &next, signup)
}

fn verify_login_csrf(viewer: &Viewer, form: &FormData) -> Result<(), UiError> {
    let sent = form.get("csrf").unwrap_or_default();
    match &viewer.login_csrf {
        Some(c) if !sent.is_empty() && secrets::constant_time_eq(c.as_bytes(), sent.as_bytes()) => {
            Ok(())
        }
        _ => Err(csrf_mismatch()),
    }
}

/// The e-mail and password of a login or sign-up form, once its login CSRF token has
/// been checked.
fn credentials(viewer: &Viewer, form: &FormData) -> Result<(String, String), UiError> {
    verify_login_csrf(viewer, form)?;
    let email = form.get("email").unwrap_or_default().trim().to_owned();
    Ok((email, form.get("password").unwrap_or_default().to_owned()))
}

/// Starts a session for `user` and answers with its cookie and a redirect to `next`.
pub(crate) async fn start_session(
    state: &AppState,
    viewer: &Viewer,
    user: &User,
    next: &str,
) -> Result<Response, UiError> {
    // A session the browser already had ends here: a login always gets a fresh token.
    let previous = viewer.session.as_ref().map(|(d, _)| d.clone());
    let user = user.clone();
    let started = with_store(state, move |store| {
        Ok::<_, UiError>(sessions::start(store, &user, previous.as_deref())?)
    })
    .await?;
    let mut r = see_other(next);
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &started.token,
            SESSION_TTL_MS / 1000,
            viewer.secure,
        ),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, "", 0, viewer.secure),
    );
    Ok(r)
}

/// `POST /login`: e-mail and password.
pub async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    viewer: Viewer,
    form: FormData,
) -> Result<Response, UiError> {
    let client = peer.map(|axum::Extension(info)| info.0.ip());
    let (email, password) = credentials(&viewer, &form)?;
    let next = local_path(form.get("next"), "/");
    let logins = state.logins.clone();
    let entered = email.clone();
    // argon2 is deliberately slow: verify off the async workers.
    let outcome = with_store(&state, move |store| {
        Ok::<_, UiError>(sessions::log_in(
            store, &logins, client, &entered, &password,
        ))
    })
    .await?;
    match outcome {
        Ok(user) => start_session(&state, &viewer, &user, &next).await,
        Err(e @ (AppError::TooManyLogins(_) | AppError::WrongCredentials)) => {
            let e = UiError::from(e);
            let signup = signup_on(&state).await?;
            login_response(&viewer, e.status(), e.message(), &email, &next, signup)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`: ends the session server-side and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    form: FormData,
) -> Result<Response, UiError> {
    if let Some((digest, _)) = viewer.session.clone() {
        viewer.verify_csrf(&form)?;
        with_store(&state, move |store| {
            Ok::<_, UiError>(sessions::end(store, &digest)?)
        })
        .await?;
    }
    let mut r = see_other("/");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, viewer.secure),
    );
    Ok(r)
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    chrome: Chrome,
    login_csrf: String,
    error: String,
    email: String,
}

fn signup_resource(enabled: bool) -> Resource {
    Resource::Server {
        signup_enabled: enabled,
    }
}

/// `GET /signup` (404 unless sign-up is enabled).
pub async fn signup_page(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, UiError> {
    let enabled = signup_on(&state).await?;
    if viewer.active_user().is_some() {
        return Ok(see_other("/"));
    }
    if !viewer.can(Action::CreateUser, &signup_resource(enabled)) {
        return Err(UiError::not_found());
    }
    let (token, set) = login_csrf(&viewer);
    let t = SignupPage {
        chrome: Chrome::new("Sign up", &viewer),
        login_csrf: token,
        error: String::new(),
        email: String::new(),
    };
    Ok(with_cookie(page(&t)?, set))
}

/// `POST /signup`: creates the account (never a superuser) and logs in.
pub async fn signup(
    State(state): State<AppState>,
    viewer: Viewer,
    form: FormData,
) -> Result<Response, UiError> {
    let (email, password) = credentials(&viewer, &form)?;
    let who = viewer.who.clone();
    let entered = email.clone();
    let created = with_store(&state, move |store| {
        let new = NewUser {
            email: &entered,
            password: Some(password),
            team: None,
            role: Role::Member,
        };
        Ok::<_, UiError>(users::create(store, &who, new))
    })
    .await?;
    match created {
        Ok(created) => start_session(&state, &viewer, &created.user, "/").await,
        Err(
            e @ (AppError::InvalidEmail(_)
            | AppError::PasswordTooShort
            | AppError::PasswordRequired
            | AppError::UserExists(_)),
        ) => {
            let e = UiError::from(e);
            let (token, set) = login_csrf(&viewer);
            let t = SignupPage {
                chrome: Chrome::new("Sign up", &viewer),
                login_csrf: token,
                error: e.message().to_owned(),
                email,
            };
            let mut r = page(&t)?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(with_cookie(r, set))
        }
        Err(e) => Err(e.into()),
    }
}
