//! [`LogFilter`]: what a log record or tracing event becomes.

/// What an adapter does with one log record or tracing event: a set of bit flags, as in
/// the official `sentry-log` (`LogFilter::Breadcrumb | LogFilter::Event` does both).
///
/// Both adapters map records by level unless given a filter closure
/// ([`SentryLogger::filter`](crate::SentryLogger::filter),
/// [`SentryLayer::filter`](crate::tracing::SentryLayer::filter)): errors become events,
/// warnings and infos breadcrumbs, and debug and trace records are ignored.
///
/// ```
/// use sentry_log::LogFilter;
///
/// assert_eq!(LogFilter::from_log_level(log::Level::Error), LogFilter::Event);
/// assert_eq!(LogFilter::from_log_level(log::Level::Info), LogFilter::Breadcrumb);
/// assert_eq!(LogFilter::from_log_level(log::Level::Debug), LogFilter::Ignore);
/// let both = LogFilter::Breadcrumb | LogFilter::Event;
/// assert!(both.contains(LogFilter::Event) && !both.contains(LogFilter::Exception));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LogFilter(u32);

#[allow(non_upper_case_globals)] // the official crate's names
impl LogFilter {
    /// Not sent anywhere (the wrapped logger or other layers still see it); no flag.
    pub const Ignore: LogFilter = LogFilter(0);
    /// Added as a breadcrumb to the current scope, to explain a later event.
    pub const Breadcrumb: LogFilter = LogFilter(0b001);
    /// Captured as an event; with an `error` field, as an exception event with the
    /// error's `source()` chain.
    pub const Event: LogFilter = LogFilter(0b010);
    /// Captured as an exception event: the `error` field's chain, or else one exception
    /// with the target as its type and the message as its value.
    pub const Exception: LogFilter = LogFilter(0b100);
    /// Sent as a structured log (`logger_info!`-style), the key-values / fields as its
    /// attributes; only while the client's `enable_logs` is on. No level maps to it by
    /// default: a filter returns it (`LogFilter::Breadcrumb | LogFilter::Log`).
    pub const Log: LogFilter = LogFilter(0b1000);

    /// No flag (the same as [`Ignore`](Self::Ignore)).
    pub const fn empty() -> LogFilter {
        LogFilter(0)
    }

    /// Every flag.
    pub const fn all() -> LogFilter {
        LogFilter(0b1111)
    }

    /// The flags as bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The flags of `bits` that are known; the others are dropped.
    pub const fn from_bits_truncate(bits: u32) -> LogFilter {
        LogFilter(bits & Self::all().0)
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: LogFilter) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether a flag of `other` is set.
    pub const fn intersects(self, other: LogFilter) -> bool {
        self.0 & other.0 != 0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: LogFilter) {
        self.0 |= other.0;
    }

    /// Clears the flags of `other`.
    pub fn remove(&mut self, other: LogFilter) {
        self.0 &= !other.0;
    }
}

