//! [`RecordMapping`]: what a custom mapper makes of a `log` record, built by the caller
//! (see [`SentryLogger::mapper`](crate::SentryLogger::mapper)).

use sentry_client::protocol::{Breadcrumb, Event, Log};

/// What a [`mapper`](crate::SentryLogger::mapper) turns a record into, the official
/// `sentry-log`'s `RecordMapping`.
///
/// ```
/// use sentry_log::{breadcrumb_from_record, event_from_record, RecordMapping, SentryLogger};
///
/// let logger = SentryLogger::new().mapper(|record| match record.level() {
///     log::Level::Error => RecordMapping::Combined(
///         vec![
///             RecordMapping::Breadcrumb(breadcrumb_from_record(record)),
///             RecordMapping::Event(event_from_record(record)),
///         ]
///         .into(),
///     ),
///     log::Level::Warn => RecordMapping::Breadcrumb(breadcrumb_from_record(record)),
///     _ => RecordMapping::Ignore,
/// });
/// # drop(logger);
/// ```
#[derive(Debug)]
#[non_exhaustive]
// Unboxed as in the official crate, so `RecordMapping::Event(event_from_record(r))` reads
// the same; a mapping lives only while one record is captured.
#[allow(clippy::large_enum_variant)]
pub enum RecordMapping {
    /// Nothing is sent.
    Ignore,
    /// Added to the current scope.
    Breadcrumb(Breadcrumb),
    /// Captured on the current hub.
    Event(Event),
    /// Sent as a structured log (see [`log_from_record`](crate::log_from_record)).
    Log(Log),
    /// Several of the above, in order (a `Combined` inside is flattened).
    Combined(CombinedRecordMapping),
}

/// A list of [`RecordMapping`]s, for [`RecordMapping::Combined`].
#[derive(Debug, Default)]
pub struct CombinedRecordMapping(Vec<RecordMapping>);

impl CombinedRecordMapping {
    /// The mappings, in order.
    pub fn into_vec(self) -> Vec<RecordMapping> {
        self.0
    }
}

impl From<RecordMapping> for CombinedRecordMapping {
    fn from(mapping: RecordMapping) -> Self {
        match mapping {
            RecordMapping::Combined(list) => list,
            other => CombinedRecordMapping(vec![other]),
        }
    }
}

impl From<Vec<RecordMapping>> for CombinedRecordMapping {
    fn from(list: Vec<RecordMapping>) -> Self {
        CombinedRecordMapping(list)
    }
}
