//! Load generator for structured logs (issue #20): starts the release server on a free
//! port with a fresh data dir, sends `log` envelopes (`--logs-per-envelope`, default 100
//! logs of ~300 bytes with 6 attributes, as an SDK's batch) from `--connections`
//! keep-alive connections and, at the same time, error events from
//! `--event-connections` more; reports logs/s and events/s acknowledged after commit
//! (200 answers), latency percentiles of each, and the server's CPU — then checks
//! through the store that every acknowledged log is there.
//!
//! ```text
//! cargo build --release -p sentry-server-lite
//! cargo run --release -p sentry-benches --bin log_load -- --seconds 20
//! # logs only:
//! cargo run --release -p sentry-benches --bin log_load -- --seconds 20 --event-connections 0
//! # PostgreSQL (an empty database):
//! cargo run --release -p sentry-benches --bin log_load -- --database-url postgres://USER@HOST:PORT/DB
//! ```

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry_benches::server_events::{envelope, event_template};
use sentry_benches::{cpu_ticks, http_round_trip};
use serde_json::Value;

struct Args {
    seconds: u64,
    connections: usize,
    event_connections: usize,
    logs_per_envelope: usize,
    server_bin: PathBuf,
    database_url: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        seconds: 20,
        connections: 4,
        event_connections: 2,
        logs_per_envelope: 100,
        server_bin: PathBuf::from("target/release/sentry-server-lite"),
        database_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => a.seconds = value().parse().expect("--seconds N"),
            "--connections" => a.connections = value().parse().expect("--connections N"),
            "--event-connections" => {
                a.event_connections = value().parse().expect("--event-connections N")
            }
            "--logs-per-envelope" => {
                a.logs_per_envelope = value().parse().expect("--logs-per-envelope N")
            }
            "--server-bin" => a.server_bin = value().into(),
            "--database-url" => a.database_url = Some(value()),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// A `log` envelope of `n` logs, the first trace id patched per request by the caller.
fn log_envelope(n: usize, seq: u64) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    const LEVELS: [(&str, u8); 4] = [("info", 9), ("debug", 5), ("warn", 13), ("error", 17)];
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let (level, severity) = LEVELS[i % 4];
            serde_json::json!({
                "timestamp": now + i as f64 * 1e-6,
                "trace_id": format!("{:032x}", seq * 1000 + (i as u64 % 10)),
                "level": level,
                "severity_number": severity,
                "body": format!("request {seq}-{i} handled in {} ms by worker {}", i * 3 % 97, i % 8),
                "attributes": {
                    "sentry.release": {"value": "load@1.0", "type": "string"},
                    "sentry.environment": {"value": "bench", "type": "string"},
                    "http.route": {"value": "/api/orders/{id}", "type": "string"},
                    "http.status": {"value": 200, "type": "integer"},
                    "duration_ms": {"value": (i * 3 % 97) as f64 + 0.5, "type": "double"},
                    "cache.hit": {"value": i % 2 == 0, "type": "boolean"},
                }
            })
        })
        .collect();
    let payload = serde_json::to_vec(&serde_json::json!({ "items": items })).expect("json");
    let mut out = b"{}\n".to_vec();
    out.extend_from_slice(
        format!(
            "{{\"type\":\"log\",\"item_count\":{n},\"content_type\":\"application/vnd.sentry.items.log+json\",\"length\":{}}}\n",
            payload.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&payload);
    out.push(b'\n');
    out
}

