//! The user-feedback pages and the attachment download of the web UI:
//!
//! - `/projects/{team}/{project}/feedback/`: the project's feedback, newest first (what
//!   the user wrote, who and where, the issue of the event it names when that event is
//!   stored), for whoever may see the project's issues;
//! - `/issues/{id}/attachments/{attachment_id}/`: one attachment of an event of the
//!   issue, for whoever may see the issue page, with the download headers of
//!   [`crate::api::attachments::download_response`] (never rendered as a page).
//!
//! The issue page lists its event's attachments and the issue's feedback (see
//! [`super::detail`]). Everything shown is escaped by the templates.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::session::Viewer;
use super::timefmt;
use super::{page, Chrome, UiError};
use crate::app::projects::ProjectName;
use crate::app::{attachments, feedback, with_store, AppState};
use crate::store::feedback::StoredFeedback;
use crate::store::{Page, Project};

/// Feedback rows per page.
const PER_PAGE: u64 = 50;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects/{team}/{project}/feedback/", get(feedback_page))
        .route(
            "/issues/{id}/attachments/{attachment_id}/",
            get(download_attachment),
        )
}

/// A feedback as the pages show it.
pub struct FeedbackRow {
    /// What the user wrote.
    pub message: String,
    /// Name and e-mail, as far as given.
    pub who: String,
    /// The page they were on.
    pub url: Option<String>,
    /// When it came.
    pub when: String,
    /// The event it names.
    pub event_id: Option<String>,
    /// The linked issue's page and title.
    pub issue: Option<(String, String)>,
}

impl FeedbackRow {
    /// The row of a stored feedback.
    pub fn of(f: &StoredFeedback, now: i64) -> FeedbackRow {
        let who = match (&f.name, &f.email) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (Some(n), None) => n.clone(),
            (None, Some(e)) => e.clone(),
            (None, None) => "anonymous".to_owned(),
        };
        FeedbackRow {
            message: f.message.clone(),
            who,
            url: f.url.clone(),
            when: timefmt::ago(f.received_ms, now),
            event_id: f.event_id.clone(),
            issue: f
                .issue
                .as_ref()
                .map(|i| (format!("/issues/{}/", i.id), i.title.clone())),
        }
    }
}

#[derive(Template)]
#[template(path = "project_feedback.html")]
struct FeedbackPage {
    chrome: Chrome,
    project: Project,
    rows: Vec<FeedbackRow>,
    next: Option<String>,
    previous: Option<String>,
}

/// `?page=` of the feedback page.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PageQuery {
    page: Option<u64>,
}

async fn feedback_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((team, slug)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let n = q.page.unwrap_or(0).min(10_000);
    let t = with_store(&state, move |store| {
        let name = ProjectName::in_team(&team, &slug);
        let page = Page {
            offset: n * PER_PAGE,
            limit: PER_PAGE + 1,
        };
        let (p, mut rows) = feedback::list(store, &viewer.who, name, page)?;
        let more = rows.len() as u64 > PER_PAGE;
        rows.truncate(PER_PAGE as usize);
        let now = crate::clock::now_ms();
        Ok::<_, UiError>(FeedbackPage {
            chrome: Chrome::new(format!("{} · user feedback", p.name), &viewer),
            rows: rows.iter().map(|f| FeedbackRow::of(f, now)).collect(),
            next: more.then(|| format!("?page={}", n + 1)),
            previous: (n > 0).then(|| format!("?page={}", n - 1)),
            project: p,
        })
    })
    .await?;
    page(&t)
}

async fn download_attachment(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, attachment_id)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let (a, bytes) = with_store(&state, move |store| {
        attachments::download_in_issue(store, &viewer.who, &id, &attachment_id)
            .map_err(UiError::from)
    })
    .await?;
    Ok(crate::api::attachments::download_response(&a, bytes))
}
