//! Writer-side cost of sentry-server-lite's SQLite store, without HTTP: prepares realistic
//! events (normalize, group, compress) and commits them with `Store::write_batch` in
//! batches, reporting events/s for preparing and for committing.
//!
//! ```text
//! cargo run --release -p sentry-benches --bin store_write -- [events] [batch] [full|normal]
//! ```

use std::time::Instant;

use sentry_client::protocol::Event;
use sentry_server_lite::ingest::{parse_event, prepare_event};
use sentry_server_lite::store::{SqliteStore, Store, Synchronous};
use serde_json::json;

fn event(k: usize, n: usize) -> Vec<u8> {
    let frames: Vec<_> = (0..20)
        .map(|f| {
            json!({
                "module": if f < 12 { format!("framework.layer{f}") } else { format!("app.svc{k}") },
                "function": format!("step_{}", ["a", "b", "c", "d", "e"][f % 5]),
                "lineno": 10 + f, "in_app": f >= 12,
                "context_line": "        result = self.process(payload, retries=3)",
                "pre_context": ["        payload = self.load(ident)"],
                "post_context": ["        return result"],
            })
        })
        .collect();
    json!({
        "event_id": format!("{:08x}{:024x}", k, n), "platform": "python", "release": "shop@4.2.0",
        "environment": "production", "server_name": "web-01", "logger": "app",
        "transaction": format!("/api/svc{k}"),
        "exception": {"values": [{"type": format!("Error{k}"), "value": "boom 12345",
            "mechanism": {"type": "generic", "handled": true}, "stacktrace": {"frames": frames}}]},
        "breadcrumbs": {"values": (0..10).map(|b| json!({"message": format!("crumb {b}"), "category": "query"})).collect::<Vec<_>>()},
        "contexts": {"os": {"name": "Linux"}, "runtime": {"name": "CPython"}},
        "tags": {"region": "eu"}, "user": {"id": format!("{}", k)},
        "request": {"url": "https://shop.example.com/api/x", "method": "POST"},
    })
    .to_string()
    .into_bytes()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: usize = args.first().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let batch: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(32);
    let sync = match args.get(2).map(String::as_str) {
        Some("normal") => Synchronous::Normal,
        _ => Synchronous::Full,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("sentry.db"), sync).expect("open");
    let team = store.create_team("t", "T", None).expect("team");
    let project = store
        .create_project(team.id, "p", "P", None)
        .expect("project");

    let bodies: Vec<Vec<u8>> = (0..total).map(|n| event(n % 300, n)).collect();
    let avg = bodies.iter().map(Vec::len).sum::<usize>() / total.max(1);
    let t = Instant::now();
    let prepared: Vec<_> = bodies
        .iter()
        .map(|b| {
            let e: Event = parse_event(b).expect("event");
            prepare_event(project.id, &e, b, None, 1_700_000_000_000).expect("prepare")
        })
        .collect();
    let prep = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for chunk in prepared.chunks(batch) {
        for r in store.write_batch(chunk) {
            r.expect("write");
        }
    }
    let write = t.elapsed().as_secs_f64();
    let wal = std::fs::metadata(dir.path().join("sentry.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    let db = std::fs::metadata(dir.path().join("sentry.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "store_write: {total} events of ~{avg} bytes, batches of {batch}, synchronous={sync:?}"
    );
    println!(
        "  prepare (parse+normalize+group+compress, one thread): {:.0} events/s",
        total as f64 / prep
    );
    println!(
        "  write_batch (one writer): {:.0} events/s, {:.1} us/event",
        total as f64 / write,
        write * 1e6 / total as f64
    );
    println!(
        "  database {:.1} MB (+ WAL {:.1} MB)",
        db as f64 / 1e6,
        wal as f64 / 1e6
    );
}
