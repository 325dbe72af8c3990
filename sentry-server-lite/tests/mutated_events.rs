//! Property: a valid event with any of its parts replaced by something of the wrong
//! shape (null, another type, a huge or negative number, a huge string, an empty or
//! null-filled list) is always accepted by the ingest path, never refused; each
//! replacement costs at most one recorded removal per element it holds, and what was not
//! replaced is kept.

mod common;

use common::TestServer;
use proptest::prelude::*;
use sentry_server_lite::ingest::auth::Credentials;
use sentry_server_lite::ingest::{read_event, Payload, Source};
use serde_json::{json, Value};

/// A rich, valid event: exception chain with frames, threads, breadcrumbs, request,
/// user, contexts, tags, extra, SDK, debug images.
fn base_event() -> Value {
    json!({
        "event_id": "5c2d1b7e9a4f4e08b3f1c6a2d7e90b14",
        "timestamp": "2026-12-03T10:00:00.5Z",
        "platform": "python", "level": "error", "logger": "app", "transaction": "/cart",
        "release": "shop@1.2.3", "environment": "production", "server_name": "web-1",
        "message": {"message": "cart %s failed", "params": ["42"]},
        "exception": {"values": [
            {"type": "KeyError", "value": "'a'", "module": "builtins",
             "mechanism": {"type": "generic", "handled": true}},
            {"type": "CartError", "value": "cart 42 failed", "module": "shop.errors",
             "mechanism": {"type": "excepthook", "handled": false, "exception_id": 1},
             "stacktrace": {"frames": [
                {"module": "django.core", "function": "get_response", "lineno": 200,
                 "in_app": false, "vars": {"request": "<WSGIRequest>"}},
                {"module": "shop.views", "function": "cart", "filename": "shop/views.py",
                 "lineno": 12, "colno": 4, "in_app": true, "pre_context": ["a", "b"],
                 "context_line": "raise CartError()", "post_context": ["c"]}]}}]},
        "threads": {"values": [{"id": 1, "name": "main", "crashed": true, "current": true}]},
        "breadcrumbs": {"values": [
            {"timestamp": 1764756000.1, "type": "http", "category": "httplib",
             "level": "info", "data": {"url": "https://api.example/x", "status_code": 200}},
            {"timestamp": "2026-12-03T09:59:59Z", "message": "clicked", "level": "warning"}]},
        "request": {"url": "https://shop.example/cart", "method": "POST",
            "query_string": "a=1", "headers": {"Accept": "*/*"}, "env": {"REMOTE_ADDR": "10.0.0.1"},
            "data": {"item": 3}, "cookies": "x=1"},
        "user": {"id": "7", "email": "u@example.com", "ip_address": "10.0.0.1", "geo": {"city": "X"}},
        "contexts": {"os": {"name": "Linux", "version": "6.1"}, "runtime": {"name": "CPython"}},
        "tags": {"region": "eu", "shard": "3"},
        "extra": {"cart": [1, 2, 3]},
        "fingerprint": ["{{ default }}", "eu"],
        "modules": {"django": "5.0"},
        "sdk": {"name": "sentry.python", "version": "2.75.0", "integrations": ["django"],
                "packages": [{"name": "pypi:sentry-sdk", "version": "2.75.0"}]},
        "debug_meta": {"images": [{"type": "elf", "code_file": "/app", "image_addr": "0x1000",
                                   "image_size": 4096}]},
    })
}

/// Every path in `v` (as a list of steps), the root excluded.
fn paths(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                at.push(Step::Key(k.clone()));
                out.push(at.clone());
                paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                at.push(Step::Index(i));
                out.push(at.clone());
                paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn slot<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for step in path {
        cur = match (step, cur) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Step::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// How many removals a replacement may cause at most: one, or one per element of a
/// list whose elements may each fail to read.
fn weight(kind: u8) -> usize {
    match kind % 12 {
        8 | 11 => 2,
        _ => 1,
    }
}

fn replacement(kind: u8) -> Value {
    match kind % 12 {
        0 => Value::Null,
        1 => json!("a string"),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!(1e300),
        5 => json!(true),
        6 => json!([]),
        7 => json!({}),
        8 => json!([null, null]),
        9 => json!("x".repeat(20_000)),
        10 => json!({"values": [null]}),
        _ => json!([["k"], 5]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_events_are_always_accepted(
        picks in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
    ) {
        let base = base_event();
        let mut all = Vec::new();
        paths(&base, &mut Vec::new(), &mut all);
        let mut event = base.clone();
        let mut applied = 0;
        for (index, kind) in &picks {
            let path = &all[index.index(all.len())];
            if let Some(v) = slot(&mut event, path) {
                *v = replacement(*kind);
                applied += weight(*kind);
            }
        }
        let bytes = serde_json::to_vec(&event).expect("json");
        let read = read_event(&bytes).expect("an object is never refused");
        prop_assert!(read.report.total() <= applied, "{} removals for replacements of weight {applied}: {:?}",
            read.report.total(), read.report.removed());
        // What was not touched reads as it came: the release, unless a pick hit it.
        let touched_release = picks.iter().any(|(i, _)| {
            matches!(all[i.index(all.len())].first(), Some(Step::Key(k)) if k == "release")
        });
        if !touched_release {
            prop_assert_eq!(read.event.release.as_deref(), Some("shop@1.2.3"));
        }
        SERVER.with(|s| {
            let source = Source {
                credentials: Some(Credentials {
                    key: s.key.public_key.clone(),
                    secret: None,
                    dsn_project: None,
                }),
                url_project: Some(s.project.id as u64),
                ..Source::default()
            };
            let prepared = s.ingestor.accept(source, Payload::Store(&bytes));
            prop_assert!(prepared.is_ok(), "refused: {:?}", prepared.err());
            let prepared = prepared.expect("accepted");
            prop_assert_eq!(prepared.events.len(), 1);
            Ok(())
        })?;
    }
}

thread_local! {
    /// One server for all cases of this thread (accepting needs its key lookups; the
    /// prepared events are not written).
    static SERVER: TestServer = TestServer::start();
}

/// A sample of mutated events goes through HTTP and is stored.
#[test]
fn mutated_events_are_stored_over_http() {
    let s = TestServer::start();
    let base = base_event();
    let mut all = Vec::new();
    paths(&base, &mut Vec::new(), &mut all);
    let mut sent = 0;
    for (n, path) in all.iter().enumerate().step_by(7) {
        let mut event = base.clone();
        if let Some(v) = slot(&mut event, path) {
            *v = replacement(n as u8);
        }
        event["event_id"] = json!(common::new_id());
        let r = s.post_envelope(&common::envelope("{}", &event.to_string()));
        assert_eq!(r.status, 200, "{path:?}: {}", r.text());
        sent += 1;
    }
    assert_eq!(s.event_count(), sent);
}
