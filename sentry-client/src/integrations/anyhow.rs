//! Capturing [`anyhow::Error`]s (feature `anyhow`), shaped as the official `sentry-anyhow`:
//! [`capture_anyhow`], [`event_from_error`] and the [`AnyhowHubExt`] hub method.
//!
//! The event is that of [`crate::event_from_error`] for the error anyhow wraps: the
//! whole chain of contexts and sources, deepest first. When anyhow captured a backtrace
//! (`RUST_BACKTRACE=1` or `RUST_LIB_BACKTRACE=1`), it becomes the stack trace of the
//! outermost exception, its frames marked in-app by the client's rules. That backtrace
//! is already resolved by anyhow's std backtrace; reading it (once, when it is first
//! printed or captured) happens on the calling thread, unlike the SDK's own stacks.
//!
//! ```
//! use sentry_client::integrations::anyhow::{capture_anyhow, event_from_error};
//!
//! let err = anyhow::anyhow!("disk full").context("saving the report");
//! let event = event_from_error(&err);
//! let values: Vec<_> = event.exception.values.iter().map(|e| e.value.as_deref()).collect();
//! assert_eq!(values, [Some("disk full"), Some("saving the report")]);
//! // Without an active client nothing is sent.
//! assert!(capture_anyhow(&err).is_nil());
//! ```

use std::backtrace::BacktraceStatus;

use uuid::Uuid;

use crate::backtrace::{stacktrace_from_std_text, InAppRules};
use crate::protocol::Event;
use crate::Hub;

/// Captures an `anyhow::Error` on the current hub, if it has an active client; returns
/// the event id (nil when nothing was captured).
pub fn capture_anyhow(error: &anyhow::Error) -> Uuid {
    Hub::with_active(|hub| hub.capture_anyhow(error))
}

/// The event for an `anyhow::Error`: its chain, and its backtrace when one was captured.
pub fn event_from_error(error: &anyhow::Error) -> Event {
    let inner: &(dyn std::error::Error + 'static) = error.as_ref();
    let mut event = crate::event_from_error(inner);
    let backtrace = error.backtrace();
    if backtrace.status() == BacktraceStatus::Captured {
        let rules = Hub::current()
            .client()
            .map(|c| InAppRules::from_options(c.options()))
            .unwrap_or_default();
        let stacktrace = stacktrace_from_std_text(&backtrace.to_string(), &rules);
        if let Some(outermost) = event.exception.values.last_mut() {
            outermost.stacktrace = stacktrace;
        }
    }
    event
}

/// `hub.capture_anyhow(&err)`, as the official crate's extension trait.
pub trait AnyhowHubExt {
    /// Captures an `anyhow::Error` on this hub; returns the event id (nil when nothing
    /// was captured).
    fn capture_anyhow(&self, error: &anyhow::Error) -> Uuid;
}

impl AnyhowHubExt for Hub {
    fn capture_anyhow(&self, error: &anyhow::Error) -> Uuid {
        self.capture_event(event_from_error(error))
    }
}
