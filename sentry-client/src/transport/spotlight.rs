//! Copies of envelopes for a [Spotlight](https://spotlightjs.com) sidecar.
//!
//! The worker offers every new envelope (an `Arc` clone) to a bounded queue of 64; a
//! thread of its own (`sentry-client-spotlight`) posts each one to the sidecar URL
//! (`POST`, `Content-Type: application/x-sentry-envelope`, plain HTTP/1.1 over a fresh
//! loopback connection, 500 ms to connect, 2 s to write and answer). A full queue drops
//! the copy; an unreachable sidecar drops the copies of the next second. Neither ever
//! touches normal delivery: the offer is a `try_send`, and nothing waits for the thread
//! (at shutdown it posts what is queued, with the same timeouts, and exits).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{AsyncTransport, SendFuture, SendResult};
use crate::protocol::Envelope;

/// Copies waiting for the sidecar; more are dropped.
const QUEUE: usize = 64;
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// After a failed post, copies are dropped for this long.
const PAUSE: Duration = Duration::from_secs(1);

/// The worker's handle of the Spotlight thread.
pub(crate) struct SpotlightSender {
    tx: SyncSender<Arc<Envelope>>,
}

impl SpotlightSender {
    /// Starts the thread for `url` (`http://host:port/path`); `None` (logged when
    /// `debug`) when the URL is not a plain-HTTP one or the thread cannot start.
    pub(crate) fn start(url: &str, debug: bool) -> Option<SpotlightSender> {
        let target = match Target::parse(url) {
            Some(t) => t,
            None => {
                if debug {
                    eprintln!("[sentry-client] spotlight: {url:?} is not an http:// URL; off");
                }
                return None;
            }
        };
        let (tx, rx) = sync_channel(QUEUE);
        let started = std::thread::Builder::new()
            .name("sentry-client-spotlight".into())
            .spawn(move || run(target, rx, debug));
        match started {
            Ok(_) => Some(SpotlightSender { tx }),
            Err(e) => {
                if debug {
                    eprintln!("[sentry-client] spotlight: cannot start its thread: {e}");
                }
                None
            }
        }
    }

    /// Offers a copy; dropped when the queue is full (never blocks).
    pub(crate) fn offer(&self, envelope: &Arc<Envelope>) {
        match self.tx.try_send(Arc::clone(envelope)) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

struct Target {
    host: String,
    port: u16,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Option<Target> {
        let url = url::Url::parse(url).ok()?;
        if url.scheme() != "http" {
            return None;
        }
        let host = url.host_str()?.to_owned();
        let port = url.port_or_known_default()?;
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        Some(Target { host, port, path })
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        (host, self.port)
            .to_socket_addrs()
            .map(|a| a.collect())
            .unwrap_or_default()
    }
}

fn run(target: Target, rx: Receiver<Arc<Envelope>>, debug: bool) {
    let mut paused_until: Option<Instant> = None;
    while let Ok(envelope) = rx.recv() {
        if paused_until.is_some_and(|t| Instant::now() < t) {
            continue;
        }
        match post(&target, &envelope.to_vec()) {
            Ok(()) => paused_until = None,
            Err(e) => {
                if debug {
                    eprintln!("[sentry-client] spotlight: copy dropped: {e}");
                }
                paused_until = Some(Instant::now() + PAUSE);
            }
        }
    }
}

fn post(target: &Target, body: &[u8]) -> std::io::Result<()> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in target.addrs() {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => return exchange(stream, target, body),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn exchange(mut stream: TcpStream, target: &Target, body: &[u8]) -> std::io::Result<()> {
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/x-sentry-envelope\r\n\
         Content-Length: {}\r\nUser-Agent: {}\r\nConnection: close\r\n\r\n",
        target.path,
        target.host,
        target.port,
        body.len(),
        super::sdk_ident(),
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    // The status line is all we need; read a little and let the connection go.
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf)?;
    let line = String::from_utf8_lossy(&buf[..n]);
    let ok = line
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'));
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "sidecar answered {:?}",
            line.lines().next().unwrap_or("")
        )))
    }
}

/// The transport of a client that has a Spotlight URL but no DSN: every envelope is
/// "sent" at once (its copy went to the sidecar).
#[derive(Debug, Default)]
pub(crate) struct SpotlightOnly;

impl AsyncTransport for SpotlightOnly {
    fn send(&self, _envelope: Arc<Envelope>) -> SendFuture {
        Box::pin(std::future::ready(SendResult::Sent { rate_limits: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = Target::parse("http://localhost:8969/stream").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("localhost", 8969, "/stream")
        );
        let t = Target::parse("http://127.0.0.1/x?y=1").unwrap();
        assert_eq!((t.port, t.path.as_str()), (80, "/x?y=1"));
        assert!(Target::parse("https://localhost:8969/stream").is_none());
        assert!(Target::parse("nonsense").is_none());
    }
}