fn request(path: &str, host: &str, auth: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nX-Sentry-Auth: {auth}\r\n\
         Content-Type: application/x-sentry-envelope\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

async fn worker(
    addr: std::net::SocketAddr,
    make: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let req = make(seq);
        seq += 1;
        let start = Instant::now();
        match tokio::time::timeout(
            Duration::from_secs(10),
            http_round_trip(&mut stream, &req, &mut buf),
        )
        .await
        {
            Ok(Ok(200)) => tally.ok += 1,
            _ => tally.failed += 1,
        }
        tally
            .latencies_us
            .push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn report(name: &str, unit_per_ok: u64, tallies: Vec<Tally>, secs: f64) -> u64 {
    let ok: u64 = tallies.iter().map(|t| t.ok).sum();
    let failed: u64 = tallies.iter().map(|t| t.failed).sum();
    let mut lat: Vec<u32> = tallies.into_iter().flat_map(|t| t.latencies_us).collect();
    lat.sort_unstable();
    println!(
        "{name}: {:.0}/s acknowledged ({ok} requests ok, {failed} failed), latency p50 {:.2} ms, p99 {:.2} ms",
        (ok * unit_per_ok) as f64 / secs,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    ok * unit_per_ok
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(args));
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut setup = Command::new(&args.server_bin);
    if let Some(url) = &args.database_url {
        setup.env("SENTRY_LITE_DATABASE_URL", url);
    }
    let out = setup
        .args([
            "quickstart",
            "--no-serve",
            "--bind",
            "127.0.0.1:0",
            "--json",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run quickstart (build: cargo build --release -p sentry-server-lite)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let setup: Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap_or(b""))
            .expect("json");
    let dsn = setup["dsn"].as_str().expect("dsn").to_owned();
    let key = dsn[7..].split('@').next().expect("key").to_owned();
    let project_id = setup["project_id"].as_i64().expect("project id");

    let mut serve = Command::new(&args.server_bin);
    if let Some(url) = &args.database_url {
        serve.env("SENTRY_LITE_DATABASE_URL", url);
    }
    let mut child = serve
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let url = line.trim().rsplit(' ').next().unwrap_or("").to_owned();
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let addr: std::net::SocketAddr = host.parse().expect("server address");
    let path = format!("/api/{project_id}/envelope/");
    let auth = format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=log-load/1");

    let n = args.logs_per_envelope;
    let (p, h, a) = (path.clone(), host.clone(), auth.clone());
    let logs: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync> =
        Arc::new(move |seq| request(&p, &h, &a, &log_envelope(n, seq)));
    let template = event_template(0);
    let events: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync> = Arc::new(move |seq| {
        let id = format!("{:032x}", seq + (1 << 60));
        request(&path, &host, &auth, &envelope(&template, &id))
    });

    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = cpu_ticks(child.id());
    let started = Instant::now();
    let log_tasks: Vec<_> = (0..args.connections)
        .map(|_| tokio::spawn(worker(addr, logs.clone(), stop.clone())))
        .collect();
    let event_tasks: Vec<_> = (0..args.event_connections)
        .map(|_| tokio::spawn(worker(addr, events.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut log_tallies = Vec::new();
    for t in log_tasks {
        log_tallies.push(t.await.expect("worker"));
    }
    let mut event_tallies = Vec::new();
    for t in event_tasks {
        event_tallies.push(t.await.expect("worker"));
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(child.id()) - cpu_before) as f64 / 100.0;
    println!(
        "{} log connections ({n} logs per envelope), {} event connections, {secs:.1} s, server CPU {:.0}%",
        args.connections,
        args.event_connections,
        cpu / secs * 100.0
    );
    let acked_logs = report("logs", n as u64, log_tallies, secs);
    if args.event_connections > 0 {
        report("events", 1, event_tallies, secs);
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    // Every acknowledged log is stored.
    let store = sentry_server_lite::store::open(
        args.database_url.as_deref(),
        &sentry_server_lite::config::database_path(dir.path()),
        sentry_server_lite::store::Synchronous::Normal,
    )
    .expect("open the store");
    let stored = sentry_server_lite::store::logs::count(&*store, project_id).expect("count");
    println!("stored logs: {stored} (acknowledged {acked_logs})");
    assert!(stored >= acked_logs, "acknowledged logs are missing");
}
