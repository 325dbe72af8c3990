//! Load generator for `sentry-server-lite`: starts the release binary on a free port with
//! a fresh data dir, sends realistic events (5–10 KB, ~20-frame stack traces, a few
//! hundred distinct issues) from N concurrent keep-alive connections, and reports
//! acknowledged-after-commit events/s, latency percentiles, server CPU and RSS — then
//! checks that every acknowledged event is in the database.
//!
//! The client is a minimal HTTP/1.1 client over keep-alive TCP connections with the
//! requests built once per issue (only the event id is patched in per request), on one
//! thread by default (`--client-threads N`): the load generator shares the machine with
//! the server, so its own CPU per request is kept small, and it reports it.
//!
//! ```text
//! cargo build --release -p sentry-server-lite
//! cargo run --release -p sentry-benches --bin server_load -- --seconds 20
//! # PostgreSQL (an empty database), one or several `serve` processes sharing it:
//! cargo run --release -p sentry-benches --bin server_load -- \
//!     --database-url postgres://USER@HOST:PORT/DB --instances 2
//! # each instance with its share of a 2-core machine:
//! cargo run --release -p sentry-benches --bin server_load -- \
//!     --database-url postgres://USER@HOST:PORT/DB --instances 2 --worker-threads 1 --writer-threads 1
//! # with an alert rule on the project (issue #19): `new-issue` (new issue + regression,
//! # a webhook), or `volume` (also counts every batch's events in the volume windows and
//! # never crosses its threshold: the most the outbox adds to a batch that fires nothing)
//! cargo run --release -p sentry-benches --bin server_load -- --seconds 20 --alert-rule volume
//! # with release health (issue #21): each envelope also carries a `sessions` item of N
//! # per-minute buckets (request-mode aggregates, three releases, users)
//! cargo run --release -p sentry-benches --bin server_load -- --seconds 20 --sessions 10
//! ```

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry_benches::server_events::{envelope, event_template};
use sentry_benches::{cpu_ticks, postgres_cpu_ticks, MachineCpu};
use sentry_server_lite::store::Synchronous;
use serde_json::Value;

struct Args {
    seconds: u64,
    warmup: u64,
    connections: usize,
    issues: usize,
    server_bin: PathBuf,
    synchronous: String,
    gzip: bool,
    client_threads: usize,
    /// PostgreSQL instead of SQLite (an empty database).
    database_url: Option<String>,
    /// Server processes sharing the database; connections are spread over them.
    instances: usize,
    /// `serve --worker-threads` for each instance (the server's default when not given).
    worker_threads: Option<String>,
    /// `serve --writer-threads` for each instance (PostgreSQL).
    writer_threads: Option<String>,
    /// An alert rule on the project: `new-issue` or `volume` (see the module docs).
    alert_rule: Option<String>,
    /// Buckets of the `sessions` item added to each envelope (0: none).
    sessions: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        seconds: 20,
        warmup: 3,
        connections: 32,
        issues: 300,
        server_bin: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/release/sentry-server-lite"
        )),
        synchronous: "full".into(),
        gzip: false,
        client_threads: 1,
        database_url: None,
        instances: 1,
        worker_threads: None,
        writer_threads: None,
        alert_rule: None,
        sessions: 0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = |i: usize| args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--seconds" => a.seconds = val(i).parse().unwrap_or(a.seconds),
            "--warmup" => a.warmup = val(i).parse().unwrap_or(a.warmup),
            "--connections" => a.connections = val(i).parse().unwrap_or(a.connections),
            "--issues" => a.issues = val(i).parse().unwrap_or(a.issues),
            "--server-bin" => a.server_bin = PathBuf::from(val(i)),
            "--synchronous" => a.synchronous = val(i),
            "--database-url" => a.database_url = Some(val(i)),
            "--instances" => a.instances = val(i).parse().unwrap_or(1).max(1),
            "--worker-threads" => a.worker_threads = Some(val(i)),
            "--writer-threads" => a.writer_threads = Some(val(i)),
            "--alert-rule" => a.alert_rule = Some(val(i)),
            "--sessions" => a.sessions = val(i).parse().unwrap_or(0).min(100),
            "--client-threads" => a.client_threads = val(i).parse().unwrap_or(a.client_threads),
            "--gzip" => {
                a.gzip = true;
                i += 1;
                continue;
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    a
}

