//! Caller-side cost of capturing: ours (`sentry-client`) vs the official `sentry` crate,
//! in the same run, both with a no-op transport.
//!
//! Three cases: `capture_message`, `capture_message` with 100 breadcrumbs in scope, and
//! `capture_error` with `attach_stacktrace = true`. Only the capture calls are timed:
//! the measured loop runs in chunks of at most `CHUNK` calls, and between chunks (untimed)
//! our client is flushed so that the bounded queue never overflows (an overflowing queue
//! would make our calls *cheaper*, which would flatter us). Our background worker keeps
//! running during the timed chunks, competing for the CPU like it would in a real program.
//!
//! ```sh
//! cargo bench -p sentry-benches --bench capture -- --warm-up-time 1 --measurement-time 3
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const CHUNK: u64 = 5_000;

mod ours {
    use super::*;
    use sentry_client::transport::{AsyncTransport, SendFuture, SendResult};

    struct Noop;
    impl AsyncTransport for Noop {
        fn send(&self, _: Arc<sentry_client::Envelope>) -> SendFuture {
            Box::pin(std::future::ready(SendResult::Sent { rate_limits: None }))
        }
    }

    pub fn hub(
        attach_stacktrace: bool,
        breadcrumbs: usize,
    ) -> (Arc<sentry_client::Hub>, Arc<sentry_client::Client>) {
        let client = Arc::new(sentry_client::Client::from_config(
            sentry_client::ClientOptions {
                dsn: "https://public@sentry.invalid/1".parse().ok(),
                transport: Some(Arc::new(Arc::new(Noop))),
                attach_stacktrace,
                ..Default::default()
            },
        ));
        let hub = Arc::new(sentry_client::Hub::new(
            Some(Arc::clone(&client)),
            Default::default(),
        ));
        sentry_client::Hub::run(Arc::clone(&hub), || {
            for i in 0..breadcrumbs {
                sentry_client::add_breadcrumb(sentry_client::Breadcrumb {
                    category: Some("bench".into()),
                    message: Some(format!("breadcrumb number {i}")),
                    ..Default::default()
                });
            }
        });
        (hub, client)
    }
}

mod official {
    use super::*;

    struct Noop;
    impl sentry::Transport for Noop {
        fn send_envelope(&self, envelope: sentry::Envelope) {
            std::hint::black_box(envelope);
        }
    }

    pub fn hub(attach_stacktrace: bool, breadcrumbs: usize) -> Arc<sentry::Hub> {
        // The official options are `#[non_exhaustive]`: set fields one by one.
        let mut opts = sentry::ClientOptions::default();
        opts.dsn = "https://public@sentry.invalid/1".parse().ok();
        opts.transport = Some(Arc::new(Arc::new(Noop)));
        opts.attach_stacktrace = attach_stacktrace;
        // As `sentry::init` does: the default integrations (contexts, backtrace, ...).
        let client = Arc::new(sentry::Client::from(sentry::apply_defaults(opts)));
        let hub = Arc::new(sentry::Hub::new(Some(client), Default::default()));
        sentry::Hub::run(Arc::clone(&hub), || {
            for i in 0..breadcrumbs {
                sentry::add_breadcrumb(sentry::Breadcrumb {
                    category: Some("bench".into()),
                    message: Some(format!("breadcrumb number {i}")),
                    ..Default::default()
                });
            }
        });
        hub
    }
}

#[inline(never)]
fn parse_error() -> std::num::ParseIntError {
    "12a".parse::<u32>().expect_err("not a number")
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

fn bench(c: &mut Criterion) {
    let cases: [(&str, bool, usize); 3] = [
        ("capture_message", false, 0),
        ("capture_message_100_breadcrumbs", false, 100),
        ("capture_error_stacktrace", true, 0),
    ];
    for (name, stack, crumbs) in cases {
        let mut group = c.benchmark_group(name);
        let err = parse_error();
        {
            let (hub, client) = ours::hub(stack, crumbs);
            group.bench_function(BenchmarkId::new("sentry-client", ""), |b| {
                b.iter_custom(|iters| {
                    sentry_client::Hub::run(Arc::clone(&hub), || {
                        timed(
                            iters,
                            || {
                                let id = if stack {
                                    sentry_client::capture_error(&err)
                                } else {
                                    sentry_client::capture_message(
                                        "bench message",
                                        sentry_client::Level::Info,
                                    )
                                };
                                std::hint::black_box(id);
                            },
                            || {
                                client.flush(Some(Duration::from_secs(60)));
                            },
                        )
                    })
                })
            });
            let discards = client.pending_discards();
            assert!(discards.is_empty(), "ours dropped events: {discards:?}");
            client.close(Some(Duration::from_secs(5)));
        }
        {
            let hub = official::hub(stack, crumbs);
            group.bench_function(BenchmarkId::new("sentry-official", ""), |b| {
                b.iter_custom(|iters| {
                    sentry::Hub::run(Arc::clone(&hub), || {
                        timed(
                            iters,
                            || {
                                let id = if stack {
                                    sentry::capture_error(&err)
                                } else {
                                    sentry::capture_message("bench message", sentry::Level::Info)
                                };
                                std::hint::black_box(id);
                            },
                            || {},
                        )
                    })
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
