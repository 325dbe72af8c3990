//! The HTTP(S) transport: `POST {dsn base}api/{project}/envelope/`.
//!
//! Headers: `X-Sentry-Auth`, `Content-Type: application/x-sentry-envelope`, a
//! `User-Agent` naming the SDK, and `Content-Encoding: gzip` for bodies above
//! `gzip_threshold`. One pooled client keeps connections alive across sends; the worker
//! runs up to `max_in_flight` sends at once, each bounded by `request_timeout`.
//!
//! Two clients, one behaviour: `https://` DSNs and any DSN with a proxy (`http_proxy` /
//! `https_proxy`, which default to the usual environment variables, honouring
//! `NO_PROXY`) go through reqwest (rustls). Plain `http://` DSNs without a proxy (a
//! self-hosted server on the local network, a sidecar relay) go through hyper's pooled
//! client directly, which reqwest itself wraps: the same connection handling without
//! reqwest's per-request layers (redirect bookkeeping that re-parses the URL, header
//! merging, boxed futures), which cost about as much as the rest of the send. Envelope
//! POSTs are never redirected by either (a redirected POST loses its body).
//!
//! Per send, the transport serializes the envelope, gzips it with one deflate state kept
//! for the transport's life (a fresh one would allocate and zero a few hundred KiB for
//! every body), and posts it to the envelope URL parsed once at creation.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use reqwest::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::StatusCode;

use crate::sync::Mutex;

use super::{sdk_ident, AsyncTransport, SendFuture, SendResult, TransportError};
use crate::protocol::{Auth, Envelope, Scheme};
use crate::ClientOptions;

/// Sends envelopes over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    backend: Backend,
    auth: HeaderValue,
    user_agent: HeaderValue,
    request_timeout: Duration,
    gzip_threshold: usize,
    max_in_flight: usize,
    gzip: Arc<Mutex<Gzip>>,
}

type PlainClient = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

#[derive(Debug, Clone)]
enum Backend {
    /// `https://`, or behind a proxy.
    Reqwest {
        client: reqwest::Client,
        url: reqwest::Url,
    },
    /// `http://` without a proxy.
    Plain {
        client: Arc<PlainClient>,
        uri: http::Uri,
    },
}