fn gzip(data: &[u8]) -> Vec<u8> {
    sentry_client::protocol::encoding::gzip(data, 6)
}

fn run_cli(bin: &PathBuf, dir: &std::path::Path, url: Option<&str>, args: &[&str]) -> Value {
    let mut cmd = Command::new(bin);
    if let Some(url) = url {
        cmd.env("SENTRY_LITE_DATABASE_URL", url);
    }
    let out = cmd
        .args(args)
        .args(["--json", "--data-dir"])
        .arg(dir)
        .output()
        .expect("run sentry-server-lite");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap_or(b"")).expect("json")
}

fn start_server(args: &Args, dir: &std::path::Path) -> (Child, String) {
    let mut cmd = Command::new(&args.server_bin);
    if let Some(url) = &args.database_url {
        cmd.env("SENTRY_LITE_DATABASE_URL", url);
    }
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--synchronous",
        &args.synchronous,
        "--data-dir",
    ])
    .arg(dir);
    if let Some(n) = &args.worker_threads {
        cmd.args(["--worker-threads", n]);
    }
    if args.alert_rule.is_some() {
        // The rule's webhook (the discard port) refuses at once: tries stay cheap.
        cmd.arg("--alert-allow-private-networks");
    }
    if let Some(n) = &args.writer_threads {
        cmd.args(["--writer-threads", n]);
    }
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server (build it: cargo build --release -p sentry-server-lite)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let url = line.trim().rsplit(' ').next().unwrap_or("").to_owned();
    (child, url)
}

fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

/// One pre-built request per issue: request line, headers and envelope, with the byte
/// offsets where the 32-hex event id goes (envelope header and event payload).
struct Prebuilt {
    bytes: Vec<u8>,
    id_offsets: Vec<usize>,
}

fn prebuild(path: &str, host: &str, auth: &str, template: &str, extra: &[u8]) -> Prebuilt {
    let mut body = envelope(template, &"0".repeat(32));
    body.extend_from_slice(extra);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nX-Sentry-Auth: {auth}\r\n\
         Content-Type: application/x-sentry-envelope\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut bytes = head.into_bytes();
    let body_start = bytes.len();
    bytes.extend_from_slice(&body);
    let zeros = format!("\"{}\"", "0".repeat(32));
    let id_offsets = body
        .windows(zeros.len())
        .enumerate()
        .filter(|(_, w)| *w == zeros.as_bytes())
        .map(|(i, _)| body_start + i + 1)
        .collect::<Vec<_>>();
    assert_eq!(
        id_offsets.len(),
        2,
        "event id in the envelope header and the event"
    );
    Prebuilt { bytes, id_offsets }
}

