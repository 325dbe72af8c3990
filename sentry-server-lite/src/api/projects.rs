//! Administration endpoints for projects and their keys: creating a project, its
//! details, settings, owner and team, deleting it; listing, creating, revoking and
//! rate-limiting its keys. Each handler parses the body, calls the [`crate::app`]
//! operation (which checks every action the request implies before changing anything
//! and audits the change) and renders the result.

use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, put};
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{json, Value};

use super::request::{bool_field, object, str_field, Api, Body, JsonObject};
use super::{json as shapes, ApiError};
use crate::app::keys::KeyChanges;
use crate::app::projects::{NewOwner, ProjectChanges, ProjectName};
use crate::app::{keys, projects, AppState};
use crate::policy::Action;
use crate::store::accounts::ProjectUpdate;
use crate::store::{Project, ProjectKey, RateLimit, ScrubSettings};

/// The project and key routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/0/teams/{team}/projects/",
            axum::routing::post(create_project),
        )
        .route(
            "/api/0/projects/{team}/{project}/",
            get(project_detail)
                .put(update_project)
                .delete(delete_project),
        )
        .route(
            "/api/0/projects/{team}/{project}/keys/",
            get(list_keys).post(create_key),
        )
        .route(
            "/api/0/projects/{team}/{project}/keys/{key}/",
            put(update_key).delete(revoke_key),
        )
}

async fn create_project(
    api: Api,
    Path(team): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        // A missing slug is refused after the policy's answer (`AppError::Required`).
        let slug = str_field(&body, "slug")?.unwrap_or_default();
        let name = str_field(&body, "name")?;
        let owner = match str_field(&body, "owner")? {
            Some(email) => NewOwner::User(email),
            None => NewOwner::Nobody,
        };
        let (_, project, _) = projects::create(store, who, &team, slug, name, owner)?;
        Ok((StatusCode::CREATED, Json(shapes::project(&project))))
    })
    .await
}

async fn project_detail(api: Api, Path(project): Path<Slugs>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let (p, _) = projects::checked(store, who, name(&project), Action::ViewIssues)?;
        let mut v = with_scrubbing(shapes::project(&p), &p);
        v["owner"] = json!(p.owner_id.map(|o| o.to_string()));
        Ok(Json(v))
    })
    .await
}

async fn update_project(
    api: Api,
    Path(project): Path<Slugs>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        let origins = match body.get("allowedOrigins") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|i| i.as_str().map(|s| s.trim().to_owned()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| ApiError::bad_request("allowedOrigins must be strings"))?,
            ),
            Some(_) => return Err(ApiError::bad_request("allowedOrigins must be an array")),
        };
        let scrubbing = scrubbing_changes(&body, || {
            Ok(projects::find(store, name(&project))?.scrubbing)
        })?;
        let changes = ProjectChanges {
            settings: ProjectUpdate {
                name: str_field(&body, "name")?.map(str::to_owned),
                is_public: bool_field(&body, "isPublic")?,
                allowed_origins: origins,
                scrubbing,
                store_attachments: bool_field(&body, "storeAttachments")?,
            },
            owner_email: str_field(&body, "owner")?,
            team: str_field(&body, "team")?,
        };
        let p = projects::update(store, who, name(&project), changes).map_err(|e| {
            ApiError::or_expected(
                e,
                "expected name, isPublic, allowedOrigins, dataScrubber, sensitiveFields, \
                 safeFields, scrubIPAddresses, storeAttachments, owner and/or team",
            )
        })?;
        Ok(Json(with_scrubbing(shapes::project(&p), &p)))
    })
    .await
}

async fn delete_project(api: Api, Path(project): Path<Slugs>) -> Result<Response, ApiError> {
    api.run(move |store, who| {
        projects::delete(store, who, name(&project))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// The scrubbing fields of a project's JSON, named as in Sentry's project API.
fn with_scrubbing(mut v: Value, p: &Project) -> Value {
    let s = &p.scrubbing;
    v["dataScrubber"] = json!(s.data_scrubber);
    v["sensitiveFields"] = json!(s.sensitive_fields);
    v["safeFields"] = json!(s.safe_fields);
    v["scrubIPAddresses"] = json!(s.scrub_ip_addresses);
    v["storeAttachments"] = json!(p.store_attachments);
    v
}

/// The scrubbing settings a PUT asks for: the `current` ones with the fields it gives
/// changed; `None` when it gives none.
fn scrubbing_changes(
    body: &serde_json::Map<String, Value>,
    current: impl FnOnce() -> Result<ScrubSettings, ApiError>,
) -> Result<Option<ScrubSettings>, ApiError> {
    const FIELDS: [&str; 4] = [
        "dataScrubber",
        "sensitiveFields",
        "safeFields",
        "scrubIPAddresses",
    ];
    if !FIELDS.iter().any(|f| body.contains_key(*f)) {
        return Ok(None);
    }
    let list = |name: &str| -> Result<Option<Vec<String>>, ApiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(|s| s.trim().to_owned()))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{name} must be an array of strings"))
                }),
            Some(_) => Err(ApiError::bad_request(format!(
                "{name} must be an array of strings"
            ))),
        }
    };
    let (on, sensitive, safe, ips) = (
        bool_field(body, "dataScrubber")?,
        list("sensitiveFields")?,
        list("safeFields")?,
        bool_field(body, "scrubIPAddresses")?,
    );
    let mut s = current()?;
    if let Some(on) = on {
        s.data_scrubber = on;
    }
    if let Some(l) = sensitive {
        s.sensitive_fields = l;
    }
    if let Some(l) = safe {
        s.safe_fields = l;
    }
    if let Some(ips) = ips {
        s.scrub_ip_addresses = ips;
    }
    Ok(Some(s))
}

