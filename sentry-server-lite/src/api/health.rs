//! Release health and cron monitors of a project:
//! `GET /api/0/projects/{team}/{project}/releases/` and
//! `GET /api/0/projects/{team}/{project}/monitors/`; each calls one
//! [`crate::app::health`] operation and renders Sentry-style JSON (rates in percent,
//! times in RFC 3339).

use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::request::Api;
use super::ApiError;
use crate::app::health;
use crate::app::projects::ProjectName;
use crate::app::AppState;
use crate::clock::rfc3339_ms;
use crate::store::health::ReleaseHealth;
use crate::store::monitors::Monitor;

/// The release-health and monitor routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/0/projects/{team}/{project}/releases/",
            get(list_releases),
        )
        .route(
            "/api/0/projects/{team}/{project}/monitors/",
            get(list_monitors),
        )
}

/// A release's JSON form.
pub fn release_json(r: &ReleaseHealth) -> Value {
    json!({
        "version": r.version,
        "firstSeen": rfc3339_ms(r.first_seen),
        "lastSeen": rfc3339_ms(r.last_seen),
        "sessions": r.sessions,
        "sessionsErrored": r.errored,
        "sessionsCrashed": r.crashed,
        "sessionsAbnormal": r.abnormal,
        "users": r.users,
        "usersCrashed": r.crashed_users,
        "crashFreeSessions": r.crash_free_sessions(),
        "crashFreeUsers": r.crash_free_users(),
        "newIssues": r.new_issues,
    })
}

/// A monitor's schedule as the check-ins sent it (`null` before a configuration came).
pub fn schedule_json(m: &Monitor) -> Value {
    match m.schedule_type.as_str() {
        "crontab" => json!({"type": "crontab", "value": m.schedule_value}),
        "interval" => json!({
            "type": "interval",
            "value": m.schedule_value.parse::<u64>().ok(),
            "unit": m.schedule_unit,
        }),
        _ => Value::Null,
    }
}

/// A monitor's JSON form, with its recent runs (newest first).
pub fn monitor_json(m: &Monitor) -> Value {
    let recent: Vec<Value> = m
        .recent
        .iter()
        .map(|c| {
            json!({
                "id": c.check_in_id,
                "status": c.status,
                "environment": c.environment,
                "duration": c.duration_ms,
                "dateCreated": rfc3339_ms(c.started_at),
                "dateUpdated": rfc3339_ms(c.updated_at),
            })
        })
        .collect();
    json!({
        "slug": m.slug,
        "status": m.status,
        "schedule": schedule_json(m),
        "timezone": m.timezone,
        "checkinMargin": m.checkin_margin,
        "maxRuntime": m.max_runtime,
        "failureIssueThreshold": m.failure_threshold,
        "recoveryThreshold": m.recovery_threshold,
        "environment": m.environment,
        "lastCheckIn": m.last_checkin.map(rfc3339_ms),
        "nextCheckInExpected": m.next_expected.map(rfc3339_ms),
        "issueId": m.issue_id.map(|i| i.to_string()),
        "recent": recent,
    })
}

async fn list_releases(
    api: Api,
    Path((team, project)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (_, list) = health::releases(store, who, ProjectName::in_team(&team, &project))?;
        Ok(Json(list.iter().map(release_json).collect::<Vec<_>>()))
    })
    .await
}

async fn list_monitors(
    api: Api,
    Path((team, project)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (_, list) = health::monitors(store, who, ProjectName::in_team(&team, &project))?;
        Ok(Json(list.iter().map(monitor_json).collect::<Vec<_>>()))
    })
    .await
}
