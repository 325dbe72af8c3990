//! The alert settings page of a project (`/settings/projects/{team}/{project}/alerts/`):
//! its rules, each with its recent deliveries and their status (sent; retrying, with the
//! last error and the next try; failed), and for who may manage them a "send a test
//! notification" button, deleting, and a new rule in the API's JSON form. Every form
//! calls the same [`crate::app::alerts`] operation as the API.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::form::Posted;
use super::session::Viewer;
use super::timefmt;
use super::{page, see_other, Chrome, UiError};
use crate::app::alerts;
use crate::app::projects::ProjectName;
use crate::app::{with_store, AppState};
use crate::store::alerts::{AlertAction, AlertRule};
use crate::store::outbox::Delivery;
use crate::store::Project;

/// The alert settings routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/settings/projects/{team}/{project}/alerts/",
        get(alerts_page).post(alerts_action),
    )
}

/// A delivery as the page shows it.
pub struct DeliveryRow {
    when: String,
    kind: String,
    title: String,
    target: &'static str,
    status: &'static str,
    attempts: i64,
    detail: String,
}

/// A rule as the page shows it.
pub struct RuleRow {
    id: i64,
    name: String,
    triggers: String,
    filters: String,
    targets: String,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Template)]
#[template(path = "project_alerts.html")]
struct AlertsPage {
    chrome: Chrome,
    project: Project,
    rules: Vec<RuleRow>,
    can_manage: bool,
    csrf: String,
}

fn delivery_row(d: &Delivery, now: i64) -> DeliveryRow {
    let detail = match d.status() {
        "retrying" => format!(
            "{} · next try {}",
            d.last_error.as_deref().unwrap_or("failed"),
            timefmt::absolute(d.next_attempt_at)
        ),
        "failed" => d.last_error.clone().unwrap_or_default(),
        "sent" => d
            .sent_at
            .map(|at| format!("sent {}", timefmt::ago(at, now)))
            .unwrap_or_default(),
        _ => "waiting for its first try".to_owned(),
    };
    DeliveryRow {
        when: timefmt::ago(d.created_at, now),
        kind: d.kind.clone(),
        title: if d.issue_id.is_some() {
            d.title.clone()
        } else {
            String::new()
        },
        target: d.target.kind(),
        status: d.status(),
        attempts: d.attempts,
        detail,
    }
}

fn rule_row(r: &AlertRule, deliveries: Vec<DeliveryRow>) -> RuleRow {
    let s = &r.spec;
    let mut triggers: Vec<String> = s.triggers.iter().map(|t| t.as_str().to_owned()).collect();
    if let Some(v) = s.volume {
        triggers.push(format!(
            "(more than {} events in {} min)",
            v.events, v.minutes
        ));
    }
    let mut filters = Vec::new();
    if let Some(e) = &s.environment {
        filters.push(format!("environment {e}"));
    }
    if let Some(l) = &s.level {
        filters.push(format!("level {l}"));
    }
    let targets: Vec<String> = s
        .actions
        .iter()
        .map(|a| match a {
            AlertAction::Webhook { url, .. } => format!("webhook {url}"),
            AlertAction::Slack { url } => format!("slack {url}"),
            AlertAction::Email { to } => format!("e-mail {}", to.join(", ")),
        })
        .collect();
    RuleRow {
        id: r.id,
        name: s.name.clone(),
        triggers: triggers.join(" "),
        filters: filters.join(", "),
        targets: targets.join("; "),
        deliveries,
    }
}

/// `GET /settings/projects/{team}/{project}/alerts/`.
pub async fn alerts_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((team, slug)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let t = with_store(&state, move |store| {
        let name = ProjectName::in_team(&team, &slug);
        let (p, rules, can_manage) = alerts::list(store, &viewer.who, name)?;
        let now = crate::clock::now_ms();
        let mut rows = Vec::with_capacity(rules.len());
        for r in &rules {
            let deliveries = alerts::deliveries(store, &viewer.who, name, r.id)?
                .iter()
                .map(|d| delivery_row(d, now))
                .collect();
            rows.push(rule_row(r, deliveries));
        }
        Ok::<_, UiError>(AlertsPage {
            chrome: Chrome::new(format!("{} · alerts", p.name), &viewer),
            rules: rows,
            can_manage,
            csrf: viewer.csrf().unwrap_or_default().to_owned(),
            project: p,
        })
    })
    .await?;
    page(&t)
}

/// `POST /settings/projects/{team}/{project}/alerts/`: `action` = `test`, `delete` (with
/// `rule`), `create` (with `rule_json`).
pub async fn alerts_action(
    State(state): State<AppState>,
    Path((team, slug)): Path<(String, String)>,
    Posted { viewer, form }: Posted,
) -> Result<Response, UiError> {
    let config = state.alerts.clone();
    let to = with_store(&state, move |store| {
        let who = &viewer.who;
        let name = ProjectName::in_team(&team, &slug);
        let rule = || {
            form.get("rule")
                .and_then(|r| r.parse::<i64>().ok())
                .ok_or_else(|| UiError::bad_request("Which rule?"))
        };
        match form.get("action").unwrap_or_default() {
            "test" => {
                alerts::send_test(store, who, name, rule()?)?;
            }
            "delete" => alerts::delete(store, who, name, rule()?)?,
            "create" => {
                let body: serde_json::Value =
                    serde_json::from_str(form.get("rule_json").unwrap_or_default())
                        .map_err(|e| UiError::bad_request(format!("Not JSON: {e}")))?;
                let body = body
                    .as_object()
                    .ok_or_else(|| UiError::bad_request("The rule must be a JSON object."))?;
                alerts::create(store, who, name, body, &config)?;
            }
            _ => return Err(UiError::bad_request("Unknown action.")),
        }
        Ok(format!("/settings/projects/{team}/{slug}/alerts/"))
    })
    .await?;
    Ok(see_other(&to))
}
