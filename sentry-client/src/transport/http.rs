//! The HTTP(S) transport: `POST {dsn base}api/{project}/envelope/` with reqwest (rustls).
//!
//! Headers: `X-Sentry-Auth`, `Content-Type: application/x-sentry-envelope`, a
//! `User-Agent` naming the SDK, and `Content-Encoding: gzip` for bodies above
//! `gzip_threshold`. One `reqwest::Client` keeps connections alive across sends; the
//! worker runs up to `max_in_flight` sends at once. Proxies come from `http_proxy` /
//! `https_proxy` (which default to the usual environment variables), honouring `NO_PROXY`.
//!
//! Per send, the transport serializes the envelope, gzips it with one deflate state kept
//! for the transport's life (a fresh one would allocate and zero a few hundred KiB for
//! every body), and posts it to the envelope URL parsed once at creation.

use std::sync::Arc;
use std::time::Duration;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use parking_lot::Mutex;
use reqwest::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};

use super::{sdk_ident, SendFuture, SendResult, Transport, TransportError};
use crate::protocol::{Auth, Envelope, Scheme};
use crate::ClientOptions;

/// Sends envelopes over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    url: reqwest::Url,
    auth: HeaderValue,
    gzip_threshold: usize,
    max_in_flight: usize,
    gzip: Arc<Mutex<Gzip>>,
}

impl HttpTransport {
    /// Builds the transport for `options.dsn` (an `http` or `https` DSN).
    pub fn new(options: &ClientOptions) -> Result<Self, TransportError> {
        let dsn = options.dsn.as_ref().ok_or(TransportError::NoDsn)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(sdk_ident())
            .timeout(options.request_timeout)
            .connect_timeout(options.request_timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(options.max_in_flight.max(1));
        let proxy = match dsn.scheme() {
            Scheme::Https => options.https_proxy.as_deref(),
            _ => options.http_proxy.as_deref(),
        };
        if let Some(url) = proxy {
            let p = reqwest::Proxy::all(url)
                .map_err(|e| TransportError::Http(format!("invalid proxy {url:?}: {e}")))?
                .no_proxy(reqwest::NoProxy::from_env());
            builder = builder.proxy(p);
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Http(e.to_string()))?;
        let url = reqwest::Url::parse(&dsn.envelope_url())
            .map_err(|e| TransportError::Http(format!("invalid envelope URL: {e}")))?;
        let auth = HeaderValue::from_str(&Auth::for_dsn(dsn, &sdk_ident()).to_header())
            .map_err(|e| TransportError::Http(format!("invalid auth header: {e}")))?;
        Ok(HttpTransport {
            client,
            url,
            auth,
            gzip_threshold: options.gzip_threshold,
            max_in_flight: options.max_in_flight.max(1),
            gzip: Arc::new(Mutex::new(Gzip::new(GZIP_LEVEL))),
        })
    }
}

impl Transport for HttpTransport {
    fn send_envelope(&self, envelope: Arc<Envelope>) -> SendFuture {
        // Serializing and compressing happen here, on the worker, before the send is
        // spawned: the future only does I/O.
        let mut body = envelope.to_vec();
        let mut gzipped = false;
        if body.len() > self.gzip_threshold {
            body = self.gzip.lock().compress(&body);
            gzipped = true;
        }
        let mut req = self
            .client
            .post(self.url.clone())
            .header("X-Sentry-Auth", self.auth.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-sentry-envelope"),
            );
        if gzipped {
            req = req.header(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let req = req.body(body);
        Box::pin(async move {
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    return SendResult::Retry {
                        reason: format!("network error: {e}"),
                    }
                }
            };
            let status = resp.status();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let rate_limits = header("x-sentry-rate-limits");
            let retry_after = header(RETRY_AFTER.as_str());
            // Read the body so that the connection can be reused.
            let body = resp.bytes().await.unwrap_or_default();
            if status.is_success() {
                SendResult::Sent { rate_limits }
            } else if status.as_u16() == 429 {
                SendResult::RateLimited {
                    retry_after,
                    rate_limits,
                }
            } else if status.is_server_error() {
                SendResult::Retry {
                    reason: format!("server error {status}"),
                }
            } else {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                SendResult::Rejected {
                    reason: format!("{status}: {text}"),
                }
            }
        })
    }

    fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
}

/// The deflate level of HTTP bodies.
const GZIP_LEVEL: u32 = 6;

/// A gzip writer whose deflate state is reset, not rebuilt, between bodies.
struct Gzip {
    deflate: Compress,
}

impl std::fmt::Debug for Gzip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gzip").finish_non_exhaustive()
    }
}

impl Gzip {
    fn new(level: u32) -> Gzip {
        Gzip {
            deflate: Compress::new(Compression::new(level.min(9)), false),
        }
    }

    /// `data` as one gzip member (RFC 1952): header, raw deflate, CRC-32, size.
    fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        // No name, no mtime, unknown OS: the smallest valid header.
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
        self.deflate.reset();
        let mut input = data;
        loop {
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity().max(256));
            }
            let before_in = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut out, FlushCompress::Finish);
            let consumed = (self.deflate.total_in() - before_in) as usize;
            input = &input[consumed.min(input.len())..];
            match status {
                Ok(Status::StreamEnd) => break,
                Ok(Status::Ok | Status::BufError) => continue,
                // Deflating into memory cannot fail short of a bug in the backend.
                Err(_) => return fallback_gzip(data),
            }
        }
        let mut crc = Crc::new();
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }
}

/// The one-shot encoder, should the kept state ever report an error.
fn fallback_gzip(data: &[u8]) -> Vec<u8> {
    crate::protocol::encoding::gzip(data, GZIP_LEVEL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn kept_deflate_state_makes_valid_gzip_every_time() {
        let mut gz = Gzip::new(GZIP_LEVEL);
        let inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"{\"message\":\"hello\"}\n".repeat(3),
            (0..200_000u32)
                .flat_map(|i| (i % 251).to_le_bytes())
                .collect(),
            b"x".repeat(70_000),
        ];
        for input in inputs.iter().chain(inputs.iter()) {
            let packed = gz.compress(input);
            let mut unpacked = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut unpacked)
                .expect("valid gzip");
            assert_eq!(&unpacked, input);
        }
    }
}
