//! Cron monitors: the `check_in` item ([`MonitorCheckIn`]) and a monitor's configuration
//! ([`MonitorConfig`]: a crontab or interval schedule, margins, thresholds).
//!
//! Types and field names are the official `sentry::protocol` ones. Reading is lenient
//! where SDKs differ: the check-in id dashed or as 32 hex digits, numbers as numeric
//! strings, an unknown status read as [`MonitorCheckInStatus::Unknown`].
//!
//! ```
//! use sentry_client::protocol::{MonitorCheckIn, MonitorCheckInStatus, MonitorSchedule};
//!
//! let raw = br#"{"check_in_id":"c8b2f2f2a6a24b9a9d1f1f3e0a7b6c5d","monitor_slug":"nightly",
//!   "status":"in_progress","monitor_config":{"schedule":{"type":"interval","value":"1","unit":"minute"},
//!   "checkin_margin":1,"max_runtime":"2"}}"#;
//! let check_in = MonitorCheckIn::from_slice(raw).unwrap();
//! assert_eq!(check_in.status, MonitorCheckInStatus::InProgress);
//! let config = check_in.monitor_config.unwrap();
//! assert!(matches!(config.schedule, MonitorSchedule::Interval { value: 1, .. }));
//! assert_eq!(config.max_runtime, Some(2));
//! ```

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

use super::envelope::{Item, ItemType};
use super::event::EventError;

/// The status of a check-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MonitorCheckInStatus {
    /// The job finished successfully.
    Ok,
    /// The job failed.
    Error,
    /// The job started.
    InProgress,
    /// The job did not run in time (set by the server).
    Missed,
    /// A status this version does not know.
    Unknown,
}

impl MonitorCheckInStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorCheckInStatus::Ok => "ok",
            MonitorCheckInStatus::Error => "error",
            MonitorCheckInStatus::InProgress => "in_progress",
            MonitorCheckInStatus::Missed => "missed",
            MonitorCheckInStatus::Unknown => "unknown",
        }
    }
}

impl fmt::Display for MonitorCheckInStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MonitorCheckInStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MonitorCheckInStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Cow<'de, str> = Deserialize::deserialize(d)?;
        Ok(match &*s {
            "ok" => MonitorCheckInStatus::Ok,
            "error" => MonitorCheckInStatus::Error,
            "in_progress" => MonitorCheckInStatus::InProgress,
            "missed" => MonitorCheckInStatus::Missed,
            _ => MonitorCheckInStatus::Unknown,
        })
    }
}

/// The unit of an interval schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum MonitorIntervalUnit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
}

impl MonitorIntervalUnit {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorIntervalUnit::Year => "year",
            MonitorIntervalUnit::Month => "month",
            MonitorIntervalUnit::Week => "week",
            MonitorIntervalUnit::Day => "day",
            MonitorIntervalUnit::Hour => "hour",
            MonitorIntervalUnit::Minute => "minute",
        }
    }
}

/// When a monitored job is expected to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MonitorSchedule {
    /// A crontab expression, e.g. `0 3 * * *`.
    Crontab {
        /// The expression.
        value: String,
    },
    /// Every `value` `unit`s.
    Interval {
        /// How many units.
        #[serde(deserialize_with = "lenient_u64")]
        value: u64,
        /// The unit.
        unit: MonitorIntervalUnit,
    },
}

/// A crontab expression that is not five fields of numbers, ranges, lists, steps, `*`
/// or month / weekday names (or one of the `@daily`-style macros).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{crontab:?} is not a valid crontab schedule (five fields: minute hour day month weekday)")]
pub struct CrontabParseError {
    crontab: String,
}

impl MonitorSchedule {
    /// A crontab schedule, checked for its shape (five fields of the allowed characters).
    pub fn from_crontab(crontab: &str) -> Result<Self, CrontabParseError> {
        if crontab_shape_ok(crontab) {
            Ok(MonitorSchedule::Crontab {
                value: crontab.to_owned(),
            })
        } else {
            Err(CrontabParseError {
                crontab: crontab.to_owned(),
            })
        }
    }
}

