//! `GET /api/0/projects/{team}/{project}/user-feedback/`: the project's user feedback,
//! newest first, paginated like the other lists:
//! `[{"id", "message", "name", "email", "eventID", "issue": {"id", "title"} | null,
//! "dateCreated"}]`. The issue is that of the event the feedback names, once that event
//! is stored (see [`crate::store::feedback`]).

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::request::Api;
use super::{one_more, page_of, page_response, ApiError};
use crate::app::feedback;
use crate::app::projects::ProjectName;
use crate::app::AppState;
use crate::clock::rfc3339_ms;
use crate::store::feedback::StoredFeedback;

/// The feedback routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/0/projects/{team}/{project}/user-feedback/", get(list))
}

/// A feedback's JSON form.
pub fn feedback_json(f: &StoredFeedback) -> Value {
    json!({
        "id": f.id.to_string(),
        "message": f.message,
        "name": f.name,
        "email": f.email,
        "url": f.url,
        "eventID": f.event_id,
        "issue": f.issue.as_ref().map(|i| json!({"id": i.id.to_string(), "title": i.title})),
        "dateCreated": rfc3339_ms(f.received_ms),
    })
}

async fn list(
    api: Api,
    Path((team, project)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let base = api.base_url();
    api.run(move |store, who| {
        let page = page_of(&params)?;
        let name = ProjectName::in_team(&team, &project);
        let (_, rows) = feedback::list(store, who, name, one_more(page))?;
        let path = format!("/api/0/projects/{team}/{project}/user-feedback/");
        page_response(
            rows,
            |f| Ok(feedback_json(f)),
            (&base, &path, &params),
            page,
        )
    })
    .await
}
