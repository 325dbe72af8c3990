//! Middleware overhead: an axum hello world, plain and behind Sentry layers, loaded
//! with `wrk` (issue 8).
//!
//! ```sh
//! apt-get install -y wrk
//! cargo bench -p sentry-benches --bench tower_overhead
//! # knobs: TOWER_BENCH_ROUNDS (5), TOWER_BENCH_SECS (8), TOWER_BENCH_CONNS (32),
//! #        TOWER_BENCH_VARIANTS (comma list, default all)
//! ```
//!
//! The program re-runs itself as the server (`tower_overhead serve <variant>`), one
//! process per run, pinned with `taskset` to core 0 (with every thread it starts: tokio's
//! single worker and the SDK's background thread, whose work therefore counts against
//! the server), and runs `wrk` pinned to core 1, both at `nice -n -20` when allowed (so
//! that other work on a shared machine disturbs them less). Variants run alternately, the order
//! rotating each round, and each figure is the median of the rounds.
//!
//! Variants:
//! - `plain`: no layer.
//! - `ours`: `sentry_tower::SentryLayer::new()`, our SDK enabled.
//! - `official`: the official `sentry-tower` 0.49 `NewSentryLayer::new_from_top()` +
//!   `SentryHttpLayer::new()` (its documented axum setup), the official SDK enabled.
//! - `ours_capture` / `official_capture`: the same, plus one `capture_message` per request.
//!
//! Both SDKs deliver every event to a real HTTP sink on loopback (`tower_overhead sink`,
//! a small axum server started once, pinned to core 1 with `wrk`) through their default
//! HTTP transports (ours: reqwest with keep-alive; official: ureq), exactly as an app
//! configured with an `http://` DSN would. The sink reads each body, inflates gzip, and
//! counts envelopes and `event` items; after each run the bench compares the events the
//! sink received with the requests the server answered, so a run that lost events shows.
//! (The in-process measurement has no captures and uses no transport.)

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;

#[path = "tower_overhead/sink.rs"]
mod sink;
use sink::{sink, sink_stats, start_sink};

const VARIANTS: &[&str] = &[
    "plain",
    "ours",
    "official",
    "ours_capture",
    "official_capture",
];
/// For the in-process measurement, which captures nothing: no sink needed.
const DSN: &str = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";

/// The DSN pointing at the sink, passed to the server processes.
fn sink_dsn(port: u16) -> String {
    format!("http://0123456789abcdef0123456789abcdef@127.0.0.1:{port}/1")
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(args.get(1).map(String::as_str).unwrap_or("plain")),
        Some("micro") => micro(),
        Some("sink") => sink(),
        _ => {
            run_micro_pinned();
            orchestrate();
        }
    }
}

// ---------------------------------------------------------------- server side

/// In process only (nothing is captured there): a transport that drops envelopes.
struct OursNull;
impl sentry_client::transport::AsyncTransport for OursNull {
    fn send(&self, envelope: Arc<sentry_client::Envelope>) -> sentry_client::transport::SendFuture {
        std::hint::black_box(envelope.to_vec());
        Box::pin(std::future::ready(
            sentry_client::transport::SendResult::Sent { rate_limits: None },
        ))
    }
}

struct OfficialNull;
impl sentry::Transport for OfficialNull {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        let mut buf = Vec::new();
        let _ = envelope.to_writer(&mut buf);
        std::hint::black_box(buf);
    }
}

async fn hello() -> &'static str {
    "Hello, World!"
}

async fn hello_ours() -> &'static str {
    sentry_client::capture_message("hello", sentry_client::Level::Info);
    "Hello, World!"
}

async fn hello_official() -> &'static str {
    sentry::capture_message("hello", sentry::Level::Info);
    "Hello, World!"
}

