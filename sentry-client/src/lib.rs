//! `sentry-client`: an error-reporting SDK that speaks the Sentry protocol.
//!
//! With default features the crate is the SDK; with `default-features = false` it is
//! only [`protocol`], the wire format shared with `sentry-server-lite`.
//!
//! ```
//! use sentry_client::protocol::Dsn;
//!
//! let dsn: Dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9000/1".parse().unwrap();
//! assert_eq!(dsn.envelope_url(), "http://127.0.0.1:9000/api/1/envelope/");
//! ```
#![warn(missing_docs)]

pub mod protocol;
