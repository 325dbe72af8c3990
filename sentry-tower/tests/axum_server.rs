//! A real axum server on an ephemeral port, with the SDK's panic hook installed (as
//! `init` does), reporting through the test transport.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use sentry_client::{ClientOptions, Hub, Level};
use sentry_tower::{SentryLayer, FILTERED};
use support::{http, serve, Captured};

async fn ok() -> &'static str {
    "fine"
}

async fn boom(Path(id): Path<u32>) -> &'static str {
    sentry_client::configure_scope(|s| s.set_tag("order", id));
    tokio::task::yield_now().await;
    if id > 0 {
        panic!("order {id} exploded");
    }
    "unreachable for ids > 0"
}

async fn fail() -> (StatusCode, &'static str) {
    (StatusCode::INTERNAL_SERVER_ERROR, "database down")
}

async fn bad_gateway() -> StatusCode {
    StatusCode::BAD_GATEWAY
}

async fn reported_fail() -> StatusCode {
    let err = "x".parse::<u8>().expect_err("not a number");
    sentry_client::capture_error(&err);
    StatusCode::INTERNAL_SERVER_ERROR
}

fn app(layer: SentryLayer) -> Router {
    Router::new()
        .route("/ok", get(ok))
        .route("/orders/{id}/boom", get(boom))
        .route("/fail", get(fail))
        .route("/bad-gateway", get(bad_gateway))
        .route("/reported-fail", get(reported_fail))
        .layer(layer)
}