/// A shape check only (the server parses the expression fully).
fn crontab_shape_ok(s: &str) -> bool {
    const MACROS: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    let s = s.trim();
    if MACROS.contains(&s) {
        return true;
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    fields.len() == 5
        && fields.iter().all(|f| {
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?'))
        })
}

/// A monitor's configuration, sent with a check-in to create or update the monitor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorConfig {
    /// The schedule.
    pub schedule: MonitorSchedule,
    /// Minutes a check-in may be late before it counts as missed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub checkin_margin: Option<u64>,
    /// Minutes a run may stay `in_progress` before it counts as timed out.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub max_runtime: Option<u64>,
    /// The time zone of a crontab schedule (IANA name, e.g. `Europe/Vienna`). Default UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Consecutive failed runs before an issue is opened. Default 1.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub failure_issue_threshold: Option<u64>,
    /// Consecutive good runs before the issue is resolved. Default 1.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_u64"
    )]
    pub recovery_threshold: Option<u64>,
}

/// One check-in of a monitored job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorCheckIn {
    /// The id; an `in_progress` check-in and the one that ends it share it.
    #[serde(serialize_with = "simple_uuid", deserialize_with = "lenient_uuid")]
    pub check_in_id: Uuid,
    /// The monitor's slug.
    pub monitor_slug: String,
    /// The status.
    pub status: MonitorCheckInStatus,
    /// The environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Seconds the run took.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_f64"
    )]
    pub duration: Option<f64>,
    /// Creates or updates the monitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_config: Option<MonitorConfig>,
}

/// The official crate's name for what `capture_check_in` takes.
pub type CheckIn = MonitorCheckIn;

impl MonitorCheckIn {
    /// Reads a `check_in` item's payload.
    pub fn from_slice(bytes: &[u8]) -> Result<MonitorCheckIn, EventError> {
        super::event::from_slice_with_path(bytes)
    }

    /// The check-in as a `check_in` envelope item.
    pub fn to_item(&self) -> Item {
        Item::json(
            ItemType::CheckIn,
            serde_json::to_vec(self).unwrap_or_default(),
        )
    }
}

fn simple_uuid<S: Serializer>(id: &Uuid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.simple().to_string())
}

fn lenient_uuid<'de, D: Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
    let s: Cow<'de, str> = Deserialize::deserialize(d)?;
    Uuid::parse_str(s.trim()).map_err(de::Error::custom)
}

fn lenient_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(v.as_ref().and_then(value_u64))
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    value_u64(&v).ok_or_else(|| de::Error::custom("expected a non-negative number"))
}

fn lenient_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite() && *f >= 0.0))
}

fn value_u64(v: &serde_json::Value) -> Option<u64> {
    match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_python_shape() {
        let c = MonitorCheckIn {
            check_in_id: Uuid::new_v4(),
            monitor_slug: "job".into(),
            status: MonitorCheckInStatus::Ok,
            environment: Some("production".into()),
            duration: Some(1.25),
            monitor_config: Some(MonitorConfig {
                schedule: MonitorSchedule::from_crontab("0 3 * * mon-fri").expect("crontab"),
                checkin_margin: Some(5),
                max_runtime: None,
                timezone: Some("Europe/Vienna".into()),
                failure_issue_threshold: Some(2),
                recovery_threshold: None,
            }),
        };
        let back = MonitorCheckIn::from_slice(&c.to_item().payload).expect("back");
        assert_eq!(back, c);
        // sentry-python: dashed id, extra keys, unknown status.
        let py = br#"{"check_in_id":"c8b2f2f2-a6a2-4b9a-9d1f-1f3e0a7b6c5d","monitor_slug":"p",
            "status":"weird","duration":null,"release":"x","contexts":{}}"#;
        let p = MonitorCheckIn::from_slice(py).expect("python");
        assert_eq!(p.status, MonitorCheckInStatus::Unknown);
        assert!(MonitorSchedule::from_crontab("every day").is_err());
        assert!(MonitorSchedule::from_crontab("@daily").is_ok());
    }
}