impl HttpTransport {
    /// Builds the transport for `options.dsn` (an `http` or `https` DSN).
    pub fn new(options: &ClientOptions) -> Result<Self, TransportError> {
        let dsn = options.dsn.as_ref().ok_or(TransportError::NoDsn)?;
        let connect_timeout = options.request_timeout.min(Duration::from_secs(5));
        let max_in_flight = options.max_in_flight.max(1);
        let proxy = match dsn.scheme() {
            Scheme::Https => options.https_proxy.as_deref(),
            _ => options.http_proxy.as_deref(),
        };
        let envelope_url = dsn.envelope_url();
        let backend = match (dsn.scheme(), proxy) {
            (Scheme::Http, None) => {
                let mut connector = HttpConnector::new();
                connector.set_connect_timeout(Some(connect_timeout));
                connector.set_nodelay(true);
                let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                    .pool_max_idle_per_host(max_in_flight)
                    .build(connector);
                let uri = envelope_url
                    .parse::<http::Uri>()
                    .map_err(|e| TransportError::Http(format!("invalid envelope URL: {e}")))?;
                Backend::Plain {
                    client: Arc::new(client),
                    uri,
                }
            }
            _ => {
                let mut builder = reqwest::Client::builder()
                    .user_agent(options.user_agent.as_ref())
                    .danger_accept_invalid_certs(options.accept_invalid_certs)
                    .timeout(options.request_timeout)
                    .connect_timeout(connect_timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .pool_max_idle_per_host(max_in_flight);
                if let Some(url) = proxy {
                    let p = reqwest::Proxy::all(url)
                        .map_err(|e| TransportError::Http(format!("invalid proxy {url:?}: {e}")))?
                        .no_proxy(reqwest::NoProxy::from_env());
                    builder = builder.proxy(p);
                }
                let client = builder
                    .build()
                    .map_err(|e| TransportError::Http(e.to_string()))?;
                let url = reqwest::Url::parse(&envelope_url)
                    .map_err(|e| TransportError::Http(format!("invalid envelope URL: {e}")))?;
                Backend::Reqwest { client, url }
            }
        };
        let auth = HeaderValue::from_str(&Auth::for_dsn(dsn, &sdk_ident()).to_header())
            .map_err(|e| TransportError::Http(format!("invalid auth header: {e}")))?;
        let user_agent = HeaderValue::from_str(&options.user_agent)
            .map_err(|e| TransportError::Http(format!("invalid user agent: {e}")))?;
        Ok(HttpTransport {
            backend,
            auth,
            user_agent,
            request_timeout: options.request_timeout,
            gzip_threshold: options.gzip_threshold,
            max_in_flight,
            gzip: Arc::new(Mutex::new(Gzip::new(GZIP_LEVEL))),
        })
    }
}

/// What the transport needs of an answer.
struct Answer {
    status: StatusCode,
    rate_limits: Option<String>,
    retry_after: Option<String>,
    body: Bytes,
}

impl Answer {
    fn into_result(self) -> SendResult {
        let Answer {
            status,
            rate_limits,
            retry_after,
            body,
        } = self;
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
    }
}

fn header_text(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

impl AsyncTransport for HttpTransport {
    fn send(&self, envelope: Arc<Envelope>) -> SendFuture {
        // Serializing and compressing happen here, on the worker, before the send is
        // spawned: the future only does I/O.
        let mut body = envelope.to_vec();
        let mut gzipped = false;
        if body.len() > self.gzip_threshold {
            body = self.gzip.lock().compress(&body);
            gzipped = true;
        }
        let content_type = HeaderValue::from_static("application/x-sentry-envelope");
        match &self.backend {
            Backend::Reqwest { client, url } => {
                let mut req = client
                    .post(url.clone())
                    .header("X-Sentry-Auth", self.auth.clone())
                    .header(CONTENT_TYPE, content_type);
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
                    let rate_limits = header_text(resp.headers(), "x-sentry-rate-limits");
                    let retry_after = header_text(resp.headers(), RETRY_AFTER.as_str());
                    // Read the body so that the connection can be reused.
                    let body = resp.bytes().await.unwrap_or_default();
                    Answer {
                        status,
                        rate_limits,
                        retry_after,
                        body,
                    }
                    .into_result()
                })
            }
            Backend::Plain { client, uri } => {
                let mut builder = http::Request::post(uri.clone())
                    .header("x-sentry-auth", self.auth.clone())
                    .header(CONTENT_TYPE, content_type)
                    .header(USER_AGENT, self.user_agent.clone());
                if gzipped {
                    builder = builder.header(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                let request = match builder.body(Full::new(Bytes::from(body))) {
                    Ok(r) => r,
                    Err(e) => {
                        let reason = format!("cannot build the request: {e}");
                        return Box::pin(std::future::ready(SendResult::Rejected { reason }));
                    }
                };
                let client = Arc::clone(client);
                let timeout = self.request_timeout;
                Box::pin(async move {
                    let exchange = async {
                        let resp = client.request(request).await.map_err(|e| e.to_string())?;
                        let (parts, body) = resp.into_parts();
                        // Read the body so that the connection can be reused.
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .map_err(|e| e.to_string())?;
                        Ok::<_, String>(Answer {
                            status: parts.status,
                            rate_limits: header_text(&parts.headers, "x-sentry-rate-limits"),
                            retry_after: header_text(&parts.headers, RETRY_AFTER.as_str()),
                            body,
                        })
                    };
                    match tokio::time::timeout(timeout, exchange).await {
                        Ok(Ok(answer)) => answer.into_result(),
                        Ok(Err(e)) => SendResult::Retry {
                            reason: format!("network error: {e}"),
                        },
                        Err(_) => SendResult::Retry {
                            reason: format!("network error: no answer within {timeout:?}"),
                        },
                    }
                })
            }
        }
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
