//! User feedback, written once for both backends: the insert an ingest batch runs
//! (through [`super::SideRecord::Feedback`], in the batch's transaction), a project's
//! and an issue's lists, and the retention sweep.
//!
//! A feedback names the event it is about by id; that event may arrive after it (the
//! browser SDKs send feedback on its own), so the link is made at read time: each list
//! joins `events` (and through it the issue) by project and event id. Feedback whose
//! event never came stands alone (`issue: null`).

use serde::Serialize;

use super::sql::{args, read, Conn, Database, SqlRow};
use super::{Page, StoreResult};

/// Where a feedback came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackSource {
    /// A `feedback` envelope item (the current protocol).
    Feedback,
    /// A `user_report` envelope item (deprecated), or the legacy endpoint
    /// `POST /api/{project_id}/user-feedback/` (which makes one).
    UserReport,
}

impl FeedbackSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackSource::Feedback => "feedback",
            FeedbackSource::UserReport => "user_report",
        }
    }
}

/// A feedback ready to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFeedback {
    /// The project.
    pub project_id: i64,
    /// Its own id (32 hex): the feedback event's id, or for a user report the id of the
    /// event it is about (one report per event, as Sentry keeps them).
    pub feedback_id: String,
    /// The event it is about (32 hex), if it names one.
    pub event_id: Option<String>,
    /// What the user wrote.
    pub message: String,
    /// Their name.
    pub name: Option<String>,
    /// Their e-mail.
    pub email: Option<String>,
    /// The page they were on.
    pub url: Option<String>,
    /// Where it came from.
    pub source: FeedbackSource,
    /// When it was received (Unix ms).
    pub received_ms: i64,
}

/// The issue a feedback is linked to through its event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkedIssue {
    /// Issue id.
    pub id: i64,
    /// Its title.
    pub title: String,
}

/// A stored feedback, with the issue of its event when that event is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredFeedback {
    /// Row id.
    pub id: i64,
    /// Its own id.
    pub feedback_id: String,
    /// The event it is about.
    pub event_id: Option<String>,
    /// What the user wrote.
    pub message: String,
    /// Their name.
    pub name: Option<String>,
    /// Their e-mail.
    pub email: Option<String>,
    /// The page they were on.
    pub url: Option<String>,
    /// `feedback` or `user_report`.
    pub source: String,
    /// When it was received (Unix ms).
    pub received_ms: i64,
    /// The issue of its event, once that event is stored.
    pub issue: Option<LinkedIssue>,
}

const SELECT: &str = "SELECT f.id, f.feedback_id, f.event_id, f.message, f.name, f.email, \
    f.url, f.source, f.received, i.id, i.title FROM user_feedback f";

fn row(r: &dyn SqlRow) -> StoreResult<StoredFeedback> {
    let issue = match r.opt_int(9)? {
        Some(id) => Some(LinkedIssue {
            id,
            title: r.opt_text(10)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(StoredFeedback {
        id: r.int(0)?,
        feedback_id: r.text(1)?,
        event_id: r.opt_text(2)?,
        message: r.text(3)?,
        name: r.opt_text(4)?,
        email: r.opt_text(5)?,
        url: r.opt_text(6)?,
        source: r.text(7)?,
        received_ms: r.int(8)?,
        issue,
    })
}

/// Inserts one feedback inside the caller's transaction (a retried envelope, or a
/// second report on the same event, is skipped).
pub fn insert(c: &mut dyn Conn, f: &NewFeedback) -> StoreResult<()> {
    c.exec(
        "INSERT INTO user_feedback (project_id, feedback_id, event_id, message, name, email, \
         url, source, received) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (project_id, feedback_id) DO NOTHING",
        args![
            f.project_id,
            &f.feedback_id,
            f.event_id.as_deref(),
            &f.message,
            f.name.as_deref(),
            f.email.as_deref(),
            f.url.as_deref(),
            f.source.as_str(),
            f.received_ms
        ],
    )?;
    Ok(())
}

/// A project's feedback, newest first.
pub fn list_for_project<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    page: Page,
) -> StoreResult<Vec<StoredFeedback>> {
    read(db, |c| {
        c.all(
            &format!(
                "{SELECT} LEFT JOIN events e ON e.project_id = f.project_id \
                 AND e.event_id = f.event_id LEFT JOIN issues i ON i.id = e.issue_id \
                 WHERE f.project_id = $1 ORDER BY f.id DESC LIMIT $2 OFFSET $3"
            ),
            args![
                project_id,
                super::sql::clamp(page.limit),
                super::sql::clamp(page.offset)
            ],
            row,
        )
    })
}

/// The feedback on an issue's events, newest first (at most `limit`).
pub fn list_for_issue<D: Database + ?Sized>(
    db: &D,
    issue_id: i64,
    limit: i64,
) -> StoreResult<Vec<StoredFeedback>> {
    read(db, |c| {
        c.all(
            &format!(
                "{SELECT} JOIN events e ON e.project_id = f.project_id \
                 AND e.event_id = f.event_id JOIN issues i ON i.id = e.issue_id \
                 WHERE e.issue_id = $1 ORDER BY f.id DESC LIMIT $2"
            ),
            args![issue_id, limit],
            row,
        )
    })
}

/// The retention sweep, inside the caller's transaction: feedback received before
/// `cutoff`, at most `budget` rows.
pub fn delete_expired(c: &mut dyn Conn, cutoff: i64, budget: i64) -> StoreResult<u64> {
    c.exec(
        "DELETE FROM user_feedback WHERE id IN \
         (SELECT id FROM user_feedback WHERE received < $1 LIMIT $2)",
        args![cutoff, budget],
    )
}
