//! Load generator for issue #17's benchmark: how `/healthz` answers and how fast honest
//! events are committed while `sentry-server-lite` is attacked. It starts the server
//! binary (release by default) on a free port with a fresh data dir, then runs side by
//! side for `--seconds`:
//!
//! - `--bombs` connections (default 8) sending decompression bombs: gzip bodies of a
//!   few dozen KB that inflate to 64 MiB of blank lines, alternately with the project's
//!   key and with none;
//! - `--quadratic` connections (default 8) sending events with the project's key whose
//!   function names are 80,000 `<` (quadratic in a naive generics stripper) and whose
//!   fingerprint has 20,000 `{{default}}` entries;
//! - `--tricklers` connections (default 8) sending their request headers one byte per
//!   500 ms (slowloris), reconnecting whenever the server closes them;
//! - `--honest` keep-alive connections (default 4) sending realistic events (the
//!   `server_load` events) as fast as they are acknowledged;
//! - one prober sending `GET /healthz` every 10 ms on a keep-alive connection.
//!
//! It reports the `/healthz` latency percentiles (and probes that failed), the honest
//! events acknowledged per second with their latency, what each attack got back, and
//! the server's CPU and peak RSS.
//!
//! ```text
//! cargo build --release -p sentry-server-lite -p sentry-benches --bin attack_load
//! target/release/attack_load --seconds 20
//! # a debug smoke run (not a measurement):
//! cargo run -p sentry-benches --bin attack_load -- --seconds 3 \
//!     --server-bin target/debug/sentry-server-lite
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry_benches::cpu_ticks;
use sentry_benches::server_events::{envelope, event_template};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    seconds: u64,
    server_bin: PathBuf,
    bombs: usize,
    quadratic: usize,
    tricklers: usize,
    honest: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        seconds: 20,
        server_bin: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/release/sentry-server-lite"
        )),
        bombs: 8,
        quadratic: 8,
        tricklers: 8,
        honest: 4,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let val = pair.get(1).cloned().unwrap_or_default();
        let n = |d: usize| val.parse().unwrap_or(d);
        match pair[0].as_str() {
            "--seconds" => a.seconds = val.parse().unwrap_or(a.seconds),
            "--server-bin" => a.server_bin = PathBuf::from(&val),
            "--bombs" => a.bombs = n(a.bombs),
            "--quadratic" => a.quadratic = n(a.quadratic),
            "--tricklers" => a.tricklers = n(a.tricklers),
            "--honest" => a.honest = n(a.honest),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

fn setup(bin: &PathBuf, dir: &std::path::Path) -> Value {
    let out = Command::new(bin)
        .args([
            "quickstart",
            "--no-serve",
            "--bind",
            "127.0.0.1:0",
            "--json",
        ])
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("run sentry-server-lite (build it first)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap_or(b"")).expect("json")
}

fn start_server(bin: &PathBuf, dir: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(bin)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    let url = line.trim().rsplit(' ').next().unwrap_or("").to_owned();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("server address");
    (child, addr)
}

/// A request with a body.
fn post(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: bench\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut req = head.into_bytes();
    req.extend_from_slice(body);
    req
}

/// Sends `req` and reads one answer; its status (0: no answer within 30 s, or the
/// connection broke).
async fn round_trip(stream: &mut TcpStream, req: &[u8], buf: &mut Vec<u8>) -> u16 {
    let exchange = sentry_benches::http_round_trip(stream, req, buf);
    match tokio::time::timeout(Duration::from_secs(30), exchange).await {
        Ok(Ok(status)) => status,
        _ => 0,
    }
}

/// Sends `next()` requests one after another on a keep-alive connection (reconnecting
/// when it breaks) until `stop`; the statuses counted, and the latency of the 200s
/// when `timed`.
async fn sender(
    addr: SocketAddr,
    mut next: impl FnMut(u64) -> Vec<u8>,
    stop: Arc<AtomicBool>,
) -> (BTreeMap<u16, u64>, Vec<u32>) {
    let (mut statuses, mut lat) = (BTreeMap::new(), Vec::new());
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        if stream.is_none() {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                }
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            }
        }
        let req = next(n);
        n += 1;
        let t = Instant::now();
        let status = match stream.as_mut() {
            Some(s) => round_trip(s, &req, &mut buf).await,
            None => 0,
        };
        if status == 0 || status >= 400 {
            // Refusals may close the connection: start a fresh one.
            stream = None;
        }
        if status == 200 {
            lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        }
        *statuses.entry(status).or_insert(0) += 1;
    }
    (statuses, lat)
}

/// Trickles a request's headers one byte per 500 ms until the server closes the
/// connection, then starts again; how many connections the server closed.
async fn trickler(addr: SocketAddr, stop: Arc<AtomicBool>) -> u64 {
    let mut closed = 0;
    let head = b"POST /api/1/envelope/ HTTP/1.1\r\nHost: bench\r\nX-Slow: ";
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let byte = head.get(i).copied().unwrap_or(b'a');
            i += 1;
            if s.write_all(&[byte]).await.is_err() {
                closed += 1;
                break;
            }
            let mut probe = [0u8; 512];
            match tokio::time::timeout(Duration::from_millis(500), s.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed += 1;
                    break;
                }
                _ => {}
            }
        }
    }
    closed
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}

fn rss_peak_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args = parse_args();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run(args));
}

