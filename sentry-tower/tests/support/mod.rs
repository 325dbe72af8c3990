//! A client with the test transport, and an axum server on an ephemeral port.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sentry_client::test::{TestTransport, TEST_DSN};
use sentry_client::{Client, ClientOptions, Event, Hub};

/// A client that records events, and the hub the layer forks request hubs from.
pub struct Captured {
    pub client: Arc<Client>,
    pub transport: Arc<TestTransport>,
    pub hub: Arc<Hub>,
}

impl Captured {
    pub fn new(options: ClientOptions) -> Captured {
        let transport = TestTransport::new();
        let options = ClientOptions {
            dsn: TEST_DSN.parse().ok(),
            transport: Some(Arc::new(Arc::clone(&transport))),
            ..options
        };
        let client = Arc::new(Client::from_config(options));
        let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
        Captured {
            client,
            transport,
            hub,
        }
    }

    /// Every event captured so far (after the worker processed them).
    pub fn events(&self) -> Vec<Event> {
        assert!(self.client.flush(Some(Duration::from_secs(10))), "flush");
        self.transport.fetch_and_clear_events()
    }
}

/// Serves `app` on 127.0.0.1 (with `ConnectInfo`); the server stops with the runtime.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    addr
}

/// An HTTP client that never uses a proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}
