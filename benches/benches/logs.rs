//! Caller-side cost of structured logs (issue #20): `logger_info!` with a format argument
//! and 3 attributes, ours (`sentry-client`) vs the official `sentry` crate (feature
//! `logs`), both with a no-op transport; the same for a metric,
//! `metrics::counter("x", 1).attribute("k", "v").capture()` (ours only: the official
//! crate is built here without its `metrics` feature); and what `spotlight` costs a
//! caller when the sidecar is down (a `capture_message` with `spotlight` pointing at a
//! closed loopback port vs without). Only the calls are timed, in chunks; between chunks (untimed) our
//! client is flushed so that its bounded queue never overflows (an overflowing queue
//! would make our calls cheaper), as in `capture.rs`.
//!
//! ```sh
//! cargo bench -p sentry-benches --bench logs -- --warm-up-time 1 --measurement-time 3
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const CHUNK: u64 = 5_000;

struct Noop;
impl sentry_client::transport::AsyncTransport for Noop {
    fn send(&self, _: Arc<sentry_client::Envelope>) -> sentry_client::transport::SendFuture {
        Box::pin(std::future::ready(
            sentry_client::transport::SendResult::Sent { rate_limits: None },
        ))
    }
}

fn ours(spotlight: Option<String>) -> (Arc<sentry_client::Hub>, Arc<sentry_client::Client>) {
    let mut opts = sentry_client::ClientOptions::new()
        .dsn("https://public@sentry.invalid/1")
        .transport(Arc::new(Noop));
    opts.spotlight = spotlight.map(Into::into);
    let client = Arc::new(sentry_client::Client::from_config(opts));
    let hub = Arc::new(sentry_client::Hub::new(
        Some(Arc::clone(&client)),
        Default::default(),
    ));
    (hub, client)
}

struct OfficialNoop;
impl sentry::Transport for OfficialNoop {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        std::hint::black_box(envelope);
    }
}

fn official() -> Arc<sentry::Hub> {
    let mut opts = sentry::ClientOptions::default();
    opts.dsn = "https://public@sentry.invalid/1".parse().ok();
    opts.transport = Some(Arc::new(Arc::new(OfficialNoop)));
    let client = Arc::new(sentry::Client::from(sentry::apply_defaults(opts)));
    Arc::new(sentry::Hub::new(Some(client), Default::default()))
}

/// Times `iters` calls of `f` in chunks, running `between` untimed after each chunk.
fn timed(iters: u64, mut f: impl FnMut(), mut between: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        total += start.elapsed();
        between();
        left -= n;
    }
    total
}

fn logger_info(c: &mut Criterion) {
    let mut group = c.benchmark_group("logger_info_3_attributes");
    {
        let (hub, client) = ours(None);
        group.bench_function(BenchmarkId::new("sentry-client", ""), |b| {
            b.iter_custom(|iters| {
                sentry_client::Hub::run(Arc::clone(&hub), || {
                    let mut n = 0u64;
                    timed(
                        iters,
                        || {
                            n += 1;
                            sentry_client::logger_info!(
                                user.id = "u-42",
                                cart.items = 3,
                                cache.hit = true,
                                "order {} placed",
                                n
                            );
                        },
                        || {
                            client.flush(Some(Duration::from_secs(60)));
                        },
                    )
                })
            })
        });
        let discards = client.pending_discards();
        assert!(discards.is_empty(), "ours dropped logs: {discards:?}");
        client.close(Some(Duration::from_secs(5)));
    }
    {
        let hub = official();
        group.bench_function(BenchmarkId::new("sentry-official", ""), |b| {
            b.iter_custom(|iters| {
                sentry::Hub::run(Arc::clone(&hub), || {
                    let mut n = 0u64;
                    timed(
                        iters,
                        || {
                            n += 1;
                            sentry::logger_info!(
                                user.id = "u-42",
                                cart.items = 3,
                                cache.hit = true,
                                "order {} placed",
                                n
                            );
                        },
                        || {},
                    )
                })
            })
        });
    }
    group.finish();
}

fn metrics_counter(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics_counter_1_attribute");
    let (hub, client) = ours(None);
    group.bench_function(BenchmarkId::new("sentry-client", ""), |b| {
        b.iter_custom(|iters| {
            sentry_client::Hub::run(Arc::clone(&hub), || {
                timed(
                    iters,
                    || {
                        sentry_client::metrics::counter("x", 1)
                            .attribute("k", "v")
                            .capture();
                    },
                    || {
                        client.flush(Some(Duration::from_secs(60)));
                    },
                )
            })
        })
    });
    let discards = client.pending_discards();
    assert!(discards.is_empty(), "ours dropped metrics: {discards:?}");
    client.close(Some(Duration::from_secs(5)));
    group.finish();
}

fn spotlight_down(c: &mut Criterion) {
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut group = c.benchmark_group("capture_message_spotlight");
    for (name, spotlight) in [
        ("off", None),
        (
            "sidecar_down",
            Some(format!("http://127.0.0.1:{port}/stream")),
        ),
    ] {
        let (hub, client) = ours(spotlight);
        group.bench_function(BenchmarkId::new("sentry-client", name), |b| {
            b.iter_custom(|iters| {
                sentry_client::Hub::run(Arc::clone(&hub), || {
                    timed(
                        iters,
                        || {
                            let id = sentry_client::capture_message(
                                "bench message",
                                sentry_client::Level::Info,
                            );
                            std::hint::black_box(id);
                        },
                        || {
                            client.flush(Some(Duration::from_secs(60)));
                        },
                    )
                })
            })
        });
        client.close(Some(Duration::from_secs(5)));
    }
    group.finish();
}

criterion_group!(benches, logger_info, metrics_counter, spotlight_down);
criterion_main!(benches);
