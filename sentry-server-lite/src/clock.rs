//! Wall-clock helpers (Unix milliseconds, the unit every stored time uses), and
//! [`Clock`], the server's clock for what runs on schedules (cron monitors): the system
//! time, or in tests the system time moved ahead by an offset the test advances, so that
//! a test sees minutes pass without waiting for them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The server's clock (see the module docs). Clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A test clock: the system time plus an offset, zero until [`Clock::advance`].
    pub fn test() -> Clock {
        Clock {
            offset_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        let offset = self
            .offset_ms
            .as_ref()
            .map_or(0, |o| o.load(Ordering::Relaxed));
        now_ms().saturating_add(offset)
    }

    /// Moves a test clock ahead (the system clock cannot be moved: nothing happens).
    pub fn advance(&self, by: Duration) {
        if let Some(o) = &self.offset_ms {
            let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            o.fetch_add(ms, Ordering::Relaxed);
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// RFC 3339 text for Unix milliseconds, e.g. `2024-06-01T12:00:00.123Z` (Sentry's API form).
pub fn rfc3339_ms(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => {
            let format = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            t.format(&format).unwrap_or_default()
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_test_clock_moves_ahead() {
        let clock = super::Clock::test();
        let shared = clock.clone();
        let before = clock.now_ms();
        shared.advance(std::time::Duration::from_secs(600));
        assert!(clock.now_ms() >= before + 600_000);
        let system = super::Clock::system();
        system.advance(std::time::Duration::from_secs(600));
        assert!(system.now_ms() < before + 600_000);
    }

    #[test]
    fn formats_ms() {
        assert_eq!(
            super::rfc3339_ms(1_717_243_200_123),
            "2024-06-01T12:00:00.123Z"
        );
    }
}
