//! The alert-rule endpoints of a project: list and create
//! (`/api/0/projects/{team}/{project}/alert-rules/`), read, replace and delete one
//! (`.../alert-rules/{id}/`), its recent deliveries (`.../{id}/deliveries/`) and a test
//! notification (`POST .../{id}/test/`). Each handler calls one [`crate::app::alerts`]
//! operation and renders JSON; webhook secrets are shown only to who may manage rules.

use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{json, Value};

use super::request::{Api, JsonObject};
use super::ApiError;
use crate::alerts::iso_time as timefmt_iso;
use crate::app::alerts;
use crate::app::projects::ProjectName;
use crate::app::AppState;
use crate::store::alerts::{AlertAction, AlertRule};
use crate::store::outbox::Delivery;

/// The alert routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/0/projects/{team}/{project}/alert-rules/",
            get(list_rules).post(create_rule),
        )
        .route(
            "/api/0/projects/{team}/{project}/alert-rules/{id}/",
            get(rule_detail).put(update_rule).delete(delete_rule),
        )
        .route(
            "/api/0/projects/{team}/{project}/alert-rules/{id}/deliveries/",
            get(rule_deliveries),
        )
        .route(
            "/api/0/projects/{team}/{project}/alert-rules/{id}/test/",
            post(test_rule),
        )
}

type RulePath = (String, String, String);

fn parts((team, slug, id): &RulePath) -> Result<(ProjectName<'_>, i64), ApiError> {
    let id = id.parse::<i64>().map_err(|_| ApiError::not_found())?;
    Ok((ProjectName::in_team(team, slug), id))
}

/// A rule's JSON form (the request's shape, with `id` and dates).
pub fn rule_json(r: &AlertRule, with_secrets: bool) -> Value {
    let actions: Vec<Value> = r
        .spec
        .actions
        .iter()
        .map(|a| match a {
            AlertAction::Webhook { url, secret } => {
                let mut v = json!({"type": "webhook", "url": url, "hasSecret": secret.is_some()});
                if with_secrets {
                    if let Some(s) = secret {
                        v["secret"] = json!(s);
                    }
                }
                v
            }
            AlertAction::Slack { url } => json!({"type": "slack", "url": url}),
            AlertAction::Email { to } => json!({"type": "email", "to": to}),
        })
        .collect();
    json!({
        "id": r.id.to_string(),
        "name": r.spec.name,
        "triggers": r.spec.triggers.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "environment": r.spec.environment,
        "level": r.spec.level,
        "volume": r.spec.volume.map(|v| json!({"events": v.events, "minutes": v.minutes})),
        "actions": actions,
        "frequencyMinutes": r.spec.frequency_minutes,
        "dateCreated": timefmt_iso(r.created_at),
        "dateUpdated": timefmt_iso(r.updated_at),
    })
}

/// A delivery's JSON form.
pub fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.delivery_id,
        "action": d.kind,
        "type": d.target.kind(),
        "status": d.status(),
        "attempts": d.attempts,
        "lastError": d.last_error,
        "nextAttempt": (d.status() == "retrying").then(|| timefmt_iso(d.next_attempt_at)),
        "issueId": d.issue_id.map(|i| i.to_string()),
        "eventId": d.event_id,
        "dateCreated": timefmt_iso(d.created_at),
        "dateSent": d.sent_at.map(timefmt_iso),
    })
}

async fn list_rules(
    api: Api,
    Path((team, project)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (_, rules, manage) = alerts::list(store, who, ProjectName::in_team(&team, &project))?;
        let items: Vec<Value> = rules.iter().map(|r| rule_json(r, manage)).collect();
        Ok(Json(items))
    })
    .await
}

async fn create_rule(
    api: Api,
    Path((team, project)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let config = api.state.alerts.clone();
    api.run(move |store, who| {
        let name = ProjectName::in_team(&team, &project);
        let rule = alerts::create(store, who, name, &body, &config)?;
        Ok((StatusCode::CREATED, Json(rule_json(&rule, true))))
    })
    .await
}

async fn rule_detail(api: Api, Path(path): Path<RulePath>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (name, id) = parts(&path)?;
        let (rule, manage) = alerts::get(store, who, name, id)?;
        Ok(Json(rule_json(&rule, manage)))
    })
    .await
}

async fn update_rule(
    api: Api,
    Path(path): Path<RulePath>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let config = api.state.alerts.clone();
    api.run(move |store, who| {
        let (name, id) = parts(&path)?;
        let rule = alerts::update(store, who, name, id, &body, &config)?;
        Ok(Json(rule_json(&rule, true)))
    })
    .await
}

async fn delete_rule(api: Api, Path(path): Path<RulePath>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (name, id) = parts(&path)?;
        alerts::delete(store, who, name, id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn rule_deliveries(api: Api, Path(path): Path<RulePath>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (name, id) = parts(&path)?;
        let items: Vec<Value> = alerts::deliveries(store, who, name, id)?
            .iter()
            .map(delivery_json)
            .collect();
        Ok(Json(items))
    })
    .await
}

async fn test_rule(api: Api, Path(path): Path<RulePath>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (name, id) = parts(&path)?;
        alerts::send_test(store, who, name, id)?;
        Ok((StatusCode::ACCEPTED, Json(json!({"queued": true}))))
    })
    .await
}
