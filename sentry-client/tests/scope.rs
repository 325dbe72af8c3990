//! Scope data lands in events; temporary scopes do not leak across threads or `.await`.
#![cfg(feature = "client")]

use std::sync::Arc;

use serde_json::json;

use sentry_client::protocol::{DataCategory, DiscardReason, ItemType};
use sentry_client::test::{
    with_captured_envelopes_options, with_captured_events, with_captured_events_options,
};
use sentry_client::{
    add_breadcrumb, capture_message, configure_scope, with_scope, Breadcrumb, ClientOptions, Hub,
    Level, SentryFutureExt, User,
};

#[test]
fn scope_data_lands_in_the_event() {
    let events = with_captured_events(|| {
        configure_scope(|s| {
            s.set_tag("region", "eu");
            s.set_user(Some(User {
                id: Some("42".into()),
                email: Some("a@example.com".into()),
                ..Default::default()
            }));
            s.set_extra("batch", json!(17));
            s.set_context("order", json!({"id": 7, "total": 12.5}));
            s.set_fingerprint(Some(&["{{ default }}", "db"]));
            s.set_transaction(Some("/checkout"));
        });
        add_breadcrumb(Breadcrumb {
            category: Some("http".into()),
            message: Some("GET /items".into()),
            ..Default::default()
        });
        add_breadcrumb(|| Breadcrumb {
            message: Some("lazy".into()),
            ..Default::default()
        });
        capture_message("checkout failed", Level::Error);
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.message_text(), Some("checkout failed"));
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(e.tags.get("region"), Some("eu"));
    let user = e.user.as_ref().expect("user");
    assert_eq!(user.id.as_deref(), Some("42"));
    assert_eq!(user.ip_address, None, "no PII by default");
    assert_eq!(e.extra["batch"], json!(17));
    assert_eq!(e.contexts["order"], json!({"id": 7, "total": 12.5}));
    assert_eq!(
        e.fingerprint.as_deref(),
        Some(&["{{ default }}".to_owned(), "db".to_owned()][..])
    );
    assert_eq!(e.transaction.as_deref(), Some("/checkout"));
    let crumbs: Vec<_> = e
        .breadcrumbs
        .iter()
        .filter_map(|b| b.message.as_deref())
        .collect();
    assert_eq!(crumbs, ["GET /items", "lazy"]);
    assert!(e.breadcrumbs.values[0].timestamp.is_some());
    // Defaults from the client.
    assert_eq!(e.platform.as_deref(), Some("native"));
    let sdk = e.sdk.as_ref().expect("sdk");
    assert_eq!(sdk.name.as_deref(), Some(sentry_client::SDK_NAME));
    assert!(sdk.integrations.iter().any(|i| i == "panic"));
    for ctx in ["os", "rust", "device", "app"] {
        assert!(e.contexts.contains_key(ctx), "context {ctx}");
    }
}

#[test]
fn exact_json_of_a_message_event() {
    let opts = ClientOptions {
        release: Some("app@1.0.0".into()),
        environment: Some("test".into()),
        server_name: Some("host-1".into()),
        default_integrations: false,
        ..Default::default()
    };
    let envelopes = with_captured_envelopes_options(
        || {
            capture_message("hello", Level::Info);
        },
        opts,
    );
    assert_eq!(envelopes.len(), 1);
    let env = &envelopes[0];
    let item = env.item(&ItemType::Event).expect("event item");
    assert_eq!(
        item.headers.content_type.as_deref(),
        Some("application/json")
    );
    let mut json: serde_json::Value = serde_json::from_slice(&item.payload).expect("json");
    let id = json["event_id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(env.headers.event_id.as_deref(), Some(id.as_str()));
    assert!(json["timestamp"].as_f64().is_some());
    let obj = json.as_object_mut().expect("object");
    obj.remove("event_id");
    obj.remove("timestamp");
    assert_eq!(
        json,
        json!({
            "platform": "native",
            "level": "info",
            "server_name": "host-1",
            "release": "app@1.0.0",
            "environment": "test",
            "message": "hello",
            "sdk": {
                "name": sentry_client::SDK_NAME,
                "version": sentry_client::SDK_VERSION,
                "packages": [{"name": "cargo:sentry-client", "version": sentry_client::SDK_VERSION}]
            }
        })
    );
}

#[test]
fn before_send_and_before_breadcrumb_edit_and_drop_and_are_counted() {
    let opts = ClientOptions::default()
        .with_before_send(|mut e| {
            if e.message_text() == Some("drop me") {
                return None;
            }
            if e.message_text() == Some("panic") {
                panic!("before_send bug");
            }
            e.tags.insert("seen", "yes");
            Some(e)
        })
        .with_before_breadcrumb(|b| (b.message.as_deref() != Some("secret")).then_some(b));
    let envelopes = with_captured_envelopes_options(
        || {
            add_breadcrumb(Breadcrumb {
                message: Some("secret".into()),
                ..Default::default()
            });
            add_breadcrumb(Breadcrumb {
                message: Some("public".into()),
                ..Default::default()
            });
            capture_message("keep", Level::Info);
            capture_message("drop me", Level::Info);
            capture_message("panic", Level::Info);
        },
        opts,
    );
    let events: Vec<_> = envelopes
        .iter()
        .filter_map(|e| e.event())
        .map(|e| e.expect("event"))
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].tags.get("seen"), Some("yes"));
    let crumbs: Vec<_> = events[0]
        .breadcrumbs
        .iter()
        .filter_map(|b| b.message.as_deref())
        .collect();
    assert_eq!(crumbs, ["public"]);
    let report = envelopes
        .iter()
        .find_map(|e| e.item(&ItemType::ClientReport))
        .expect("client report at shutdown")
        .client_report()
        .expect("report");
    assert_eq!(
        report.count(DiscardReason::BeforeSend, DataCategory::Error),
        2
    );
}

