//! Capturing user feedback: [`capture_feedback`] sends what a user said (and, when they
//! were looking at an error, which event it was about) as a `feedback` item.
//!
//! On the caller's thread: the feedback event is built (a new id, the current time,
//! `contexts.feedback`, the client's release, environment, server name and SDK) and the
//! envelope queued for the background worker, which sends it like any other envelope
//! (rate limits, retries, spool, client reports). `before_send` and event processors do
//! not run on feedback (they are written for error events).
//!
//! ```
//! use sentry_client::protocol::Feedback;
//!
//! # let envelopes = sentry_client::test::with_captured_envelopes(|| {
//! let event_id = sentry_client::capture_message("export failed", sentry_client::Level::Error);
//! sentry_client::capture_feedback(Feedback {
//!     message: "I clicked export and nothing happened".into(),
//!     contact_email: Some("ana@example.com".into()),
//!     name: Some("Ana".into()),
//!     url: None,
//!     associated_event_id: Some(event_id),
//! });
//! # });
//! # assert_eq!(envelopes.len(), 2);
//! ```

use uuid::Uuid;

use crate::protocol::{DataCategory, Event, Feedback, Sdk};
use crate::{Client, Hub};

impl Client {
    /// Sends user feedback; returns the feedback event's id (nil when the client is
    /// disabled or the queue is full, counted as a `feedback` discard).
    pub fn capture_feedback(&self, feedback: &Feedback) -> Uuid {
        if !self.is_enabled() {
            return Uuid::nil();
        }
        let event = self.feedback_event(feedback);
        let id = event.event_id;
        if self.submit_envelope(Feedback::envelope(&event), DataCategory::Feedback) {
            id
        } else {
            Uuid::nil()
        }
    }

    fn feedback_event(&self, feedback: &Feedback) -> Event {
        let o = self.options();
        let mut event = feedback.to_event();
        event.event_id = crate::draft::new_event_id();
        event.platform = Some("native".into());
        event.release = o.release.as_deref().map(str::to_owned);
        event.environment = o.environment.as_deref().map(str::to_owned);
        event.dist = o.dist.as_deref().map(str::to_owned);
        event.server_name = o.server_name.as_deref().map(str::to_owned);
        event.sdk = Some(Sdk {
            name: Some(crate::SDK_NAME.into()),
            version: Some(crate::SDK_VERSION.into()),
            ..Default::default()
        });
        event
    }
}

impl Hub {
    /// Sends user feedback through this hub's client (see [`capture_feedback`]).
    pub fn capture_feedback(&self, feedback: Feedback) -> Uuid {
        match self.client() {
            Some(client) => client.capture_feedback(&feedback),
            None => Uuid::nil(),
        }
    }
}

/// Sends user feedback through the current hub's client: a `feedback` item (the
/// current protocol's form) with `feedback.message` and, when given, the contact
/// email, name, URL and the id of the error event it is about. Returns the feedback's
/// own event id (nil when nothing was queued).
pub fn capture_feedback(feedback: Feedback) -> Uuid {
    Hub::current().capture_feedback(feedback)
}
