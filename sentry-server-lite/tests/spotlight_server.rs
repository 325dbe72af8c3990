//! The server as a Spotlight sidecar (issue #20), on its loopback listener: `POST
//! /stream` envelopes come back on `GET /stream` in the sidecar's server-sent-event
//! shape (our SDK's `spotlight` copies included, while its DSN delivery stores the event
//! as usual), `/live/events` announces committed events and logs, `/live/` is the page;
//! subscribers are bounded, and a non-loopback address is refused.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use common::{request, wait_for};
use sentry_client::{logger_info, Client, ClientOptions, Hub, Level};
use sentry_server_lite::config::ServerConfig;
use sentry_server_lite::server::Server;
use sentry_server_lite::store::Store;

struct Sidecar {
    http: SocketAddr,
    spotlight: SocketAddr,
    store: Arc<dyn Store>,
    dsn: String,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sidecar {
    fn start() -> Sidecar {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServerConfig::new(dir.path());
        config.database_url = common::database_url(dir.path());
        config.bind = "127.0.0.1:0".parse().expect("addr");
        config.spotlight_bind = Some("127.0.0.1:0".parse().expect("addr"));
        config.key_cache_ttl = Duration::from_millis(0);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(Server::bind(config)).expect("bind");
        let (http, spotlight) = (
            server.http_addr(),
            server.spotlight_addr().expect("spotlight"),
        );
        let store = server.store();
        let team = store.create_team("team", "Team", None).expect("team");
        let project = store
            .create_project(team.id, "proj", "Proj", None)
            .expect("project");
        let key = store.create_key(project.id, "Default").expect("key");
        let dsn = common::dsn(&key, project.id, http);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            rt.block_on(server.run(async {
                let _ = stopped.await;
            }))
            .expect("run");
        });
        Sidecar {
            http,
            spotlight,
            store,
            dsn,
            _dir: dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An open server-sent-event stream: its lines, read as they come.
struct Sse(BufReader<TcpStream>);

impl Sse {
    fn open(addr: SocketAddr, path: &str) -> Sse {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .expect("request");
        let mut r = BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status).expect("status");
        assert!(status.contains(" 200 "), "{status}");
        loop {
            let mut h = String::new();
            r.read_line(&mut h).expect("header");
            if h == "\r\n" {
                break;
            }
        }
        Sse(r)
    }

    /// Reads until an event named `name` whose data contains `needle`; its data.
    fn until(&mut self, name: &str, needle: &str) -> String {
        let (mut event, mut data) = (String::new(), Vec::new());
        loop {
            let mut line = String::new();
            let n = self.0.read_line(&mut line).expect("an event in time");
            assert!(n > 0, "the stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            // Chunked transfer: size lines are hex digits alone.
            if !line.is_empty()
                && line.bytes().all(|b| b.is_ascii_hexdigit())
                && !line.contains(':')
            {
                continue;
            }
            if let Some(e) = line.strip_prefix("event: ") {
                event = e.to_owned();
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push(d.to_owned());
            } else if line.is_empty() && !data.is_empty() {
                let text = data.join("\n");
                if event == name && text.contains(needle) {
                    return text;
                }
                event.clear();
                data.clear();
            }
        }
    }
}

fn post(addr: SocketAddr, path: &str, body: &[u8]) -> u16 {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/x-sentry-envelope")],
        body,
    )
    .status
}

#[test]
fn posted_envelopes_stream_back_in_the_sidecars_shape() {
    let s = Sidecar::start();
    let mut stream = Sse::open(s.spotlight, "/stream");
    let body = b"{}\n{\"type\":\"event\"}\n{\"message\":\"from the sidecar test\"}\n";
    // The subscription is registered once the response started; post until it arrives.
    assert_eq!(post(s.spotlight, "/stream", body), 200);
    let data = stream.until("application/x-sentry-envelope", "from the sidecar test");
    assert!(data.starts_with("{}\n{\"type\":\"event\"}"), "{data}");
    let mut b64 = Sse::open(s.spotlight, "/stream?base64");
    assert_eq!(post(s.spotlight, "/api/1/envelope/", body), 200);
    let data = b64.until("application/x-sentry-envelope;base64", "");
    assert!(!data.contains('\n') && !data.is_empty());
    // The live page and its script.
    let page = request(s.spotlight, "GET", "/live/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("/live/live.js"));
    assert_eq!(
        request(s.spotlight, "GET", "/live/live.js", &[], b"").status,
        200
    );
    // None of it is on the main listener.
    assert_eq!(request(s.http, "GET", "/live/", &[], b"").status, 404);
}

#[test]
fn committed_events_and_logs_reach_the_live_feed_and_sdk_copies_reach_stream() {
    let s = Sidecar::start();
    let mut live = Sse::open(s.spotlight, "/live/events");
    let mut stream = Sse::open(s.spotlight, "/stream");
    let client = Arc::new(Client::from_config(
        ClientOptions::new()
            .dsn(&s.dsn)
            .spotlight(format!("http://{}/stream", s.spotlight)),
    ));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(hub, || {
        logger_info!(step = 1, "live log line");
        sentry_client::capture_message("live event", Level::Warning);
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    // Committed through the DSN: both announced on the live feed...
    let log = live.until("item", "live log line");
    assert!(log.contains("\"type\":\"log\""), "{log}");
    let event = live.until("item", "live event");
    assert!(event.contains("\"type\":\"event\"") && event.contains("\"level\":\"warning\""));
    // ...and the SDK's copies on the sidecar stream.
    stream.until("application/x-sentry-envelope", "live event");
    stream.until("application/x-sentry-envelope", "live log line");
    // Normal delivery stored the event.
    let stored = wait_for(Duration::from_secs(10), || {
        (s.store.count_events().ok()? == 1).then_some(())
    });
    assert!(stored.is_some());
}

#[test]
fn subscribers_are_bounded() {
    let s = Sidecar::start();
    let streams: Vec<Sse> = (0..sentry_server_lite::live::MAX_SUBSCRIBERS)
        .map(|_| Sse::open(s.spotlight, "/stream"))
        .collect();
    let r = request(s.spotlight, "GET", "/stream", &[], b"");
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
    drop(streams);
    // A place is free again once a subscriber went (the server notices the closed
    // connection when it next writes: post until a new subscriber gets through).
    let ok = wait_for(Duration::from_secs(30), || {
        let _ = post(s.spotlight, "/stream", b"{}\n");
        let mut c = TcpStream::connect(s.spotlight).ok()?;
        write!(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
        let mut buf = [0u8; 12];
        c.read_exact(&mut buf).ok()?;
        String::from_utf8_lossy(&buf).contains("200").then_some(())
    });
    assert!(ok.is_some());
}

#[test]
fn a_non_loopback_spotlight_address_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(dir.path());
    config.database_url = common::database_url(dir.path());
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.spotlight_bind = Some("0.0.0.0:0".parse().expect("addr"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let err = rt.block_on(Server::bind(config)).err().expect("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
}