#[test]
fn sample_rate_zero_sends_nothing_and_counts() {
    let envelopes = with_captured_envelopes_options(
        || {
            for _ in 0..5 {
                assert!(capture_message("x", Level::Info).is_nil());
            }
        },
        ClientOptions::default().with_sample_rate(0.0),
    );
    assert!(envelopes.iter().all(|e| e.event().is_none()));
    let report = envelopes
        .iter()
        .find_map(|e| e.item(&ItemType::ClientReport))
        .expect("client report")
        .client_report()
        .expect("report");
    assert_eq!(
        report.count(DiscardReason::SampleRate, DataCategory::Error),
        5
    );
}

#[test]
fn max_breadcrumbs_is_a_ring() {
    let events = with_captured_events_options(
        || {
            for i in 0..10 {
                add_breadcrumb(Breadcrumb {
                    message: Some(i.to_string()),
                    ..Default::default()
                });
            }
            capture_message("m", Level::Info);
        },
        ClientOptions {
            max_breadcrumbs: 3,
            ..Default::default()
        },
    );
    let crumbs: Vec<_> = events[0]
        .breadcrumbs
        .iter()
        .filter_map(|b| b.message.as_deref())
        .collect();
    assert_eq!(crumbs, ["7", "8", "9"]);
}

#[test]
fn with_scope_does_not_leak_and_last_event_id_is_kept() {
    let events = with_captured_events(|| {
        configure_scope(|s| s.set_tag("outer", "1"));
        let inner_id = with_scope(
            |s| {
                s.set_tag("inner", "1");
                s.set_level(Some(Level::Warning));
            },
            || capture_message("inside", Level::Info),
        );
        assert_eq!(sentry_client::last_event_id(), Some(inner_id));
        capture_message("outside", Level::Info);
        // A panic inside with_scope still pops the scope.
        let _ = std::panic::catch_unwind(|| {
            with_scope(|s| s.set_tag("panicky", "1"), || panic!("boom"))
        });
        capture_message("after panic", Level::Info);
    });
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].tags.get("inner"), Some("1"));
    assert_eq!(events[0].level, Some(Level::Warning));
    assert_eq!(events[1].tags.get("inner"), None);
    assert_eq!(events[1].tags.get("outer"), Some("1"));
    assert_eq!(events[1].level, Some(Level::Info));
    assert_eq!(events[2].tags.get("panicky"), None);
}