/// A `sessions` item of `buckets` per-minute buckets (none for 0): the request-mode
/// aggregates an SDK sends, for one of three releases, with a user per bucket.
fn sessions_item(buckets: usize, k: usize) -> Vec<u8> {
    if buckets == 0 {
        return Vec::new();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let aggregates: Vec<Value> = (0..buckets)
        .map(|b| {
            let minute = (now / 60 - b as u64) * 60;
            serde_json::json!({
                "started": minute, "did": format!("user-{}", (k + b) % 50),
                "exited": 20, "errored": 2, "crashed": (b % 3 == 0) as u32,
            })
        })
        .collect();
    let payload = serde_json::json!({
        "aggregates": aggregates,
        "attrs": {"release": format!("load@1.{}", k % 3), "environment": "production"},
    })
    .to_string();
    format!(
        "{{\"type\":\"sessions\",\"length\":{}}}\n{payload}\n",
        payload.len()
    )
    .into_bytes()
}

/// How long one request may take before the generator gives up on it (reported as
/// status 0, "no answer") instead of waiting forever on a server that stopped answering.
const ROUND_TRIP_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `req` on a keep-alive connection and reads the answer; returns the status, or
/// a `TimedOut` error when there is no full answer within [`ROUND_TRIP_TIMEOUT`].
async fn round_trip(
    stream: &mut tokio::net::TcpStream,
    req: &[u8],
    buf: &mut Vec<u8>,
) -> std::io::Result<u16> {
    tokio::time::timeout(
        ROUND_TRIP_TIMEOUT,
        sentry_benches::http_round_trip(stream, req, buf),
    )
    .await
    .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// A plain GET on a fresh connection; the body as text.
async fn http_get(addr: std::net::SocketAddr, host: &str, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let mut buf = Vec::new();
    round_trip(&mut stream, req.as_bytes(), &mut buf)
        .await
        .ok()?;
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    Some(String::from_utf8_lossy(&buf[end..]).into_owned())
}

/// This process's own CPU (utime + stime), in clock ticks.
fn own_cpu_ticks() -> u64 {
    cpu_ticks(std::process::id())
}

type WorkerResult = (u64, u64, std::collections::BTreeMap<u16, u64>, Vec<u32>);

async fn worker(
    w: usize,
    addr: std::net::SocketAddr,
    requests: Arc<Vec<Prebuilt>>,
    gz: bool,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> WorkerResult {
    let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
    let (mut ok, mut ok_total, mut failed) = (0u64, 0u64, std::collections::BTreeMap::new());
    let mut stream: Option<tokio::net::TcpStream> = None;
    let mut req: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut n = w;
    while !stop.load(Ordering::Relaxed) {
        let pre = &requests[n % requests.len()];
        let id = format!("{:08x}{:024x}", w, n);
        n += 1013;
        req.clear();
        req.extend_from_slice(&pre.bytes);
        for &at in &pre.id_offsets {
            req[at..at + 32].copy_from_slice(id.as_bytes());
        }
        if gz {
            let split = req.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
            let body = gzip(&req[split..]);
            let head = String::from_utf8_lossy(&req[..split]).into_owned();
            req.clear();
            for line in head.split("\r\n").filter(|l| !l.is_empty()) {
                if line.starts_with("Content-Length:") {
                    req.extend_from_slice(format!("Content-Length: {}", body.len()).as_bytes());
                } else {
                    req.extend_from_slice(line.as_bytes());
                }
                req.extend_from_slice(b"\r\n");
            }
            req.extend_from_slice(b"Content-Encoding: gzip\r\n\r\n");
            req.extend_from_slice(&body);
        }
        let t = Instant::now();
        if stream.is_none() {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                }
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let status = match stream.as_mut() {
            Some(s) => round_trip(s, &req, &mut buf).await.unwrap_or(0),
            None => 0,
        };
        if status == 0 {
            stream = None;
        }
        let us = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
        if status == 200 {
            ok_total += 1;
        }
        if measuring.load(Ordering::Relaxed) {
            if status == 200 {
                ok += 1;
                lat.push(us);
            } else {
                *failed.entry(status).or_insert(0u64) += 1;
            }
        }
    }
    (ok, ok_total, failed, lat)
}

fn main() {
    let args = parse_args();
    let runtime = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.client_threads)
            .enable_all()
            .build()
    }
    .expect("runtime");
    runtime.block_on(run(args));
}

/// Adds the `--alert-rule` rule to the project, through the store (before any server runs).
fn add_alert_rule(args: &Args, dir: &std::path::Path, project_id: i64, kind: &str) {
    use sentry_server_lite::store::alerts::{
        self, AlertAction, RuleSpec, Trigger, VolumeThreshold,
    };
    let store = sentry_server_lite::store::open(
        args.database_url.as_deref(),
        &sentry_server_lite::config::database_path(dir),
        Synchronous::Full,
    )
    .expect("open the store");
    let (triggers, volume) = match kind {
        "new-issue" => (vec![Trigger::NewIssue, Trigger::Regression], None),
        "volume" => (
            vec![Trigger::NewIssue, Trigger::Regression, Trigger::Volume],
            Some(VolumeThreshold {
                events: 1_000_000_000,
                minutes: 60,
            }),
        ),
        other => panic!("--alert-rule {other:?}: use new-issue or volume"),
    };
    let spec = RuleSpec {
        name: format!("server_load {kind}"),
        triggers,
        environment: None,
        level: None,
        volume,
        actions: vec![AlertAction::Webhook {
            url: "http://127.0.0.1:9/".into(),
            secret: Some("load".into()),
        }],
        frequency_minutes: 30,
    };
    alerts::create_rule(store.as_ref(), project_id, &spec).expect("create the alert rule");
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = run_cli(
        &args.server_bin,
        dir.path(),
        args.database_url.as_deref(),
        &["quickstart", "--no-serve", "--bind", "127.0.0.1:0"],
    );
    let dsn = setup["dsn"].as_str().expect("dsn").to_owned();
    let key = dsn[7..].split('@').next().expect("key").to_owned();
    let project_id = setup["project_id"].as_i64().expect("project id");
    if let Some(kind) = &args.alert_rule {
        add_alert_rule(&args, dir.path(), project_id, kind);
    }
    let servers: Vec<(Child, String)> = (0..args.instances)
        .map(|_| start_server(&args, dir.path()))
        .collect();
    let pids: Vec<u32> = servers.iter().map(|s| s.0.id()).collect();
    let hosts: Vec<String> = servers
        .iter()
        .map(|s| {
            s.1.trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned()
        })
        .collect();
    let addrs: Vec<std::net::SocketAddr> = hosts
        .iter()
        .map(|h| h.parse().expect("server address"))
        .collect();
    // The Host header of the prebuilt requests (the servers do not check it).
    let host = hosts[0].clone();
    let path = format!("/api/{project_id}/envelope/");
    let auth = format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=server-load/1");

    let templates: Vec<String> = (0..args.issues).map(event_template).collect();
    let sizes: Vec<usize> = templates.iter().map(String::len).collect();
    let requests: Arc<Vec<Prebuilt>> = Arc::new(
        templates
            .iter()
            .enumerate()
            .map(|(k, t)| prebuild(&path, &host, &auth, t, &sessions_item(args.sessions, k)))
            .collect(),
    );

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..args.connections {
        tasks.push(tokio::spawn(worker(
            w,
            addrs[w % addrs.len()],
            requests.clone(),
            args.gzip,
            measuring.clone(),
            stop.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let cpu_all = || pids.iter().map(|p| cpu_ticks(*p)).sum::<u64>();
    let rss_all = |field: &str| {
        pids.iter()
            .map(|p| proc_status(*p, field).unwrap_or(0))
            .sum::<u64>()
    };
    let cpu0 = cpu_all();
    let own0 = own_cpu_ticks();
    let pg0 = postgres_cpu_ticks();
    let machine0 = MachineCpu::now();
    let t0 = Instant::now();
    measuring.store(true, Ordering::Relaxed);
    let mut rss_peak_sampled = 0;
    while t0.elapsed() < Duration::from_secs(args.seconds) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rss_peak_sampled = rss_peak_sampled.max(rss_all("VmRSS:"));
    }
    measuring.store(false, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_all();
    let own1 = own_cpu_ticks();
    let pg1 = postgres_cpu_ticks();
    let machine1 = MachineCpu::now();
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut total_acked) = (0u64, 0u64);
    let mut failed = std::collections::BTreeMap::new();
    let mut lat = Vec::new();
    for t in tasks {
        let (o, ot, f, l) = t.await.expect("worker");
        ok += o;
        total_acked += ot;
        for (k, v) in f {
            *failed.entry(k).or_insert(0) += v;
        }
        lat.extend(l);
    }
    lat.sort_unstable();
    let hwm = rss_all("VmHWM:");
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let cores = (cpu1.saturating_sub(cpu0)) as f64 / ticks_per_sec / elapsed;
    let own_cores = (own1.saturating_sub(own0)) as f64 / ticks_per_sec / elapsed;
    let pg_cores = (pg1.saturating_sub(pg0)) as f64 / ticks_per_sec / elapsed;
    let cores_here = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let (machine_busy, machine_steal) = machine1.since(&machine0, cores_here);

    let mut all_metrics = Vec::new();
    for (a, h) in addrs.iter().zip(&hosts) {
        all_metrics.push(http_get(*a, h, "/metrics").await.unwrap_or_default());
    }
    // Summed over the instances.
    let metric = |name: &str| -> f64 {
        all_metrics
            .iter()
            .filter_map(|metrics| {
                metrics
                    .lines()
                    .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
                    .and_then(|l| l.rsplit(' ').next())
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .sum()
    };
    let batches = metric("sentry_lite_writer_batch_size_count");
    let batch_events = metric("sentry_lite_writer_batch_size_sum");
    let commit_secs = metric("sentry_lite_writer_commit_seconds_sum");

    // Every acknowledged event must be in the database.
    for (mut child, _) in servers {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let store = sentry_server_lite::store::open(
        args.database_url.as_deref(),
        &dir.path().join("sentry.db"),
        Synchronous::Full,
    )
    .expect("open db");
    let stored = store.count_events().expect("count");
    let issues = store
        .search_issues(
            project_id,
            &sentry_server_lite::store::IssueQuery::default(),
            sentry_server_lite::store::Page {
                offset: 0,
                limit: 100_000,
            },
        )
        .map(|p| p.issues)
        .expect("issues")
        .len();

    let min = sizes.iter().min().copied().unwrap_or(0);
    let max = sizes.iter().max().copied().unwrap_or(0);
    println!(
        "server-load: {} connections, {} s measured after {} s warm-up, synchronous={}, body={}, \
         database={}, instances={}, worker threads={}, writer threads={}",
        args.connections,
        args.seconds,
        args.warmup,
        args.synchronous,
        if args.gzip { "gzip" } else { "plain" },
        if args.database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        args.instances,
        args.worker_threads.as_deref().unwrap_or("default"),
        args.writer_threads.as_deref().unwrap_or("default")
    );
    println!(
        "  events: {min}-{max} bytes of JSON, {} distinct issues, 20 frames each",
        args.issues
    );
    if args.sessions > 0 {
        println!(
            "  with each event a sessions item of {} buckets (release health)",
            args.sessions
        );
    }
    println!(
        "  acknowledged (committed) events/s: {:.0}",
        ok as f64 / elapsed
    );
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    println!("  non-200 answers during measurement: {failed:?}");
    println!(
        "  server CPU: {cores:.2} cores ({:.0} us per acknowledged event); load generator CPU: {own_cores:.2} cores; RSS peak {:.1} MB (sampled {:.1} MB)",
        cores * 1e6 / (ok as f64 / elapsed).max(1.0),
        hwm as f64 / 1024.0,
        rss_peak_sampled as f64 / 1024.0
    );
    println!(
        "  machine: {machine_busy:.2} of {cores_here:.0} cores busy, {machine_steal:.2} cores stolen by the hypervisor"
    );
    if args.database_url.is_some() {
        println!(
            "  PostgreSQL CPU (every `postgres` process on this machine): {pg_cores:.2} cores ({:.0} us per acknowledged event)",
            pg_cores * 1e6 / (ok as f64 / elapsed).max(1.0)
        );
    }
    if batches > 0.0 {
        println!(
            "  writer: {batches:.0} commits, {:.1} events per commit, {:.2} ms per commit, busy {:.0}% of the run",
            batch_events / batches,
            commit_secs / batches * 1000.0,
            commit_secs / (elapsed + args.warmup as f64) * 100.0
        );
    }
    println!("  durability: {total_acked} acknowledged in total, {stored} stored, {issues} issues");
    if stored < total_acked {
        println!(
            "  ERROR: {} acknowledged events are missing",
            total_acked - stored
        );
        std::process::exit(1);
    }
}
