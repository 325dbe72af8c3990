//! With tracing on, each request of a real axum server is one `http.server` transaction:
//! named by its route, continuing the caller's trace, the parent of the handler's spans,
//! linked to the request's events, and finished with the response's status.

mod support;

use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use sentry_client::protocol::{Event, ItemType};
use sentry_client::{ClientOptions, Level};
use sentry_tower::SentryLayer;
use support::{http, serve, Captured};

async fn item(Path(id): Path<u32>) -> String {
    let span = sentry_client::configure_scope(|s| s.get_span())
        .map(|parent| parent.start_child("db.query", "SELECT item"));
    tokio::task::yield_now().await;
    sentry_client::capture_message("looked up", Level::Info);
    if let Some(span) = span {
        span.finish();
    }
    format!("item {id}")
}

async fn boom() -> &'static str {
    panic!("handler exploded")
}

fn transactions(sentry: &Captured) -> (Vec<Event>, Vec<Event>) {
    assert!(sentry.client.flush(Some(Duration::from_secs(10))), "flush");
    let envelopes = sentry.transport.fetch_and_clear_envelopes();
    let items = |ty: ItemType| -> Vec<Event> {
        envelopes
            .iter()
            .flat_map(|e| e.items.iter())
            .filter(|i| *i.ty() == ty)
            .map(|i| i.event().expect("reads"))
            .collect()
    };
    (items(ItemType::Transaction), items(ItemType::Event))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_a_transaction_continuing_the_callers_trace() {
    let sentry = Captured::new(ClientOptions::new().traces_sample_rate(1.0));
    let app = Router::new()
        .route("/items/{id}", get(item))
        .route("/boom", get(boom))
        .layer(SentryLayer::new().hub(sentry.hub.clone()));
    let addr = serve(app).await;
    let response = http()
        .get(format!("http://{addr}/items/7"))
        .header(
            "sentry-trace",
            "09e04486820349518ac7b5d2adbf6ba5-9cf635fa5b870b3a-1",
        )
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    let missing = http()
        .get(format!("http://{addr}/nowhere"))
        .send()
        .await
        .expect("response");
    assert_eq!(missing.status(), 404);
    let failed = http()
        .get(format!("http://{addr}/boom"))
        .send()
        .await
        .expect("response");
    assert_eq!(failed.status(), 500);

    let (transactions, events) = transactions(&sentry);
    assert_eq!(transactions.len(), 3, "{transactions:#?}");
    let by_name = |name: &str| {
        transactions
            .iter()
            .find(|t| t.transaction.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no transaction {name}: {transactions:#?}"))
    };
    let t = by_name("GET /items/{id}");
    let trace = &t.contexts["trace"];
    assert_eq!(trace["op"], "http.server");
    assert_eq!(trace["trace_id"], "09e04486820349518ac7b5d2adbf6ba5");
    assert_eq!(trace["parent_span_id"], "9cf635fa5b870b3a");
    assert_eq!(trace["status"], "ok");
    assert_eq!(trace["origin"], "auto.http.tower");
    assert_eq!(trace["data"]["http.response.status_code"], 200);
    let request = t.request.as_ref().expect("the request");
    assert_eq!(request.method.as_deref(), Some("GET"));
    let spans = t.spans.as_ref().and_then(|s| s.as_array()).expect("spans");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0]["op"], "db.query");
    assert_eq!(spans[0]["parent_span_id"], trace["span_id"]);

    let event = events
        .iter()
        .find(|e| e.message_text() == Some("looked up"))
        .expect("the handler's event");
    assert_eq!(event.contexts["trace"]["trace_id"], trace["trace_id"]);
    assert_eq!(event.contexts["trace"]["span_id"], trace["span_id"]);

    assert_eq!(
        by_name("GET /nowhere").contexts["trace"]["status"],
        "not_found"
    );
    assert_eq!(
        by_name("GET /boom").contexts["trace"]["status"],
        "internal_error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tracing_no_transaction_is_recorded() {
    let sentry = Captured::new(ClientOptions::new());
    let app = Router::new()
        .route("/items/{id}", get(item))
        .layer(SentryLayer::new().hub(sentry.hub.clone()));
    let addr = serve(app).await;
    let response = http()
        .get(format!("http://{addr}/items/1"))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    let (transactions, events) = transactions(&sentry);
    assert!(transactions.is_empty());
    assert_eq!(events.len(), 1, "the handler's event still goes out");
}
