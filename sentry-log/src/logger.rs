//! [`SentryLogger`]: the `log::Log` adapter.

use std::fmt;

use log::{LevelFilter, Log, Metadata, Record};
use sentry_client::Hub;

use crate::filter::LogFilter;
use crate::mapping::{CombinedRecordMapping, RecordMapping};
use crate::record::{
    breadcrumb_from_record, event_from_record, exception_from_record, log_from_record,
};
use crate::reentrancy::{enter, is_sdk_target};

/// A filter closure of [`SentryLogger::filter`].
type RecordFilter = dyn Fn(&Record<'_>) -> LogFilter + Send + Sync;
/// A mapper closure of [`SentryLogger::mapper`].
type RecordMapper = dyn Fn(&Record<'_>) -> RecordMapping + Send + Sync;

enum Mapping {
    /// [`LogFilter::from_log_level`], without a call through a pointer.
    ByLevel,
    Custom(Box<RecordFilter>),
    Mapper(Box<RecordMapper>),
}

/// A `log::Log` that turns records into Sentry events and breadcrumbs, and passes every
/// record on to a wrapped logger (the *destination*) first.
///
/// By default `error!` records become events, `warn!` and `info!` breadcrumbs, and
/// `debug!`/`trace!` are left alone; [`filter`](Self::filter) changes that per record.
/// Records are captured on the current [`Hub`]; with no active client they cost one
/// check. See the [crate docs](crate) for what events and breadcrumbs contain.
///
/// **Levels.** The `log` macros skip a record before any logger runs when its level is
/// above `log::max_level()`, so that bound decides what a disabled `debug!` costs. Set
/// it to [`max_level`](Self::max_level), the most verbose level either the destination
/// or the filter wants — [`install`](Self::install) does. A wrapped logger's own level is
/// unknown to the adapter (`log::Log` does not expose it): tell it with
/// [`dest_max_level`](Self::dest_max_level), or every level stays enabled.
///
/// ```
/// use log::LevelFilter;
/// use sentry_log::{LogFilter, SentryLogger};
///
/// let logger = SentryLogger::new()
///     .filter(|record| match record.level() {
///         log::Level::Error | log::Level::Warn => LogFilter::Event,
///         _ => LogFilter::Breadcrumb,
///     })
///     .filter_max_level(LevelFilter::Debug);
/// assert_eq!(logger.max_level(), LevelFilter::Debug);
/// logger.install().expect("the first logger of this process");
/// assert_eq!(log::max_level(), LevelFilter::Debug);
/// ```
pub struct SentryLogger<L: Log = NoDest> {
    dest: L,
    dest_level: LevelFilter,
    mapping: Mapping,
    /// Set by `filter_max_level`; else `Info` for the level mapping, `Trace` for a filter.
    filter_level: Option<LevelFilter>,
}

/// The destination of a [`SentryLogger::new`]: a logger that writes nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDest;

impl Log for NoDest {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn log(&self, _: &Record<'_>) {}
    fn flush(&self) {}
}

impl SentryLogger<NoDest> {
    /// A logger that only reports to Sentry.
    pub fn new() -> Self {
        SentryLogger {
            dest: NoDest,
            dest_level: LevelFilter::Off,
            mapping: Mapping::ByLevel,
            filter_level: None,
        }
    }
}

impl Default for SentryLogger<NoDest> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: Log> SentryLogger<L> {
    /// A logger that passes every record to `dest` (e.g. an `env_logger::Logger`), then
    /// reports it to Sentry. `dest` filters for itself as usual.
    pub fn with_dest(dest: L) -> Self {
        SentryLogger {
            dest,
            dest_level: LevelFilter::Trace,
            mapping: Mapping::ByLevel,
            filter_level: None,
        }
    }

    /// The most verbose level the destination logs (e.g. env_logger's
    /// `Logger::filter()`). Default: `Trace` for [`with_dest`](Self::with_dest), `Off`
    /// for [`new`](Self::new). Only [`max_level`](Self::max_level) and
    /// [`enabled`](Log::enabled) use it; records always reach the destination.
    pub fn dest_max_level(mut self, level: LevelFilter) -> Self {
        self.dest_level = level;
        self
    }

    /// Maps each record to an event, a breadcrumb, both, or nothing ([`LogFilter`]
    /// flags), instead of by level. Records more verbose than
    /// [`filter_max_level`](Self::filter_max_level) never reach it. The closure runs on
    /// the logging thread for every such record, so keep it cheap.
    ///
    /// The closure gets the record (the official crate passes its `log::Metadata`;
    /// a closure that reads `level()` and `target()` compiles with either). It replaces
    /// a [`mapper`](Self::mapper).
    pub fn filter<F>(mut self, filter: F) -> Self
    where
        F: Fn(&Record<'_>) -> LogFilter + Send + Sync + 'static,
    {
        self.mapping = Mapping::Custom(Box::new(filter));
        self
    }

    /// Builds what each record becomes itself ([`RecordMapping`], e.g. with
    /// [`event_from_record`](crate::event_from_record) and a few edits), instead of a
    /// [`filter`](Self::filter) choosing among the built-in conversions, which it
    /// replaces. It runs only on records that may be captured (not the SDK's own, not
    /// re-entrant ones) and only when a client is active, within
    /// [`filter_max_level`](Self::filter_max_level).
    pub fn mapper<M>(mut self, mapper: M) -> Self
    where
        M: Fn(&Record<'_>) -> RecordMapping + Send + Sync + 'static,
    {
        self.mapping = Mapping::Mapper(Box::new(mapper));
        self
    }

    /// The most verbose level the filter may map to something. Default: `Info` with the
    /// level mapping, `Trace` once a [`filter`](Self::filter) is set.
    pub fn filter_max_level(mut self, level: LevelFilter) -> Self {
        self.filter_level = Some(level);
        self
    }

    fn effective_filter_level(&self) -> LevelFilter {
        self.filter_level.unwrap_or(match self.mapping {
            Mapping::ByLevel => LevelFilter::Info,
            Mapping::Custom(_) | Mapping::Mapper(_) => LevelFilter::Trace,
        })
    }

    /// The most verbose level that the destination or the filter wants: the value for
    /// `log::set_max_level`.
    pub fn max_level(&self) -> LevelFilter {
        self.dest_level.max(self.effective_filter_level())
    }

    /// The wrapped logger.
    pub fn dest(&self) -> &L {
        &self.dest
    }

    /// Makes this the process's logger and sets `log::max_level()` to
    /// [`max_level`](Self::max_level). Fails when a logger is already set.
    pub fn install(self) -> Result<(), log::SetLoggerError>
    where
        L: 'static,
    {
        let level = self.max_level();
        log::set_boxed_logger(Box::new(self))?;
        log::set_max_level(level);
        Ok(())
    }

    fn map(&self, record: &Record<'_>) -> LogFilter {
        if record.level() > self.effective_filter_level() {
            return LogFilter::Ignore;
        }
        match &self.mapping {
            Mapping::ByLevel => LogFilter::from_log_level(record.level()),
            Mapping::Custom(f) => f(record),
            // Decided in `capture`, where the mapper runs.
            Mapping::Mapper(_) => LogFilter::Event,
        }
    }

    /// The slow path: the record is wanted by Sentry.
    #[cold]
    fn capture(&self, record: &Record<'_>, mapping: LogFilter) {
        if is_sdk_target(record.target()) {
            return;
        }
        let Some(_guard) = enter() else {
            return;
        };
        let hub = Hub::current();
        if let Mapping::Mapper(mapper) = &self.mapping {
            if hub.is_active() {
                apply(&hub, mapper(record));
            }
            return;
        }
        if mapping.contains(LogFilter::Breadcrumb) {
            hub.add_breadcrumb(|| breadcrumb_from_record(record));
        }
        if mapping.contains(LogFilter::Log) && hub.is_active() {
            hub.capture_log(log_from_record(record));
        }
        if mapping.intersects(LogFilter::Event | LogFilter::Exception) && hub.is_active() {
            // Both flags give one event: the exception form includes the other.
            let event = if mapping.contains(LogFilter::Exception) {
                exception_from_record(record)
            } else {
                event_from_record(record)
            };
            hub.capture_event(event);
        }
    }
}

/// Sends what a mapper made of a record.
fn apply(hub: &Hub, mapping: RecordMapping) {
    match mapping {
        RecordMapping::Ignore => {}
        RecordMapping::Breadcrumb(b) => hub.add_breadcrumb(b),
        RecordMapping::Event(e) => {
            hub.capture_event(e);
        }
        RecordMapping::Log(l) => hub.capture_log(l),
        RecordMapping::Combined(list) => {
            for m in CombinedRecordMapping::into_vec(list) {
                apply(hub, m);
            }
        }
    }
}

impl<L: Log> Log for SentryLogger<L> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        (metadata.level() <= self.effective_filter_level() && !is_sdk_target(metadata.target()))
            || self.dest.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        self.dest.log(record);
        let mapping = self.map(record);
        if mapping != LogFilter::Ignore {
            self.capture(record, mapping);
        }
    }

    /// Flushes the destination (events are flushed by the SDK's guard or
    /// [`sentry_client::flush`]).
    fn flush(&self) {
        self.dest.flush();
    }
}

impl<L: Log + fmt::Debug> fmt::Debug for SentryLogger<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryLogger")
            .field("dest", &self.dest)
            .field("dest_level", &self.dest_level)
            .field(
                "filter",
                &match self.mapping {
                    Mapping::ByLevel => "by level",
                    Mapping::Custom(_) => "custom",
                    Mapping::Mapper(_) => "mapper",
                },
            )
            .field("filter_level", &self.effective_filter_level())
            .finish()
    }
}
