//! The HTTP ingestion endpoints: `POST /api/{project_id}/envelope/`,
//! `POST /api/{project_id}/store/` and `POST /api/{project_id}/security/` (browser
//! security reports, [`super::security`]) with and without the trailing slash,
//! `POST /api/{project_id}/user-feedback/` (legacy feedback, [`super::feedback`]), their CORS
//! preflights, and the JSON answers (`{"id"}` or `{"detail"}`).

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::StatusCode;
use serde_json::json;

use sentry_client::protocol::encoding::ContentEncoding;
use sentry_client::protocol::{
    DataCategory, Envelope, Item, ItemType, RateLimit, RateLimitScope, RateLimits,
};

use super::security::{events_from_reports, ReportMeta};
use super::{auth, IngestError, Ingestor, Payload, Prepared, Source};

const ALLOW_HEADERS: &str = "Content-Type, X-Sentry-Auth, X-Requested-With, Origin, Accept, \
    Authentication, Authorization, Content-Encoding, sentry-trace, baggage, x-forwarded-for, \
    referer, transfer-encoding";

/// The ingestion routes.
pub fn routes() -> Router<Arc<Ingestor>> {
    Router::new()
        .route(
            "/api/{project_id}/envelope/",
            post(envelope).options(preflight),
        )
        .route(
            "/api/{project_id}/envelope",
            post(envelope).options(preflight),
        )
        .route("/api/{project_id}/store/", post(store).options(preflight))
        .route("/api/{project_id}/store", post(store).options(preflight))
        .route(
            "/api/{project_id}/security/",
            post(security).options(preflight),
        )
        .route(
            "/api/{project_id}/security",
            post(security).options(preflight),
        )
        .route(
            "/api/{project_id}/user-feedback/",
            post(user_feedback).options(preflight),
        )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Envelope,
    Store,
    Security,
    UserFeedback,
}

async fn envelope(
    State(ing): State<Arc<Ingestor>>,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(ing, Endpoint::Envelope, project, query, headers, body).await
}

async fn store(
    State(ing): State<Arc<Ingestor>>,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(ing, Endpoint::Store, project, query, headers, body).await
}

async fn security(
    State(ing): State<Arc<Ingestor>>,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(ing, Endpoint::Security, project, query, headers, body).await
}

/// The legacy user-feedback endpoint (`{"event_id", "name", "email", "comments"}`, DSN
/// auth): the body becomes a `user_report` item ([`super::feedback::endpoint_envelope`]).
async fn user_feedback(
    State(ing): State<Arc<Ingestor>>,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(ing, Endpoint::UserFeedback, project, query, headers, body).await
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn handle(
    ing: Arc<Ingestor>,
    endpoint: Endpoint,
    project: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let origin = auth::request_origin(
        header_str(&headers, header::ORIGIN),
        header_str(&headers, header::REFERER),
    );
    let result = ingest(&ing, endpoint, &project, query.as_deref(), &headers, body).await;
    let mut response = match result {
        Ok(id) => {
            let body = match id {
                Some(id) => json!({ "id": id }),
                None => json!({}),
            };
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(e) => {
            ing.metrics.reject(e.reason());
            tracing::debug!(status = e.status(), detail = %e, "ingestion refused");
            error_response(&e)
        }
    };
    if header_str(&headers, header::ORIGIN).is_some() {
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            origin
                .and_then(|o| HeaderValue::from_str(&o).ok())
                .unwrap_or(HeaderValue::from_static("*")),
        );
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("x-sentry-error, x-sentry-rate-limits, retry-after"),
        );
    }
    response
}

