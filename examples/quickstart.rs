//! Quickstart: report a message, an error with its source chain, and a panic in a
//! spawned thread.
//!
//! ```sh
//! cargo run -p sentry-examples --example quickstart -- <DSN>
//! # or
//! SENTRY_DSN=<DSN> cargo run -p sentry-examples --example quickstart
//! ```
//!
//! The DSN comes from the first argument, else `SENTRY_DSN`. Start a lite server with
//! `cargo run -p sentry-server-lite -- quickstart` to get one.

use std::fmt;

use sentry_client as sentry;

/// An application error whose cause is a `ParseIntError`.
#[derive(Debug)]
enum ConfigError {
    BadPort {
        value: String,
        source: std::num::ParseIntError,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::BadPort { value, .. } => write!(f, "invalid port {value:?}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::BadPort { source, .. } => Some(source),
        }
    }
}

fn load_port(value: &str) -> Result<u16, ConfigError> {
    value.parse().map_err(|source| ConfigError::BadPort {
        value: value.to_owned(),
        source,
    })
}

fn process_order(id: &str) -> u32 {
    // A bug: ids are not always numeric.
    id.parse().expect("order ids are numeric")
}

fn main() {
    let dsn = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SENTRY_DSN").ok())
        .unwrap_or_default();
    if dsn.is_empty() {
        eprintln!("usage: quickstart <DSN>   (or set SENTRY_DSN)");
        std::process::exit(2);
    }
    let _guard = sentry::init((
        dsn.as_str(),
        sentry::ClientOptions {
            release: sentry::release_name!(),
            environment: Some("quickstart".into()),
            attach_stacktrace: true,
            debug: std::env::var_os("SENTRY_DEBUG").is_some(),
            ..Default::default()
        },
    ));
    if !_guard.is_enabled() {
        eprintln!("invalid DSN {dsn:?}");
        std::process::exit(2);
    }

    sentry::configure_scope(|scope| {
        scope.set_tag("example", "quickstart");
        scope.set_user(Some(sentry::User {
            id: Some("42".into()),
            username: Some("ada".into()),
            ..Default::default()
        }));
    });
    sentry::add_breadcrumb(sentry::Breadcrumb {
        category: Some("startup".into()),
        message: Some("configuration loaded".into()),
        ..Default::default()
    });

    let id = sentry::capture_message("quickstart: hello from sentry-client", sentry::Level::Info);
    println!("message event {id}");

    if let Err(err) = load_port("80a") {
        let id = sentry::capture_error(&err);
        println!(
            "error event   {id} ({err}: {})",
            std::error::Error::source(&err)
                .map(|s| s.to_string())
                .unwrap_or_default()
        );
    }

    let worker = std::thread::Builder::new()
        .name("order-worker".into())
        .spawn(|| process_order("A-17"))
        .expect("spawn a thread");
    // The panic hook reports (and flushes) before the thread unwinds.
    let _ = worker.join();
    if let Some(id) = sentry::last_event_id() {
        println!("last event on this thread {id}");
    }
    println!("panic event sent from thread 'order-worker'");
    // Dropping the guard flushes what is left (bounded by shutdown_timeout).
}
