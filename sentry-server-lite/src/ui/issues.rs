//! The issue list of a project (status tabs, search with `key:value` tag filters, sort,
//! pages, bulk actions) and the issue actions (resolve, bookmark, share, remove).
//! Every action is the same [`crate::app::issues`] operation as the JSON API's: the same
//! policy checks, the same audit records.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::form::Posted;
use super::session::Viewer;
use super::timefmt::When;
use super::{local_path, page, see_other, url_encode, Chrome, UiError};
use crate::app::issues::{self, parse_query, IssueChanges};
use crate::app::projects::{self, ProjectName};
use crate::app::{with_store, AppState};
use crate::clock::now_ms;
use crate::policy::{Action, ProjectRef, Resource};
use crate::store::{IssueQuery, IssueSort, IssueStatus, Page, Project, Store};

/// Issues per page.
pub const PER_PAGE: u64 = 25;

/// A project by team and project slug, once the viewer may see its issues.
pub(crate) fn visible_project(
    store: &dyn Store,
    viewer: &Viewer,
    team: &str,
    slug: &str,
) -> Result<(Project, ProjectRef), UiError> {
    let name = ProjectName::in_team(team, slug);
    Ok(projects::checked(
        store,
        &viewer.who,
        name,
        Action::ViewIssues,
    )?)
}

/// The issue list's URL.
pub fn list_url(p: &Project) -> String {
    format!("/projects/{}/{}/", p.team_slug, p.slug)
}

/// `?status=&query=&sort=&page=` of the issue list.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    query: Option<String>,
    sort: Option<String>,
    page: Option<u64>,
}

/// A row of the list.
pub struct IssueRow {
    id: i64,
    title: String,
    culprit: String,
    level: String,
    status: &'static str,
    count: u64,
    last_seen: When,
    first_seen: When,
    bookmarked: bool,
    is_public: bool,
}

/// A link with a label, marked when it is the current one.
pub struct NavLink {
    label: String,
    url: String,
    current: bool,
}

/// Which bulk buttons the policy allows.
#[derive(Default)]
pub struct BulkButtons {
    resolve: bool,
    bookmark: bool,
    remove: bool,
}

impl BulkButtons {
    fn any(&self) -> bool {
        self.resolve || self.bookmark || self.remove
    }
}

#[derive(Template)]
#[template(path = "issues.html")]
struct ListPage {
    chrome: Chrome,
    project: Project,
    settings_url: Option<String>,
    tabs: Vec<NavLink>,
    sorts: Vec<NavLink>,
    status: String,
    query: String,
    query_error: String,
    rows: Vec<IssueRow>,
    total: u64,
    first: u64,
    last: u64,
    prev_url: Option<String>,
    next_url: Option<String>,
    buttons: BulkButtons,
    back: String,
    csrf: String,
}

fn list_link(p: &Project, status: &str, query: &str, sort: &str, page: u64) -> String {
    let mut url = format!("{}?status={status}", list_url(p));
    if !query.is_empty() {
        url.push_str(&format!("&query={}", url_encode(query)));
    }
    if sort != IssueSort::LastSeen.as_str() {
        url.push_str(&format!("&sort={sort}"));
    }
    if page > 1 {
        url.push_str(&format!("&page={page}"));
    }
    url
}

/// `GET /projects/{team}/{project}/`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((team, slug)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    let t = with_store(&state, move |store| {
        build_list(store, &viewer, &team, &slug, q)
    })
    .await?;
    page(&t)
}

