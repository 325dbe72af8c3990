//! Caller-side cost of performance tracing: ours (`sentry-client`) vs the official
//! `sentry` crate, in the same run, both with a no-op transport and
//! `traces_sample_rate = 1.0`.
//!
//! Two cases: `span_start_finish` (one child span of a running transaction, started and
//! finished; a fresh transaction every 500 spans, untimed, so that neither SDK reaches
//! its 1,000-span cap and takes the cheaper drop path) and
//! `transaction_spans/{3,10}` (a transaction with three or ten child spans, started and finished:
//! the whole caller-side cost of a traced request, the queueing of the finished
//! transaction included). Between chunks (untimed) our client is flushed so that its
//! bounded queue never overflows.
//!
//! ```sh
//! cargo bench -p sentry-benches --bench spans -- --warm-up-time 1 --measurement-time 3
//! ```

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// Spans per transaction in `span_start_finish` (under both SDKs' 1,000-span cap).
const SPANS_PER_TRANSACTION: u64 = 500;

mod ours {
    use super::*;
    use sentry_client::transport::{AsyncTransport, SendFuture, SendResult};

    struct Noop;
    impl AsyncTransport for Noop {
        fn send(&self, _: Arc<sentry_client::Envelope>) -> SendFuture {
            Box::pin(std::future::ready(SendResult::Sent { rate_limits: None }))
        }
    }

    pub fn hub() -> (Arc<sentry_client::Hub>, Arc<sentry_client::Client>) {
        let client = Arc::new(sentry_client::Client::from_config(
            sentry_client::ClientOptions {
                dsn: "https://public@sentry.invalid/1".parse().ok(),
                transport: Some(Arc::new(Arc::new(Noop))),
                traces_sample_rate: 1.0,
                ..Default::default()
            },
        ));
        let hub = Arc::new(sentry_client::Hub::new(
            Some(Arc::clone(&client)),
            Default::default(),
        ));
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

    pub fn hub() -> Arc<sentry::Hub> {
        let mut opts = sentry::ClientOptions::default();
        opts.dsn = "https://public@sentry.invalid/1".parse().ok();
        opts.transport = Some(Arc::new(Arc::new(Noop)));
        let opts = opts.traces_sample_rate(1.0);
        let client = Arc::new(sentry::Client::from(sentry::apply_defaults(opts)));
        Arc::new(sentry::Hub::new(Some(client), Default::default()))
    }
}

/// Times `iters` calls of `f`, in chunks of `chunk`, running `between` untimed after
/// each chunk.
fn timed(iters: u64, chunk: u64, mut f: impl FnMut(), mut between: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(chunk);
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

fn span_start_finish(c: &mut Criterion) {
    let mut group = c.benchmark_group("span_start_finish");
    {
        let (hub, client) = ours::hub();
        group.bench_function(BenchmarkId::new("sentry-client", ""), |b| {
            b.iter_custom(|iters| {
                sentry_client::Hub::run(Arc::clone(&hub), || {
                    let ctx = || sentry_client::TransactionContext::new("bench", "task");
                    let transaction = RefCell::new(sentry_client::start_transaction(ctx()));
                    timed(
                        iters,
                        SPANS_PER_TRANSACTION,
                        || {
                            transaction
                                .borrow()
                                .start_child("db.query", "SELECT 1")
                                .finish()
                        },
                        || {
                            let next = sentry_client::start_transaction(ctx());
                            transaction.replace(next).finish();
                            client.flush(Some(Duration::from_secs(60)));
                        },
                    )
                })
            })
        });
        client.close(Some(Duration::from_secs(5)));
    }
    {
        let hub = official::hub();
        group.bench_function(BenchmarkId::new("sentry-official", ""), |b| {
            b.iter_custom(|iters| {
                sentry::Hub::run(Arc::clone(&hub), || {
                    let ctx = || sentry::TransactionContext::new("bench", "task");
                    let transaction = RefCell::new(sentry::start_transaction(ctx()));
                    timed(
                        iters,
                        SPANS_PER_TRANSACTION,
                        || {
                            transaction
                                .borrow()
                                .start_child("db.query", "SELECT 1")
                                .finish()
                        },
                        || {
                            let next = sentry::start_transaction(ctx());
                            transaction.replace(next).finish();
                        },
                    )
                })
            })
        });
    }
    group.finish();
}

fn transaction_spans(c: &mut Criterion) {
    let mut group = c.benchmark_group("transaction_spans");
    for spans in [3, 10] {
        {
            let (hub, client) = ours::hub();
            group.bench_function(BenchmarkId::new("sentry-client", spans), |b| {
                b.iter_custom(|iters| {
                    sentry_client::Hub::run(Arc::clone(&hub), || {
                        timed(
                            iters,
                            2_000,
                            || {
                                let ctx = sentry_client::TransactionContext::new("GET /", "http");
                                let transaction = sentry_client::start_transaction(ctx);
                                for _ in 0..spans {
                                    transaction.start_child("db.query", "SELECT 1").finish();
                                }
                                transaction.finish();
                            },
                            || {
                                client.flush(Some(Duration::from_secs(60)));
                            },
                        )
                    })
                })
            });
            let discards = client.pending_discards();
            assert!(
                discards.is_empty(),
                "ours dropped transactions: {discards:?}"
            );
            client.close(Some(Duration::from_secs(5)));
        }
        {
            let hub = official::hub();
            group.bench_function(BenchmarkId::new("sentry-official", spans), |b| {
                b.iter_custom(|iters| {
                    sentry::Hub::run(Arc::clone(&hub), || {
                        timed(
                            iters,
                            2_000,
                            || {
                                let ctx = sentry::TransactionContext::new("GET /", "http");
                                let transaction = sentry::start_transaction(ctx);
                                for _ in 0..spans {
                                    transaction.start_child("db.query", "SELECT 1").finish();
                                }
                                transaction.finish();
                            },
                            || {},
                        )
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, span_start_finish, transaction_spans);
criterion_main!(benches);