/// A project's address: `{team}/{project}`.
type Slugs = (String, String);

/// The project named by a [`Slugs`] address.
fn name((team, slug): &Slugs) -> ProjectName<'_> {
    ProjectName::in_team(team, slug)
}

fn key_json(base_url: &str, k: &ProjectKey, with_secret: bool) -> Value {
    let (scheme, host) = base_url.split_once("://").unwrap_or(("http", base_url));
    let host = host.trim_end_matches('/');
    let mut v = json!({
        "id": k.id.to_string(),
        "name": k.label,
        "public": k.public_key,
        "isActive": k.is_active,
        "rateLimit": k.rate_limit.map(|l| json!({"count": l.count, "window": l.window_secs})),
        "projectId": k.project_id,
        "dsn": { "public": format!("{scheme}://{}@{host}/{}", k.public_key, k.project_id) },
    });
    if with_secret {
        v["secret"] = json!(k.secret_key);
        v["dsn"]["secret"] = json!(format!(
            "{scheme}://{}:{}@{host}/{}",
            k.public_key, k.secret_key, k.project_id
        ));
    }
    v
}

async fn list_keys(api: Api, Path(project): Path<Slugs>) -> Result<Response, ApiError> {
    let base = api.base_url();
    api.run(move |store, who| {
        let list = keys::list(store, who, name(&project))?;
        let keys: Vec<Value> = list
            .keys
            .iter()
            .map(|k| key_json(&base, k, list.with_secrets))
            .collect();
        Ok(Json(keys))
    })
    .await
}

async fn create_key(
    api: Api,
    Path(project): Path<Slugs>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let base = api.base_url();
    api.run(move |store, who| {
        let label = str_field(&body, "name")?.unwrap_or("Default");
        let (_, key) = keys::create(store, who, name(&project), label)?;
        Ok((StatusCode::CREATED, Json(key_json(&base, &key, true))))
    })
    .await
}

/// A key id from the address: keys are named by id here (anything else finds no key,
/// which answers 404 once the policy has answered).
fn key_id(key: &str) -> String {
    key.parse::<i64>()
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// What a key's PUT asks for.
fn key_changes(body: &serde_json::Map<String, Value>) -> Result<KeyChanges, ApiError> {
    let active = bool_field(body, "isActive")?;
    let rate_limit = match body.get("rateLimit") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(v) => {
            let count = v.get("count").and_then(Value::as_u64);
            let window = v.get("window").and_then(Value::as_u64);
            match (count, window) {
                (Some(count), Some(window_secs)) if window_secs > 0 => {
                    Some(Some(RateLimit { count, window_secs }))
                }
                _ => {
                    return Err(ApiError::bad_request(
                        "rateLimit must be {\"count\": n, \"window\": seconds > 0} or null",
                    ))
                }
            }
        }
    };
    Ok(KeyChanges { active, rate_limit })
}

async fn update_key(
    api: Api,
    Path((team, slug, key)): Path<(String, String, String)>,
    body: Body,
) -> Result<Response, ApiError> {
    let changes = object(body).and_then(|b| key_changes(&b));
    let base = api.base_url();
    let key = key_id(&key);
    api.run(move |store, who| {
        let name = ProjectName::in_team(&team, &slug);
        let changes = match changes {
            Ok(changes) => changes,
            Err(e) => {
                // As for every request: the policy's answer and a missing key come first.
                let (p, _) = projects::checked(store, who, name, Action::ManageKeys)?;
                keys::find(store, &p, &key)?;
                return Err(e);
            }
        };
        let (_, k) = keys::update(store, who, name, &key, changes)
            .map_err(|e| ApiError::or_expected(e, "expected isActive and/or rateLimit"))?;
        Ok(Json(key_json(&base, &k, true)))
    })
    .await
}

async fn revoke_key(
    api: Api,
    Path((team, slug, key)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let key = key_id(&key);
    let changes = KeyChanges {
        active: Some(false),
        rate_limit: None,
    };
    api.run(move |store, who| {
        keys::update(
            store,
            who,
            ProjectName::in_team(&team, &slug),
            &key,
            changes,
        )?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
