//! A real HTTP envelope sink for transport tests: an axum server on 127.0.0.1 that
//! decodes bodies with the protocol module's decoder and parses them with the same
//! envelope reader the fixture tests use, records them, and answers as told.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::sync::Mutex;

use sentry_client::protocol::{
    encoding, ClientReport, ContentEncoding, Envelope, Event, ItemType, Limits,
};

/// What the sink answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 `{}`.
    Ok,
    /// Any status without special headers.
    Status(u16),
    /// 429 with these headers.
    RateLimited {
        retry_after: Option<&'static str>,
        limits: Option<&'static str>,
    },
}

/// One request the sink received.
#[derive(Clone, Debug)]
pub struct Received {
    pub envelope: Envelope,
    pub auth: Option<String>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub user_agent: Option<String>,
    pub status: u16,
}

type Behaviour = Box<dyn FnMut(usize, &Envelope) -> Reply + Send>;

pub struct Sink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct AppState {
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Mutex<Behaviour>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Sink {
    /// A sink answering 200 to everything.
    pub fn start() -> Sink {
        Sink::start_with(0, |_, _| Reply::Ok)
    }

    /// A sink on `port` (0: any) answering with `behaviour(request_index, envelope)`.
    pub fn start_with(
        port: u16,
        behaviour: impl FnMut(usize, &Envelope) -> Reply + Send + 'static,
    ) -> Sink {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(AppState {
            received: Arc::clone(&received),
            behaviour: Mutex::new(Box::new(behaviour)),
        });
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind sink");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = Router::new()
                    .route("/api/{project}/envelope/", post(ingest))
                    .with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        Sink {
            addr,
            received,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// A DSN pointing at the sink.
    pub fn dsn(&self) -> String {
        format!("http://0123456789abcdef0123456789abcdef@{}/1", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Events in accepted (200) requests.
    pub fn events(&self) -> Vec<Event> {
        self.received
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.status == 200)
            .filter_map(|r| r.envelope.event())
            .map(|e| e.expect("event parses"))
            .collect()
    }

    /// Transactions in accepted (200) requests.
    pub fn transactions(&self) -> Vec<Event> {
        self.received
            .lock()
            .expect("lock")
            .iter()
            .filter(|r| r.status == 200)
            .flat_map(|r| r.envelope.items.iter())
            .filter(|i| *i.ty() == ItemType::Transaction)
            .map(|i| i.event().expect("transaction parses"))
            .collect()
    }

    /// Every client report received.
    pub fn client_reports(&self) -> Vec<ClientReport> {
        self.received
            .lock()
            .expect("lock")
            .iter()
            .flat_map(|r| r.envelope.items.iter())
            .filter(|i| *i.ty() == ItemType::ClientReport)
            .map(|i| i.client_report().expect("report parses"))
            .collect()
    }

    /// Waits until `n` events were accepted, or the timeout passes.
    pub fn wait_for_events(&self, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.events().len();
            if got >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn ingest(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_encoding = header("content-encoding");
    let encoding = match content_encoding.as_deref() {
        Some(v) => ContentEncoding::from_header(v).expect("known encoding"),
        None => ContentEncoding::Identity,
    };
    let plain = encoding::decompress(encoding, &body, 10 * 1024 * 1024).expect("decodes");
    let envelope = match Envelope::from_slice(&plain, &Limits::default()) {
        Ok(e) => e,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("{{\"detail\":\"{e}\"}}")).into_response()
        }
    };
    let index = state.received.lock().expect("lock").len();
    let reply = (state.behaviour.lock().expect("lock"))(index, &envelope);
    let status = match &reply {
        Reply::Ok => 200,
        Reply::Status(s) => *s,
        Reply::RateLimited { .. } => 429,
    };
    state.received.lock().expect("lock").push(Received {
        envelope,
        auth: header("x-sentry-auth"),
        content_type: header("content-type"),
        user_agent: header("user-agent"),
        content_encoding,
        status,
    });
    match reply {
        Reply::Ok => (StatusCode::OK, "{}").into_response(),
        Reply::Status(s) => (
            StatusCode::from_u16(s).expect("status"),
            "{\"detail\":\"test\"}",
        )
            .into_response(),
        Reply::RateLimited {
            retry_after,
            limits,
        } => {
            let mut resp = (StatusCode::TOO_MANY_REQUESTS, "{}").into_response();
            if let Some(v) = retry_after {
                resp.headers_mut()
                    .insert("retry-after", v.parse().expect("header"));
            }
            if let Some(v) = limits {
                resp.headers_mut()
                    .insert("x-sentry-rate-limits", v.parse().expect("header"));
            }
            resp
        }
    }
}
