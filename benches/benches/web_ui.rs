//! The web UI rendered server-side through the real handlers (the axum router of the API
//! and the pages, called with tower's `oneshot`) on a real SQLite file: the issue list of
//! a project with 10,000 issues (first page, a sorted later page, a text search), the
//! projects overview (unresolved counts and sparklines over those events) and the issue
//! detail of an event with 200 frames. Target (issue 7): each page under 50 ms.
//!
//! Events are made by the server's own ingest preparation (normalize, group, compress)
//! and written with the store's batch write, spread over the last 14 days.
//!
//! ```sh
//! cargo bench -p sentry-benches --bench web_ui -- --warm-up-time 1 --measurement-time 3
//! ```

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use sentry_client::protocol::Event;
use sentry_server_lite::api;
use sentry_server_lite::app::AppState;
use sentry_server_lite::ingest::prepare_event;
use sentry_server_lite::store::{SqliteStore, Store, Synchronous};
use sentry_server_lite::{secrets, ui};
use serde_json::json;
use tower::ServiceExt;

const ISSUES: usize = 10_000;
const FRAMES: usize = 200;

struct Fixture {
    _dir: tempfile::TempDir,
    router: Router,
    cookie: String,
    big_issue: i64,
}

fn issue_event(i: usize) -> serde_json::Value {
    json!({
        "event_id": format!("{:032x}", i + 1),
        "level": if i % 7 == 0 { "warning" } else { "error" },
        "platform": "rust",
        "release": format!("app@1.{}", i % 5),
        "environment": "production",
        "tags": {"server": format!("web-{}", i % 12), "region": if i % 2 == 0 { "eu" } else { "us" }},
        "exception": {"values": [{
            "type": format!("Error{i}"),
            "value": format!("request {i} failed: upstream timed out"),
            "stacktrace": {"frames": [
                {"function": "main", "module": "app", "filename": "src/main.rs", "lineno": 10, "in_app": true},
                {"function": format!("handler_{i}"), "module": "app::handlers", "filename": "src/handlers.rs", "lineno": i % 900 + 1, "in_app": true}
            ]}
        }]}
    })
}

fn big_event() -> serde_json::Value {
    let frames: Vec<_> = (0..FRAMES)
        .map(|f| {
            json!({
                "function": format!("app::module_{}::function_{f}", f % 17),
                "module": format!("app::module_{}", f % 17),
                "filename": format!("src/module_{}.rs", f % 17),
                "abs_path": format!("/build/app/src/module_{}.rs", f % 17),
                "lineno": 100 + f, "colno": 9,
                "in_app": f % 3 != 0,
                "pre_context": (0..5).map(|l| format!("    let v{l} = compute_{l}(input, {f});")).collect::<Vec<_>>(),
                "context_line": format!("    process(v0, v1, v2).expect(\"frame {f}\");"),
                "post_context": (0..5).map(|l| format!("    log::debug!(\"step {l} of frame {f}\");")).collect::<Vec<_>>(),
                "vars": {"input": format!("<Request #{f}>"), "depth": f}
            })
        })
        .collect();
    let crumbs: Vec<_> = (0..100)
        .map(|b| {
            json!({"timestamp": 1.7e9 + b as f64, "category": "http", "level": "info",
                        "message": format!("GET /api/items/{b} 200"), "data": {"ms": b}})
        })
        .collect();
    json!({
        "event_id": format!("{:032x}", ISSUES + 100),
        "level": "error",
        "platform": "rust",
        "release": "app@2.0",
        "environment": "production",
        "exception": {"values": [
            {"type": "IoError", "value": "connection reset by peer", "stacktrace": {"frames": frames[..20]}},
            {"type": "RequestFailed", "value": "could not load the cart", "stacktrace": {"frames": frames}}
        ]},
        "breadcrumbs": {"values": crumbs},
        "request": {"method": "POST", "url": "https://shop.example/cart", "query_string": "a=1&b=2",
                    "headers": {"User-Agent": "bench", "Accept": "*/*", "Content-Type": "application/json"}},
        "user": {"id": "42", "email": "user@example.com", "ip_address": "192.0.2.1"},
        "contexts": {"os": {"type": "os", "name": "Linux", "version": "6.1"},
                     "runtime": {"type": "runtime", "name": "rustc", "version": "1.85.0"},
                     "device": {"type": "device", "arch": "x86_64"}},
        "sdk": {"name": "sentry.rust.lite", "version": "0.1.0"},
        "tags": {"server": "web-1"},
        "extra": {"cart_items": 3}
    })
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        SqliteStore::open(&dir.path().join("sentry.db"), Synchronous::Normal).expect("open store");
    let store: Arc<dyn Store> = Arc::new(store);
    let team = store.create_team("team", "Team", None).expect("team");
    let project = store
        .create_project(team.id, "shop", "Shop", None)
        .expect("project");
    let user = store
        .create_user("admin@example.com", "unused", true)
        .expect("user");
    let now = sentry_server_lite::clock::now_ms();
    let span = 14 * 24 * 3_600_000i64;
    let prepare = |v: serde_json::Value, received: i64| {
        let payload = serde_json::to_vec(&v).expect("json");
        let event = Event::from_slice(&payload).expect("event");
        prepare_event(project.id, &event, &payload, None, received).expect("prepare")
    };
    let mut batch = Vec::with_capacity(500);
    for i in 0..ISSUES {
        let received = now - span + (i as i64 * span / ISSUES as i64);
        batch.push(prepare(issue_event(i), received));
        if batch.len() == 500 {
            for r in store.write_batch(&batch) {
                r.expect("write");
            }
            batch.clear();
        }
    }
    let big = prepare(big_event(), now);
    let big_id = big.event_id.clone();
    for r in store.write_batch(&[big]) {
        r.expect("write");
    }
    let big_issue = store
        .event(project.id, &big_id)
        .expect("read")
        .and_then(|e| e.issue_id)
        .expect("big event stored");
    let token = secrets::random_hex(32);
    store
        .create_session(&secrets::token_digest(&token), user.id, "csrf", now + span)
        .expect("session");
    let router = api::routes()
        .merge(ui::routes())
        .with_state(AppState::new(store, "http://127.0.0.1:9000"));
    Fixture {
        _dir: dir,
        router,
        cookie: format!("{}={token}", ui::session::SESSION_COOKIE),
        big_issue,
    }
}

/// One GET through the router; answers the body length (the whole body is read).
async fn get(f: &Fixture, path: &str) -> usize {
    let req = Request::get(path)
        .header(header::COOKIE, &f.cookie)
        .body(Body::empty())
        .expect("request");
    let resp = f.router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
    axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body")
        .len()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let f = fixture();
    let detail = format!("/issues/{}/", f.big_issue);
    let pages = [
        (
            "issue_list_10k/unresolved_first_page",
            "/projects/team/shop/",
        ),
        (
            "issue_list_10k/all_by_events_page_200",
            "/projects/team/shop/?status=all&sort=freq&page=200",
        ),
        (
            "issue_list_10k/search_text",
            "/projects/team/shop/?status=all&query=request+9999",
        ),
        (
            "issue_list_10k/tag_filter",
            "/projects/team/shop/?query=server%3Aweb-3+region%3Aus",
        ),
        ("projects_overview_10k", "/"),
        ("issue_detail_200_frames", detail.as_str()),
    ];
    for (name, path) in pages {
        let size = rt.block_on(get(&f, path));
        eprintln!("{name}: GET {path} -> {size} bytes of HTML");
        c.bench_function(name, |b| b.iter(|| rt.block_on(get(&f, path))));
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
