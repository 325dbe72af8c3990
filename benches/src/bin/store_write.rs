//! Writer-side cost of sentry-server-lite's store, without HTTP: prepares the realistic
//! events of `server_load` (parse, normalize, group, compress) and commits them with
//! `Store::write_batch` in batches from one thread, reporting events/s for preparing and
//! for committing, and the bytes written per event (SQLite) or the CPU PostgreSQL's
//! processes spent per event and per batch (PostgreSQL, an empty database on this machine).
//!
//! ```text
//! cargo run --release -p sentry-benches --bin store_write -- [events] [batch] [full|normal]
//! cargo run --release -p sentry-benches --bin store_write -- [events] [batch] postgres://USER@HOST:PORT/DB
//! ```

use std::time::Instant;

use sentry_benches::server_events::{event_template, EVENT_ID_PLACEHOLDER};
use sentry_benches::{cpu_ticks, postgres_cpu_ticks};
use sentry_client::protocol::Event;
use sentry_server_lite::ingest::{parse_event, prepare_event};
use sentry_server_lite::store::{PgStore, SqliteStore, Store, Synchronous};

fn event(k: usize, n: usize) -> Vec<u8> {
    event_template(k)
        .replace(EVENT_ID_PLACEHOLDER, &format!("{:08x}{:024x}", k, n))
        .into_bytes()
}

/// Bytes this process has passed to `write` so far (`wchar` of `/proc/self/io`).
fn bytes_written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("wchar:").map(|v| v.trim().parse().ok()))?
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: usize = args.first().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let batch: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(32);
    if let Some(url) = args.get(2).filter(|a| a.starts_with("postgres")) {
        postgres(url, total, batch);
        return;
    }
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
    let written0 = bytes_written();
    let t = Instant::now();
    for chunk in prepared.chunks(batch) {
        for r in store.write_batch(chunk) {
            r.expect("write");
        }
    }
    let write = t.elapsed().as_secs_f64();
    let written = bytes_written().saturating_sub(written0);
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
        "  written to WAL and database: {:.1} KB per event",
        written as f64 / 1024.0 / total as f64
    );
    println!(
        "  database {:.1} MB (+ WAL {:.1} MB)",
        db as f64 / 1e6,
        wal as f64 / 1e6
    );
}

/// The PostgreSQL variant: commits the prepared events in batches of `batch` from one
/// thread and reports wall time and the CPU of this process and of PostgreSQL's.
fn postgres(url: &str, total: usize, batch: usize) {
    let store = PgStore::open(url).expect("open the PostgreSQL database");
    let team = store.create_team("t", "T", None).expect("team");
    let project = store
        .create_project(team.id, "p", "P", None)
        .expect("project");
    let prepared: Vec<_> = (0..total)
        .map(|n| {
            let b = event(n % 300, n);
            let e: Event = parse_event(&b).expect("event");
            prepare_event(project.id, &e, &b, None, 1_700_000_000_000).expect("prepare")
        })
        .collect();
    // Warm up: the statement prepared, the issues inserted, the caches filled.
    let warm = prepared.len().min(600);
    for chunk in prepared[..warm].chunks(batch) {
        for r in store.write_batch(chunk) {
            r.expect("write");
        }
    }
    let measured = &prepared[warm..];
    let (pg0, own0) = (postgres_cpu_ticks(), cpu_ticks(std::process::id()));
    let t = Instant::now();
    for chunk in measured.chunks(batch) {
        for r in store.write_batch(chunk) {
            r.expect("write");
        }
    }
    let wall = t.elapsed().as_secs_f64();
    let (pg, own) = (
        postgres_cpu_ticks().saturating_sub(pg0) as f64 / 100.0,
        cpu_ticks(std::process::id()).saturating_sub(own0) as f64 / 100.0,
    );
    let n = measured.len().max(1) as f64;
    let batches = n / batch as f64;
    println!(
        "store_write: {} events, batches of {batch}, PostgreSQL",
        measured.len()
    );
    println!(
        "  write_batch (one writer): {:.0} events/s, {:.1} us/event, {:.2} ms/batch",
        n / wall,
        wall * 1e6 / n,
        wall * 1e3 / batches
    );
    println!(
        "  CPU: PostgreSQL {:.1} us/event ({:.2} ms/batch), this process {:.1} us/event",
        pg * 1e6 / n,
        pg * 1e3 / batches,
        own * 1e6 / n
    );
}
