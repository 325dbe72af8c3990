//! Caller-side cost of release health and cron check-ins (issue 21): ours
//! (`sentry-client`) vs the official `sentry` crate in the same run, both with a no-op
//! transport and a release set.
//!
//! - `session_start_end`: `start_session` + `end_session` on a hub (application mode: the
//!   final update is queued for the worker; the official crate queues it for its
//!   session flusher);
//! - `capture_check_in`: one check-in with a monitor config (ours queues it for the
//!   worker; the official crate has no `capture_check_in`, so its client is handed the
//!   envelope of the same check-in, which is what one would write with it).
//!
//! As in `capture.rs`, only the calls are timed, in chunks, our queue flushed between them.
//!
//! ```sh
//! cargo bench -p sentry-benches --bench health -- --warm-up-time 1 --measurement-time 3
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const CHUNK: u64 = 5_000;
const RELEASE: &str = "bench@1.0.0";

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
            sentry_client::ClientOptions::new()
                .dsn("https://public@sentry.invalid/1")
                .release(RELEASE)
                .transport(Arc::new(Noop)),
        ));
        let hub = Arc::new(sentry_client::Hub::new(
            Some(Arc::clone(&client)),
            Default::default(),
        ));
        (hub, client)
    }

    pub fn check_in() -> sentry_client::protocol::MonitorCheckIn {
        use sentry_client::protocol::*;
        MonitorCheckIn {
            check_in_id: sentry_client::Uuid::new_v4(),
            monitor_slug: "nightly-backup".into(),
            status: MonitorCheckInStatus::Ok,
            environment: None,
            duration: Some(1.5),
            monitor_config: Some(MonitorConfig {
                schedule: MonitorSchedule::Crontab {
                    value: "0 3 * * *".into(),
                },
                checkin_margin: Some(5),
                max_runtime: Some(30),
                timezone: None,
                failure_issue_threshold: None,
                recovery_threshold: None,
            }),
        }
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

    pub fn hub() -> (Arc<sentry::Hub>, Arc<sentry::Client>) {
        let mut opts = sentry::ClientOptions::default();
        opts.dsn = "https://public@sentry.invalid/1".parse().ok();
        opts.release = Some(RELEASE.into());
        opts.transport = Some(Arc::new(Arc::new(Noop)));
        let client = Arc::new(sentry::Client::from(sentry::apply_defaults(opts)));
        let hub = Arc::new(sentry::Hub::new(
            Some(Arc::clone(&client)),
            Default::default(),
        ));
        (hub, client)
    }

    pub fn check_in() -> sentry::protocol::MonitorCheckIn {
        use sentry::protocol::*;
        MonitorCheckIn {
            check_in_id: sentry::types::Uuid::new_v4(),
            monitor_slug: "nightly-backup".into(),
            status: MonitorCheckInStatus::Ok,
            environment: None,
            duration: Some(1.5),
            monitor_config: Some(MonitorConfig {
                schedule: MonitorSchedule::Crontab {
                    value: "0 3 * * *".into(),
                },
                checkin_margin: Some(5),
                max_runtime: Some(30),
                timezone: None,
                failure_issue_threshold: None,
                recovery_threshold: None,
            }),
        }
    }
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
    {
        let mut group = c.benchmark_group("session_start_end");
        let (hub, client) = ours::hub();
        group.bench_function(BenchmarkId::new("sentry-client", ""), |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || {
                        hub.start_session();
                        hub.end_session();
                    },
                    || {
                        client.flush(Some(Duration::from_secs(60)));
                    },
                )
            })
        });
        let discards = client.pending_discards();
        assert!(discards.is_empty(), "ours dropped sessions: {discards:?}");
        client.close(Some(Duration::from_secs(5)));
        let (hub, client) = official::hub();
        group.bench_function(BenchmarkId::new("sentry-official", ""), |b| {
            b.iter_custom(|iters| {
                sentry::Hub::run(Arc::clone(&hub), || {
                    timed(
                        iters,
                        || {
                            sentry::start_session();
                            sentry::end_session();
                        },
                        || {
                            client.flush(Some(Duration::from_secs(60)));
                        },
                    )
                })
            })
        });
        group.finish();
    }
    {
        let mut group = c.benchmark_group("capture_check_in");
        let (hub, client) = ours::hub();
        group.bench_function(BenchmarkId::new("sentry-client", ""), |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || {
                        std::hint::black_box(hub.capture_check_in(ours::check_in()));
                    },
                    || {
                        client.flush(Some(Duration::from_secs(60)));
                    },
                )
            })
        });
        let discards = client.pending_discards();
        assert!(discards.is_empty(), "ours dropped check-ins: {discards:?}");
        client.close(Some(Duration::from_secs(5)));
        let (_hub, client) = official::hub();
        group.bench_function(BenchmarkId::new("sentry-official", ""), |b| {
            b.iter_custom(|iters| {
                timed(
                    iters,
                    || {
                        let item =
                            sentry::protocol::EnvelopeItem::MonitorCheckIn(official::check_in());
                        let mut envelope = sentry::Envelope::new();
                        envelope.add_item(item);
                        client.send_envelope(envelope);
                    },
                    || {
                        client.flush(Some(Duration::from_secs(60)));
                    },
                )
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