async fn start(options: ClientOptions) -> (Captured, SocketAddr) {
    sentry_client::panic::install_panic_hook();
    let sentry = Captured::new(options);
    let addr = serve(app(SentryLayer::new().hub(sentry.hub.clone()))).await;
    (sentry, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_route_gives_one_event_with_the_request_and_a_500() {
    let (sentry, addr) = start(ClientOptions::default()).await;
    let response = http()
        .get(format!("http://{addr}/orders/42/boom?page=3&api_key=k123"))
        .header("Authorization", "Bearer top-secret")
        .header("Cookie", "session=abc")
        .header("X-Api-Key", "k123")
        .header("X-Request-Id", "r-1")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 500);

    let events = sentry.events();
    assert_eq!(events.len(), 1, "exactly one event: {events:#?}");
    let event = &events[0];
    let exc = &event.exception.values[0];
    assert_eq!(exc.ty.as_deref(), Some("panic"));
    assert_eq!(exc.value.as_deref(), Some("order 42 exploded"));
    let mechanism = exc.mechanism.as_ref().expect("mechanism");
    assert_eq!(mechanism.ty.as_deref(), Some("panic"));
    assert_eq!(mechanism.handled, Some(false));
    // The hook reported it, so the event has the panic's stack.
    assert!(
        exc.stacktrace
            .as_ref()
            .is_some_and(|s| !s.frames.is_empty()),
        "the hook's event carries the stack"
    );
    assert_eq!(event.transaction.as_deref(), Some("GET /orders/{id}/boom"));
    assert_eq!(event.tags.get("order"), Some("42"));

    let request = event.request.as_ref().expect("request");
    assert_eq!(request.method.as_deref(), Some("GET"));
    assert_eq!(
        request.url.as_deref(),
        Some(format!("http://{addr}/orders/42/boom").as_str())
    );
    assert_eq!(
        request.query_string,
        Some(format!("page=3&api_key={FILTERED}").into())
    );
    for name in ["Authorization", "Cookie", "X-Api-Key"] {
        assert_eq!(request.headers.get(name), Some(FILTERED), "{name}");
    }
    assert_eq!(request.headers.get("X-Request-Id"), Some("r-1"));
    let json = String::from_utf8(event.to_json_vec()).expect("utf-8");
    assert!(!json.contains("top-secret") && !json.contains("k123"));
    assert!(!json.contains("session=abc"));
    // No PII by default: no client IP anywhere.
    assert!(request.env.get("REMOTE_ADDR").is_none());
    assert!(event
        .user
        .as_ref()
        .and_then(|u| u.ip_address.as_ref())
        .is_none());
    // The request breadcrumb.
    let crumb = event
        .breadcrumbs
        .iter()
        .find(|c| c.ty.as_deref() == Some("http"))
        .expect("request breadcrumb");
    assert_eq!(crumb.message.as_deref(), Some("GET /orders/42/boom"));
    assert_eq!(crumb.data["method"], "GET");
    // A fresh trace for the request.
    let trace = &event.contexts["trace"];
    assert_eq!(trace["trace_id"].as_str().map(str::len), Some(32));

    // The server keeps serving after a panic.
    let again = http()
        .get(format!("http://{addr}/ok"))
        .send()
        .await
        .expect("ok");
    assert_eq!(again.status(), 200);
    assert!(sentry.events().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_routes_give_one_event_each() {
    let (sentry, addr) = start(ClientOptions::default()).await;
    let client = http();
    let r = client
        .get(format!("http://{addr}/fail"))
        .send()
        .await
        .expect("fail");
    assert_eq!(r.status(), 500);
    assert_eq!(r.text().await.expect("body"), "database down");
    let events = sentry.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(
        event.message_text(),
        Some("GET /fail answered 500 Internal Server Error")
    );
    assert_eq!(event.level, Some(Level::Error));
    assert_eq!(event.tags.get("http.status_code"), Some("500"));
    assert_eq!(event.contexts["response"]["status_code"], 500);
    assert_eq!(event.transaction.as_deref(), Some("GET /fail"));
    assert_eq!(
        event.request.as_ref().and_then(|r| r.method.as_deref()),
        Some("GET")
    );

    // A handler that reported its own error: still one event, the handler's.
    let r = client
        .get(format!("http://{addr}/reported-fail"))
        .send()
        .await
        .expect("reported-fail");
    assert_eq!(r.status(), 500);
    let events = sentry.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        events[0].exception.values[0].ty.as_deref(),
        Some("ParseIntError")
    );
    assert!(events[0].request.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_and_not_found_give_nothing() {
    let (sentry, addr) = start(ClientOptions::default()).await;
    let client = http();
    for path in ["/ok", "/ok?x=1", "/nope", "/orders/0/boom"] {
        let r = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("response");
        assert!(
            r.status() == 200 || r.status() == 404,
            "{path}: {}",
            r.status()
        );
    }
    assert!(sentry.events().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_filter_is_configurable() {
    sentry_client::panic::install_panic_hook();
    let sentry = Captured::new(ClientOptions::default());
    let layer = SentryLayer::new()
        .hub(sentry.hub.clone())
        .capture_server_errors_if(|s| s == StatusCode::BAD_GATEWAY);
    let addr = serve(app(layer)).await;
    let client = http();
    for path in ["/fail", "/bad-gateway"] {
        client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("response");
    }
    let events = sentry.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(
        events[0].message_text(),
        Some("GET /bad-gateway answered 502 Bad Gateway")
    );

    let sentry = Captured::new(ClientOptions::default());
    let layer = SentryLayer::new()
        .hub(sentry.hub.clone())
        .capture_server_errors(false);
    let addr = serve(app(layer)).await;
    client
        .get(format!("http://{addr}/fail"))
        .send()
        .await
        .expect("response");
    assert!(sentry.events().is_empty());
}

async fn tagged(Path(n): Path<u32>) -> String {
    sentry_client::configure_scope(|s| s.set_tag("req", n));
    sentry_client::add_breadcrumb(sentry_client::Breadcrumb {
        message: Some(format!("crumb {n}")),
        ..Default::default()
    });
    // Interleave with the other requests, also across worker threads.
    for i in 0..3 {
        if (n + i) % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(u64::from(n % 5))).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
    let seen = Hub::current().configure_scope(|s| s.tag("req").map(str::to_owned));
    sentry_client::capture_message(&format!("request {n}"), Level::Info);
    seen.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_see_each_others_scope() {
    sentry_client::panic::install_panic_hook();
    let sentry = Captured::new(ClientOptions::default());
    let app = Router::new()
        .route("/tag/{n}", get(tagged))
        .layer(SentryLayer::new().hub(sentry.hub.clone()));
    let addr = serve(app).await;
    let client = http();
    const N: u32 = 400;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..N {
        let client = client.clone();
        tasks.spawn(async move {
            let body = client
                .get(format!("http://{addr}/tag/{n}"))
                .send()
                .await
                .expect("response")
                .text()
                .await
                .expect("body");
            (n, body)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (n, body) = done.expect("task");
        assert_eq!(body, n.to_string(), "request {n} saw another request's tag");
    }
    let events = sentry.events();
    assert_eq!(events.len(), N as usize);
    for event in &events {
        let text = event.message_text().expect("message");
        let n = text.strip_prefix("request ").expect("own message");
        assert_eq!(event.tags.get("req"), Some(n), "{text}");
        assert_eq!(event.tags.len(), 1, "{text}: {:?}", event.tags);
        let crumbs: Vec<_> = event
            .breadcrumbs
            .iter()
            .filter_map(|c| c.message.clone())
            .collect();
        assert_eq!(
            crumbs,
            [format!("GET /tag/{n}"), format!("crumb {n}")],
            "{text}"
        );
        let url = event.request.as_ref().and_then(|r| r.url.clone());
        assert_eq!(url, Some(format!("http://{addr}/tag/{n}")));
    }
    // Nothing leaked into the parent hub either.
    assert_eq!(
        sentry
            .hub
            .configure_scope(|s| s.tag("req").map(str::to_owned)),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continues_the_callers_trace() {
    let (sentry, addr) = start(ClientOptions::default()).await;
    http()
        .get(format!("http://{addr}/fail"))
        .header(
            "sentry-trace",
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1",
        )
        .header(
            "baggage",
            "sentry-trace_id=771a43a4192642f0b136d5159a501700",
        )
        .send()
        .await
        .expect("response");
    let events = sentry.events();
    assert_eq!(events.len(), 1);
    let trace = &events[0].contexts["trace"];
    assert_eq!(trace["trace_id"], "771a43a4192642f0b136d5159a501700");
    assert_eq!(trace["parent_span_id"], "b0e6f15b45c36b12");
    assert_eq!(trace["sampled"], true);
    assert_ne!(trace["span_id"], "b0e6f15b45c36b12");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_only_with_send_default_pii() {
    let (sentry, addr) = start(ClientOptions {
        send_default_pii: true,
        ..Default::default()
    })
    .await;
    http()
        .get(format!("http://{addr}/fail"))
        .send()
        .await
        .expect("response");
    let events = sentry.events();
    assert_eq!(events.len(), 1);
    let request = events[0].request.as_ref().expect("request");
    assert_eq!(request.env["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(
        events[0]
            .user
            .as_ref()
            .and_then(|u| u.ip_address.as_deref()),
        Some("127.0.0.1")
    );
    // Sensitive headers stay scrubbed even with PII on.
    http()
        .get(format!("http://{addr}/fail"))
        .header("Authorization", "Basic c2VjcmV0")
        .send()
        .await
        .expect("response");
    let events = sentry.events();
    assert_eq!(
        events[0]
            .request
            .as_ref()
            .and_then(|r| r.headers.get("Authorization")),
        Some(FILTERED)
    );
}

/// Captures without touching the scope: the request hub never forks its own scope, so the
/// request data reaches the event from the hub's seed, on the worker.
async fn untouched(Path(n): Path<u32>) -> &'static str {
    tokio::task::yield_now().await;
    sentry_client::capture_message(&format!("untouched {n}"), Level::Info);
    "ok"
}

/// Renames the transaction (which forks the request's scope) and captures.
async fn renamed(Path(n): Path<u32>) -> &'static str {
    sentry_client::configure_scope(|s| {
        s.set_tag("req", n);
        s.set_transaction(Some(&format!("renamed {n}")));
    });
    tokio::task::yield_now().await;
    sentry_client::capture_message(&format!("renamed {n}"), Level::Info);
    "ok"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_never_touch_their_scope_still_carry_the_request() {
    sentry_client::panic::install_panic_hook();
    let sentry = Captured::new(ClientOptions::default());
    sentry.hub.configure_scope(|s| s.set_tag("service", "shop"));
    let app = Router::new()
        .route("/untouched/{n}", get(untouched))
        .route("/renamed/{n}", get(renamed))
        .layer(SentryLayer::new().hub(sentry.hub.clone()));
    let addr = serve(app).await;
    let client = http();
    const N: u32 = 200;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..N {
        let client = client.clone();
        let path = if n % 2 == 0 { "untouched" } else { "renamed" };
        tasks.spawn(async move {
            client
                .get(format!("http://{addr}/{path}/{n}?page={n}"))
                .header("Authorization", "Bearer sekrit")
                .send()
                .await
                .expect("response")
                .status()
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), 200);
    }
    let events = sentry.events();
    assert_eq!(events.len(), N as usize);
    let mut trace_ids = std::collections::HashSet::new();
    for event in &events {
        let text = event.message_text().expect("message");
        let (kind, n) = text.split_once(' ').expect("kind and number");
        let request = event.request.as_ref().expect("request data");
        assert_eq!(request.method.as_deref(), Some("GET"));
        assert_eq!(
            request.url.as_deref(),
            Some(format!("http://{addr}/{kind}/{n}").as_str())
        );
        assert_eq!(
            request.query_string.as_ref().and_then(|q| q.as_str()),
            Some(format!("page={n}").as_str())
        );
        assert_eq!(request.headers.get("Authorization"), Some(FILTERED));
        assert_eq!(event.tags.get("service"), Some("shop"), "parent scope");
        let crumbs: Vec<_> = event
            .breadcrumbs
            .iter()
            .filter_map(|c| c.message.clone())
            .collect();
        assert_eq!(crumbs, [format!("GET /{kind}/{n}")], "{text}");
        let trace_id = event.contexts["trace"]["trace_id"]
            .as_str()
            .expect("trace id")
            .to_owned();
        assert!(trace_ids.insert(trace_id), "each request has its own trace");
        if kind == "untouched" {
            assert_eq!(event.transaction.as_deref(), Some("GET /untouched/{n}"));
            assert_eq!(
                event.tags.get("req"),
                None,
                "{text}: no other request's tag"
            );
        } else {
            assert_eq!(event.transaction.as_deref(), Some(text));
            assert_eq!(event.tags.get("req"), Some(n));
        }
    }
    // Nothing leaked into the parent hub.
    assert_eq!(
        sentry.hub.configure_scope(|s| (
            s.tag("req").map(str::to_owned),
            s.transaction().map(str::to_owned)
        )),
        (None, None)
    );
}