fn serve(variant: &str) {
    let dsn = std::env::var("TOWER_BENCH_DSN").unwrap_or_else(|_| DSN.to_owned());
    // Default transports: events go over HTTP to the sink.
    let _ours = variant.starts_with("ours").then(|| {
        sentry_client::init(sentry_client::ClientOptions {
            dsn: dsn.parse().ok(),
            ..Default::default()
        })
    });
    let _official = variant.starts_with("official").then(|| {
        let mut options = sentry::ClientOptions::new();
        options.dsn = dsn.parse().ok();
        sentry::init(options)
    });
    let app = match variant {
        "plain" => Router::new().route("/", get(hello)),
        "ours" => Router::new()
            .route("/", get(hello))
            .layer(sentry_tower::SentryLayer::new()),
        "ours_capture" => Router::new()
            .route("/", get(hello_ours))
            .layer(sentry_tower::SentryLayer::new()),
        "official" | "official_capture" => {
            let route = if variant == "official" {
                get(hello)
            } else {
                get(hello_official)
            };
            // axum applies layers in reverse: the hub layer must be the outer one.
            Router::new()
                .route("/", route)
                .layer(sentry::integrations::tower::SentryHttpLayer::new())
                .layer(sentry::integrations::tower::NewSentryLayer::<
                    axum::extract::Request,
                >::new_from_top())
        }
        other => {
            eprintln!("unknown variant {other}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!(
            "PORT {} PID {}",
            listener.local_addr().expect("addr").port(),
            std::process::id()
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                term.recv().await;
            })
            .await
            .expect("serve");
    });
    // Let the SDK finish what is queued (the CPU it takes counts), then say what it
    // dropped, and how much CPU the whole process (server, SDK worker) used.
    if let Some(g) = &_ours {
        g.flush(Some(Duration::from_secs(10)));
        eprintln!("DISCARDS {:?}", g.pending_discards());
    }
    if let Some(g) = _official {
        g.flush(Some(Duration::from_secs(10)));
        drop(g);
    }
    println!("CPU {:.3}", process_cpu_secs());
}

/// User + system CPU seconds of this process (Linux `/proc/self/stat`, 100 ticks/s).
fn process_cpu_secs() -> f64 {
    sentry_benches::cpu_ticks(std::process::id()) as f64 / 100.0
}

// ---------------------------------------------------------------- in process

