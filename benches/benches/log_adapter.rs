//! Cost of the `sentry-log` adapters on the logging thread (issue 9).
//!
//! **`log`.** One process has one logger, so a `Switch` logger is installed that
//! forwards to one of three loggers chosen by an atomic: a plain env_logger (level
//! `info`, writing to `io::sink()`), the same env_logger wrapped in `SentryLogger`, and a
//! `SentryLogger` alone. Every case pays the same switch (a relaxed load and a branch).
//! The cases, through the real macros:
//!
//! - `log_debug/max_level_info`: `debug!` when `log::max_level()` is `Info`, as
//!   `SentryLogger::install` and `env_logger::init` both set it: the macro stops before
//!   any logger, so this is the cost for *any* logger.
//! - `log_debug/max_level_trace`: `debug!` when the global level lets it through (e.g. the
//!   destination's level was not given to `dest_max_level`): the record reaches the
//!   logger, env_logger rejects it, and the adapter adds its level check.
//! - `log_info`: `info!("… {}", n)` with an active client (no-op transport): printed by
//!   env_logger (to a sink) and, with the adapter, also recorded as a breadcrumb.
//!
//! **`tracing`.** A counting layer stands for the console (no I/O), with and without
//! `sentry_log::tracing::layer()` next to it:
//!
//! - `tracing_debug/disabled`: a global `INFO` filter disables the callsite;
//! - `tracing_debug/enabled_ignored`: no filter, the event reaches both layers and the
//!   Sentry layer's mapping ignores it;
//! - `tracing_info`: an `info!` with a field becomes a breadcrumb.
//!
//! ```sh
//! cargo bench -p sentry-benches --bench log_adapter -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use log::{LevelFilter, Log, Metadata, Record};
use sentry_client::transport::{AsyncTransport, SendFuture, SendResult};
use sentry_client::{Client, ClientOptions, Hub};
use sentry_log::SentryLogger;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

struct Noop;
impl AsyncTransport for Noop {
    fn send(&self, _: Arc<sentry_client::Envelope>) -> SendFuture {
        Box::pin(std::future::ready(SendResult::Sent { rate_limits: None }))
    }
}

fn active_hub() -> (Arc<Hub>, Arc<Client>) {
    let client = Arc::new(Client::from_config(ClientOptions {
        dsn: "https://public@sentry.invalid/1".parse().ok(),
        transport: Some(Arc::new(Arc::new(Noop))),
        ..Default::default()
    }));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    (hub, client)
}

fn console() -> env_logger::Logger {
    env_logger::Builder::new()
        .parse_filters("info")
        .target(env_logger::Target::Pipe(Box::new(std::io::sink())))
        .build()
}

const PLAIN: u8 = 0;
const WRAPPED: u8 = 1;
const ALONE: u8 = 2;

struct Switch {
    mode: AtomicU8,
    plain: env_logger::Logger,
    wrapped: SentryLogger<env_logger::Logger>,
    alone: SentryLogger,
}

impl Switch {
    fn pick(&self) -> &dyn Log {
        match self.mode.load(Ordering::Relaxed) {
            PLAIN => &self.plain,
            WRAPPED => &self.wrapped,
            _ => &self.alone,
        }
    }
}

impl Log for Switch {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.pick().enabled(metadata)
    }
    fn log(&self, record: &Record<'_>) {
        self.pick().log(record)
    }
    fn flush(&self) {
        self.pick().flush()
    }
}

