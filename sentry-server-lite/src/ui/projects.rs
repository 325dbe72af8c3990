//! The home page: for a logged-in user, their projects per team with unresolved counts
//! and event sparklines; for a visitor, the login form and the public projects, so that
//! public data can be found without knowing its address.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::session::{login_csrf, with_cookie, Viewer};
use super::sparkline::{self, Window};
use super::{page, Chrome, UiError};
use crate::app::refs::{project_ref, team_ref};
use crate::app::settings::signup_enabled;
use crate::app::{with_store, AppState};
use crate::clock::now_ms;
use crate::policy::{Action, Resource};
use crate::store::{EventScope, IssueQuery, IssueStatus, Page, Store};

/// A project card.
pub struct ProjectCard {
    name: String,
    slug: String,
    url: String,
    is_public: bool,
    unresolved: u64,
    spark_day: String,
    spark_weeks: String,
    settings_url: Option<String>,
}

/// A team with the projects the viewer may see.
pub struct TeamGroup {
    name: String,
    settings_url: Option<String>,
    projects: Vec<ProjectCard>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    logged_in: bool,
    teams: Vec<TeamGroup>,
    login_csrf: String,
    login_error: String,
    login_email: String,
    next: String,
    signup_enabled: bool,
}

fn teams_for(store: &dyn Store, viewer: &Viewer) -> Result<Vec<TeamGroup>, UiError> {
    let now = now_ms();
    let mut teams: Vec<TeamGroup> = Vec::new();
    let mut team_slugs: Vec<String> = Vec::new();
    let unresolved = IssueQuery {
        filter: crate::store::IssueFilter {
            status: Some(IssueStatus::Unresolved),
            ..Default::default()
        },
        ..Default::default()
    };
    let all_teams = store.list_teams()?;
    for p in store.list_projects()? {
        let pref = project_ref(store, &p)?;
        let r = Resource::Project(pref);
        if !viewer.can(Action::ViewIssues, &r) {
            continue;
        }
        let count = store
            .search_issues(
                p.id,
                &unresolved,
                Page {
                    offset: 0,
                    limit: 0,
                },
            )?
            .total;
        let scope = EventScope::Project(p.id);
        let card = ProjectCard {
            url: super::issues::list_url(&p),
            settings_url: viewer
                .can(Action::EditProject, &r)
                .then(|| format!("/settings/projects/{}/{}/", p.team_slug, p.slug)),
            name: p.name.clone(),
            slug: p.slug.clone(),
            is_public: p.is_public,
            unresolved: count,
            spark_day: sparkline::svg(
                &sparkline::counts(store, scope, Window::Day, now)?,
                Window::Day.label(),
            ),
            spark_weeks: sparkline::svg(
                &sparkline::counts(store, scope, Window::TwoWeeks, now)?,
                Window::TwoWeeks.label(),
            ),
        };
        match team_slugs.iter().position(|s| *s == p.team_slug) {
            Some(i) => teams[i].projects.push(card),
            None => {
                let team = all_teams.iter().find(|t| t.id == p.team_id);
                let settings_url = team
                    .filter(|t| viewer.can(Action::ViewTeamSettings, &Resource::Team(team_ref(t))))
                    .map(|t| format!("/settings/teams/{}/", t.slug));
                team_slugs.push(p.team_slug.clone());
                teams.push(TeamGroup {
                    name: team.map(|t| t.name.clone()).unwrap_or(p.team_slug.clone()),
                    settings_url,
                    projects: vec![card],
                });
            }
        }
    }
    Ok(teams)
}

/// `GET /`.
pub async fn home(State(state): State<AppState>, viewer: Viewer) -> Result<Response, UiError> {
    let v = viewer.clone();
    let (teams, signup) = with_store(&state, move |store| {
        Ok::<_, UiError>((teams_for(store, &v)?, signup_enabled(store)?))
    })
    .await?;
    let logged_in = viewer.active_user().is_some();
    let (token, set) = if logged_in {
        (String::new(), None)
    } else {
        login_csrf(&viewer)
    };
    let t = HomePage {
        chrome: Chrome::new(if logged_in { "Projects" } else { "Sentry Lite" }, &viewer),
        logged_in,
        teams,
        login_csrf: token,
        login_error: String::new(),
        login_email: String::new(),
        next: "/".to_owned(),
        signup_enabled: signup,
    };
    Ok(with_cookie(page(&t)?, set))
}
