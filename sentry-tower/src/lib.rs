//! `sentry-tower`: one [`SentryLayer`] and every failed request of a tower service (axum,
//! hyper, tonic) is reported with its request, each request isolated from the others.
//!
//! ```
//! use axum::{routing::get, Router};
//! use sentry_client as sentry;
//! use sentry_tower::SentryLayer;
//! use tower::ServiceExt;
//!
//! async fn checkout() -> &'static str {
//!     sentry::configure_scope(|s| s.set_tag("cart", "7")); // this request only
//!     panic!("payment gateway returned garbage");
//! }
//!
//! # let events = sentry::test::with_captured_events(|| {
//! // In a program: let _guard = sentry::init("https://KEY@o1.ingest.sentry.io/42");
//! let app = Router::new()
//!     .route("/checkout/{cart}", get(checkout))
//!     .layer(SentryLayer::new());
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! # rt.block_on(async {
//! let request = http::Request::get("/checkout/7?step=pay")
//!     .header("host", "shop.example")
//!     .header("authorization", "Bearer secret")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 500);
//! # });
//! # });
//! # assert_eq!(events.len(), 1);
//! # let event = &events[0];
//! # assert_eq!(event.transaction.as_deref(), Some("GET /checkout/{cart}"));
//! # assert_eq!(event.tags.get("cart"), Some("7"));
//! # let request = event.request.as_ref().unwrap();
//! # assert_eq!(request.url.as_deref(), Some("http://shop.example/checkout/7"));
//! # assert_eq!(request.headers.get("Authorization"), Some("[Filtered]"));
//! # assert_eq!(event.exception.values[0].mechanism.as_ref().unwrap().ty.as_deref(), Some("panic"));
//! ```
//!
//! For each request the layer:
//!
//! - **forks a hub** from the current one, lazily
//!   ([`Hub::fork_lazily`](sentry_client::Hub::fork_lazily): the scope is copied only when
//!   the handler first changes it), and makes it current while the inner service's `call`
//!   runs and on every poll of the response future. Scope changes in a handler (`configure_scope`, breadcrumbs, `with_scope`)
//!   follow the request across `.await` and runtime threads and never reach another request,
//!   even one handled on the same worker thread at the same time;
//! - **attaches the request** to events captured during it: method, URL, query string,
//!   headers; the client IP (`X-Forwarded-For`, `X-Real-IP`, axum's `ConnectInfo` or a
//!   `SocketAddr` extension) only with
//!   [`send_default_pii`](sentry_client::ClientOptions::send_default_pii). Sensitive headers
//!   and query parameters are always replaced by `[Filtered]` (see
//!   [`SentryLayer::scrub_header`]); the body is never read;
//! - **names the transaction** `METHOD route` from axum's `MatchedPath` (feature
//!   `axum-matched-path`, on by default; add the layer with `Router::layer` so that it runs
//!   after routing), else `METHOD path`;
//! - adds an **`http` breadcrumb** for the request to its events;
//! - **continues the caller's trace** from `sentry-trace` / `baggage` (see [`trace`]), else
//!   gives the request a fresh trace id shared by its events;
//! - **records a performance transaction** (`http.server`, named like its events) when the
//!   client traces (`traces_sample_rate` above zero or a `traces_sampler`) and samples the
//!   request: it is the scope's span while the request runs (spans started in the handler,
//!   and the tracing layer's, are its children; the request's events carry its trace) and
//!   finishes with the response's status (`ok`, `not_found`, `internal_error`, ...);
//! - **catches a panic** in the handler, reports it (`mechanism.type = "panic"`, `handled:
//!   false`) and answers `500`. When the SDK's panic hook is installed (`init` does that),
//!   the hook's event, which carries the panic's stack, is the one report; the layer
//!   reports only when no hook did, so a panic is one event either way;
//! - **reports 5xx responses** (configurable with
//!   [`SentryLayer::capture_server_errors_if`]) unless an event was already captured during
//!   the request, so a failure is reported once.
//!
//! **Cost.** When nothing goes wrong, a request pays for two allocations (the lazy hub and
//! the kept request: method, URI, matched route and a clone of the header map, whose
//! values are shared buffers) and, per poll, a reference-count increment and a
//! thread-local swap. The transaction name, trace context and request processor are made
//! only when the handler changes the scope or an event is captured; formatting the request
//! into the event, scrubbing and the breadcrumb happen on the SDK's background worker, and
//! only for requests that produced an event. When the client is disabled (no DSN) the
//! layer only catches panics. Figures: `BENCHMARKS.md`.
#![warn(missing_docs)]

mod layer;
mod request;
mod service;
pub mod trace;
mod transaction;

pub use crate::layer::{SentryLayer, StatusFilter};
pub use crate::request::FILTERED;
pub use crate::service::{ResponseFuture, SentryService};