async fn run(args: Args) {
    let dir = tempfile::tempdir().expect("tempdir");
    let quickstart = setup(&args.server_bin, dir.path());
    let dsn = quickstart["dsn"].as_str().expect("dsn").to_owned();
    let key = dsn[7..].split('@').next().expect("key").to_owned();
    let project_id = quickstart["project_id"].as_i64().expect("project id");
    let (mut child, addr) = start_server(&args.server_bin, dir.path());
    let pid = child.id();
    let path = format!("/api/{project_id}/envelope/");
    let auth = format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=attack-load/1");
    let stop = Arc::new(AtomicBool::new(false));

    // The bomb: 64 MiB of blank lines after an envelope header, gzip-compressed once.
    let mut raw = b"{}\n".to_vec();
    raw.resize(64 * 1024 * 1024, b'\n');
    let bomb = Arc::new(sentry_client::protocol::encoding::gzip(&raw, 9));
    drop(raw);
    let quadratic_event = {
        let name = "<".repeat(80_000);
        let fingerprint = vec!["{{default}}"; 20_000];
        serde_json::json!({
            "exception": {"values": [{"type": "E", "value": "v", "stacktrace": {"frames": [
                {"function": name, "module": name, "in_app": true}
            ]}}]},
            "fingerprint": fingerprint,
        })
        .to_string()
    };
    let templates: Arc<Vec<String>> = Arc::new((0..100).map(event_template).collect());

    let mut bombers = Vec::new();
    for w in 0..args.bombs {
        let (bomb, path, auth, stop) = (bomb.clone(), path.clone(), auth.clone(), stop.clone());
        bombers.push(tokio::spawn(sender(
            addr,
            move |n| {
                let with_key = (n + w as u64) % 2 == 0;
                let mut headers = vec![("Content-Encoding", "gzip")];
                if with_key {
                    headers.push(("X-Sentry-Auth", auth.as_str()));
                }
                post(&path, &headers, &bomb)
            },
            stop,
        )));
    }
    let mut quads = Vec::new();
    for _ in 0..args.quadratic {
        let (event, path, auth, stop) = (
            quadratic_event.clone(),
            path.clone(),
            auth.clone(),
            stop.clone(),
        );
        quads.push(tokio::spawn(sender(
            addr,
            move |n| {
                let id = format!("{:032x}", (n << 20) | 0xabcde);
                let body = envelope(&event, &id);
                post(&path, &[("X-Sentry-Auth", auth.as_str())], &body)
            },
            stop,
        )));
    }
    let tricklers: Vec<_> = (0..args.tricklers)
        .map(|_| tokio::spawn(trickler(addr, stop.clone())))
        .collect();
    let mut honest = Vec::new();
    for w in 0..args.honest {
        let (templates, path, auth, stop) =
            (templates.clone(), path.clone(), auth.clone(), stop.clone());
        honest.push(tokio::spawn(sender(
            addr,
            move |n| {
                let id = format!("{:08x}{:024x}", w + 1, n);
                let body = envelope(&templates[n as usize % templates.len()], &id);
                post(&path, &[("X-Sentry-Auth", auth.as_str())], &body)
            },
            stop.clone(),
        )));
    }
    let prober = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let req = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n".to_vec();
            let (mut lat, mut failed) = (Vec::new(), 0u64);
            let mut stream: Option<TcpStream> = None;
            let mut buf = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if stream.is_none() {
                    stream = TcpStream::connect(addr).await.ok();
                }
                let status = match stream.as_mut() {
                    Some(s) => round_trip(s, &req, &mut buf).await,
                    None => 0,
                };
                if status == 200 {
                    lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                } else {
                    failed += 1;
                    stream = None;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (lat, failed)
        })
    };

    let cpu0 = cpu_ticks(pid);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_ticks(pid);
    stop.store(true, Ordering::Relaxed);

    let (mut health, health_failed) = prober.await.expect("prober");
    health.sort_unstable();
    let collect = |results: Vec<(BTreeMap<u16, u64>, Vec<u32>)>| {
        let mut statuses = BTreeMap::new();
        let mut lat = Vec::new();
        for (s, l) in results {
            for (k, v) in s {
                *statuses.entry(k).or_insert(0u64) += v;
            }
            lat.extend(l);
        }
        lat.sort_unstable();
        (statuses, lat)
    };
    let mut join = Vec::new();
    for t in honest {
        join.push(t.await.expect("honest"));
    }
    let (honest_statuses, honest_lat) = collect(join);
    let mut join = Vec::new();
    for t in bombers {
        join.push(t.await.expect("bomber"));
    }
    let (bomb_statuses, _) = collect(join);
    let mut join = Vec::new();
    for t in quads {
        join.push(t.await.expect("quadratic"));
    }
    let (quad_statuses, _) = collect(join);
    let mut closed = 0;
    for t in tricklers {
        closed += t.await.expect("trickler");
    }
    let rss = rss_peak_kb(pid);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();

    let acked = honest_statuses.get(&200).copied().unwrap_or(0);
    println!(
        "attack-load: {:.1} s; {} bomb, {} quadratic-name, {} trickling and {} honest connections",
        elapsed, args.bombs, args.quadratic, args.tricklers, args.honest
    );
    println!(
        "  /healthz: {} answered, {health_failed} failed; ms p50 {:.2}  p99 {:.2}  max {:.2}",
        health.len(),
        percentile(&health, 0.5),
        percentile(&health, 0.99),
        percentile(&health, 1.0)
    );
    println!(
        "  honest events acknowledged/s: {:.0}; ms p50 {:.2}  p99 {:.2}; answers {honest_statuses:?}",
        acked as f64 / elapsed,
        percentile(&honest_lat, 0.5),
        percentile(&honest_lat, 0.99)
    );
    println!("  bombs answered: {bomb_statuses:?}");
    println!("  quadratic-name events answered: {quad_statuses:?}");
    println!("  trickling connections closed by the server: {closed}");
    println!(
        "  server CPU {:.2} cores, RSS peak {:.1} MB",
        cpu1.saturating_sub(cpu0) as f64 / 100.0 / elapsed,
        rss as f64 / 1024.0
    );
}
