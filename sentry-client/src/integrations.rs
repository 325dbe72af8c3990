//! Integrations: hooks through which adapters (`sentry-tower`, `sentry-log`, your own)
//! take part in setup and event processing.
//!
//! An integration is registered in [`ClientOptions::integrations`]; when the client is
//! created, [`Integration::setup`] runs once (on the thread calling `init`), and
//! [`Integration::process_event`] runs for every event on the background worker, after
//! the scope is applied and before `before_send`.
//!
//! ```
//! use sentry_client::integrations::Integration;
//! use sentry_client::protocol::Event;
//! use sentry_client::ClientOptions;
//!
//! struct Team;
//! impl Integration for Team {
//!     fn name(&self) -> &'static str { "team" }
//!     fn process_event(&self, mut event: Event, _: &ClientOptions) -> Option<Event> {
//!         event.tags.insert("team", "payments");
//!         Some(event)
//!     }
//! }
//!
//! let events = sentry_client::test::with_captured_events_options(
//!     || { sentry_client::capture_message("hi", sentry_client::Level::Info); },
//!     ClientOptions::default().add_integration(Team),
//! );
//! assert_eq!(events[0].tags.get("team"), Some("payments"));
//! ```

use crate::protocol::Event;
use crate::ClientOptions;

/// A pluggable extension of the client.
pub trait Integration: Send + Sync + 'static {
    /// A short name, listed in the event's `sdk.integrations`.
    fn name(&self) -> &'static str;

    /// Runs once when the client is created; may adjust the options.
    fn setup(&self, options: &mut ClientOptions) {
        let _ = options;
    }

    /// Edits an event on the background worker, or drops it with `None` (counted as
    /// `event_processor`). A panic drops the event rather than unwinding into the SDK.
    fn process_event(&self, event: Event, options: &ClientOptions) -> Option<Event> {
        let _ = options;
        Some(event)
    }
}
