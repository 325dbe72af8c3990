//! log-demo: a program that logs through `log` and env_logger gets error reporting by
//! wrapping its logger in `sentry_log::SentryLogger`. The console output stays the same.
//!
//! ```sh
//! cargo run -p sentry-examples --example log-demo -- <DSN>
//! # or
//! SENTRY_DSN=<DSN> RUST_LOG=debug cargo run -p sentry-examples --example log-demo
//! ```
//!
//! Without a DSN the program still runs and logs; nothing is sent. Start a lite server
//! with `cargo run -p sentry-server-lite -- quickstart` to get a DSN. The server then
//! shows two events: "cannot start" (an exception with its `ParseIntError` cause) and
//! "order {id} rejected", each with the `info!`/`warn!` records before it as breadcrumbs.

use std::fmt;

use sentry_client as sentry;
use sentry_log::SentryLogger;

#[derive(Debug)]
struct ConfigError {
    value: String,
    source: std::num::ParseIntError,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid port {:?}", self.value)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn load_port(value: &str) -> Result<u16, ConfigError> {
    value.parse().map_err(|source| ConfigError {
        value: value.to_owned(),
        source,
    })
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
            environment: Some("log-demo".into()),
            debug: std::env::var_os("SENTRY_DEBUG").is_some(),
            ..Default::default()
        },
    ));

    // The one line (and a half): wrap the console logger. Its level (RUST_LOG, default
    // `info`) is passed on so that `log::max_level()` lets through what either wants.
    let console =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).build();
    let console_level = console.filter();
    SentryLogger::with_dest(console)
        .dest_max_level(console_level)
        .install()
        .expect("no other logger is installed");

    if !_guard.is_enabled() {
        log::warn!("no DSN given: logging to the console only");
    }

    log::info!("starting, config from {}", "/etc/shop.toml");
    log::debug!("console only, with RUST_LOG=debug");
    match load_port("80a") {
        Ok(port) => log::info!("listening on {port}"),
        Err(err) => log::error!(error:err = err, file = "/etc/shop.toml"; "cannot start"),
    }

    for (id, amount) in [(17, 12_50), (18, -3_00)] {
        log::info!(order = id; "checking order {id}");
        if amount < 0 {
            log::warn!(order = id, amount = amount; "negative amount");
            log::error!(order = id; "order {id} rejected");
        }
    }

    match sentry::last_event_id() {
        Some(id) => println!("last event {id}"),
        None => println!("no event sent"),
    }
    // Dropping the guard flushes what is left (bounded by shutdown_timeout).
}