fn build_list(
    store: &dyn Store,
    viewer: &Viewer,
    team: &str,
    slug: &str,
    q: ListQuery,
) -> Result<ListPage, UiError> {
    let (project, pref) = visible_project(store, viewer, team, slug)?;
    let user = viewer.active_user();
    let status = match q.status.as_deref() {
        Some(s @ ("resolved" | "all" | "unresolved")) => s,
        Some("bookmarked") if user.is_some() => "bookmarked",
        _ => "unresolved",
    };
    let sort = q
        .sort
        .as_deref()
        .and_then(IssueSort::parse)
        .unwrap_or_default();
    let text = q.query.unwrap_or_default();
    let text = text.trim().to_owned();
    let (mut filter, query_error) = match parse_query(&text) {
        Ok(f) => (f, String::new()),
        Err(e) => (Default::default(), e),
    };
    if filter.status.is_none() {
        filter.status = match status {
            "unresolved" => Some(IssueStatus::Unresolved),
            "resolved" => Some(IssueStatus::Resolved),
            _ => None,
        };
    }
    let query = IssueQuery {
        filter,
        sort,
        bookmarked_by: if status == "bookmarked" {
            user.map(|u| u.id)
        } else {
            None
        },
    };
    let page_no = q.page.unwrap_or(1).max(1);
    let offset = (page_no - 1)
        .checked_mul(PER_PAGE)
        .filter(|o| *o <= issues::MAX_OFFSET)
        .ok_or_else(|| UiError::bad_request("There is no such page."))?;
    let result = if query_error.is_empty() {
        store.search_issues(
            project.id,
            &query,
            Page {
                offset,
                limit: PER_PAGE,
            },
        )?
    } else {
        Default::default()
    };
    let ids: Vec<i64> = result.issues.iter().map(|i| i.id).collect();
    let bookmarked = match user {
        Some(u) => store.bookmarked(u.id, &ids)?,
        None => Vec::new(),
    };
    let now = now_ms();
    let rows = result
        .issues
        .iter()
        .map(|i| IssueRow {
            id: i.id,
            title: i.title.clone(),
            culprit: i.culprit.clone(),
            level: i.level.clone(),
            status: i.status.as_str(),
            count: i.times_seen,
            last_seen: When::new(i.last_seen_ms, now),
            first_seen: When::new(i.first_seen_ms, now),
            bookmarked: bookmarked.contains(&i.id),
            is_public: i.is_public,
        })
        .collect();
    let mut tab_names = vec![
        ("unresolved", "Unresolved"),
        ("resolved", "Resolved"),
        ("bookmarked", "Bookmarked by me"),
        ("all", "All"),
    ];
    if user.is_none() {
        tab_names.retain(|(n, _)| *n != "bookmarked");
    }
    let sort_name = sort.as_str();
    let tabs = tab_names
        .into_iter()
        .map(|(n, label)| NavLink {
            label: label.to_owned(),
            url: list_link(&project, n, &text, sort_name, 1),
            current: n == status,
        })
        .collect();
    let sorts = [
        (IssueSort::LastSeen, "Last seen"),
        (IssueSort::FirstSeen, "First seen"),
        (IssueSort::Events, "Events"),
    ]
    .into_iter()
    .map(|(s, label)| NavLink {
        label: label.to_owned(),
        url: s.as_str().to_owned(),
        current: s == sort,
    })
    .collect();
    let resource = Resource::Project(pref);
    let buttons = BulkButtons {
        resolve: viewer.can(Action::ResolveIssue, &resource),
        bookmark: user.is_some() && viewer.can(Action::Bookmark, &resource),
        remove: viewer.can(Action::DeleteIssue, &resource),
    };
    let settings_url = viewer
        .can(Action::EditProject, &resource)
        .then(|| format!("/settings/projects/{}/{}/", project.team_slug, project.slug));
    let shown = result.issues.len() as u64;
    Ok(ListPage {
        chrome: Chrome::new(format!("{} · issues", project.name), viewer),
        settings_url,
        tabs,
        sorts,
        status: status.to_owned(),
        query_error,
        rows,
        total: result.total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        prev_url: (page_no > 1).then(|| list_link(&project, status, &text, sort_name, page_no - 1)),
        next_url: (offset + shown < result.total)
            .then(|| list_link(&project, status, &text, sort_name, page_no + 1)),
        back: list_link(&project, status, &text, sort_name, page_no),
        query: text,
        buttons,
        csrf: viewer.csrf().unwrap_or_default().to_owned(),
        project,
    })
}

/// What an action button asks for.
enum Requested {
    Change(IssueChanges),
    Remove,
}

fn requested(action: &str) -> Result<Requested, UiError> {
    let mut c = IssueChanges::default();
    match action {
        "resolve" => c.status = Some(IssueStatus::Resolved),
        "unresolve" => c.status = Some(IssueStatus::Unresolved),
        "bookmark" => c.bookmarked = Some(true),
        "unbookmark" => c.bookmarked = Some(false),
        "public" => c.public = Some(true),
        "private" => c.public = Some(false),
        "remove" => return Ok(Requested::Remove),
        other => return Err(UiError::bad_request(format!("Unknown action {other:?}."))),
    }
    Ok(Requested::Change(c))
}

/// `POST /projects/{team}/{project}/bulk`: `action` on every checked `id`.
pub async fn bulk(
    State(state): State<AppState>,
    Path((team, slug)): Path<(String, String)>,
    Posted { viewer, form }: Posted,
) -> Result<Response, UiError> {
    let request = requested(form.get("action").unwrap_or_default())?;
    let ids = form
        .all("id")
        .map(|v| v.parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| UiError::bad_request("Invalid issue id."))?;
    let back = local_path(form.get("back"), &format!("/projects/{team}/{slug}/"));
    if ids.is_empty() {
        return Ok(see_other(&back));
    }
    let who = viewer.who.clone();
    with_store(&state, move |store| {
        let name = ProjectName::in_team(&team, &slug);
        match request {
            Requested::Change(c) => issues::change_many(store, &who, name, &ids, c)?,
            Requested::Remove => issues::delete_many(store, &who, name, &ids)?,
        }
        Ok::<_, UiError>(())
    })
    .await?;
    Ok(see_other(&back))
}

/// `POST /issues/{id}/actions`: one issue's `action`.
pub async fn issue_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted,
) -> Result<Response, UiError> {
    let request = requested(form.get("action").unwrap_or_default())?;
    let who = viewer.who.clone();
    let back = form.get("back").map(str::to_owned);
    let to = with_store(&state, move |store| match request {
        Requested::Change(c) => {
            let (issue, _) = issues::change(store, &who, &id, c)?;
            Ok::<_, UiError>(format!("/issues/{}/", issue.id))
        }
        Requested::Remove => Ok(list_url(&issues::delete(store, &who, &id)?)),
    })
    .await?;
    Ok(see_other(&local_path(back.as_deref(), &to)))
}