/// The error answer: JSON `{"detail": ...}`, `X-Sentry-Error`, and for 429/503 the
/// headers that make SDKs back off.
pub fn error_response(e: &IngestError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let detail = e.to_string();
    let mut response = (status, axum::Json(json!({ "detail": detail }))).into_response();
    let h = response.headers_mut();
    let printable: String = detail
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(200)
        .collect();
    if let Ok(v) = HeaderValue::from_str(&printable) {
        h.insert(HeaderName::from_static("x-sentry-error"), v);
    }
    match e {
        IngestError::RateLimited {
            retry_after,
            events,
        } => {
            h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            if let Ok(v) = HeaderValue::from_str(&key_quota(*retry_after, *events).to_string()) {
                h.insert(HeaderName::from_static("x-sentry-rate-limits"), v);
            }
        }
        IngestError::Overloaded { retry_after, .. } => {
            h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        _ => {}
    }
    response
}

/// The limit a spent key quota announces: the categories events are counted in, or
/// every category when the refused request carried no event.
fn key_quota(retry_after: u64, events: bool) -> RateLimits {
    let categories = if events {
        vec![
            DataCategory::Error,
            DataCategory::Default,
            DataCategory::Security,
        ]
    } else {
        Vec::new()
    };
    RateLimits::from(vec![RateLimit {
        retry_after: std::time::Duration::from_secs(retry_after),
        categories,
        scope: RateLimitScope::Key,
        reason_code: Some("key_quota".into()),
        ..RateLimit::default()
    }])
}

async fn ingest(
    ing: &Arc<Ingestor>,
    endpoint: Endpoint,
    project: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Option<String>, IngestError> {
    let project_id: u64 =
        project.parse().ok().filter(|id| *id > 0).ok_or_else(|| {
            IngestError::BadRequest(format!("invalid project id {project:?} in URL"))
        })?;
    let max_body = ing.limits.max_body_bytes;
    if let Some(len) =
        header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok())
    {
        if len > max_body as u64 {
            return Err(IngestError::TooLarge(format!(
                "request body of {len} bytes exceeds the limit of {max_body} bytes"
            )));
        }
    }
    let mut source = Source {
        credentials: auth::from_request(
            header_str(headers, "x-sentry-auth"),
            header_str(headers, header::AUTHORIZATION),
            query,
        )?,
        checked: None,
        url_project: Some(project_id),
        origin: auth::request_origin(
            header_str(headers, header::ORIGIN),
            header_str(headers, header::REFERER),
        ),
    };
    // Credentials in the request are checked before the body is even read. Without
    // any, a store body cannot authenticate at all, and an envelope only by its header.
    ing.precheck(&mut source)?;
    if source.credentials.is_none() && endpoint != Endpoint::Envelope {
        return Err(IngestError::Unauthorized(
            "missing authentication: send X-Sentry-Auth or ?sentry_key=".into(),
        ));
    }
    let meta = match endpoint {
        Endpoint::Security => Some(ReportMeta::from_query(
            query,
            header_str(headers, header::USER_AGENT),
        )),
        _ => None,
    };
    let encoding = match header_str(headers, header::CONTENT_ENCODING) {
        Some(v) => ContentEncoding::from_header(v)?,
        None => ContentEncoding::Identity,
    };
    let bytes = to_bytes(body, max_body).await.map_err(|_| {
        IngestError::TooLarge(format!(
            "request body exceeds the limit of {max_body} bytes"
        ))
    })?;
    // A small body from a sender whose request credentials were already checked is
    // decoded and prepared right here, within a budget of decoded bytes that bounds the
    // work (inflating, parsing and preparing at most INLINE_DECODED_BYTES takes well under
    // a millisecond): the common event pays no thread hand-off. Anything else (large
    // bodies, bodies that inflate past the budget, envelopes that name their key only in
    // their own header) is decoded on the blocking pool, holding one of the bounded
    // decode slots, so no unauthenticated or large body is inflated on a runtime thread.
    if source.checked.is_some() && bytes.len() <= INLINE_BODY_BYTES {
        match decode_and_accept(
            ing,
            endpoint,
            encoding,
            &bytes,
            source.clone(),
            meta.as_ref(),
            INLINE_DECODED_BYTES,
        ) {
            Err(IngestError::TooLarge(_)) => {}
            Ok(prepared) => return ing.commit(prepared).await,
            Err(e) => return Err(e),
        }
    }
    // The decoded size is capped at the permit's share of the byte budget; a body that
    // inflates past it is decoded again once the share has grown (see `ingest::gate`).
    let mut permit = ing.decode.acquire_for(encoding, bytes.len()).await?;
    let work = {
        let ing = ing.clone();
        move || -> Result<Prepared, IngestError> {
            let first = decode_and_accept(
                &ing,
                endpoint,
                encoding,
                &bytes,
                source.clone(),
                meta.as_ref(),
                permit.cap(),
            );
            match first {
                Err(IngestError::TooLarge(_)) if permit.can_grow() => {
                    permit.grow()?;
                    let cap = permit.cap();
                    decode_and_accept(&ing, endpoint, encoding, &bytes, source, meta.as_ref(), cap)
                }
                other => other,
            }
        }
    };
    let prepared = tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| IngestError::Internal("decoder task failed".into()))??;
    ing.commit(prepared).await
}