#[test]
fn with_scope_does_not_leak_across_threads() {
    let events = with_captured_events(|| {
        let hub = Hub::current();
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let (h1, b1) = (Arc::new(Hub::new_from_top(&hub)), Arc::clone(&barrier));
        let (h2, b2) = (Arc::new(Hub::new_from_top(&hub)), Arc::clone(&barrier));
        let t1 = std::thread::spawn(move || {
            Hub::run(h1, || {
                with_scope(
                    |s| s.set_tag("thread", "one"),
                    || {
                        b1.wait(); // both threads are inside their scopes now
                        capture_message("from one", Level::Info);
                        b1.wait();
                    },
                )
            })
        });
        let t2 = std::thread::spawn(move || {
            Hub::run(h2, || {
                b2.wait();
                capture_message("from two", Level::Info);
                b2.wait();
            })
        });
        t1.join().expect("t1");
        t2.join().expect("t2");
        capture_message("from main", Level::Info);
    });
    assert_eq!(events.len(), 3);
    for e in &events {
        let expected = (e.message_text() == Some("from one")).then_some("one");
        assert_eq!(e.tags.get("thread"), expected, "{:?}", e.message_text());
    }
}

#[test]
fn with_scope_does_not_leak_across_await() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let events = with_captured_events(|| {
        let parent = Hub::current();
        runtime.block_on(async {
            let mut tasks = Vec::new();
            for i in 0..8 {
                let hub = Arc::new(Hub::new_from_top(&parent));
                tasks.push(tokio::spawn(
                    async move {
                        configure_scope(|s| s.set_tag("task", i));
                        tokio::task::yield_now().await;
                        with_scope(
                            |s| s.set_tag("inner", i),
                            || capture_message(&format!("task {i} inner"), Level::Info),
                        );
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        capture_message(&format!("task {i} after"), Level::Info);
                    }
                    .bind_hub(hub),
                ));
            }
            for t in tasks {
                t.await.expect("task");
            }
        });
    });
    assert_eq!(events.len(), 16);
    for e in &events {
        let text = e.message_text().expect("text");
        let i: &str = text.split(' ').nth(1).expect("index");
        assert_eq!(e.tags.get("task"), Some(i), "{text}");
        if text.ends_with("inner") {
            assert_eq!(e.tags.get("inner"), Some(i), "{text}");
        } else {
            assert_eq!(e.tags.get("inner"), None, "{text}");
        }
    }
}

#[test]
fn thread_hubs_inherit_the_main_hub_live() {
    // The main hub is process-wide; this test owns it (one test per binary touches it).
    let main = Hub::main();
    main.configure_scope(|s| s.set_tag("process", "early"));
    let seen = std::thread::spawn(|| {
        let before = Hub::current().configure_scope(|s| s.tag("process").map(str::to_owned));
        before
    })
    .join()
    .expect("thread");
    assert_eq!(seen.as_deref(), Some("early"));
    // A thread that only reads sees later main-hub changes; a thread's own change stays
    // its own.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (back_tx, back_rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let _ = Hub::current().client(); // touch the hub early
        rx.recv().expect("go");
        let tag = Hub::current().with_scope(
            |_| {},
            || Hub::current().configure_scope(|s| s.tag("process").map(str::to_owned)),
        );
        back_tx.send(tag).expect("send");
        Hub::current().configure_scope(|s| s.set_tag("process", "thread-own"));
    });
    main.configure_scope(|s| s.set_tag("process", "late"));
    tx.send(()).expect("go");
    assert_eq!(back_rx.recv().expect("tag").as_deref(), Some("late"));
    t.join().expect("thread");
    assert_eq!(
        main.configure_scope(|s| s.tag("process").map(str::to_owned))
            .as_deref(),
        Some("late")
    );
}

#[test]
fn client_reports_ride_along_with_the_next_envelope() {
    let envelopes = with_captured_envelopes_options(
        || {
            capture_message("dropped", Level::Info);
            capture_message("kept", Level::Info);
        },
        ClientOptions {
            client_report_interval: std::time::Duration::ZERO,
            ..ClientOptions::default()
                .with_before_send(|e| (e.message_text() == Some("kept")).then_some(e))
        },
    );
    // One envelope: the event "kept" with the report of "dropped" attached.
    assert_eq!(envelopes.len(), 1, "{envelopes:?}");
    let env = &envelopes[0];
    assert_eq!(
        env.event().expect("event").expect("parses").message_text(),
        Some("kept")
    );
    let report = env
        .item(&ItemType::ClientReport)
        .expect("attached report")
        .client_report()
        .expect("report");
    assert_eq!(
        report.count(DiscardReason::BeforeSend, DataCategory::Error),
        1
    );
}

