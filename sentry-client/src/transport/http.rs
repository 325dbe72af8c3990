//! The HTTP(S) transport: `POST {dsn base}api/{project}/envelope/` with reqwest (rustls).
//!
//! Headers: `X-Sentry-Auth`, `Content-Type: application/x-sentry-envelope`, a
//! `User-Agent` naming the SDK, and `Content-Encoding: gzip` for bodies above
//! `gzip_threshold`. One `reqwest::Client` keeps connections alive across sends; the
//! worker runs up to `max_in_flight` sends at once. Proxies come from `http_proxy` /
//! `https_proxy` (which default to the usual environment variables), honouring `NO_PROXY`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};

use super::{sdk_ident, SendFuture, SendResult, Transport, TransportError};
use crate::protocol::{encoding, Auth, Envelope, Scheme};
use crate::ClientOptions;

/// Sends envelopes over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    url: Arc<str>,
    auth: Arc<str>,
    gzip_threshold: usize,
    max_in_flight: usize,
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
        Ok(HttpTransport {
            client,
            url: dsn.envelope_url().into(),
            auth: Auth::for_dsn(dsn, &sdk_ident()).to_header().into(),
            gzip_threshold: options.gzip_threshold,
            max_in_flight: options.max_in_flight.max(1),
        })
    }
}

impl Transport for HttpTransport {
    fn send_envelope(&self, envelope: Arc<Envelope>) -> SendFuture {
        let this = self.clone();
        Box::pin(async move {
            let mut body = envelope.to_vec();
            let mut gzipped = false;
            if body.len() > this.gzip_threshold {
                body = encoding::gzip(&body, 6);
                gzipped = true;
            }
            let mut req = this
                .client
                .post(&*this.url)
                .header("X-Sentry-Auth", &*this.auth)
                .header(CONTENT_TYPE, "application/x-sentry-envelope");
            if gzipped {
                req = req.header(CONTENT_ENCODING, "gzip");
            }
            let resp = match req.body(body).send().await {
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
