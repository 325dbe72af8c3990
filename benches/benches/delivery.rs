//! Burst delivery: 10,000 `capture_message` calls, timed on the caller thread, then the
//! time until every event has reached a local HTTP sink — ours (`sentry-client`, HTTP
//! transport) and the official `sentry` crate (its ureq HTTP transport, default options)
//! in the same run, each with its discard count.
//!
//! The sink is an axum server on 127.0.0.1 that gunzips and parses each envelope with
//! `sentry_client::protocol` and counts events. For the official crate, "discards" are
//! events that never arrived (its transport queue holds 30 envelopes and drops the rest).
//!
//! ```sh
//! cargo bench -p sentry-benches --bench delivery
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use sentry_client::protocol::{encoding, ContentEncoding, Envelope, ItemType, Limits};

const N: usize = 10_000;
const ROUNDS: usize = 3;

struct Sink {
    addr: SocketAddr,
    events: Arc<AtomicUsize>,
}

async fn ingest(
    State(events): State<Arc<AtomicUsize>>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let enc = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| ContentEncoding::from_header(v).ok())
        .unwrap_or(ContentEncoding::Identity);
    if let Ok(plain) = encoding::decompress(enc, &body, 20 << 20) {
        if let Ok(env) = Envelope::from_slice(&plain, &Limits::default()) {
            let n = env
                .items
                .iter()
                .filter(|i| *i.ty() == ItemType::Event)
                .count();
            events.fetch_add(n, Ordering::SeqCst);
        }
    }
    "{}"
}

fn start_sink() -> Sink {
    let events = Arc::new(AtomicUsize::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let state = Arc::clone(&events);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let app = Router::new()
                .route("/api/{project}/envelope/", post(ingest))
                .with_state(state);
            axum::serve(listener, app).await.expect("serve");
        });
    });
    Sink { addr, events }
}

/// Waits until `target` events arrived, or nothing new arrived for `idle`.
fn wait_delivered(events: &AtomicUsize, target: usize, idle: Duration) -> (usize, Instant) {
    let mut last = events.load(Ordering::SeqCst);
    let mut last_change = Instant::now();
    loop {
        let now = events.load(Ordering::SeqCst);
        if now >= target {
            return (now, Instant::now());
        }
        if now != last {
            last = now;
            last_change = Instant::now();
        } else if last_change.elapsed() > idle {
            return (now, last_change);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

struct Run {
    caller: Duration,
    delivered_after: Duration,
    delivered: usize,
    discards: u64,
}

fn run_ours(sink: &Sink) -> Run {
    let before = sink.events.load(Ordering::SeqCst);
    let dsn = format!("http://0123456789abcdef0123456789abcdef@{}/1", sink.addr);
    let client = Arc::new(sentry_client::Client::from_config(
        sentry_client::ClientOptions::default().with_dsn(&dsn),
    ));
    let hub = Arc::new(sentry_client::Hub::new(
        Some(Arc::clone(&client)),
        Default::default(),
    ));
    let start = Instant::now();
    sentry_client::Hub::run(hub, || {
        for i in 0..N {
            std::hint::black_box(sentry_client::capture_message(
                &format!("burst message {i}"),
                sentry_client::Level::Info,
            ));
        }
    });
    let caller = start.elapsed();
    let (got, at) = wait_delivered(&sink.events, before + N, Duration::from_secs(5));
    let discards = client.pending_discards().iter().map(|d| d.2).sum();
    client.close(Some(Duration::from_secs(5)));
    Run {
        caller,
        delivered_after: at - start,
        delivered: got - before,
        discards,
    }
}

fn run_official(sink: &Sink) -> Run {
    let before = sink.events.load(Ordering::SeqCst);
    let dsn = format!("http://0123456789abcdef0123456789abcdef@{}/1", sink.addr);
    #[allow(deprecated)] // the replacement builder needs the same options; same transport
    let factory = |opts: &sentry::ClientOptions| -> Arc<dyn sentry::Transport> {
        Arc::new(sentry::transports::UreqHttpTransport::new(opts))
    };
    let mut opts = sentry::ClientOptions::default();
    opts.dsn = dsn.parse().ok();
    opts.transport = Some(Arc::new(factory));
    let client = Arc::new(sentry::Client::from(sentry::apply_defaults(opts)));
    let hub = Arc::new(sentry::Hub::new(
        Some(Arc::clone(&client)),
        Default::default(),
    ));
    let start = Instant::now();
    sentry::Hub::run(hub, || {
        for i in 0..N {
            std::hint::black_box(sentry::capture_message(
                &format!("burst message {i}"),
                sentry::Level::Info,
            ));
        }
    });
    let caller = start.elapsed();
    let (got, at) = wait_delivered(&sink.events, before + N, Duration::from_secs(5));
    client.close(Some(Duration::from_secs(5)));
    let delivered = got - before;
    Run {
        caller,
        delivered_after: at - start,
        delivered,
        discards: (N - delivered) as u64,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is configurable.
    let sink = start_sink();
    println!(
        "| run | SDK | caller time for {N} captures | all delivered after | delivered | discards |"
    );
    println!("|---|---|---|---|---|---|");
    for round in 1..=ROUNDS {
        for (name, run) in [
            ("sentry-client", run_ours(&sink)),
            ("sentry (official)", run_official(&sink)),
        ] {
            println!(
                "| {round} | {name} | {:.1} ms | {:.0} ms | {} | {} |",
                run.caller.as_secs_f64() * 1e3,
                run.delivered_after.as_secs_f64() * 1e3,
                run.delivered,
                run.discards
            );
        }
    }
}
