//! The UDP transport for `udp://KEY@HOST:PORT/PROJECT` DSNs: one envelope per datagram.
//!
//! Framing (see `docs/protocol.md`, UDP section): the datagram is exactly one envelope;
//! the envelope header carries `dsn` (the full `udp://` DSN: there are no HTTP headers to
//! authenticate with) and `sent_at`. The whole datagram is gzipped when the plain
//! envelope is over 1,200 bytes and gzip makes it smaller; a server tells by the magic
//! bytes `1F 8B`. Only `event`, `session`, `client_report`, `check_in` and `log` items
//! travel over UDP.
//!
//! A datagram may be at most 65,507 bytes. An event too big for that is shrunk: first its
//! breadcrumbs go, then stack frames (the innermost are kept), then `extra`; only if it
//! is still too big is it dropped (counted as `send_error`). Without replies there are no
//! server rate limits, so the transport paces itself with a token bucket
//! (`udp_max_per_second`).

use std::net::{ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sync::Mutex;

use super::{AsyncTransport, SendFuture, SendResult, TransportError};
use crate::protocol::{encoding, Envelope, Event, Item, ItemType, Timestamp};
use crate::ClientOptions;

/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;
const GZIP_ABOVE: usize = 1_200;

/// Sends envelopes as UDP datagrams.
#[derive(Debug, Clone)]
pub struct UdpTransport {
    socket: Arc<UdpSocket>,
    dsn: Arc<str>,
    bucket: Arc<Mutex<Bucket>>,
    max_datagram: usize,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    rate: f64,
    last: Instant,
}

impl Bucket {
    /// Takes a token; returns how long to wait first when there is none.
    fn take(&mut self) -> Duration {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate.max(1.0));
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

impl UdpTransport {
    /// Opens a socket connected to the DSN's host and port.
    pub fn new(options: &ClientOptions) -> Result<Self, TransportError> {
        let dsn = options.dsn.as_ref().ok_or(TransportError::NoDsn)?;
        let addr = dsn
            .host_port()
            .trim_start_matches('[')
            .to_socket_addrs()
            .or_else(|_| {
                let host = dsn.host().trim_start_matches('[').trim_end_matches(']');
                (host, dsn.port()).to_socket_addrs()
            })?
            .next()
            .ok_or_else(|| std::io::Error::other("the DSN host has no address"))?;
        let bind = if addr.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        let socket = UdpSocket::bind(bind)?;
        socket.connect(addr)?;
        socket.set_write_timeout(Some(Duration::from_secs(1)))?;
        let rate = f64::from(options.udp_max_per_second.max(1));
        Ok(UdpTransport {
            socket: Arc::new(socket),
            dsn: dsn.to_string().into(),
            bucket: Arc::new(Mutex::new(Bucket {
                tokens: rate,
                rate,
                last: Instant::now(),
            })),
            max_datagram: MAX_DATAGRAM,
        })
    }

    /// Lowers the datagram size limit (for tests of the shrinking path).
    pub fn with_max_datagram(mut self, bytes: usize) -> Self {
        self.max_datagram = bytes.min(MAX_DATAGRAM);
        self
    }

    /// The datagram for an envelope, shrunk to fit, or why it cannot be sent.
    pub fn datagram(&self, envelope: &Envelope) -> Result<Vec<u8>, String> {
        let mut env = envelope.clone();
        env.items.retain(|i| {
            matches!(
                i.ty(),
                ItemType::Event
                    | ItemType::Session
                    | ItemType::ClientReport
                    | ItemType::CheckIn
                    | ItemType::Log
                    | ItemType::TraceMetric
            )
        });
        if env.items.is_empty() {
            return Err("no item can travel over UDP".into());
        }
        env.headers.dsn = Some(self.dsn.to_string());
        env.headers.sent_at = Some(Timestamp::now());
        let mut bytes = encode(&env);
        if bytes.len() <= self.max_datagram {
            return Ok(bytes);
        }
        let Some(idx) = env.items.iter().position(|i| *i.ty() == ItemType::Event) else {
            return Err(format!(
                "envelope of {} bytes does not fit a datagram",
                bytes.len()
            ));
        };
        let mut event = env.items[idx].event().map_err(|e| e.to_string())?;
        let mut step = 0;
        while shrink(&mut event, step) {
            env.items[idx] = Item::json(ItemType::Event, event.to_json_vec());
            bytes = encode(&env);
            if bytes.len() <= self.max_datagram {
                return Ok(bytes);
            }
            step += 1;
        }
        Err(format!(
            "event of {} bytes does not fit a datagram even shrunk",
            bytes.len()
        ))
    }
}

/// One shrinking step; `false` when nothing is left to remove.
fn shrink(event: &mut Event, step: usize) -> bool {
    match step {
        0 => {
            event.breadcrumbs.values.clear();
            true
        }
        1..=8 => {
            // Halve every stack, keeping the innermost (crash-site) frames.
            let mut any = false;
            let stacks = event
                .exception
                .values
                .iter_mut()
                .filter_map(|e| e.stacktrace.as_mut())
                .chain(
                    event
                        .threads
                        .values
                        .iter_mut()
                        .filter_map(|t| t.stacktrace.as_mut()),
                );
            for st in stacks {
                let n = st.frames.len();
                if n > 1 {
                    st.frames.drain(..n - n / 2);
                    any = true;
                }
                for f in &mut st.frames {
                    f.pre_context.clear();
                    f.post_context.clear();
                    f.context_line = None;
                    f.vars.clear();
                }
            }
            any || step < 8
        }
        9 => {
            event.extra.clear();
            true
        }
        _ => false,
    }
}

fn encode(env: &Envelope) -> Vec<u8> {
    let plain = env.to_vec();
    if plain.len() > GZIP_ABOVE {
        let gz = encoding::gzip(&plain, 6);
        if gz.len() < plain.len() {
            return gz;
        }
    }
    plain
}

impl AsyncTransport for UdpTransport {
    fn send(&self, envelope: Arc<Envelope>) -> SendFuture {
        let this = self.clone();
        Box::pin(async move {
            let datagram = match this.datagram(&envelope) {
                Ok(d) => d,
                Err(reason) => return SendResult::Rejected { reason },
            };
            let wait = this.bucket.lock().take();
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            match this.socket.send(&datagram) {
                Ok(_) => SendResult::Sent { rate_limits: None },
                Err(e) => SendResult::Retry {
                    reason: format!("udp send: {e}"),
                },
            }
        })
    }
}
