//! The attachment endpoints of an event:
//! `GET /api/0/projects/{team}/{project}/events/{event_id}/attachments/` (the list,
//! `[{"id", "name", "size", "mimetype", "type", ...}]`) and
//! `GET .../attachments/{id}/` (one, as JSON; with `?download=1` its bytes). Readable by
//! whoever may read the event ([`crate::app::attachments`]).
//!
//! A download can never render as a page of this server: `Content-Disposition:
//! attachment` with the file name made safe, a `Content-Type` that is the sent one only
//! when it is on a short list of types browsers never run ([`safe_content_type`]; else
//! `application/octet-stream`), `X-Content-Type-Options: nosniff`, and
//! `Content-Security-Policy: sandbox; default-src 'none'; frame-ancestors 'none'`
//! (nothing runs, nothing loads, no framing) with `X-Frame-Options: DENY`.

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::header::{self, HeaderValue};
use serde_json::{json, Value};

use super::request::Api;
use crate::app::attachments;
use crate::app::projects::ProjectName;
use crate::app::AppState;
use crate::clock::rfc3339_ms;
use crate::store::attachments::StoredAttachment;

/// The attachment routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/0/projects/{team}/{project}/events/{event_id}/attachments/",
            get(list),
        )
        .route(
            "/api/0/projects/{team}/{project}/events/{event_id}/attachments/{id}/",
            get(detail),
        )
}

/// An attachment's JSON form.
pub fn attachment_json(a: &StoredAttachment) -> Value {
    json!({
        "id": a.id.to_string(),
        "event_id": a.event_id,
        "name": a.name,
        "size": a.size,
        "mimetype": a.content_type,
        "type": a.attachment_type,
        "dateCreated": rfc3339_ms(a.received_ms),
    })
}

async fn list(
    api: Api,
    Path((team, project, event_id)): Path<(String, String, String)>,
) -> Result<Response, super::ApiError> {
    api.run(move |store, who| {
        let name = ProjectName::in_team(&team, &project);
        let rows = attachments::list(store, who, name, &event_id)?;
        Ok(Json(rows.iter().map(attachment_json).collect::<Vec<_>>()))
    })
    .await
}

async fn detail(
    api: Api,
    Path((team, project, event_id, id)): Path<(String, String, String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, super::ApiError> {
    let download = params
        .get("download")
        .is_some_and(|v| !matches!(v.as_str(), "0" | "false"));
    api.run(move |store, who| {
        let name = ProjectName::in_team(&team, &project);
        let (a, bytes) = attachments::download(store, who, name, &event_id, &id)?;
        if download {
            Ok(download_response(&a, bytes))
        } else {
            Ok(Json(attachment_json(&a)).into_response())
        }
    })
    .await
}

/// Content types served as they were sent: none of them is rendered as a document that
/// runs scripts. Anything else is `application/octet-stream`.
const SAFE_TYPES: &[&str] = &[
    "application/octet-stream",
    "text/plain",
    "application/json",
    "application/x-dmp",
    "application/x-minidump",
    "application/zip",
    "application/gzip",
    "application/x-tar",
    "application/zstd",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
];

/// The `Content-Type` a download is served with: the sent type's essence (parameters
/// dropped) when it is on the safe list, else `application/octet-stream`.
pub fn safe_content_type(sent: &str) -> &'static str {
    let essence = sent
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    SAFE_TYPES
        .iter()
        .find(|t| **t == essence)
        .copied()
        .unwrap_or("application/octet-stream")
}

/// `attachment; filename="..."; filename*=UTF-8''...`: an ASCII fallback without
/// quotes, backslashes or control characters, and the exact name percent-encoded.
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | ';' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The download answer (see the module docs for its headers).
pub fn download_response(a: &StoredAttachment, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(safe_content_type(&a.content_type)),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&a.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    } else {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_that_could_render_become_octet_stream() {
        assert_eq!(safe_content_type("text/plain; charset=utf-8"), "text/plain");
        assert_eq!(safe_content_type("IMAGE/PNG"), "image/png");
        for bad in [
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/pdf",
            "text/javascript",
            "",
        ] {
            assert_eq!(safe_content_type(bad), "application/octet-stream", "{bad}");
        }
    }

    #[test]
    fn file_names_are_quoted_safely() {
        assert_eq!(
            content_disposition("app.log"),
            "attachment; filename=\"app.log\"; filename*=UTF-8''app.log"
        );
        let hostile = content_disposition("a\"; filename=x.html;\\ é.txt");
        assert!(hostile.starts_with("attachment; filename=\"a__ filename=x.html__ _.txt\";"));
        assert!(hostile.ends_with("a%22%3B%20filename%3Dx.html%3B%5C%20%C3%A9.txt"));
        assert!(HeaderValue::from_str(&hostile).is_ok());
    }
}
