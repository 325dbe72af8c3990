//! The `spotlight` option: a copy of every envelope (events and log batches) reaches a
//! loopback sidecar while the DSN's delivery gets all of them too; with the sidecar
//! down, delivery is the same.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sentry_client::protocol::{Envelope, ItemType, Limits};
use sentry_client::test::{logs_of, TestTransport};
use sentry_client::{logger_info, Client, ClientOptions, Hub, Level};

/// What the sidecar received: (path, body) per request.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A sidecar on 127.0.0.1: records each `POST` body (path, body) and answers 200.
fn sidecar() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/stream", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&seen);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_ok() {
                store.lock().expect("lock").push((path, body));
            }
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
    });
    (url, seen)
}

fn run(spotlight: &str) -> (Vec<Envelope>, Client) {
    let transport = TestTransport::new();
    let options = ClientOptions::new()
        .dsn(sentry_client::test::TEST_DSN)
        .transport(Arc::clone(&transport))
        .spotlight(spotlight.to_owned());
    let client = Arc::new(Client::from_config(options));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(hub, || {
        for i in 0..5 {
            sentry_client::capture_message(&format!("event {i}"), Level::Warning);
            logger_info!(n = i, "log {}", i);
        }
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let client = Arc::try_unwrap(client).unwrap_or_else(|_| panic!("client still shared"));
    (transport.fetch_and_clear_envelopes(), client)
}

fn count(envelopes: &[Envelope]) -> (usize, usize) {
    let events = envelopes
        .iter()
        .filter(|e| e.item(&ItemType::Event).is_some())
        .count();
    (events, logs_of(envelopes).len())
}

#[test]
fn every_envelope_reaches_the_sidecar_and_the_dsn() {
    let (url, seen) = sidecar();
    let (delivered, client) = run(&url);
    assert_eq!(count(&delivered), (5, 5));
    // The copies travel on their own thread: wait for them (bounded).
    let deadline = Instant::now() + Duration::from_secs(20);
    let copies = loop {
        let copies: Vec<Envelope> = seen
            .lock()
            .expect("lock")
            .iter()
            .map(|(path, body)| {
                assert_eq!(path, "/stream");
                Envelope::from_slice(body, &Limits::default()).expect("an envelope")
            })
            .collect();
        if count(&copies) == (5, 5) || Instant::now() > deadline {
            break copies;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(count(&copies), (5, 5));
    drop(client);
}

#[test]
fn a_sidecar_that_is_down_changes_nothing() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let (delivered, client) = run(&format!("http://127.0.0.1:{port}/stream"));
    assert_eq!(count(&delivered), (5, 5));
    assert!(client.close(Some(Duration::from_secs(5))));
}

#[test]
fn spotlight_without_a_dsn_still_runs_the_client() {
    let (url, seen) = sidecar();
    let client = Client::from_config(ClientOptions::new().spotlight(url));
    assert!(client.is_enabled());
    let hub = Arc::new(Hub::new(Some(Arc::new(client)), Default::default()));
    Hub::run(Arc::clone(&hub), || {
        sentry_client::capture_message("local only", Level::Error);
    });
    assert!(hub
        .client()
        .expect("client")
        .flush(Some(Duration::from_secs(10))));
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.lock().expect("lock").is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen = seen.lock().expect("lock");
    let env = Envelope::from_slice(&seen[0].1, &Limits::default()).expect("envelope");
    let event = env.event().expect("event").expect("reads");
    assert_eq!(event.message_text(), Some("local only"));
}
