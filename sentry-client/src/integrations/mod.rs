//! Integrations: hooks through which adapters (`sentry-tower`, `sentry-log`, your own)
//! take part in setup and event processing.
//!
//! An integration is registered in [`ClientOptions::integrations`]; when the client is
//! created, [`Integration::setup`] runs once (on the thread calling `init`), and
//! [`Integration::process_event`] runs for every event on the background worker, after
//! the scope is applied and before `before_send`.
//!
//! With the feature `anyhow`, the `anyhow` module captures `anyhow::Error`s.
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

#[cfg(feature = "anyhow")]
pub mod anyhow;

use std::any::Any;

use crate::protocol::Event;
use crate::ClientOptions;

/// A pluggable extension of the client.
///
/// Every method has a default, so `impl Integration for MyIntegration {}` is a complete
/// integration, and [`Hub::with_integration`](crate::Hub::with_integration) finds it
/// again by its type.
pub trait Integration: Send + Sync + AsAny + 'static {
    /// A short name, listed in the event's `sdk.integrations`. Default: the type's name.
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }

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

/// Access to an integration as [`Any`], so that it can be found by its type; implemented
/// for every type, nothing to implement by hand.
#[doc(hidden)]
pub trait AsAny {
    /// `self` as `&dyn Any`.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// 128 random bits from the SDK's per-thread generator (seeded from the OS, no system
/// call per use): for trace and span ids in integrations such as `sentry-tower`.
pub fn random_u128() -> u128 {
    (u128::from(crate::random::next_u64()) << 64) | u128::from(crate::random::next_u64())
}
