//! The issue page: the issue's facts and sparklines, one of its events in full (exception
//! chain, stack frames with source context, breadcrumbs, tags, contexts, request, user,
//! SDK), the event's attachments, the issue's user feedback, navigation between its
//! events, and the actions the policy allows. The same page without actions, navigation,
//! attachments or feedback serves a shared issue's link.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::event_view::EventView;
use super::feedback::FeedbackRow;
use super::issues::list_url;
use super::session::Viewer;
use super::sparkline::{self, Window};
use super::timefmt::When;
use super::{page, url_encode, Chrome, UiError};
use crate::app::refs::project_ref;
use crate::app::{issues, with_store, AppError, AppState};
use crate::clock::now_ms;
use crate::policy::{Action, Resource};
use crate::store::{EventNeighbors, EventScope, Issue, Project, Store, StoredEvent, TagCount};

/// Tag values shown per key.
const VALUES_PER_TAG: usize = 5;

/// Which action buttons the policy allows on this issue.
#[derive(Default)]
pub struct IssueButtons {
    resolve: bool,
    unresolve: bool,
    bookmark: bool,
    unbookmark: bool,
    make_public: bool,
    make_private: bool,
    remove: bool,
}

impl IssueButtons {
    fn any(&self) -> bool {
        self.resolve
            || self.unresolve
            || self.bookmark
            || self.unbookmark
            || self.make_public
            || self.make_private
            || self.remove
    }
}

/// A tag key with its most frequent values.
pub struct TagGroup {
    key: String,
    values: Vec<TagValue>,
}

/// One value of a tag, linking to the issue list filtered by it.
pub struct TagValue {
    value: String,
    count: u64,
    percent: u64,
    url: String,
}

/// Links to other events of the issue.
#[derive(Default)]
pub struct EventNav {
    oldest: Option<String>,
    previous: Option<String>,
    next: Option<String>,
    latest: Option<String>,
}

/// The event shown.
pub struct EventInfo {
    event_id: String,
    received: When,
    view: EventView,
    /// The logs of the event's trace (issue #20), for who may read the project.
    trace_logs: Option<super::logs::TraceLogs>,
    attachments: Vec<AttachmentRow>,
}

/// An attachment of the event shown, with its download link.
pub struct AttachmentRow {
    name: String,
    size: String,
    ty: String,
    mimetype: String,
    url: String,
}

fn attachment_rows(
    store: &dyn Store,
    issue_id: i64,
    project_id: i64,
    event_id: &str,
) -> Result<Vec<AttachmentRow>, AppError> {
    let rows = crate::store::attachments::list_for_event(store, project_id, event_id)?;
    Ok(rows
        .into_iter()
        .map(|a| AttachmentRow {
            url: format!("/issues/{issue_id}/attachments/{}/", a.id),
            size: human_size(a.size),
            name: a.name,
            ty: a.attachment_type,
            mimetype: a.content_type,
        })
        .collect())
}

fn human_size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[derive(Template)]
#[template(path = "issue.html")]
struct IssuePage {
    chrome: Chrome,
    issue: Issue,
    short_id: String,
    project: Project,
    /// Link to the project's issue list, when the viewer may see it.
    project_url: Option<String>,
    first_seen: When,
    last_seen: When,
    /// The release of the issue's first event.
    first_release: Option<String>,
    spark_day: String,
    spark_weeks: String,
    buttons: IssueButtons,
    share_url: Option<String>,
    event: Option<EventInfo>,
    nav: Option<EventNav>,
    tags: Vec<TagGroup>,
    feedback: Vec<FeedbackRow>,
    csrf: String,
}

/// `?event=` of the issue page.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EventQuery {
    event: Option<String>,
}

fn tag_groups(tags: &[TagCount], project: &Project, times_seen: u64) -> Vec<TagGroup> {
    let mut groups: Vec<TagGroup> = Vec::new();
    for t in tags {
        let url = format!(
            "{}?status=all&query={}",
            list_url(project),
            url_encode(&format!("{}:\"{}\"", t.key, t.value))
        );
        let value = TagValue {
            value: t.value.clone(),
            count: t.count,
            percent: (t.count * 100)
                .checked_div(times_seen)
                .unwrap_or(0)
                .min(100),
            url,
        };
        match groups.iter_mut().find(|g| g.key == t.key) {
            Some(g) if g.values.len() < VALUES_PER_TAG => g.values.push(value),
            Some(_) => {}
            None => groups.push(TagGroup {
                key: t.key.clone(),
                values: vec![value],
            }),
        }
    }
    groups
}

fn event_link(issue_id: i64, event_id: Option<String>) -> Option<String> {
    event_id.map(|e| format!("/issues/{issue_id}/?event={e}"))
}