/// The layers' own cost without sockets: requests through `Router::call` in a loop on a
/// one-worker runtime (on a runtime worker thread, like a server), ns per request.
fn micro() {
    use tower::Service;

    let _ours = sentry_client::init(sentry_client::ClientOptions {
        dsn: DSN.parse().ok(),
        transport: Some(Arc::new(Arc::new(OursNull))),
        ..Default::default()
    });
    let mut options = sentry::ClientOptions::new();
    options.dsn = DSN.parse().ok();
    options.transport = Some(Arc::new(|_: &sentry::ClientOptions| {
        Arc::new(OfficialNull) as Arc<dyn sentry::Transport>
    }));
    let _official = sentry::init(options);
    let routers: Vec<(&str, Router)> = vec![
        ("plain", Router::new().route("/", get(hello))),
        (
            "ours",
            Router::new()
                .route("/", get(hello))
                .layer(sentry_tower::SentryLayer::new()),
        ),
        (
            "official",
            Router::new()
                .route("/", get(hello))
                .layer(sentry::integrations::tower::SentryHttpLayer::new())
                .layer(sentry::integrations::tower::NewSentryLayer::<
                    axum::extract::Request,
                >::new_from_top()),
        ),
        // Only with TOWER_MICRO_ONLY (the default table compares the layers alone): a
        // capture per request, each envelope serialized by a dropping transport, so the
        // SDK's whole per-event path but the network is counted.
        (
            "ours_capture",
            Router::new()
                .route("/", get(hello_ours))
                .layer(sentry_tower::SentryLayer::new()),
        ),
    ];
    // TOWER_MICRO_ONLY=<variant>: measure one router (e.g. under callgrind, where the
    // instruction count difference between two request counts is the cost per request).
    let routers: Vec<(&str, Router)> = match std::env::var("TOWER_MICRO_ONLY") {
        Ok(only) => routers.into_iter().filter(|(n, _)| *n == only).collect(),
        Err(_) => routers.into_iter().take(3).collect(),
    };
    let n = env_num("TOWER_MICRO_REQUESTS", 200_000);
    let rounds = env_num("TOWER_BENCH_ROUNDS", 5) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let mut ns: Vec<Vec<f64>> = vec![Vec::new(); routers.len()];
    for round in 0..rounds {
        for k in 0..routers.len() {
            let i = (k + round) % routers.len();
            let mut router = routers[i].1.clone();
            let elapsed = rt.block_on(async move {
                tokio::spawn(async move {
                    // The "read buffer": every header value of the request, back to back.
                    let mut text = Vec::new();
                    let mut ranges = Vec::new();
                    for value in HEADER_VALUES {
                        ranges.push(text.len()..text.len() + value.len());
                        text.extend_from_slice(value.as_bytes());
                    }
                    let block = axum::body::Bytes::from(text);
                    let _shared = block.slice(..); // shared from now on, as hyper's are
                    let start = std::time::Instant::now();
                    for _ in 0..n {
                        // Headers like a browser's (a layer copies them), their values
                        // slices of one shared buffer, as hyper parses them out of its
                        // read buffer (a copy is a reference-count increment).
                        let mut req = axum::http::Request::get("/?page=2")
                            .body(axum::body::Body::empty())
                            .expect("request");
                        for (name, range) in HEADERS.iter().zip(&ranges) {
                            let value = axum::http::HeaderValue::from_maybe_shared(
                                block.slice(range.clone()),
                            )
                            .expect("header value");
                            req.headers_mut().append(name.clone(), value);
                        }
                        let res = router.call(req).await;
                        std::hint::black_box(res.map(|r| r.status()).ok());
                    }
                    start.elapsed()
                })
                .await
                .expect("loop")
            });
            ns[i].push(elapsed.as_nanos() as f64 / n as f64);
        }
    }
    // Events captured in process are all finished before the process exits, so that an
    // instruction count covers the worker's part of every one of them.
    _ours.flush(Some(Duration::from_secs(600)));
    println!("in-process: {rounds} rounds x {n} requests through Router::call, ns/request");
    println!("| variant | median ns/request | over plain | runs |");
    println!("|---|---:|---:|---|");
    let plain = median(&mut ns[0].clone());
    for (i, (name, _)) in routers.iter().enumerate() {
        let runs: Vec<String> = ns[i].iter().map(|v| format!("{v:.0}")).collect();
        let m = median(&mut ns[i]);
        println!(
            "| {name} | {m:.0} | +{:.0} | {} |",
            m - plain,
            runs.join(", ")
        );
    }
    println!();
}

/// The headers of the in-process requests (with [`HEADER_VALUES`]).
const HEADERS: [axum::http::HeaderName; 6] = [
    axum::http::header::HOST,
    axum::http::header::USER_AGENT,
    axum::http::header::ACCEPT,
    axum::http::header::ACCEPT_LANGUAGE,
    axum::http::header::ACCEPT_ENCODING,
    axum::http::header::COOKIE,
];
const HEADER_VALUES: [&str; 6] = [
    "localhost:3000",
    "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    "text/html,application/xhtml+xml",
    "en-US,en;q=0.5",
    "gzip, deflate, br",
    "session=0123456789abcdef",
];

// ---------------------------------------------------------------- load side

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
    port: u16,
    pid: u32,
    /// Where `perf stat` writes the instruction count, when perf is used.
    perf_out: Option<std::path::PathBuf>,
    stdout: BufReader<std::process::ChildStdout>,
}

fn start_server(variant: &str, dsn: &str, pin: bool, perf: bool, round: usize) -> Server {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(if pin { "taskset" } else { "env" });
    if pin {
        cmd.args(["-c", "0"]);
    }
    if boost() {
        cmd.args(["nice", "-n", "-20"]);
    }
    let perf_out = perf.then(|| {
        std::env::temp_dir().join(format!(
            "tower_overhead.{}.{variant}.{round}.perf",
            std::process::id()
        ))
    });
    if let Some(out) = &perf_out {
        cmd.args(["perf", "stat", "-x", ",", "-e", "instructions", "-o"])
            .arg(out);
    }
    let mut child = cmd
        .env("TOWER_BENCH_DSN", dsn)
        .arg(exe)
        .arg("serve")
        .arg(variant)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("port line");
    // "PORT <port> PID <pid>"
    let words: Vec<&str> = line.split_whitespace().collect();
    let (port, pid) = match words.as_slice() {
        ["PORT", port, "PID", pid] => (
            port.parse()
                .unwrap_or_else(|_| panic!("server said {line:?}")),
            pid.parse()
                .unwrap_or_else(|_| panic!("server said {line:?}")),
        ),
        _ => panic!("server said {line:?}"),
    };
    Server {
        child,
        port,
        pid,
        perf_out,
        stdout,
    }
}

