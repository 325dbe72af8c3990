//! What the alert tests share: a webhook receiver (a tiny HTTP server on 127.0.0.1:0 that
//! records every request and answers with a status the test sets), and helpers to make
//! rules and send events.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// One request the receiver got, and the status it answered.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn delivery_id(&self) -> String {
        self.header("X-Sentry-Lite-Delivery")
            .expect("X-Sentry-Lite-Delivery")
            .to_owned()
    }
}

/// A webhook receiver (see the module documentation).
pub struct Receiver {
    pub addr: SocketAddr,
    status: Arc<AtomicU16>,
    got: Arc<Mutex<Vec<Received>>>,
}

/// A request's path, headers and body.
type Request = (String, Vec<(String, String)>, Vec<u8>);

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = raw[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((path, headers, body))
}

impl Receiver {
    /// Starts answering `status` to every request.
    pub fn start(status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let addr = listener.local_addr().expect("addr");
        let status = Arc::new(AtomicU16::new(status));
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let (s, g) = (status.clone(), got.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (s, g) = (s.clone(), g.clone());
                std::thread::spawn(move || {
                    let Some((path, headers, body)) = read_request(&mut stream) else {
                        return;
                    };
                    let answered = s.load(Ordering::SeqCst);
                    g.lock().expect("lock").push(Received {
                        path,
                        headers,
                        body,
                        answered,
                    });
                    let _ = stream.write_all(
                        format!(
                            "HTTP/1.1 {answered} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                        )
                        .as_bytes(),
                    );
                });
            }
        });
        Receiver { addr, status, got }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    /// The requests answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    /// Waits (up to `limit`, generous: the sender polls every few tens of ms in tests)
    /// until `f` holds of the requests; the requests then.
    pub fn wait(
        &self,
        limit: Duration,
        what: &str,
        f: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let start = std::time::Instant::now();
        loop {
            let got = self.requests();
            if f(&got) {
                return got;
            }
            assert!(
                start.elapsed() < limit,
                "waited {limit:?} for {what}; got {got:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// An event JSON with `message` (its title and grouping), level error, environment
/// `production` and release `1.0`.
pub fn event_json(id: &str, message: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","message":"{message}","level":"error","platform":"other","environment":"production","release":"1.0"}}"#
    )
}
