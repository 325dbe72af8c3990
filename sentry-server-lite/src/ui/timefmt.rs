//! Times as pages show them: "5 minutes ago" with the exact UTC time beside it.

use time::macros::format_description;
use time::OffsetDateTime;

/// `2026-11-25 17:03:12 UTC` (empty for an unrepresentable time).
pub fn absolute(ms: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// How long before `now_ms` the time `ms` was, in the largest whole unit.
pub fn ago(ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - ms).max(0) / 1000;
    let (n, unit) = match secs {
        s if s < 60 => return "just now".to_owned(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s if s < 86_400 * 60 => (s / 86_400, "day"),
        s if s < 86_400 * 730 => (s / (86_400 * 30), "month"),
        s => (s / (86_400 * 365), "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// A time for a template: relative text and the exact time for its tooltip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct When {
    /// "5 minutes ago".
    pub ago: String,
    /// "2026-11-25 17:03:12 UTC".
    pub exact: String,
}

impl When {
    /// `ms` seen from `now_ms`.
    pub fn new(ms: i64, now_ms: i64) -> When {
        When {
            ago: ago(ms, now_ms),
            exact: absolute(ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(absolute(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(absolute(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
        let now = 10_000_000_000;
        assert_eq!(ago(now - 5_000, now), "just now");
        assert_eq!(ago(now - 60_000, now), "1 minute ago");
        assert_eq!(ago(now - 7_200_000, now), "2 hours ago");
        assert_eq!(ago(now - 3 * 86_400_000, now), "3 days ago");
        assert_eq!(ago(now + 5_000, now), "just now");
    }
}
