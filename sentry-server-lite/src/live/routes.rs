//! The Spotlight listener's routes: `POST /stream` (and `POST /api/{id}/envelope/`)
//! take envelopes as Spotlight's sidecar does (any sender, `Content-Encoding` gzip,
//! deflate or br, at most [`MAX_BODY`] decoded), `GET /stream` streams them back as
//! server-sent events in the sidecar's shape (event name = the content type, with
//! `;base64` and base64 data under `?base64`), so the Spotlight UI can connect; `/live/`
//! is the live page, fed by `GET /live/events` (one JSON summary per committed event or
//! log, and per envelope posted here).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use futures_util::stream::{self, Stream};
use sentry_client::protocol::encoding::{decompress, ContentEncoding};
use sentry_client::protocol::{Envelope, Limits};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::{LiveHub, Message, Subscription};

/// The largest envelope taken (decoded).
pub const MAX_BODY: usize = 20 * 1024 * 1024;

const PAGE: &str = include_str!("../../templates/live.html");
const PAGE_JS: &str = include_str!("../../templates/assets/live.js");

/// The routes, over the hub.
pub fn routes(hub: Arc<LiveHub>) -> Router {
    Router::new()
        .route("/stream", get(stream).post(receive).options(preflight))
        .route("/api/{id}/envelope/", post(receive).options(preflight))
        .route("/live/", get(page))
        .route("/live/live.js", get(page_js))
        .route("/live/events", get(live_events))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(hub)
}

fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, content-encoding, x-sentry-auth"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    r
}

async fn preflight() -> Response {
    cors(StatusCode::NO_CONTENT.into_response())
}

/// `POST /stream`: an envelope for the subscribers.
async fn receive(State(hub): State<Arc<LiveHub>>, headers: HeaderMap, body: Bytes) -> Response {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let encoding = match ContentEncoding::from_header(text(header::CONTENT_ENCODING)) {
        Ok(e) => e,
        Err(e) => return bad(&e.to_string()),
    };
    let body = match encoding {
        ContentEncoding::Identity => body,
        other => match decompress(other, &body, MAX_BODY) {
            Ok(b) => Bytes::from(b),
            Err(e) => return bad(&e.to_string()),
        },
    };
    let content_type = match text(header::CONTENT_TYPE).split(';').next().map(str::trim) {
        Some(t) if !t.is_empty() && t != "text/plain" => t.to_ascii_lowercase(),
        _ => "application/x-sentry-envelope".to_owned(),
    };
    if hub.is_watched() {
        let items: Vec<String> = Envelope::from_slice(&body, &Limits::default())
            .map(|e| e.items.iter().map(|i| i.ty().as_str().to_owned()).collect())
            .unwrap_or_default();
        let summary = json!({"type": "envelope", "items": items, "bytes": body.len()});
        hub.publish(Message::Committed(summary.to_string()));
        hub.publish(Message::Envelope { content_type, body });
    }
    cors(StatusCode::OK.into_response())
}

fn bad(why: &str) -> Response {
    let body = axum::Json(json!({ "detail": why }));
    cors((StatusCode::BAD_REQUEST, body).into_response())
}

fn busy() -> Response {
    let mut r = (StatusCode::SERVICE_UNAVAILABLE, "too many live subscribers").into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    cors(r)
}

/// The events of a subscription that `pick` maps, until it lags or the hub goes.
fn events(
    sub: Subscription,
    pick: impl Fn(&Message) -> Option<Event> + Send + 'static,
) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    stream::unfold((sub, pick), |(mut sub, pick)| async move {
        loop {
            if *sub.closed.borrow() {
                return None;
            }
            let received = tokio::select! {
                r = sub.rx.recv() => r,
                changed = sub.closed.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => return None,
                },
            };
            match received {
                Ok(m) => {
                    if let Some(e) = pick(&m) {
                        return Some((Ok(e), (sub, pick)));
                    }
                }
                // A subscriber that fell behind is dropped: its stream ends.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return None,
            }
        }
    })
}

fn keep_alive() -> KeepAlive {
    KeepAlive::new().interval(Duration::from_secs(15))
}

#[derive(serde::Deserialize)]
struct StreamQuery {
    base64: Option<String>,
}

/// `GET /stream`: the posted envelopes, as Spotlight's sidecar streams them.
async fn stream(State(hub): State<Arc<LiveHub>>, Query(q): Query<StreamQuery>) -> Response {
    let Some(sub) = hub.subscribe() else {
        return busy();
    };
    let b64 = q.base64.is_some();
    let s = events(sub, move |m| match m {
        Message::Envelope { content_type, body } if b64 => Some(
            Event::default()
                .event(format!("{content_type};base64"))
                .data(base64::engine::general_purpose::STANDARD.encode(body)),
        ),
        Message::Envelope { content_type, body } => Some(
            Event::default()
                .event(content_type.as_str())
                .data(String::from_utf8_lossy(body)),
        ),
        Message::Committed(_) => None,
    });
    cors(Sse::new(s).keep_alive(keep_alive()).into_response())
}

/// `GET /live/events`: the live page's feed.
async fn live_events(State(hub): State<Arc<LiveHub>>) -> Response {
    let Some(sub) = hub.subscribe() else {
        return busy();
    };
    let s = events(sub, |m| match m {
        Message::Committed(json) => Some(Event::default().event("item").data(json.as_str())),
        Message::Envelope { .. } => None,
    });
    Sse::new(s).keep_alive(keep_alive()).into_response()
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ],
        PAGE,
    )
        .into_response()
}

async fn page_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAGE_JS,
    )
        .into_response()
}
