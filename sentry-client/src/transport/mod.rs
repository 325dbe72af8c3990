//! Delivery: the background worker and the transports it drives.
//!
//! Every client owns one named worker thread (`sentry-client-worker`) running its own
//! current-thread tokio runtime, so the SDK behaves the same in sync programs and inside
//! any async runtime. The worker takes jobs from the bounded queue, finishes events
//! (scope, symbols, processors, `before_send`), writes envelopes, and hands them to a
//! [`Transport`]. Rate limits, retries with backoff, the disk spool and client reports
//! are handled by the worker, the same way for every transport; a transport only
//! performs one send and says how it went ([`SendResult`]).
//!
//! Transports: [`HttpTransport`] for `http://` and `https://` DSNs, [`UdpTransport`] for
//! `udp://` DSNs, and [`TestTransport`](crate::test::TestTransport) for tests. A custom
//! transport implements [`Transport`] and is installed through
//! [`ClientOptions::transport`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::protocol::{Envelope, Scheme};
use crate::ClientOptions;

pub(crate) mod discards;
pub(crate) mod handle;
mod http;
pub(crate) mod log_batch;
pub(crate) mod ratelimit;
pub(crate) mod spool;
pub(crate) mod spotlight;
mod udp;
pub(crate) mod worker;

pub use http::HttpTransport;
pub use udp::UdpTransport;

/// The future a transport returns for one send.
pub type SendFuture = Pin<Box<dyn Future<Output = SendResult> + Send + 'static>>;

/// How one send went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendResult {
    /// Accepted. `rate_limits` is the `X-Sentry-Rate-Limits` value of the answer, if any.
    Sent {
        /// The `X-Sentry-Rate-Limits` header of the response.
        rate_limits: Option<String>,
    },
    /// `429 Too Many Requests`: not sent, and not to be retried (counted nowhere, per the
    /// protocol); the limits apply to what follows.
    RateLimited {
        /// The `Retry-After` header.
        retry_after: Option<String>,
        /// The `X-Sentry-Rate-Limits` header.
        rate_limits: Option<String>,
    },
    /// A transient failure (network error, timeout, 5xx): retried with backoff, spooled.
    Retry {
        /// What happened, for debug logs.
        reason: String,
    },
    /// A permanent failure (4xx other than 429, too large): dropped as `send_error`.
    Rejected {
        /// What happened, for debug logs.
        reason: String,
    },
}

/// Sends envelopes. Called on the worker thread, inside its tokio runtime.
pub trait Transport: Send + Sync + 'static {
    /// Sends one envelope. The future runs on the worker's runtime; several may be in
    /// flight at once (up to [`Transport::max_in_flight`]).
    fn send_envelope(&self, envelope: Arc<Envelope>) -> SendFuture;

    /// How many sends may be in flight at once. Default: 1.
    fn max_in_flight(&self) -> usize {
        1
    }
}

/// Why a transport could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The client has no DSN.
    #[error("no DSN configured")]
    NoDsn,
    /// The HTTP client could not be built (TLS setup, proxy URL).
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    /// The UDP socket could not be opened.
    #[error("cannot open the UDP socket: {0}")]
    Udp(#[from] std::io::Error),
}

/// Creates the transport of a client.
pub trait TransportFactory: Send + Sync {
    /// Builds a transport for these options (the DSN is in `options.dsn`).
    fn create_transport(
        &self,
        options: &ClientOptions,
    ) -> Result<Arc<dyn Transport>, TransportError>;
}

impl<F> TransportFactory for F
where
    F: Fn(&ClientOptions) -> Arc<dyn Transport> + Send + Sync,
{
    fn create_transport(
        &self,
        options: &ClientOptions,
    ) -> Result<Arc<dyn Transport>, TransportError> {
        Ok(self(options))
    }
}

impl<T: Transport> TransportFactory for Arc<T> {
    fn create_transport(&self, _: &ClientOptions) -> Result<Arc<dyn Transport>, TransportError> {
        Ok(Arc::clone(self) as Arc<dyn Transport>)
    }
}

/// The default factory: HTTP(S) or UDP, chosen by the DSN's scheme.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultTransportFactory;

impl TransportFactory for DefaultTransportFactory {
    fn create_transport(
        &self,
        options: &ClientOptions,
    ) -> Result<Arc<dyn Transport>, TransportError> {
        let dsn = options.dsn.as_ref().ok_or(TransportError::NoDsn)?;
        Ok(match dsn.scheme() {
            Scheme::Udp => Arc::new(UdpTransport::new(options)?),
            Scheme::Http | Scheme::Https => Arc::new(HttpTransport::new(options)?),
        })
    }
}

pub(crate) fn default_transport_factory() -> Arc<dyn TransportFactory> {
    Arc::new(DefaultTransportFactory)
}

/// The `sentry_client` value of auth headers and the `User-Agent`.
pub(crate) fn sdk_ident() -> String {
    format!("{}/{}", crate::SDK_NAME, crate::SDK_VERSION)
}