impl std::ops::BitOr for LogFilter {
    type Output = LogFilter;
    fn bitor(self, rhs: LogFilter) -> LogFilter {
        LogFilter(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for LogFilter {
    fn bitor_assign(&mut self, rhs: LogFilter) {
        self.0 |= rhs.0;
    }
}

impl std::ops::BitAnd for LogFilter {
    type Output = LogFilter;
    fn bitand(self, rhs: LogFilter) -> LogFilter {
        LogFilter(self.0 & rhs.0)
    }
}

impl std::fmt::Debug for LogFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("Ignore");
        }
        let names = [
            (LogFilter::Breadcrumb, "Breadcrumb"),
            (LogFilter::Event, "Event"),
            (LogFilter::Exception, "Exception"),
            (LogFilter::Log, "Log"),
        ];
        let mut first = true;
        for (flag, name) in names {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// The default mapping of the `log` adapter, by the record's level (see
/// [`LogFilter::from_log_level`]); the official crate's `default_filter`, except that an
/// error record becomes an [`Event`](LogFilter::Event) (an exception event when it has an
/// `error` value) rather than always an [`Exception`](LogFilter::Exception).
pub fn default_filter(metadata: &log::Metadata<'_>) -> LogFilter {
    LogFilter::from_log_level(metadata.level())
}

impl LogFilter {
    /// The default mapping for a `log` level: `Error` → event, `Warn`/`Info` →
    /// breadcrumb, `Debug`/`Trace` → ignored.
    pub fn from_log_level(level: log::Level) -> LogFilter {
        match level {
            log::Level::Error => LogFilter::Event,
            log::Level::Warn | log::Level::Info => LogFilter::Breadcrumb,
            log::Level::Debug | log::Level::Trace => LogFilter::Ignore,
        }
    }

    /// The default mapping for a `tracing` level, the same as
    /// [`from_log_level`](Self::from_log_level).
    #[cfg(feature = "tracing")]
    pub fn from_tracing_level(level: &tracing::Level) -> LogFilter {
        match *level {
            tracing::Level::ERROR => LogFilter::Event,
            tracing::Level::WARN | tracing::Level::INFO => LogFilter::Breadcrumb,
            _ => LogFilter::Ignore,
        }
    }
}

/// The structured-log level of a `log` level.
pub(crate) fn log_level_from_log(level: log::Level) -> sentry_client::protocol::LogLevel {
    use sentry_client::protocol::LogLevel;
    match level {
        log::Level::Error => LogLevel::Error,
        log::Level::Warn => LogLevel::Warn,
        log::Level::Info => LogLevel::Info,
        log::Level::Debug => LogLevel::Debug,
        log::Level::Trace => LogLevel::Trace,
    }
}

/// The structured-log level of a `tracing` level.
#[cfg(feature = "tracing")]
pub(crate) fn log_level_from_tracing(level: &tracing::Level) -> sentry_client::protocol::LogLevel {
    use sentry_client::protocol::LogLevel;
    match *level {
        tracing::Level::ERROR => LogLevel::Error,
        tracing::Level::WARN => LogLevel::Warn,
        tracing::Level::INFO => LogLevel::Info,
        tracing::Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

/// The protocol level of a `log` level (`Trace` and `Debug` are both `debug`).
pub(crate) fn level_from_log(level: log::Level) -> sentry_client::Level {
    match level {
        log::Level::Error => sentry_client::Level::Error,
        log::Level::Warn => sentry_client::Level::Warning,
        log::Level::Info => sentry_client::Level::Info,
        log::Level::Debug | log::Level::Trace => sentry_client::Level::Debug,
    }
}

/// The protocol level of a `tracing` level (`TRACE` and `DEBUG` are both `debug`).
#[cfg(feature = "tracing")]
pub(crate) fn level_from_tracing(level: &tracing::Level) -> sentry_client::Level {
    match *level {
        tracing::Level::ERROR => sentry_client::Level::Error,
        tracing::Level::WARN => sentry_client::Level::Warning,
        tracing::Level::INFO => sentry_client::Level::Info,
        _ => sentry_client::Level::Debug,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_combine_and_print() {
        let mut f = LogFilter::Breadcrumb | LogFilter::Exception;
        assert_eq!(format!("{f:?}"), "Breadcrumb | Exception");
        assert!(f.intersects(LogFilter::Exception) && !f.contains(LogFilter::all()));
        f.remove(LogFilter::Breadcrumb);
        f |= LogFilter::Event;
        assert_eq!(f, LogFilter::Event | LogFilter::Exception);
        assert_eq!(f & LogFilter::Event, LogFilter::Event);
        assert_eq!(format!("{:?}", LogFilter::Ignore), "Ignore");
        assert_eq!(LogFilter::from_bits_truncate(0xff), LogFilter::all());
        assert!(LogFilter::empty().is_empty() && LogFilter::default().is_empty());
    }

    #[test]
    fn levels_map_like_the_docs_say() {
        use log::Level as L;
        let got: Vec<_> = [L::Error, L::Warn, L::Info, L::Debug, L::Trace]
            .into_iter()
            .map(|l| (LogFilter::from_log_level(l), level_from_log(l)))
            .collect();
        use sentry_client::Level as S;
        assert_eq!(
            got,
            [
                (LogFilter::Event, S::Error),
                (LogFilter::Breadcrumb, S::Warning),
                (LogFilter::Breadcrumb, S::Info),
                (LogFilter::Ignore, S::Debug),
                (LogFilter::Ignore, S::Debug),
            ]
        );
    }

    #[cfg(feature = "tracing")]
    #[test]
    fn tracing_levels_match_log_levels() {
        use tracing::Level as T;
        let pairs = [
            (T::ERROR, log::Level::Error),
            (T::WARN, log::Level::Warn),
            (T::INFO, log::Level::Info),
            (T::DEBUG, log::Level::Debug),
            (T::TRACE, log::Level::Trace),
        ];
        for (t, l) in pairs {
            assert_eq!(
                LogFilter::from_tracing_level(&t),
                LogFilter::from_log_level(l)
            );
            assert_eq!(level_from_tracing(&t), level_from_log(l));
        }
    }
}
