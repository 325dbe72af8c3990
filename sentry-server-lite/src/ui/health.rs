//! The Releases page (`/projects/{team}/{project}/releases/`: each release's sessions,
//! crash-free sessions and users, new issues, and a sparkline of its crash-free
//! sessions per hour over the last day) and the Monitors page
//! (`/projects/{team}/{project}/monitors/`: each cron monitor's status, schedule, last
//! and next check-in, open issue and last runs). Both call [`crate::app::health`].

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::session::Viewer;
use std::fmt::Write;

use super::{page, timefmt, Chrome, UiError};
use crate::app::health;
use crate::app::projects::ProjectName;
use crate::app::{with_store, AppState};
use crate::store::monitors::Monitor;
use crate::store::Project;

/// The release-health and monitor page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects/{team}/{project}/releases/", get(releases_page))
        .route("/projects/{team}/{project}/monitors/", get(monitors_page))
}

/// A percentage as the pages show it (`—` without data).
fn percent(p: Option<f64>) -> String {
    match p {
        Some(p) => format!("{p:.2} %"),
        None => "—".to_owned(),
    }
}

/// An inline SVG of hourly crash-free rates: one bar per hour, full height at 100 %,
/// none for an hour without sessions; the text alternative gives the lowest rate.
pub fn crash_free_svg(hours: &[Option<f64>]) -> String {
    const BAR: usize = 4;
    const GAP: usize = 1;
    const HEIGHT: f64 = 24.0;
    let width = hours.len() * (BAR + GAP);
    let lowest = hours
        .iter()
        .flatten()
        .copied()
        .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.min(p))));
    let label = match lowest {
        Some(p) => format!("crash-free sessions per hour, last 24 hours: lowest {p:.1} %"),
        None => "no sessions in the last 24 hours".to_owned(),
    };
    let mut out = format!(
        "<svg class=\"spark crash-free\" width=\"{width}\" height=\"24\" viewBox=\"0 0 {width} 24\" \
         role=\"img\" aria-label=\"{label}\"><title>{label}</title>"
    );
    for (i, p) in hours.iter().enumerate() {
        if let Some(p) = p {
            let h = (p.clamp(0.0, 100.0) / 100.0 * HEIGHT).round().max(1.0);
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{BAR}\" height=\"{h}\"></rect>",
                i * (BAR + GAP),
                HEIGHT - h
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A release as the page shows it.
pub struct ReleaseRow {
    version: String,
    sessions: i64,
    crash_free_sessions: String,
    crash_free_users: String,
    new_issues: i64,
    first_seen: String,
    last_seen: String,
    spark: String,
}

#[derive(Template)]
#[template(path = "project_releases.html")]
struct ReleasesPage {
    chrome: Chrome,
    project: Project,
    releases: Vec<ReleaseRow>,
}

/// `GET /projects/{team}/{project}/releases/`.
pub async fn releases_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((team, slug)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let t = with_store(&state, move |store| {
        let now = crate::clock::now_ms();
        let name = ProjectName::in_team(&team, &slug);
        let (p, list) = health::releases_with_series(store, &viewer.who, name, now)?;
        let releases = list
            .into_iter()
            .map(|(r, line)| ReleaseRow {
                spark: crash_free_svg(&line),
                crash_free_sessions: percent(r.crash_free_sessions()),
                crash_free_users: percent(r.crash_free_users()),
                first_seen: timefmt::ago(r.first_seen, now),
                last_seen: timefmt::ago(r.last_seen, now),
                sessions: r.sessions,
                new_issues: r.new_issues,
                version: r.version,
            })
            .collect();
        Ok::<_, UiError>(ReleasesPage {
            chrome: Chrome::new(format!("{} · releases", p.name), &viewer),
            project: p,
            releases,
        })
    })
    .await?;
    page(&t)
}

/// A run as the page shows it.
pub struct RunRow {
    status: String,
    when: String,
    duration: String,
}

/// A monitor as the page shows it.
pub struct MonitorRow {
    slug: String,
    status: String,
    schedule: String,
    last: String,
    next: String,
    issue_id: Option<i64>,
    runs: Vec<RunRow>,
}

fn schedule_text(m: &Monitor) -> String {
    match m.schedule_type.as_str() {
        "crontab" => format!("crontab {} ({})", m.schedule_value, m.timezone),
        "interval" => format!("every {} {}(s)", m.schedule_value, m.schedule_unit),
        _ => "no schedule yet".to_owned(),
    }
}

fn monitor_row(m: &Monitor, now: i64) -> MonitorRow {
    MonitorRow {
        slug: m.slug.clone(),
        status: m.status.clone(),
        schedule: schedule_text(m),
        last: m
            .last_checkin
            .map_or_else(|| "never".to_owned(), |t| timefmt::ago(t, now)),
        next: m
            .next_expected
            .map_or_else(|| "—".to_owned(), timefmt::absolute),
        issue_id: m.issue_id,
        runs: m
            .recent
            .iter()
            .map(|c| RunRow {
                status: c.status.clone(),
                when: timefmt::ago(c.started_at, now),
                duration: c
                    .duration_ms
                    .map_or_else(String::new, |d| format!("{:.1} s", d as f64 / 1000.0)),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "project_monitors.html")]
struct MonitorsPage {
    chrome: Chrome,
    project: Project,
    monitors: Vec<MonitorRow>,
}

/// `GET /projects/{team}/{project}/monitors/`.
pub async fn monitors_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((team, slug)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let t = with_store(&state, move |store| {
        let now = crate::clock::now_ms();
        let (p, list) = health::monitors(store, &viewer.who, ProjectName::in_team(&team, &slug))?;
        Ok::<_, UiError>(MonitorsPage {
            chrome: Chrome::new(format!("{} · monitors", p.name), &viewer),
            project: p,
            monitors: list.iter().map(|m| monitor_row(m, now)).collect(),
        })
    })
    .await?;
    page(&t)
}
