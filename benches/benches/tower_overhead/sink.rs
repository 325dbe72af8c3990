//! The HTTP sink both SDKs report to in the `tower_overhead` bench: a small axum server in
//! a process of its own that counts the envelopes and `event` items it receives.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use super::boost;

/// Counts of what the sink received.
#[derive(Default)]
struct SinkStats {
    envelopes: AtomicU64,
    events: AtomicU64,
    gzipped: AtomicU64,
    bytes: AtomicU64,
}

/// The HTTP sink both SDKs report to: answers every envelope POST with 200 after reading
/// (and inflating) the body and counting its `event` items; `GET /stats` says
/// "envelopes events gzipped bytes". Prints "PORT <port>" and serves until killed.
pub(crate) fn sink() {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::routing::post;

    async fn envelope(
        State(stats): State<Arc<SinkStats>>,
        headers: HeaderMap,
        body: Bytes,
    ) -> &'static str {
        use sentry_client::protocol::{encoding, ContentEncoding, Envelope, ItemType, Limits};
        let encoding = headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| ContentEncoding::from_header(v).ok())
            .unwrap_or(ContentEncoding::Identity);
        if encoding != ContentEncoding::Identity {
            stats.gzipped.fetch_add(1, Ordering::Relaxed);
        }
        let Ok(body) = encoding::decompress(encoding, &body, 1 << 24) else {
            return "{}";
        };
        let events = Envelope::from_slice(&body, &Limits::default()).map_or(0, |env| {
            env.items
                .iter()
                .filter(|i| *i.ty() == ItemType::Event)
                .count() as u64
        });
        stats.envelopes.fetch_add(1, Ordering::Relaxed);
        stats.events.fetch_add(events, Ordering::Relaxed);
        stats.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        "{}"
    }

    async fn read_stats(State(stats): State<Arc<SinkStats>>) -> String {
        format!(
            "{} {} {} {}",
            stats.envelopes.load(Ordering::Relaxed),
            stats.events.load(Ordering::Relaxed),
            stats.gzipped.load(Ordering::Relaxed),
            stats.bytes.load(Ordering::Relaxed)
        )
    }

    let app = Router::new()
        .route("/api/{project}/envelope/", post(envelope))
        .route("/stats", get(read_stats))
        .with_state(Arc::new(SinkStats::default()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("PORT {}", listener.local_addr().expect("addr").port());
        axum::serve(listener, app).await.expect("serve");
    });
}

/// Starts the sink process (core 1, with wrk); returns it and its port.
pub(crate) fn start_sink(pin: bool) -> (Child, u16) {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(if pin { "taskset" } else { "env" });
    if pin {
        cmd.args(["-c", "1"]);
    }
    if boost() {
        cmd.args(["nice", "-n", "-20"]);
    }
    let mut child = cmd
        .arg(exe)
        .arg("sink")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sink");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("sink port");
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("sink said {line:?}"));
    (child, port)
}

/// The sink's counters: (envelopes, events, gzipped, bytes).
pub(crate) fn sink_stats(port: u16) -> (u64, u64, u64, u64) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("sink connect");
    let _ = s.write_all(b"GET /stats HTTP/1.1\r\nHost: sink\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let n: Vec<u64> = body
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    match n.as_slice() {
        [a, b, c, d] => (*a, *b, *c, *d),
        _ => panic!("sink stats: {text:?}"),
    }
}
