//! Transports: what sends an envelope. They see only envelopes; the background worker
//! that finishes events and drives them (rate limits, retries with backoff, the disk
//! spool, client reports, the same way for every transport) is the `delivery` layer
//! above. An asynchronous transport only performs one send and says how it went
//! ([`SendResult`]).
//!
//! Transports: [`HttpTransport`] for `http://` and `https://` DSNs, [`UdpTransport`] for
//! `udp://` DSNs, and [`TestTransport`](crate::test::TestTransport) for tests. A custom
//! transport implements [`Transport`] (the official crate's shape: a `send_envelope`
//! that returns at once, `flush`, `shutdown`) or [`AsyncTransport`] (a send future whose
//! answer the worker acts on), and is installed through [`ClientOptions::transport`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::{Envelope, Scheme};
use crate::ClientOptions;

mod http;
mod udp;

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

/// Sends envelopes, as the official crate shapes a transport: `send_envelope` takes an
/// envelope and returns at once (a transport queues or sends it as it likes), `flush`
/// and `shutdown` wait for what it holds. The client's background worker calls it,
/// after its own rate limits, retries and spool; a transport written this way gets
/// every envelope once and its answer is taken as "sent" (the worker's retries need an
/// [`AsyncTransport`]).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use sentry_client::{ClientOptions, Envelope, Transport};
///
/// #[derive(Default)]
/// struct Recorder(Mutex<Vec<Envelope>>);
///
/// impl Transport for Recorder {
///     fn send_envelope(&self, envelope: Envelope) {
///         self.0.lock().unwrap().push(envelope);
///     }
/// }
///
/// let recorder = Arc::new(Recorder::default());
/// let client = sentry_client::Client::from_config(ClientOptions {
///     dsn: "https://public@sentry.invalid/1".parse().ok(),
///     transport: Some(Arc::new(recorder.clone())),
///     ..Default::default()
/// });
/// client.capture_event(sentry_client::Event::new(), None);
/// client.flush(None);
/// assert_eq!(recorder.0.lock().unwrap().len(), 1);
/// ```
pub trait Transport: Send + Sync + 'static {
    /// Takes one envelope to send.
    fn send_envelope(&self, envelope: Envelope);

    /// Waits up to `timeout` until what the transport holds is sent; whether it all was.
    fn flush(&self, timeout: Duration) -> bool {
        let _ = timeout;
        true
    }

    /// Flushes and stops the transport; whether everything was sent in time.
    fn shutdown(&self, timeout: Duration) -> bool {
        self.flush(timeout)
    }

    /// The asynchronous send the worker drives, when the transport has one (the
    /// built-in transports, and every [`AsyncTransport`]): its answer decides retries,
    /// rate limits and the spool. `None` (the default) makes the worker call
    /// [`Transport::send_envelope`] on a blocking thread.
    #[doc(hidden)]
    fn send_async(&self, envelope: Arc<Envelope>) -> Option<SendFuture> {
        let _ = envelope;
        None
    }

    /// How many asynchronous sends may be in flight at once.
    #[doc(hidden)]
    fn max_in_flight(&self) -> usize {
        1
    }
}

/// A transport whose send is a future the worker drives and whose answer
/// ([`SendResult`]) the worker acts on: retried with backoff, spooled, rate-limited.
/// Every `AsyncTransport` is a [`Transport`]. Called on the worker thread, inside its
/// tokio runtime.
pub trait AsyncTransport: Send + Sync + 'static {
    /// Sends one envelope. The future runs on the worker's runtime; several may be in
    /// flight at once (up to [`AsyncTransport::max_in_flight`]).
    fn send(&self, envelope: Arc<Envelope>) -> SendFuture;

    /// How many sends may be in flight at once. Default: 1.
    fn max_in_flight(&self) -> usize {
        1
    }
}

impl<T: AsyncTransport> Transport for T {
    /// Sends on a thread of its own (the worker never calls this: it drives
    /// [`AsyncTransport::send`]); for code that holds a transport and sends directly.
    fn send_envelope(&self, envelope: Envelope) {
        let send = AsyncTransport::send(self, Arc::new(envelope));
        let spawned = std::thread::Builder::new()
            .name("sentry-client-send".into())
            .spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(send);
                }
            });
        drop(spawned);
    }

    fn send_async(&self, envelope: Arc<Envelope>) -> Option<SendFuture> {
        Some(AsyncTransport::send(self, envelope))
    }

    fn max_in_flight(&self) -> usize {
        AsyncTransport::max_in_flight(self)
    }
}

/// The future of one send of `envelope` through `transport`: its asynchronous send, or
/// its `send_envelope` on a blocking thread (then taken as sent).
pub(crate) fn send(transport: &Arc<dyn Transport>, envelope: Arc<Envelope>) -> SendFuture {
    if let Some(future) = transport.send_async(Arc::clone(&envelope)) {
        return future;
    }
    let transport = Arc::clone(transport);
    Box::pin(async move {
        let envelope = Arc::try_unwrap(envelope).unwrap_or_else(|shared| (*shared).clone());
        match tokio::task::spawn_blocking(move || transport.send_envelope(envelope)).await {
            Ok(()) => SendResult::Sent { rate_limits: None },
            Err(e) => SendResult::Rejected {
                reason: format!("transport panicked: {e}"),
            },
        }
    })
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

/// Creates the transport of a client, as the official crate shapes a factory.
pub trait TransportFactory: Send + Sync {
    /// Builds a transport for these options (the DSN is in `options.dsn`).
    fn create_transport(&self, options: &ClientOptions) -> Arc<dyn Transport>;

    /// [`TransportFactory::create_transport`], or why it cannot build one (the client
    /// is then disabled). The built-in factory says why; others cannot fail.
    #[doc(hidden)]
    fn try_create_transport(
        &self,
        options: &ClientOptions,
    ) -> Result<Arc<dyn Transport>, TransportError> {
        Ok(self.create_transport(options))
    }
}

impl<F> TransportFactory for F
where
    F: Fn(&ClientOptions) -> Arc<dyn Transport> + Send + Sync,
{
    fn create_transport(&self, options: &ClientOptions) -> Arc<dyn Transport> {
        self(options)
    }
}

impl<T: Transport> TransportFactory for Arc<T> {
    fn create_transport(&self, _: &ClientOptions) -> Arc<dyn Transport> {
        Arc::clone(self) as Arc<dyn Transport>
    }
}

/// The default factory: HTTP(S) or UDP, chosen by the DSN's scheme.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultTransportFactory;

impl TransportFactory for DefaultTransportFactory {
    /// The transport for the DSN; one that refuses every envelope when it cannot be
    /// built (`try_create_transport` says why, and the client uses that).
    fn create_transport(&self, options: &ClientOptions) -> Arc<dyn Transport> {
        match self.try_create_transport(options) {
            Ok(transport) => transport,
            Err(e) => Arc::new(Unavailable(e.to_string())),
        }
    }

    fn try_create_transport(
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

/// A transport that could not be built: every envelope is rejected with the reason.
struct Unavailable(String);

impl AsyncTransport for Unavailable {
    fn send(&self, _: Arc<Envelope>) -> SendFuture {
        let reason = self.0.clone();
        Box::pin(std::future::ready(SendResult::Rejected { reason }))
    }
}

pub(crate) fn default_transport_factory() -> Arc<dyn TransportFactory> {
    Arc::new(DefaultTransportFactory)
}

/// The `sentry_client` value of auth headers and the `User-Agent`.
pub(crate) fn sdk_ident() -> String {
    format!("{}/{}", crate::SDK_NAME, crate::SDK_VERSION)
}
