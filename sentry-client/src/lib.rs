//! `sentry-client`: an error-reporting SDK that speaks the Sentry protocol.
//!
//! Capture messages, errors (with their `source()` chain) and panics, with stack traces
//! and context, at a caller cost you cannot feel: the calling thread only builds the
//! event, walks the stack without resolving it, snapshots the scope (an `Arc` clone) and
//! queues the result. A background worker thread resolves symbols, applies the scope,
//! runs `before_send`, and delivers envelopes over HTTP(S) or UDP, honouring rate limits,
//! retrying with backoff, spooling to disk when the server is unreachable, and reporting
//! every discard as a client report.
//!
//! The API follows the official `sentry` crate: with `use sentry_client as sentry;` code
//! for its error-reporting API (options builder, hub and scope, captures, protocol types)
//! compiles as it is, structured logs (`logger_info!` and friends), trace metrics
//! ([`metrics::counter`] and friends), performance tracing
//! (`start_transaction`), release health (`start_session`, `end_session`,
//! `auto_session_tracking`, `session_mode`) included, and cron check-ins have
//! `capture_check_in` and [`monitor`] (the README's "Coming from the official crate"
//! lists what is there and what differs):
//!
//! ```
//! use sentry_client as sentry;
//!
//! # let events = sentry::test::with_captured_events(|| {
//! // In a program: let _guard = sentry::init("https://KEY@o1.ingest.sentry.io/42");
//! sentry::configure_scope(|scope| scope.set_tag("component", "billing"));
//! sentry::add_breadcrumb(sentry::Breadcrumb {
//!     message: Some("loading invoices".into()),
//!     ..Default::default()
//! });
//! let err = "x".parse::<u32>().unwrap_err();
//! sentry::capture_error(&err);
//! sentry::with_scope(
//!     |scope| scope.set_level(Some(sentry::Level::Warning)),
//!     || sentry::capture_message("slow response", sentry::Level::Info),
//! );
//! # });
//! # assert_eq!(events.len(), 2);
//! # assert_eq!(events[0].exception.values[0].ty.as_deref(), Some("ParseIntError"));
//! # assert_eq!(events[1].level, Some(sentry::Level::Warning));
//! ```
//!
//! Main entry points: [`init`] and [`ClientOptions`]; [`capture_message`],
//! [`capture_error`], [`capture_event`]; [`configure_scope`], [`with_scope`],
//! [`add_breadcrumb`]; [`Hub`] and [`SentryFutureExt::bind_hub`] for threads and tasks;
//! [`integrations::Integration`] for adapters; [`test::with_captured_events`] for tests.
//!
//! With `default-features = false` the crate is only [`protocol`], the wire format
//! shared with `sentry-server-lite`:
//!
//! ```
//! use sentry_client::protocol::Dsn;
//!
//! let dsn: Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9000/1".parse().unwrap();
//! assert_eq!(dsn.envelope_url(), "http://127.0.0.1:9000/api/1/envelope/");
//! ```
#![warn(missing_docs)]

pub mod protocol;

/// The protocol's basic types under the path of the official `sentry::types`:
/// [`Dsn`], [`Auth`](types::Auth), [`Uuid`], and the [`protocol`] module itself.
///
/// ```
/// use sentry_client as sentry;
/// use sentry::types::{Dsn, Uuid};
///
/// let dsn: Dsn = "https://public@sentry.invalid/1".parse().unwrap();
/// assert_eq!(dsn.project_id(), 1);
/// assert!(Uuid::nil().is_nil());
/// ```
pub mod types {
    pub use crate::protocol;
    pub use crate::protocol::auth::{Auth, AuthError as ParseAuthError};
    pub use crate::protocol::dsn::{Dsn, DsnError as ParseDsnError, Scheme};
    pub use uuid::{Uuid, Variant as UuidVariant, Version as UuidVersion};
}

#[cfg(feature = "client")]
mod api;
#[cfg(feature = "client")]
mod attachments;
#[cfg(feature = "client")]
mod backtrace;
#[cfg(feature = "client")]
mod breadcrumbs;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub mod contexts;
#[cfg(feature = "client")]
mod delivery;
#[cfg(feature = "client")]
mod draft;
#[cfg(feature = "client")]
mod exceptions;
#[cfg(feature = "client")]
mod feedback;
#[cfg(feature = "client")]
mod future;
#[cfg(feature = "client")]
mod hub;
#[cfg(feature = "client")]
pub mod integrations;
#[cfg(feature = "client")]
pub mod logs;
#[cfg(feature = "client")]
pub mod metrics;
#[cfg(feature = "client")]
mod monitor;
#[cfg(feature = "client")]
mod options;
#[cfg(feature = "client")]
pub mod panic;
#[cfg(feature = "client")]
pub mod performance;
#[cfg(feature = "client")]
mod random;
#[cfg(feature = "client")]
mod scope;
#[cfg(feature = "client")]
mod session;
#[cfg(feature = "client")]
mod sync;
#[cfg(feature = "client")]
mod telemetry;
#[cfg(feature = "client")]
pub mod test;
#[cfg(feature = "client")]
pub mod transport;

#[cfg(feature = "client")]
pub use crate::api::{
    add_breadcrumb, capture_error, capture_event, capture_message, configure_scope, flush, init,
    last_event_id, with_integration, with_scope, ClientInitGuard,
};
#[cfg(feature = "client")]
pub use crate::client::Client;
#[cfg(feature = "client")]
pub use crate::exceptions::event_from_error;
#[cfg(feature = "client")]
pub use crate::feedback::capture_feedback;
#[cfg(feature = "client")]
pub use crate::future::{SentryFuture, SentryFutureExt};
#[cfg(feature = "client")]
pub use crate::hub::{Hub, IntoBreadcrumbs, ScopeGuard};
#[cfg(feature = "client")]
pub use crate::integrations::Integration;
#[cfg(feature = "client")]
pub use crate::monitor::{capture_check_in, monitor, MonitorOutcome};
#[cfg(feature = "client")]
pub use crate::options::{
    BeforeCallback, ClientOptions, IntoDsn, MaxRequestBodySize, SpotlightSetting,
    SPOTLIGHT_DEFAULT_URL,
};
#[cfg(feature = "client")]
pub use crate::performance::{
    start_transaction, Data, Span, TraceHeader, TraceHeadersIter, TracesSampler, Transaction,
    TransactionContext, TransactionData, TransactionOrSpan,
};
#[cfg(feature = "client")]
pub use crate::scope::{EventProcessor, Scope, ScopeSeed};
#[cfg(feature = "client")]
pub use crate::session::{end_session, end_session_with_status, start_session, SessionMode};
#[cfg(feature = "client")]
pub use crate::transport::{Transport, TransportFactory};
#[cfg(feature = "client")]
pub use protocol::{Breadcrumb, Dsn, Envelope, Event, Level, User};
#[cfg(feature = "client")]
pub use uuid::Uuid;

/// The SDK name sent in events, envelopes and the auth header.
pub const SDK_NAME: &str = "sentry.rust.lite";
/// The SDK version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
