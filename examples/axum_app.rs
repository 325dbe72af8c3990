//! An axum service behind `sentry_tower::SentryLayer`: one route that is fine, one that
//! fails with a 500, one that panics; each failure becomes one event with its request.
//!
//! ```sh
//! cargo run -p sentry-server-lite -- quickstart          # prints a DSN
//! cargo run -p sentry-examples --example axum-app -- <DSN>
//! curl -i localhost:3000/ok
//! curl -i 'localhost:3000/orders/7?token=abc' -H 'Authorization: Bearer x'   # 500, reported
//! curl -i localhost:3000/orders/7/panic                                      # 500, reported
//!
//! # or: serve on an ephemeral port, call each route once, flush and exit
//! cargo run -p sentry-examples --example axum-app -- <DSN> --once
//! ```
//!
//! The DSN comes from the first argument, else `SENTRY_DSN`; `BIND` sets the address
//! (default `127.0.0.1:3000`).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sentry_client as sentry;
use sentry_tower::SentryLayer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the orders handler fails with.
#[derive(Debug)]
struct OrderError {
    order: u32,
}

impl fmt::Display for OrderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "order {} is locked by another payment", self.order)
    }
}

impl std::error::Error for OrderError {}

impl IntoResponse for OrderError {
    fn into_response(self) -> Response {
        // A plain 500: the layer reports it (with the request) as "GET /orders/{id}
        // answered 500 Internal Server Error". A handler that wants the error itself in
        // the event calls `sentry::capture_error(&self)` first: then the layer does not
        // add a second event.
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

async fn ok() -> &'static str {
    "all good\n"
}

async fn order(Path(order): Path<u32>) -> Result<String, OrderError> {
    // Scope data set here belongs to this request only.
    sentry::configure_scope(|s| s.set_tag("order", order));
    tokio::time::sleep(Duration::from_millis(5)).await;
    Err(OrderError { order })
}

async fn panics(Path(order): Path<u32>) -> &'static str {
    sentry::configure_scope(|s| s.set_tag("order", order));
    let items: Vec<u32> = Vec::new();
    // Index out of bounds: the SDK's panic hook reports it with its stack trace, the
    // layer answers 500 and the server keeps running.
    let first = items[order as usize];
    if first > 0 {
        "unreachable"
    } else {
        "unreachable too"
    }
}

fn app() -> Router {
    Router::new()
        .route("/ok", get(ok))
        .route("/orders/{id}", get(order))
        .route("/orders/{id}/panic", get(panics))
        // `Router::layer` runs after routing, so events are named by the route
        // ("GET /orders/{id}") rather than by each URL.
        .layer(SentryLayer::new())
}

/// A minimal HTTP/1.1 GET, to call our own routes in `--once` mode.
async fn get_status(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer demo-secret\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response.lines().next().unwrap_or_default().to_owned())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let once = args.iter().any(|a| a == "--once");
    let dsn = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .or_else(|| std::env::var("SENTRY_DSN").ok())
        .unwrap_or_default();
    let _guard = sentry::init(sentry::ClientOptions {
        release: sentry::release_name!(),
        ..sentry::ClientOptions::from(dsn.as_str())
    });
    if !_guard.is_enabled() {
        eprintln!("no DSN (argument or SENTRY_DSN): running without reporting");
    }

    let bind = if once {
        "127.0.0.1:0".to_owned()
    } else {
        std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
    };
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    let addr = listener.local_addr()?;
    let server = axum::serve(
        listener,
        app().into_make_service_with_connect_info::<SocketAddr>(),
    );
    if !once {
        println!("listening on http://{addr} (/ok, /orders/7, /orders/7/panic)");
        return server.await;
    }
    tokio::spawn(async move { server.await });
    for path in ["/ok", "/orders/7?token=abc", "/orders/7/panic"] {
        println!("GET {path} -> {}", get_status(addr, path).await?);
    }
    // The guard flushes on drop; flushing here too makes the exit explicit.
    sentry::flush(Some(Duration::from_secs(5)));
    Ok(())
}