/// Stops the server; returns its CPU seconds, its instruction count (with perf), and
/// what it said on stderr.
fn stop_server(mut server: Server) -> (f64, Option<f64>, String) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.pid.to_string())
        .status();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut server.stdout, &mut rest);
    let out = server.child.wait_with_output().expect("server exit");
    let cpu = rest
        .lines()
        .find_map(|l| l.strip_prefix("CPU "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    // perf's CSV: "<count>,,instructions,..."
    let instructions = server.perf_out.and_then(|path| {
        let text = std::fs::read_to_string(&path).ok()?;
        let _ = std::fs::remove_file(&path);
        text.lines()
            .find(|l| l.contains("instructions"))
            .and_then(|l| l.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    });
    (
        cpu,
        instructions,
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

/// Runs the in-process measurement in a child process on core 0 (nice -20 if allowed).
fn run_micro_pinned() {
    let exe = std::env::current_exe().expect("current exe");
    let pin = std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    let mut cmd = Command::new(if pin { "taskset" } else { "env" });
    if pin {
        cmd.args(["-c", "0"]);
    }
    if boost() {
        cmd.args(["nice", "-n", "-20"]);
    }
    let status = cmd.arg(exe).arg("micro").status().expect("run micro");
    assert!(status.success(), "micro failed");
}

/// Whether server and wrk run at nice -20 (possible as root): on a shared machine, other
/// work (builds) then takes far less of their cores. `TOWER_BENCH_NICE=0` turns it off.
fn boost() -> bool {
    static BOOST: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *BOOST.get_or_init(|| {
        std::env::var("TOWER_BENCH_NICE").map_or(true, |v| v != "0")
            && Command::new("nice")
                .args(["-n", "-20", "true"])
                .output()
                .is_ok_and(|o| o.status.success() && o.stderr.is_empty())
    })
}

/// Runs wrk and returns (requests per second, requests), or the raw output on failure.
fn wrk(port: u16, secs: u64, conns: u64, pin: bool) -> Result<(f64, f64), String> {
    let mut cmd = Command::new(if pin { "taskset" } else { "env" });
    if pin {
        cmd.args(["-c", "1"]);
    }
    if boost() {
        cmd.args(["nice", "-n", "-20"]);
    }
    cmd.arg("wrk");
    let out = cmd
        .args([
            "-t1",
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            &format!("http://127.0.0.1:{port}/"),
        ])
        .output()
        .map_err(|e| format!("cannot run wrk: {e} (apt-get install -y wrk)"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.contains("Non-2xx") || text.contains("Socket errors") {
        return Err(text);
    }
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok());
    // "  123456 requests in 8.00s, 15.19MB read"
    let total = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    match (rps, total) {
        (Some(r), Some(t)) => Ok((r, t)),
        _ => Err(text),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn orchestrate() {
    let rounds = env_num("TOWER_BENCH_ROUNDS", 5) as usize;
    let secs = env_num("TOWER_BENCH_SECS", 8);
    let conns = env_num("TOWER_BENCH_CONNS", 32);
    let variants: Vec<String> = match std::env::var("TOWER_BENCH_VARIANTS") {
        Ok(list) => list.split(',').map(|s| s.trim().to_owned()).collect(),
        Err(_) => VARIANTS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = cores >= 2
        && Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
    let perf = std::env::var("TOWER_BENCH_PERF").map_or(true, |v| v != "0")
        && Command::new("perf")
            .args(["stat", "-x", ",", "-e", "instructions", "true"])
            .output()
            .is_ok_and(|o| o.status.success());
    let (mut sink_child, sink_port) = start_sink(pin);
    let dsn = sink_dsn(sink_port);
    println!(
        "tower_overhead: {rounds} rounds x {secs}s, wrk -t1 -c{conns}, nice -20: {}, server {} wrk and sink {}; {}",
        boost(),
        if pin { "core 0" } else { "unpinned" },
        if pin { "core 1" } else { "unpinned" },
        load_average(),
    );
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut cpu_us: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut instr: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut delivered_ratio: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        for k in 0..variants.len() {
            let i = (k + round) % variants.len();
            let variant = &variants[i];
            let before = sink_stats(sink_port);
            let server = start_server(variant, &dsn, pin, perf, round);
            // Warm up: connections, allocator, lazy statics.
            let warm = wrk(server.port, 1, conns, pin).map_or(0.0, |(_, n)| n);
            let rps = wrk(server.port, secs, conns, pin);
            let (cpu, instructions, stats) = stop_server(server);
            let after = sink_stats(sink_port);
            let delivered = after.1 - before.1;
            let envelopes = after.0 - before.0;
            let gzipped = after.2 - before.2;
            let kb = (after.3 - before.3) as f64 / envelopes.max(1) as f64 / 1024.0;
            match rps {
                Ok((rps, total)) => {
                    let us = cpu * 1e6 / (warm + total);
                    let ipr = instructions.map(|n| n / (warm + total));
                    if let Some(ipr) = ipr {
                        instr[i].push(ipr);
                    }
                    let served = (warm + total) as u64;
                    println!(
                        "round {} {variant:>16}: {rps:>10.0} req/s {us:>6.1} us CPU/req {} instr/req; sink: {delivered} events ({envelopes} envelopes, {gzipped} gzipped, {kb:.2} KiB each) for {served} requests; {}  {stats}",
                        round + 1,
                        ipr.map_or("-".to_owned(), |v| format!("{v:.0}")),
                        load_average(),
                    );
                    delivered_ratio[i].push(delivered as f64 / served.max(1) as f64);
                    results[i].push(rps);
                    cpu_us[i].push(us);
                }
                Err(out) => {
                    eprintln!("round {} {variant}: wrk failed:\n{out}\n{stats}", round + 1);
                    std::process::exit(1);
                }
            }
        }
    }
    let plain = variants
        .iter()
        .position(|v| v == "plain")
        .map(|i| median(&mut results[i].clone()));
    println!();
    let plain_cpu = variants
        .iter()
        .position(|v| v == "plain")
        .map(|i| median(&mut cpu_us[i].clone()));
    let plain_instr = variants
        .iter()
        .position(|v| v == "plain")
        .map(|i| median(&mut instr[i].clone()));
    println!(
        "| variant | median req/s | vs plain | median CPU us/req | plain/this | median instructions/req | plain/this | events delivered / requests (min) | runs (req/s) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for (i, variant) in variants.iter().enumerate() {
        let runs: Vec<String> = results[i].iter().map(|r| format!("{r:.0}")).collect();
        let m = median(&mut results[i]);
        let c = median(&mut cpu_us[i]);
        let vs = plain.map_or("-".to_owned(), |p| format!("{:.1}%", 100.0 * m / p));
        let vs_cpu = plain_cpu.map_or("-".to_owned(), |p| format!("{:.1}%", 100.0 * p / c));
        let n = median(&mut instr[i]);
        let n_text = if instr[i].is_empty() {
            "-".to_owned()
        } else {
            format!("{n:.0}")
        };
        let vs_instr = plain_instr
            .filter(|p| *p > 0.0 && n > 0.0)
            .map_or("-".to_owned(), |p| format!("{:.1}%", 100.0 * p / n));
        let min_delivered = delivered_ratio[i]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let delivered = if variant.ends_with("capture") {
            format!("{:.1}%", 100.0 * min_delivered)
        } else {
            "-".to_owned()
        };
        println!(
            "| {variant} | {m:.0} | {vs} | {c:.2} | {vs_cpu} | {n_text} | {vs_instr} | {delivered} | {} |",
            runs.join(", ")
        );
    }
    println!("\n{}", load_average());
    let _ = sink_child.kill();
    let _ = sink_child.wait();
}

/// The 1/5/15-minute load averages, to judge how disturbed a run was.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let parts: Vec<&str> = text.split_whitespace().take(3).collect();
    format!("load average {}", parts.join(" "))
}
