//! Without the SDK's panic hook (`default_integrations: false`, or a hook of the app's
//! own), the layer reports a caught panic itself; and with the layer's panic catching off
//! the panic reaches the server as without the layer. This file never installs the hook.

mod support;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use sentry_client::{ClientOptions, Hub};
use sentry_tower::SentryLayer;
use support::{http, serve, Captured};
use tower::{service_fn, Layer, ServiceExt};

async fn boom() -> &'static str {
    sentry_client::configure_scope(|s| s.set_tag("where", "handler"));
    panic!("no hook here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_reports_the_panic_itself() {
    let sentry = Captured::new(ClientOptions::default());
    let app = Router::new()
        .route("/boom", get(boom))
        .layer(SentryLayer::new().hub(sentry.hub.clone()));
    let addr = serve(app).await;
    let r = http()
        .get(format!("http://{addr}/boom"))
        .send()
        .await
        .expect("response");
    assert_eq!(r.status(), 500);
    let events = sentry.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    let exc = &events[0].exception.values[0];
    assert_eq!(exc.ty.as_deref(), Some("panic"));
    assert_eq!(exc.value.as_deref(), Some("no hook here"));
    let mechanism = exc.mechanism.as_ref().expect("mechanism");
    assert_eq!(mechanism.ty.as_deref(), Some("panic"));
    assert_eq!(mechanism.handled, Some(false));
    assert_eq!(events[0].tags.get("where"), Some("handler"));
    assert_eq!(events[0].transaction.as_deref(), Some("GET /boom"));
    assert!(events[0].request.is_some());
}

/// A plain tower service (no axum): a panic in `call` itself, before any future exists.
#[tokio::test]
async fn panic_in_call_is_caught_too() {
    let sentry = Captured::new(ClientOptions::default());
    let inner = service_fn(|req: http::Request<String>| {
        if req.uri().path() == "/sync-boom" {
            panic!("panicked before returning a future");
        }
        async { Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hi"))) }
    });
    // `service_fn` runs the closure in `call`, so the panic happens there.
    let svc = SentryLayer::new().hub(sentry.hub.clone()).layer(inner);
    let req = http::Request::get("/sync-boom")
        .body(String::new())
        .expect("request");
    let response = svc.clone().oneshot(req).await.expect("response");
    assert_eq!(response.status(), 500);
    assert_eq!(response.body(), "");
    let ok = http::Request::get("/fine")
        .body(String::new())
        .expect("request");
    let response = svc.oneshot(ok).await.expect("response");
    assert_eq!(response.body(), "hi");
    let events = sentry.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        events[0].exception.values[0].value.as_deref(),
        Some("panicked before returning a future")
    );
    assert_eq!(events[0].transaction.as_deref(), Some("GET /sync-boom"));
}

#[tokio::test]
async fn with_catching_off_the_panic_propagates() {
    let sentry = Captured::new(ClientOptions::default());
    let svc = SentryLayer::new()
        .hub(sentry.hub.clone())
        .catch_panics(false)
        .layer(service_fn(|_req: http::Request<String>| async {
            if true {
                panic!("let it unwind");
            }
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        }));
    let joined = tokio::spawn(svc.oneshot(http::Request::new(String::new()))).await;
    assert!(joined.expect_err("the task panicked").is_panic());
    // No hook and no catching: nothing reported by the layer.
    assert!(sentry.events().is_empty());
}

#[tokio::test]
async fn disabled_client_only_catches_panics() {
    // A hub without a client: no request hub is made, panics still answer 500.
    let hub = Arc::new(Hub::new(None, Default::default()));
    let svc = SentryLayer::new()
        .hub(hub)
        .layer(service_fn(|_req: http::Request<String>| async {
            if true {
                panic!("no client");
            }
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        }));
    let response = svc
        .oneshot(http::Request::new(String::new()))
        .await
        .expect("response");
    assert_eq!(response.status(), 500);
}
