//! Slow and numerous clients (issue #17, slowloris): connections that trickle their
//! headers, sit idle, or send half a body are closed by the server's timeouts, and
//! connections beyond the cap wait without keeping `/healthz` from answering.
//!
//! The timeouts are set to 1-2 s here; each wait for the server to act allows 30 s or
//! more, so a slow machine cannot fail a test (no test asserts how fast anything is).

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{request, try_request, TestServer};

/// Generous bound on the server closing a connection whose timeout is 1-2 s.
const CLOSE_BOUND: Duration = Duration::from_secs(40);

/// Whether the server closed `stream` (EOF or a reset; a 408 before the close is fine)
/// before `bound` passed, while the client kept trickling bytes when `trickle` is set.
fn closed_by_server(mut stream: TcpStream, trickle: bool, bound: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    let mut n = 0u64;
    while start.elapsed() < bound {
        if trickle {
            n += 1;
            if stream
                .write_all(format!("X-Slow-{n}: a\r\n").as_bytes())
                .is_err()
            {
                return true;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

fn healthz_ok(addr: SocketAddr) -> bool {
    try_request(addr, "GET", "/healthz", &[], b"").is_ok_and(|r| r.status == 200)
}

#[test]
fn trickling_headers_are_cut_off_while_healthz_answers() {
    let s = TestServer::start_with(|c| {
        c.http.header_read_timeout = Duration::from_secs(1);
        c.http.max_connections = 64;
    });
    let done = Arc::new(AtomicBool::new(false));
    let tricklers: Vec<_> = (0..12)
        .map(|_| {
            let mut stream = TcpStream::connect(s.addr).expect("connect");
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .expect("write");
            std::thread::spawn(move || closed_by_server(stream, true, CLOSE_BOUND))
        })
        .collect();
    // While they trickle, /healthz keeps answering on fresh connections.
    let addr = s.addr;
    let flag = done.clone();
    let checker = std::thread::spawn(move || {
        let mut answered = 0;
        while !flag.load(Ordering::Relaxed) && answered < 20 {
            assert!(healthz_ok(addr), "/healthz answered while others trickle");
            answered += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        answered
    });
    for t in tricklers {
        assert!(
            t.join().expect("trickler"),
            "a trickling connection was closed by the server"
        );
    }
    done.store(true, Ordering::Relaxed);
    assert!(checker.join().expect("checker") > 0);
    assert!(
        s.ingestor.metrics.http_timeouts.load(Ordering::Relaxed) >= 12,
        "each trickler counted as a timeout"
    );
    assert!(healthz_ok(s.addr));
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let s = TestServer::start_with(|c| {
        c.http.header_read_timeout = Duration::from_secs(60);
        c.http.idle_timeout = Duration::from_secs(1);
    });
    let mut stream = TcpStream::connect(s.addr).expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).expect("response");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then silent: the idle timeout (not the 60 s header timeout) ends it.
    assert!(closed_by_server(stream, false, CLOSE_BOUND));
}

#[test]
fn a_body_that_does_not_arrive_is_answered_408_and_nothing_is_stored() {
    let s = TestServer::start_with(|c| c.http.body_timeout = Duration::from_secs(1));
    let mut stream = TcpStream::connect(s.addr).expect("connect");
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nX-Sentry-Auth: {}\r\nContent-Length: 5000\r\n\r\n{{}}\n",
        s.envelope_path(),
        s.auth_header()
    );
    stream.write_all(head.as_bytes()).expect("write");
    stream.set_read_timeout(Some(CLOSE_BOUND)).expect("timeout");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("did not arrive within 1 s"), "{text}");
    assert_eq!(s.event_count(), 0);
    let r = request(s.addr, "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
}

#[test]
fn connections_beyond_the_cap_wait_and_healthz_still_gets_through() {
    let s = TestServer::start_with(|c| {
        c.http.header_read_timeout = Duration::from_secs(2);
        c.http.max_connections = 2;
    });
    let silent: Vec<TcpStream> = (0..6)
        .map(|_| TcpStream::connect(s.addr).expect("connect"))
        .collect();
    let metrics = s.ingestor.metrics.clone();
    let watcher_stop = Arc::new(AtomicBool::new(false));
    let stop = watcher_stop.clone();
    let watcher = std::thread::spawn(move || {
        let mut most = 0;
        while !stop.load(Ordering::Relaxed) {
            most = most.max(metrics.http_connections_open.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(5));
        }
        most
    });
    // Queued behind the silent ones, /healthz is answered once their headers time out.
    let r = request(s.addr, "GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    watcher_stop.store(true, Ordering::Relaxed);
    assert!(
        watcher.join().expect("watcher") <= 2,
        "never more than the cap"
    );
    for stream in silent {
        assert!(closed_by_server(stream, false, CLOSE_BOUND));
    }
}
