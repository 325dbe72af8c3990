//! tracing-demo: a program that uses `tracing` with the `fmt` layer gets error reporting
//! by adding `sentry_log::tracing::layer()` to its subscriber. Errors inside a span
//! carry that span's fields, so the server shows which request failed.
//!
//! ```sh
//! cargo run -p sentry-examples --example tracing-demo -- <DSN>
//! # or
//! SENTRY_DSN=<DSN> RUST_LOG=debug cargo run -p sentry-examples --example tracing-demo
//! ```
//!
//! Without a DSN the program still runs and logs; nothing is sent. The server then
//! shows an event "payment failed" (an exception with its `io::Error` cause) with the
//! context `request` (`method`, `path`, `user`): the span it was logged in (the
//! `payment` span had ended by then), and the earlier `info!`/`warn!` events as
//! breadcrumbs.

use std::fmt;

use sentry_client as sentry;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

#[derive(Debug)]
struct PaymentError(std::io::Error);

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("payment provider unreachable")
    }
}

impl std::error::Error for PaymentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn charge(provider: &str, cents: u64) -> Result<(), PaymentError> {
    let span = tracing::info_span!("payment", provider);
    let _entered = span.enter();
    tracing::debug!(cents, "charging");
    tracing::warn!(attempt = 1, "provider slow, retrying");
    Err(PaymentError(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "connect timed out after 3000 ms",
    )))
}

fn handle(method: &str, path: &str) {
    let span = tracing::info_span!("request", method, path, user = tracing::field::Empty);
    let _entered = span.enter();
    span.record("user", "ada");
    tracing::info!("cart loaded");
    if let Err(err) = charge("stripe", 12_50) {
        tracing::error!(error = &err as &dyn std::error::Error, "payment failed");
    }
}

fn main() {
    let dsn = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SENTRY_DSN").ok())
        .unwrap_or_default();
    let _guard = sentry::init((
        dsn.as_str(),
        sentry::ClientOptions {
            release: sentry::release_name!(),
            environment: Some("tracing-demo".into()),
            debug: std::env::var_os("SENTRY_DEBUG").is_some(),
            ..Default::default()
        },
    ));

    // The one line: `.with(sentry_log::tracing::layer())` next to the console layer.
    tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with(tracing_subscriber::fmt::layer())
        .with(sentry_log::tracing::layer())
        .init();

    if !_guard.is_enabled() {
        tracing::warn!("no DSN given: logging to the console only");
    }
    tracing::info!("server started");
    handle("POST", "/checkout");

    match sentry::last_event_id() {
        Some(id) => println!("last event {id}"),
        None => println!("no event sent"),
    }
}
