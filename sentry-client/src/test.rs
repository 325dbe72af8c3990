//! Testing helpers: a transport that records envelopes, and functions that run a closure
//! against a fresh client and return what it captured.
//!
//! ```
//! use sentry_client::{test::with_captured_events, Level};
//!
//! let events = with_captured_events(|| {
//!     sentry_client::configure_scope(|s| s.set_tag("k", "v"));
//!     sentry_client::capture_message("hello", Level::Warning);
//! });
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].message_text(), Some("hello"));
//! assert_eq!(events[0].tags.get("k"), Some("v"));
//! ```
//!
//! The closure runs with a new hub bound to the current thread (see [`Hub::run`]);
//! threads it spawns use their own hubs, so pass them the hub (or use
//! [`SentryFutureExt::bind_hub`](crate::SentryFutureExt::bind_hub)) to capture there.

use std::sync::Arc;
use std::time::Duration;

use crate::sync::Mutex;

use crate::protocol::{
    read_log_item, read_metric_item, Envelope, Event, ItemType, Log, LogLimits, Metric,
    MetricLimits,
};
use crate::transport::{AsyncTransport, SendFuture, SendResult};
use crate::{Client, ClientOptions, Hub};

/// The DSN the helpers use; nothing is ever sent there.
pub const TEST_DSN: &str = "https://public@sentry.invalid/1";

/// A transport that keeps every envelope in memory.
#[derive(Debug, Default)]
pub struct TestTransport {
    envelopes: Mutex<Vec<Envelope>>,
}

impl TestTransport {
    /// A new, empty transport, ready to be used as a factory
    /// (`ClientOptions::transport = Some(transport.clone())`).
    pub fn new() -> Arc<TestTransport> {
        Arc::new(TestTransport::default())
    }

    /// Takes every envelope recorded so far.
    pub fn fetch_and_clear_envelopes(&self) -> Vec<Envelope> {
        std::mem::take(&mut *self.envelopes.lock())
    }

    /// Takes every envelope recorded so far and returns their events.
    pub fn fetch_and_clear_events(&self) -> Vec<Event> {
        events_of(self.fetch_and_clear_envelopes())
    }
}

impl AsyncTransport for TestTransport {
    fn send(&self, envelope: Arc<Envelope>) -> SendFuture {
        self.envelopes
            .lock()
            .push(Arc::try_unwrap(envelope).unwrap_or_else(|a| (*a).clone()));
        Box::pin(std::future::ready(SendResult::Sent { rate_limits: None }))
    }
}

fn events_of(envelopes: Vec<Envelope>) -> Vec<Event> {
    envelopes
        .iter()
        .filter_map(|e| e.event())
        .filter_map(Result::ok)
        .collect()
}

/// The logs of the `log` items of these envelopes, in order.
pub fn logs_of(envelopes: &[Envelope]) -> Vec<Log> {
    envelopes
        .iter()
        .flat_map(|e| e.items.iter())
        .filter(|i| *i.ty() == ItemType::Log)
        .filter_map(|i| read_log_item(&i.payload, &LogLimits::default()).ok())
        .flat_map(|batch| batch.logs.into_iter().map(|r| r.log))
        .collect()
}

/// Runs `f` against a fresh client and returns the structured logs it captured
/// (finished: trace, scope and default attributes applied, `before_send_log` run).
pub fn with_captured_logs<F: FnOnce()>(f: F) -> Vec<Log> {
    with_captured_logs_options(f, ClientOptions::default())
}

/// Like [`with_captured_logs`], with options.
pub fn with_captured_logs_options<F: FnOnce(), O: Into<ClientOptions>>(
    f: F,
    options: O,
) -> Vec<Log> {
    logs_of(&with_captured_envelopes_options(f, options))
}

/// The metrics of the `trace_metric` items of these envelopes, in order.
pub fn metrics_of(envelopes: &[Envelope]) -> Vec<Metric> {
    envelopes
        .iter()
        .flat_map(|e| e.items.iter())
        .filter(|i| *i.ty() == ItemType::TraceMetric)
        .filter_map(|i| read_metric_item(&i.payload, &MetricLimits::default()).ok())
        .flat_map(|batch| batch.metrics)
        .collect()
}

/// Runs `f` against a fresh client and returns the metrics it captured (finished: trace,
/// scope and default attributes applied, `before_send_metric` run).
pub fn with_captured_metrics<F: FnOnce()>(f: F) -> Vec<Metric> {
    with_captured_metrics_options(f, ClientOptions::default())
}

/// Like [`with_captured_metrics`], with options.
pub fn with_captured_metrics_options<F: FnOnce(), O: Into<ClientOptions>>(
    f: F,
    options: O,
) -> Vec<Metric> {
    metrics_of(&with_captured_envelopes_options(f, options))
}

/// Runs `f` against a fresh client with default options and returns the events it
/// captured, fully processed (scope applied, frames resolved, `before_send` run).
pub fn with_captured_events<F: FnOnce()>(f: F) -> Vec<Event> {
    with_captured_events_options(f, ClientOptions::default())
}

/// Like [`with_captured_events`], with options (anything `init` takes; DSN and
/// transport are replaced).
pub fn with_captured_events_options<F: FnOnce(), O: Into<ClientOptions>>(
    f: F,
    options: O,
) -> Vec<Event> {
    events_of(with_captured_envelopes_options(f, options))
}

/// Runs `f` against a fresh client and returns every envelope it sent (events, and
/// client reports when discards happened).
pub fn with_captured_envelopes<F: FnOnce()>(f: F) -> Vec<Envelope> {
    with_captured_envelopes_options(f, ClientOptions::default())
}

/// Like [`with_captured_envelopes`], with options (anything `init` takes; DSN and
/// transport are replaced).
pub fn with_captured_envelopes_options<F: FnOnce(), O: Into<ClientOptions>>(
    f: F,
    options: O,
) -> Vec<Envelope> {
    let transport = TestTransport::new();
    let options = ClientOptions {
        dsn: TEST_DSN.parse().ok(),
        transport: Some(Arc::new(Arc::clone(&transport))),
        ..options.into()
    };
    let client = Arc::new(Client::from_config(options));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(hub, f);
    // Close (not just flush) so that discard counts go out as a final client report.
    client.close(Some(Duration::from_secs(10)));
    transport.fetch_and_clear_envelopes()
}