/// Bodies up to this size (as sent) from an already authenticated sender may be decoded
/// on the runtime thread that received them.
const INLINE_BODY_BYTES: usize = 64 * 1024;
/// The decoded-size budget of that inline decode; a body that inflates past it is
/// decoded again on the blocking pool.
const INLINE_DECODED_BYTES: usize = 256 * 1024;

/// Decodes a body (at most `cap` decoded bytes) and runs it through the ingest path.
/// Security reports (with what their request adds, `meta`) become an envelope of events.
fn decode_and_accept(
    ing: &Ingestor,
    endpoint: Endpoint,
    encoding: ContentEncoding,
    bytes: &[u8],
    mut source: Source,
    meta: Option<&ReportMeta>,
    cap: usize,
) -> Result<Prepared, IngestError> {
    match endpoint {
        Endpoint::Security => {
            let decoded = ing.decode_body_within(encoding, bytes, false, cap)?;
            let events = events_from_reports(&decoded, meta.unwrap_or(&ReportMeta::default()))?;
            let mut envelope = Envelope::new();
            for event in events {
                envelope.push(Item::json(ItemType::Event, event));
            }
            ing.accept(source, Payload::Envelope(&envelope))
        }
        Endpoint::UserFeedback => {
            let decoded = ing.decode_body_within(encoding, bytes, false, cap)?;
            let envelope = super::feedback::endpoint_envelope(&decoded)?;
            ing.accept(source, Payload::Envelope(&envelope))
        }
        Endpoint::Store => {
            let decoded = ing.decode_body_within(encoding, bytes, true, cap)?;
            ing.accept(source, Payload::Store(&decoded))
        }
        Endpoint::Envelope => {
            ing.precheck_envelope(&mut source, encoding, bytes)?;
            let decoded = ing.decode_body_within(encoding, bytes, false, cap)?;
            let envelope = ing.parse_envelope(&decoded)?;
            ing.accept(source, Payload::Envelope(&envelope))
        }
    }
}

async fn preflight(headers: HeaderMap) -> Response {
    let origin = header_str(&headers, header::ORIGIN)
        .and_then(|o| HeaderValue::from_str(o).ok())
        .unwrap_or(HeaderValue::from_static("*"));
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("3600"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_and_rate_limit_answers() {
        let r = error_response(&IngestError::Overloaded {
            retry_after: 1,
            detail: "full".into(),
        });
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert_eq!(r.headers()["x-sentry-error"], "full");
        let r = error_response(&IngestError::RateLimited {
            retry_after: 7,
            events: true,
        });
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
        assert_eq!(
            r.headers()["x-sentry-rate-limits"],
            "7:error;default;security:key:key_quota"
        );
        let r = error_response(&IngestError::RateLimited {
            retry_after: 7,
            events: false,
        });
        assert_eq!(r.headers()["x-sentry-rate-limits"], "7::key:key_quota");
    }
}
