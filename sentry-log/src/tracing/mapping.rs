//! [`EventMapping`]: what a custom mapper of the `tracing` layer makes of an event (see
//! [`SentryLayer::event_mapper`](super::SentryLayer::event_mapper)).

use sentry_client::protocol::{Breadcrumb, Event, Log};
use sentry_client::Hub;

/// What an [`event_mapper`](super::SentryLayer::event_mapper) turns a `tracing` event
/// into, the official `sentry-tracing`'s `EventMapping`.
#[derive(Debug)]
#[non_exhaustive]
// The variants are the official crate's (`Event` boxed, `Breadcrumb` not), so that a
// mapper written for it reads the same; a mapping lives only while one event is captured.
#[allow(clippy::large_enum_variant)]
pub enum EventMapping {
    /// Nothing is sent.
    Ignore,
    /// Added to the current scope.
    Breadcrumb(Breadcrumb),
    /// Captured on the current hub.
    Event(Box<Event>),
    /// Sent as a structured log (see [`log_from_event`](super::log_from_event)).
    Log(Log),
    /// Several of the above, in order (a `Combined` inside is flattened).
    Combined(CombinedEventMapping),
}

/// A list of [`EventMapping`]s, for [`EventMapping::Combined`].
#[derive(Debug, Default)]
pub struct CombinedEventMapping(Vec<EventMapping>);

impl CombinedEventMapping {
    /// The mappings, in order.
    pub fn into_vec(self) -> Vec<EventMapping> {
        self.0
    }
}

impl From<EventMapping> for CombinedEventMapping {
    fn from(mapping: EventMapping) -> Self {
        match mapping {
            EventMapping::Combined(list) => list,
            other => CombinedEventMapping(vec![other]),
        }
    }
}

impl From<Vec<EventMapping>> for CombinedEventMapping {
    fn from(list: Vec<EventMapping>) -> Self {
        CombinedEventMapping(list)
    }
}

/// Sends what a mapper made of an event.
pub(crate) fn apply(hub: &Hub, mapping: EventMapping) {
    match mapping {
        EventMapping::Ignore => {}
        EventMapping::Breadcrumb(b) => hub.add_breadcrumb(b),
        EventMapping::Event(e) => {
            hub.capture_event(*e);
        }
        EventMapping::Log(l) => hub.capture_log(l),
        EventMapping::Combined(list) => {
            for m in list.into_vec() {
                apply(hub, m);
            }
        }
    }
}