/// Builds the page for an issue the viewer may see; `shared` is the share-link view
/// (latest event only, no actions).
fn build(
    store: &dyn Store,
    viewer: &Viewer,
    issue: Issue,
    project: Project,
    event: Option<StoredEvent>,
    shared: bool,
    base_url: &str,
) -> Result<IssuePage, AppError> {
    let pref = project_ref(store, &project)?;
    let resource = Resource::Issue {
        project: pref,
        is_public: issue.is_public,
        by_share_link: shared,
    };
    let now = now_ms();
    let user = viewer.active_user();
    let bookmarked = match user {
        Some(u) => !store.bookmarked(u.id, &[issue.id])?.is_empty(),
        None => false,
    };
    let can = |a| !shared && viewer.can(a, &resource);
    let resolved = issue.status == crate::store::IssueStatus::Resolved;
    let buttons = IssueButtons {
        resolve: !resolved && can(Action::ResolveIssue),
        unresolve: resolved && can(Action::ResolveIssue),
        bookmark: user.is_some() && !bookmarked && can(Action::Bookmark),
        unbookmark: user.is_some() && bookmarked && can(Action::Bookmark),
        make_public: !issue.is_public && can(Action::MakeIssuePublic),
        make_private: issue.is_public && can(Action::MakeIssuePrivate),
        remove: can(Action::DeleteIssue),
    };
    let share_url = if issue.is_public {
        store
            .issue_share_id(issue.id)?
            .map(|s| format!("{base_url}/share/{s}/"))
    } else {
        None
    };
    let nav = match (&event, shared) {
        (Some(e), false) => {
            let n: EventNeighbors = store.event_neighbors(issue.id, e.id)?;
            Some(EventNav {
                oldest: event_link(issue.id, n.oldest.filter(|o| *o != e.event_id)),
                previous: event_link(issue.id, n.previous),
                next: event_link(issue.id, n.next),
                latest: event_link(issue.id, n.latest.filter(|l| *l != e.event_id)),
            })
        }
        _ => None,
    };
    let scope = EventScope::Issue(issue.id);
    let day = sparkline::counts(store, scope, Window::Day, now)?;
    let weeks = sparkline::counts(store, scope, Window::TwoWeeks, now)?;
    let project_visible = viewer.can(Action::ViewIssues, &Resource::Project(pref));
    let tags = tag_groups(&store.issue_tags(issue.id)?, &project, issue.times_seen);
    // A share link shows neither files nor what users wrote (names, e-mails).
    let feedback = if shared {
        Vec::new()
    } else {
        crate::app::feedback::on_issue(store, &issue)?
            .iter()
            .map(|f| FeedbackRow::of(f, now))
            .collect()
    };
    let attachments = match (&event, shared) {
        (Some(e), false) => attachment_rows(store, issue.id, project.id, &e.event_id)?,
        _ => Vec::new(),
    };
    let event = match event {
        Some(e) => {
            let parsed = sentry_client::protocol::Event::from_slice_lenient(&e.body);
            let trace = parsed
                .contexts
                .get("trace")
                .and_then(|t| t.get("trace_id"))
                .and_then(|t| t.as_str());
            let trace_logs = match project_visible && !shared {
                true => super::logs::trace_logs(store, &viewer.who, &project, trace)?,
                false => None,
            };
            Some(EventInfo {
                received: When::new(e.received_ms, now),
                view: EventView::from_event(&parsed),
                event_id: e.event_id,
                trace_logs,
                attachments,
            })
        }
        None => None,
    };
    Ok(IssuePage {
        chrome: Chrome::new(issue.title.clone(), viewer),
        short_id: format!("{}-{}", project.slug.to_uppercase(), issue.id),
        project_url: project_visible.then(|| list_url(&project)),
        first_seen: When::new(issue.first_seen_ms, now),
        last_seen: When::new(issue.last_seen_ms, now),
        first_release: crate::app::health::first_release(store, issue.id)?,
        spark_day: sparkline::svg(&day, Window::Day.label()),
        spark_weeks: sparkline::svg(&weeks, Window::TwoWeeks.label()),
        buttons,
        share_url,
        event,
        nav,
        tags: if project_visible || !shared {
            tags
        } else {
            Vec::new()
        },
        feedback,
        csrf: viewer.csrf().unwrap_or_default().to_owned(),
        issue,
        project,
    })
}

/// `GET /issues/{id}/` (`?event=` picks an event; default the latest).
pub async fn issue_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<EventQuery>,
) -> Result<Response, UiError> {
    let base = state.base_url.clone();
    let t = with_store(&state, move |store| {
        let (issue, project, _) = issues::view(store, &viewer.who, &id)?;
        let event = match q.event.as_deref().filter(|e| !e.is_empty()) {
            Some(e) => Some(
                store
                    .event(project.id, &e.to_ascii_lowercase().replace('-', ""))?
                    .filter(|e| e.issue_id == Some(issue.id))
                    .ok_or_else(AppError::not_found)?,
            ),
            None => store.latest_event(issue.id)?,
        };
        build(store, &viewer, issue, project, event, false, &base)
    })
    .await?;
    page(&t)
}

/// `GET /share/{share_id}/`: a public issue for anyone with the link.
pub async fn shared_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(share_id): Path<String>,
) -> Result<Response, UiError> {
    let base = state.base_url.clone();
    let t = with_store(&state, move |store| {
        let (issue, project) = issues::view_shared(store, &viewer.who, &share_id)?;
        let event = store.latest_event(issue.id)?;
        build(store, &viewer, issue, project, event, true, &base)
    })
    .await?;
    page(&t)
}
