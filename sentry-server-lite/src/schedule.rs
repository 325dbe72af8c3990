//! Cron-monitor schedules: when the next check-in of a monitor is due.
//!
//! A schedule is a crontab expression (parsed by `croner`, evaluated in the monitor's
//! IANA time zone from `chrono-tz`, so that `0 3 * * *` in `Europe/Vienna` follows
//! daylight saving time) or an interval (`every N minutes / hours / days / weeks /
//! months / years`, counted from the last check-in). Times are Unix milliseconds.

use chrono::{DateTime, Months, TimeZone, Utc};
use chrono_tz::Tz;

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The crontab expression does not parse.
    #[error("invalid crontab schedule {0:?}")]
    Crontab(String),
    /// The time zone is not an IANA name.
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    /// An interval of zero or an unknown unit.
    #[error("invalid interval schedule: {0}")]
    Interval(String),
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// A crontab expression in a time zone.
    Crontab(Box<croner::Cron>, Tz),
    /// Every `n` units.
    Interval(u32, Unit),
}

/// The unit of an interval schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Unit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Unit {
    /// Reads a wire name (`minute`, `hour`, ...).
    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s {
            "minute" => Unit::Minute,
            "hour" => Unit::Hour,
            "day" => Unit::Day,
            "week" => Unit::Week,
            "month" => Unit::Month,
            "year" => Unit::Year,
            _ => return None,
        })
    }
}

/// The longest interval value accepted (a year of minutes).
pub const MAX_INTERVAL: u64 = 525_600;

impl Schedule {
    /// Parses a stored or received schedule: `kind` is `crontab` or `interval`.
    pub fn parse(
        kind: &str,
        value: &str,
        unit: &str,
        timezone: &str,
    ) -> Result<Schedule, ScheduleError> {
        match kind {
            "crontab" => {
                let tz: Tz = if timezone.is_empty() {
                    Tz::UTC
                } else {
                    timezone
                        .parse()
                        .map_err(|_| ScheduleError::TimeZone(timezone.to_owned()))?
                };
                let cron = croner::Cron::new(value.trim())
                    .parse()
                    .map_err(|_| ScheduleError::Crontab(value.to_owned()))?;
                Ok(Schedule::Crontab(Box::new(cron), tz))
            }
            "interval" => {
                let n: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| ScheduleError::Interval(format!("{value:?} is no number")))?;
                if n == 0 || n > MAX_INTERVAL {
                    return Err(ScheduleError::Interval(format!(
                        "the value must be 1 to {MAX_INTERVAL}"
                    )));
                }
                let unit = Unit::parse(unit)
                    .ok_or_else(|| ScheduleError::Interval(format!("unknown unit {unit:?}")))?;
                Ok(Schedule::Interval(n as u32, unit))
            }
            other => Err(ScheduleError::Interval(format!(
                "unknown schedule type {other:?}"
            ))),
        }
    }

    /// The first due time strictly after `after_ms`; `None` when there is none (a
    /// crontab that never matches again, a time out of range).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let after = Utc.timestamp_millis_opt(after_ms).single()?;
        let next: DateTime<Utc> = match self {
            Schedule::Crontab(cron, tz) => cron
                .find_next_occurrence(&after.with_timezone(tz), false)
                .ok()?
                .with_timezone(&Utc),
            Schedule::Interval(n, unit) => {
                let n = *n;
                match unit {
                    Unit::Minute => after + chrono::Duration::minutes(n.into()),
                    Unit::Hour => after + chrono::Duration::hours(n.into()),
                    Unit::Day => after + chrono::Duration::days(n.into()),
                    Unit::Week => after + chrono::Duration::weeks(n.into()),
                    Unit::Month => after.checked_add_months(Months::new(n))?,
                    Unit::Year => after.checked_add_months(Months::new(n.checked_mul(12)?))?,
                }
            }
        };
        Some(next.timestamp_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_717_243_200_000; // 2024-06-01T12:00:00Z

    #[test]
    fn intervals_and_crontabs() {
        let every_minute = Schedule::parse("interval", "1", "minute", "").expect("interval");
        assert_eq!(every_minute.next_after(NOON), Some(NOON + 60_000));
        let monthly = Schedule::parse("interval", "1", "month", "").expect("monthly");
        assert_eq!(monthly.next_after(NOON), Some(1_719_835_200_000));
        let daily3 = Schedule::parse("crontab", "0 3 * * *", "", "UTC").expect("crontab");
        assert_eq!(daily3.next_after(NOON), Some(NOON + 15 * 3_600_000));
        // 03:00 in Vienna is 01:00 UTC in summer.
        let vienna = Schedule::parse("crontab", "0 3 * * *", "", "Europe/Vienna").expect("tz");
        assert_eq!(vienna.next_after(NOON), Some(NOON + 13 * 3_600_000));
        assert!(Schedule::parse("crontab", "61 * * * *", "", "").is_err());
        assert!(Schedule::parse("crontab", "* * * * *", "", "Mars/Base").is_err());
        assert!(Schedule::parse("interval", "0", "minute", "").is_err());
        assert!(Schedule::parse("interval", "1", "fortnight", "").is_err());
    }
}
