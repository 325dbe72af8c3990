//! Fixture generator: makes the *official* `sentry` crate send one event to the DSN in
//! `FIXTURE_DSN`, through its real ureq HTTP transport.
//!
//! `scripts/gen-fixtures` runs it under a capture server, once per case:
//!
//! ```text
//! FIXTURE_DSN=http://key@127.0.0.1:PORT/42 official_sentry_fixtures message|error|panic
//! ```
//!
//! * `message` — `capture_message` at level warning;
//! * `error` — `capture_error` on an error with a `source()` chain, `attach_stacktrace` on;
//! * `panic` — a panic on the main thread, reported by the panic integration.
//!
//! Every case carries the same user, tags, breadcrumbs, contexts, extra and request as the
//! Python and Node cases. This program uses only the official crate and std: it is the
//! reference we test our protocol module against, not a user of it.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use sentry::protocol::{Breadcrumb, Context, Level, Map, Request, User, Value};
use sentry::transports::UreqHttpTransportOptions;
use sentry::{ClientOptions, Transport, TransportFactory, TransportOptions};

/// Always the ureq transport (plain HTTP to the local capture server, no TLS needed),
/// whichever transports feature unification compiles into `sentry`.
struct Ureq;

impl TransportFactory for Ureq {
    fn create_transport_with_options(&self, options: TransportOptions) -> Arc<dyn Transport> {
        Arc::new(UreqHttpTransportOptions::from(options).build())
    }
}

/// The inner error of the `error` case.
#[derive(Debug)]
struct QuantityError {
    source: std::num::ParseIntError,
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("order 1001 has a bad quantity")
    }
}

impl Error for QuantityError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

#[inline(never)]
fn load_order(raw: &str) -> Result<u32, QuantityError> {
    raw.parse::<u32>()
        .map_err(|source| QuantityError { source })
}

#[inline(never)]
fn charge(amount: f64) {
    if amount > 50.0 {
        panic!("amount {amount} exceeds the card limit");
    }
}

fn set_scope() {
    sentry::configure_scope(|scope| {
        scope.set_user(Some(User {
            id: Some("42".into()),
            email: Some("jane@example.com".into()),
            username: Some("jane".into()),
            ..Default::default()
        }));
        scope.set_tag("tenant", "acme");
        scope.set_tag("feature", "checkout");
        let mut order = Map::new();
        order.insert("id".into(), Value::from(1001));
        order.insert("total".into(), Value::from(99.5));
        scope.set_context("order", Context::Other(order));
        scope.set_extra("cart_size", Value::from(3));
        scope.add_event_processor(|mut event| {
            let mut headers = Map::new();
            headers.insert("User-Agent".into(), "fixture-agent/1.0".into());
            headers.insert("Content-Type".into(), "application/json".into());
            let mut env = Map::new();
            env.insert("REMOTE_ADDR".into(), "192.0.2.10".into());
            event.request = Some(Request {
                url: "http://shop.example/api/orders".parse().ok(),
                method: Some("POST".into()),
                query_string: Some("page=2&sort=desc".into()),
                data: Some(r#"{"sku":"A-1","qty":3}"#.into()),
                headers,
                env,
                ..Default::default()
            });
            Some(event)
        });
    });
    sentry::add_breadcrumb(Breadcrumb {
        category: Some("auth".into()),
        message: Some("user logged in".into()),
        level: Level::Info,
        ..Default::default()
    });
    let mut data = Map::new();
    data.insert("url".into(), "http://inventory.example/items".into());
    data.insert("method".into(), "GET".into());
    data.insert("status_code".into(), Value::from(200));
    sentry::add_breadcrumb(Breadcrumb {
        ty: "http".into(),
        category: Some("http".into()),
        data,
        ..Default::default()
    });
}

fn main() {
    let case = std::env::args().nth(1).unwrap_or_default();
    let dsn = std::env::var("FIXTURE_DSN").unwrap_or_default();
    if dsn.is_empty() || !matches!(case.as_str(), "message" | "error" | "panic") {
        eprintln!("usage: FIXTURE_DSN=... official_sentry_fixtures message|error|panic");
        std::process::exit(2);
    }
    let mut options = ClientOptions::default();
    options.release = Some("fixtures@1.0.0".into());
    options.environment = Some("fixtures".into());
    options.server_name = Some("fixture-host".into());
    options.attach_stacktrace = case == "error";
    options.transport = Some(Arc::new(Ureq));
    let _guard = sentry::init((dsn, options));
    set_scope();
    match case.as_str() {
        "message" => {
            sentry::capture_message("order 1001 could not be priced", Level::Warning);
        }
        "error" => {
            if let Err(e) = load_order("three") {
                sentry::capture_error(&e);
            }
        }
        _ => charge(99.5),
    }
    // `_guard` flushes on drop, also while the panic unwinds.
}
