//! Request-mode release health through the layer: with `auto_session_tracking` and
//! `SessionMode::Request`, each request is a session — ended `exited` when the response is
//! ready, `errored` when the request captured an error (a reported 5xx), `crashed` when the
//! handler panicked — and the worker sends them as `sessions` aggregates (none one by one).

mod support;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use sentry_client::protocol::{ItemType, SessionAggregates};
use sentry_client::{ClientOptions, SessionMode};
use sentry_tower::SentryLayer;
use support::{http, serve, Captured};

async fn ok() -> &'static str {
    "fine"
}

async fn fail() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn boom() -> &'static str {
    tokio::task::yield_now().await;
    panic!("request exploded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_one_aggregated_session() {
    sentry_client::panic::install_panic_hook();
    let sentry = Captured::new(
        ClientOptions::new()
            .release("web@3.1.0")
            .environment("production")
            .auto_session_tracking(true)
            .session_mode(SessionMode::Request),
    );
    let app = Router::new()
        .route("/ok", get(ok))
        .route("/fail", get(fail))
        .route("/boom", get(boom))
        .layer(SentryLayer::new().hub(sentry.hub.clone()));
    let addr = serve(app).await;
    let client = http();
    for path in ["/ok", "/ok", "/ok", "/fail", "/boom"] {
        let status = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("response")
            .status();
        assert_eq!(status.is_success(), path == "/ok", "{path}: {status}");
    }
    let flushed = {
        let c = sentry.client.clone();
        tokio::task::spawn_blocking(move || c.flush(Some(std::time::Duration::from_secs(10))))
            .await
            .expect("flush")
    };
    assert!(flushed);
    let envelopes = sentry.transport.fetch_and_clear_envelopes();
    let items: Vec<_> = envelopes.iter().flat_map(|e| e.items.iter()).collect();
    assert!(
        items.iter().all(|i| *i.ty() != ItemType::Session),
        "no single sessions"
    );
    let mut totals = (0, 0, 0);
    for item in items.iter().filter(|i| *i.ty() == ItemType::Sessions) {
        let agg = SessionAggregates::from_slice(&item.payload).expect("aggregates");
        assert_eq!(agg.attributes.release, "web@3.1.0");
        assert_eq!(agg.attributes.environment.as_deref(), Some("production"));
        for b in agg.aggregates {
            totals.0 += b.exited;
            totals.1 += b.errored;
            totals.2 += b.crashed;
        }
    }
    assert_eq!(totals, (3, 1, 1), "exited, errored, crashed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_session_tracking_no_sessions() {
    let sentry = Captured::new(ClientOptions::new().release("web@3.1.0"));
    let app = Router::new()
        .route("/ok", get(ok))
        .layer(SentryLayer::new().hub(sentry.hub.clone()));
    let addr = serve(app).await;
    let status = http()
        .get(format!("http://{addr}/ok"))
        .send()
        .await
        .expect("response")
        .status();
    assert!(status.is_success());
    let c = sentry.client.clone();
    assert!(tokio::task::spawn_blocking(move || c.flush(None))
        .await
        .expect("flush"));
    assert!(sentry.transport.fetch_and_clear_envelopes().is_empty());
}