fn bench_log(c: &mut Criterion) {
    let switch: &'static Switch = Box::leak(Box::new(Switch {
        mode: AtomicU8::new(PLAIN),
        plain: console(),
        wrapped: SentryLogger::with_dest(console()).dest_max_level(LevelFilter::Info),
        alone: SentryLogger::new(),
    }));
    assert_eq!(switch.wrapped.max_level(), LevelFilter::Info);
    log::set_logger(switch).expect("the bench's only logger");
    let (hub, client) = active_hub();

    let modes = [
        ("plain_env_logger", PLAIN),
        ("sentry_logger_wrapping_env_logger", WRAPPED),
    ];
    for (level, name) in [
        (LevelFilter::Info, "max_level_info"),
        (LevelFilter::Trace, "max_level_trace"),
    ] {
        let mut group = c.benchmark_group(format!("log_debug/{name}"));
        log::set_max_level(level);
        for (id, mode) in modes {
            switch.mode.store(mode, Ordering::Relaxed);
            group.bench_function(id, |b| {
                Hub::run(Arc::clone(&hub), || {
                    let mut n = 0u64;
                    b.iter(|| {
                        n += 1;
                        log::debug!("cache miss for key {}", black_box(n));
                    })
                })
            });
        }
        group.finish();
    }

    log::set_max_level(LevelFilter::Info);
    let mut group = c.benchmark_group("log_info");
    for (id, mode) in [
        ("plain_env_logger", PLAIN),
        ("sentry_logger_wrapping_env_logger", WRAPPED),
        ("sentry_logger_alone", ALONE),
    ] {
        switch.mode.store(mode, Ordering::Relaxed);
        group.bench_function(id, |b| {
            Hub::run(Arc::clone(&hub), || {
                let mut n = 0u64;
                b.iter(|| {
                    n += 1;
                    log::info!("loaded {} rows", black_box(n));
                })
            })
        });
    }
    group.finish();
    let crumbs = hub.configure_scope(|s| s.breadcrumbs(100).len());
    assert_eq!(crumbs, 100, "info! records were recorded as breadcrumbs");
    client.close(Some(Duration::from_secs(5)));
}

/// Counts events: a console layer without the I/O.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicU64>);

impl<S: tracing::Subscriber> Layer<S> for Counting {
    fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn bench_tracing(c: &mut Criterion) {
    let (hub, client) = active_hub();
    let run = |b: &mut criterion::Bencher<'_>, dispatch: &tracing::Dispatch, info: bool| {
        tracing::dispatcher::with_default(dispatch, || {
            Hub::run(Arc::clone(&hub), || {
                let mut n = 0u64;
                b.iter(|| {
                    n += 1;
                    if info {
                        tracing::info!(rows = black_box(n), "loaded rows");
                    } else {
                        tracing::debug!(key = black_box(n), "cache miss");
                    }
                })
            })
        })
    };

    let mut group = c.benchmark_group("tracing_debug/disabled");
    let plain = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .with(Counting::default()),
    );
    let with_sentry = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .with(Counting::default())
            .with(sentry_log::tracing::layer()),
    );
    group.bench_function("console_layer", |b| run(b, &plain, false));
    group.bench_function("console_and_sentry_layers", |b| run(b, &with_sentry, false));
    group.finish();
    drop((plain, with_sentry));

    let plain = tracing::Dispatch::new(tracing_subscriber::registry().with(Counting::default()));
    let with_sentry = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(Counting::default())
            .with(sentry_log::tracing::layer()),
    );
    let mut group = c.benchmark_group("tracing_debug/enabled_ignored");
    group.bench_function("console_layer", |b| run(b, &plain, false));
    group.bench_function("console_and_sentry_layers", |b| run(b, &with_sentry, false));
    group.finish();

    let mut group = c.benchmark_group("tracing_info");
    group.bench_function("console_layer", |b| run(b, &plain, true));
    group.bench_function("console_and_sentry_layers", |b| run(b, &with_sentry, true));
    group.finish();
    let crumbs = hub.configure_scope(|s| s.breadcrumbs(100).len());
    assert_eq!(crumbs, 100, "info! events were recorded as breadcrumbs");
    client.close(Some(Duration::from_secs(5)));
}

criterion_group!(benches, bench_log, bench_tracing);
criterion_main!(benches);
