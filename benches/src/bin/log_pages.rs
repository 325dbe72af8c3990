//! A project with 1,000,000 logs (issue #20): seeds them through the store's batch write
//! (the ingest path's `SideRecord::Logs`, 1,000 logs per transaction, 10 levels of
//! traces of 20 logs), then times what the Logs page and an event's "Logs of this trace"
//! cost the server: the first page (100 newest, rendered as the API's JSON), a page
//! filtered by level, by an attribute (`key:value`), by free text, a deep keyset page,
//! and a trace lookup, each `--runs` times; prints p50 / p99 / max in ms. The target is
//! under 50 ms for the first page and the trace lookup.
//!
//! ```text
//! cargo run --release -p sentry-benches --bin log_pages
//! cargo run --release -p sentry-benches --bin log_pages -- --logs 1000000 --runs 50
//! # PostgreSQL (an empty database):
//! cargo run --release -p sentry-benches --bin log_pages -- --database-url postgres://USER@HOST:PORT/DB
//! ```

use std::time::Instant;

use sentry_server_lite::api::logs::log_json;
use sentry_server_lite::store::logs::{self, LogFilter, NewLog};
use sentry_server_lite::store::{SideRecord, Store, Synchronous};

struct Args {
    logs: u64,
    runs: usize,
    database_url: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        logs: 1_000_000,
        runs: 30,
        database_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--logs" => a.logs = value().parse().expect("--logs N"),
            "--runs" => a.runs = value().parse().expect("--runs N"),
            "--database-url" => a.database_url = Some(value()),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

const LEVELS: [(&str, i64); 4] = [("info", 9), ("debug", 5), ("warn", 13), ("error", 17)];

fn new_log(project_id: i64, i: u64, start_ms: i64) -> NewLog {
    let (level, severity) = LEVELS[(i % 4) as usize];
    NewLog {
        project_id,
        timestamp_ms: start_ms + i as i64,
        received_ms: start_ms + i as i64,
        level: level.to_owned(),
        severity,
        body: format!("request {i} handled in {} ms by worker {}", i % 97, i % 8),
        trace_id: Some(format!("{:032x}", i / 20)),
        span_id: Some(format!("{:016x}", i)),
        release: Some("seed@1.0".into()),
        environment: Some("bench".into()),
        attributes: serde_json::json!({
            "sentry.release": "seed@1.0",
            "http.route": "/api/orders/{id}",
            "user.id": (i % 5000).to_string(),
            "http.status": 200,
            "duration_ms": (i % 97) as f64 + 0.5,
            "cache.hit": i % 2 == 0,
        })
        .to_string(),
    }
}

fn time(name: &str, runs: usize, mut f: impl FnMut() -> usize) {
    let mut ms: Vec<f64> = Vec::with_capacity(runs);
    let mut rows = 0;
    for _ in 0..runs {
        let start = Instant::now();
        rows = f();
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name:<28} rows {rows:>4}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("tempdir");
    let store: std::sync::Arc<dyn Store> = sentry_server_lite::store::open(
        args.database_url.as_deref(),
        &sentry_server_lite::config::database_path(dir.path()),
        Synchronous::Normal,
    )
    .expect("open the store");
    let team = store.create_team("bench", "Bench", None).expect("team");
    let project = store
        .create_project(team.id, "logs", "Logs", None)
        .expect("project");
    let start_ms = sentry_server_lite::clock::now_ms() - args.logs as i64;
    let seeding = Instant::now();
    let mut i = 0;
    while i < args.logs {
        let n = 1000.min(args.logs - i);
        let batch: Vec<NewLog> = (i..i + n)
            .map(|k| new_log(project.id, k, start_ms))
            .collect();
        let outcome = store.write_records(&[], &[SideRecord::Logs(batch)]);
        assert!(outcome.side.iter().all(Result::is_ok), "seeding failed");
        i += n;
    }
    println!(
        "seeded {} logs in {:.1} s ({})",
        logs::count(&*store, project.id).expect("count"),
        seeding.elapsed().as_secs_f64(),
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let page = |filter: LogFilter| {
        let rows = logs::search(&*store, project.id, &filter, 101).expect("search");
        let json: Vec<_> = rows.iter().take(100).map(log_json).collect();
        std::hint::black_box(&json);
        json.len()
    };
    let runs = args.runs;
    time("first page", runs, || page(LogFilter::default()));
    time("level=error", runs, || {
        page(LogFilter {
            levels: vec!["error".into()],
            ..Default::default()
        })
    });
    // Rare matches walk much of the index: fewer runs.
    time("user.id:42 (attribute)", runs.min(5), || {
        page(LogFilter {
            pairs: vec![("user.id".into(), "42".into())],
            ..Default::default()
        })
    });
    time("free text \"worker 3\"", runs.min(5), || {
        page(LogFilter {
            text: vec!["worker 3".into()],
            ..Default::default()
        })
    });
    let middle = start_ms + (args.logs / 2) as i64;
    time("keyset page in the middle", runs, || {
        page(LogFilter {
            before: Some((middle, i64::MAX)),
            ..Default::default()
        })
    });
    let trace = format!("{:032x}", args.logs / 40);
    time("trace lookup (20 logs)", runs, || {
        let rows = logs::of_trace(&*store, project.id, &trace, 1000).expect("trace");
        let json: Vec<_> = rows.iter().map(log_json).collect();
        std::hint::black_box(&json);
        json.len()
    });
}
