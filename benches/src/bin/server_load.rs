//! Load generator for `sentry-server-lite`: starts the release binary on a free port with
//! a fresh data dir, sends realistic events (5–10 KB, ~20-frame stack traces, a few
//! hundred distinct issues) from N concurrent keep-alive connections, and reports
//! acknowledged-after-commit events/s, latency percentiles, server CPU and RSS — then
//! checks that every acknowledged event is in the database.
//!
//! ```text
//! cargo build --release -p sentry-server-lite
//! cargo run --release -p sentry-benches --bin server_load -- --seconds 20
//! # PostgreSQL (an empty database), one or several `serve` processes sharing it:
//! cargo run --release -p sentry-benches --bin server_load -- \
//!     --database-url postgres://USER@HOST:PORT/DB --instances 2
//! ```

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry_server_lite::store::Synchronous;
use serde_json::{json, Value};

struct Args {
    seconds: u64,
    warmup: u64,
    connections: usize,
    issues: usize,
    server_bin: PathBuf,
    synchronous: String,
    gzip: bool,
    /// PostgreSQL instead of SQLite (an empty database).
    database_url: Option<String>,
    /// Server processes sharing the database; connections are spread over them.
    instances: usize,
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
        database_url: None,
        instances: 1,
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

const WORDS: &[&str] = &[
    "order",
    "invoice",
    "cart",
    "payment",
    "user",
    "session",
    "report",
    "export",
    "import",
    "search",
    "billing",
    "shipping",
    "inventory",
    "catalog",
    "review",
    "coupon",
    "refund",
    "account",
    "profile",
    "token",
];

/// A realistic event for issue `k`: a distinct exception type and in-app frames, library
/// frames shared by all issues, context lines, breadcrumbs, request, contexts and tags.
fn event_template(k: usize) -> String {
    let word = WORDS[k % WORDS.len()];
    let region = ["eu", "us", "ap"][k % 3];
    let module = format!("app.{word}.svc{k}");
    let mut frames = Vec::new();
    for f in 0..12 {
        frames.push(json!({
            "module": format!("framework.layer{f}"),
            "function": format!("dispatch_{}", WORDS[f % WORDS.len()]),
            "filename": format!("framework/layer{f}.py"),
            "abs_path": format!("/usr/lib/python3/site-packages/framework/layer{f}.py"),
            "lineno": 100 + f, "in_app": false,
            "context_line": "    return self.next(request, *args, **kwargs)",
            "pre_context": ["    def __call__(self, request):"],
            "post_context": [""],
        }));
    }
    for f in 0..8 {
        frames.push(json!({
            "module": module, "function": format!("{word}_step_{}", WORDS[(k + f) % WORDS.len()]),
            "filename": format!("app/{word}/svc{k}.py"),
            "abs_path": format!("/srv/app/{word}/svc{k}.py"),
            "lineno": 20 + 7 * f, "in_app": true,
            "context_line": format!("        result = self.{}(payload, retries=3)", WORDS[(k + f + 1) % WORDS.len()]),
            "pre_context": ["        payload = self.load(ident)", "        self.check(payload)"],
            "post_context": ["        self.audit(result)", "        return result"],
            "vars": if f % 2 == 0 { json!({"ident": "'a1b2c3'", "retries": "3"}) } else { json!({}) },
        }));
    }
    let crumbs: Vec<Value> = (0..(2 + k % 10))
        .map(|b| {
            json!({
                "timestamp": 1_717_243_000.0 + b as f64,
                "category": "query", "type": "default", "level": "info",
                "message": format!("SELECT id, status FROM {word} WHERE id = %s -- {b}"),
            })
        })
        .collect();
    json!({
        "event_id": "__EVENT_ID__",
        "platform": "python", "level": "error", "logger": format!("app.{word}"),
        "server_name": "web-01", "release": "shop@4.2.0", "environment": "production",
        "transaction": format!("/api/{word}/{{id}}"),
        "exception": {"values": [{
            "type": format!("{}Error{}", WORDS[k % WORDS.len()].to_uppercase(), k),
            "value": format!("could not process {word} 12345: upstream returned 503"),
            "module": "app.errors",
            "mechanism": {"type": "generic", "handled": true},
            "stacktrace": {"frames": frames},
        }]},
        "breadcrumbs": {"values": crumbs},
        "request": {"method": "POST", "url": format!("https://shop.example.com/api/{word}/12345"),
                     "headers": {"User-Agent": "Mozilla/5.0", "Content-Type": "application/json"}},
        "contexts": {"os": {"name": "Linux", "version": "6.1"}, "runtime": {"name": "CPython", "version": "3.12.3"},
                     "trace": {"trace_id": "771a43a4192642f0b136d5159a501700", "span_id": "a1b2c3d4e5f60718"}},
        "tags": {"region": region, "customer_tier": "gold"},
        "user": {"id": format!("{}", k * 7), "ip_address": "10.0.0.1"},
        "sdk": {"name": "sentry.python", "version": "2.75.0"},
    })
    .to_string()
}

fn envelope(template: &str, id: &str) -> Vec<u8> {
    let event = template.replace("__EVENT_ID__", id);
    format!(
        "{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{event}\n",
        event.len()
    )
    .into_bytes()
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
    let mut child = cmd
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--synchronous",
            &args.synchronous,
            "--data-dir",
        ])
        .arg(dir)
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

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args = parse_args();
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
    let servers: Vec<(Child, String)> = (0..args.instances)
        .map(|_| start_server(&args, dir.path()))
        .collect();
    let pids: Vec<u32> = servers.iter().map(|s| s.0.id()).collect();
    let urls: Vec<String> = servers
        .iter()
        .map(|s| format!("{}/api/{project_id}/envelope/", s.1))
        .collect();
    let auth = format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=server-load/1");

    let templates: Arc<Vec<String>> = Arc::new((0..args.issues).map(event_template).collect());
    let sizes: Vec<usize> = templates.iter().map(String::len).collect();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()
        .expect("client");

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..args.connections {
        let (client, url, auth, templates) = (
            client.clone(),
            urls[w % urls.len()].clone(),
            auth.clone(),
            templates.clone(),
        );
        let (measuring, stop, gz) = (measuring.clone(), stop.clone(), args.gzip);
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
            let (mut ok, mut ok_total, mut failed) =
                (0u64, 0u64, std::collections::BTreeMap::new());
            let mut acked_ids = 0u64;
            let mut n = w;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("{:08x}{:024x}", w, n);
                let mut body = envelope(&templates[n % templates.len()], &id);
                let mut req = client.post(&url).header("X-Sentry-Auth", &auth);
                if gz {
                    body = gzip(&body);
                    req = req.header("Content-Encoding", "gzip");
                }
                n += 1013;
                let t = Instant::now();
                let res = req.body(body).send().await;
                let status = match res {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                let us = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
                if status == 200 {
                    ok_total += 1;
                    acked_ids += 1;
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
            (ok, ok_total, failed, lat, acked_ids)
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let cpu_all = || pids.iter().map(|p| cpu_ticks(*p)).sum::<u64>();
    let rss_all = |field: &str| {
        pids.iter()
            .map(|p| proc_status(*p, field).unwrap_or(0))
            .sum::<u64>()
    };
    let cpu0 = cpu_all();
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
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut total_acked) = (0u64, 0u64);
    let mut failed = std::collections::BTreeMap::new();
    let mut lat = Vec::new();
    for t in tasks {
        let (o, ot, f, l, _) = t.await.expect("worker");
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

    let mut all_metrics = Vec::new();
    for (_, base) in &servers {
        if let Ok(r) = client.get(format!("{base}/metrics")).send().await {
            all_metrics.push(r.text().await.unwrap_or_default());
        }
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
        .list_issues(
            project_id,
            &Default::default(),
            sentry_server_lite::store::Page {
                offset: 0,
                limit: 100_000,
            },
        )
        .expect("issues")
        .len();

    let min = sizes.iter().min().copied().unwrap_or(0);
    let max = sizes.iter().max().copied().unwrap_or(0);
    println!(
        "server-load: {} connections, {} s measured after {} s warm-up, synchronous={}, body={}, \
         database={}, instances={}",
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
        args.instances
    );
    println!(
        "  events: {min}-{max} bytes of JSON, {} distinct issues, 20 frames each",
        args.issues
    );
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
        "  server CPU: {cores:.2} cores; RSS peak {:.1} MB (sampled {:.1} MB)",
        hwm as f64 / 1024.0,
        rss_peak_sampled as f64 / 1024.0
    );
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
