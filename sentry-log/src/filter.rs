//! [`LogFilter`]: what a log record or tracing event becomes.

/// What an adapter does with one log record or tracing event.
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
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogFilter {
    /// Not sent anywhere (the wrapped logger or other layers still see it).
    Ignore,
    /// Added as a breadcrumb to the current scope, to explain a later event.
    Breadcrumb,
    /// Captured as an event; with an `error` field, as an exception event with the
    /// error's `source()` chain.
    Event,
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