/// A seed standing for a web request: a transaction name and a processor that marks
/// the event, counting how often it is written into a scope.
struct RequestSeed {
    route: &'static str,
    seeded: std::sync::atomic::AtomicUsize,
}

impl sentry_client::ScopeSeed for RequestSeed {
    fn seed(self: Arc<Self>, scope: &mut sentry_client::Scope) {
        self.seeded
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        scope.set_transaction(Some(self.route));
        scope.add_event_processor(move |mut e| {
            e.extra.insert("route".into(), json!(self.route));
            Some(e)
        });
    }
}

fn seed(route: &'static str) -> Arc<RequestSeed> {
    Arc::new(RequestSeed {
        route,
        seeded: std::sync::atomic::AtomicUsize::new(0),
    })
}

#[test]
fn lazy_forks_read_the_parent_until_written_and_never_leak() {
    let a_seed = seed("GET /a");
    let b_seed = seed("GET /b");
    let (a_seed2, b_seed2) = (Arc::clone(&a_seed), Arc::clone(&b_seed));
    let events = with_captured_events(move || {
        let parent = Hub::current();
        parent.configure_scope(|s| s.set_tag("service", "shop"));
        let a = Arc::new(Hub::fork_lazily(Arc::clone(&parent), Some(a_seed2)));
        let b = Arc::new(Hub::fork_lazily(Arc::clone(&parent), Some(b_seed2)));
        // Not forked yet: a's capture carries the parent's scope and a's seed.
        a.capture_message("a1", Level::Info);
        // Changes of the parent are seen live until the fork writes.
        parent.configure_scope(|s| s.set_tag("late", "yes"));
        b.configure_scope(|s| s.set_tag("req", "b"));
        b.capture_message("b1", Level::Info);
        // With a pushed scope and back: a stays unforked (nothing was written below).
        a.with_scope(
            |s| s.set_tag("tmp", "1"),
            || a.capture_message("a2", Level::Info),
        );
        a.capture_message("a3", Level::Info);
        // A hub made from an unforked one keeps its request data.
        Hub::new_from_top(&a).capture_message("a4", Level::Info);
        assert_eq!(
            parent.configure_scope(|s| (
                s.tag("req").map(str::to_owned),
                s.transaction().map(str::to_owned)
            )),
            (None, None),
            "nothing reached the parent"
        );
    });
    let by_message = |m: &str| {
        events
            .iter()
            .find(|e| e.message_text() == Some(m))
            .unwrap_or_else(|| panic!("no event {m}"))
    };
    for m in ["a1", "a2", "a3", "a4"] {
        let e = by_message(m);
        assert_eq!(e.transaction.as_deref(), Some("GET /a"), "{m}");
        assert_eq!(e.extra["route"], json!("GET /a"), "{m}");
        assert_eq!(e.tags.get("service"), Some("shop"), "{m}");
        assert_eq!(e.tags.get("req"), None, "{m}: b's tag");
    }
    assert_eq!(by_message("a1").tags.get("late"), None);
    assert_eq!(by_message("a2").tags.get("tmp"), Some("1"));
    assert_eq!(by_message("a3").tags.get("tmp"), None);
    assert_eq!(by_message("a3").tags.get("late"), Some("yes"), "read live");
    let b1 = by_message("b1");
    assert_eq!(b1.transaction.as_deref(), Some("GET /b"));
    assert_eq!(b1.extra["route"], json!("GET /b"));
    assert_eq!(b1.tags.get("req"), Some("b"));
    assert_eq!(b1.tags.get("late"), Some("yes"));
    // b forked once; its event used the forked scope, not a fresh seeding.
    assert_eq!(b_seed.seeded.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(a_seed.seeded.load(std::sync::atomic::Ordering::SeqCst) >= 4);
}
