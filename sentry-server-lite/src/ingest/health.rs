//! The ingest stage of `session`, `sessions` and `check_in` items: each is read
//! leniently with the protocol's types (ours, sentry-python's, @sentry/node's and the
//! official Rust crate's shapes), checked against the bounds below, and becomes a
//! [`SideRecord`] that the writer commits in the envelope's batch. An item that does not
//! read, or breaks a bound, is dropped (and counted as not stored), never the envelope.

use sentry_client::protocol::{
    MonitorCheckIn, MonitorCheckInStatus, MonitorConfig, MonitorSchedule, SessionAggregates,
    SessionStatus, SessionUpdate,
};

use crate::schedule::Schedule;
use crate::store::health::{AggregateBucket, Outcome, SessionRecord};
use crate::store::monitors::{CheckInRecord, MonitorSpec};
use crate::store::SideRecord;

/// The longest release name (Sentry's limit).
pub const MAX_RELEASE: usize = 200;
/// The longest environment name (Sentry's limit).
pub const MAX_ENVIRONMENT: usize = 64;
/// The longest user id (`did`) kept.
pub const MAX_DID: usize = 128;
/// The longest monitor slug (Sentry's limit).
pub const MAX_SLUG: usize = 50;
/// Buckets of one `sessions` item (the protocol's limit).
pub const MAX_BUCKETS: usize = 100;
/// Sessions that started longer ago than this are dropped (as Relay does).
pub const MAX_SESSION_AGE_MS: i64 = 5 * 24 * 3_600_000;
/// The largest margin and runtime, in minutes (four weeks).
pub const MAX_MINUTES: u64 = 40_320;
/// The largest failure / recovery threshold.
pub const MAX_THRESHOLD: u64 = 720;

fn ms(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

fn name_ok(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.len() <= max && !s.chars().any(char::is_control)
}

/// Release and environment of a session, checked; `None` when they break a bound.
fn attrs(release: &str, environment: Option<&str>) -> Option<(String, String)> {
    let env = environment.unwrap_or("").trim();
    (name_ok(release, MAX_RELEASE) && env.len() <= MAX_ENVIRONMENT && !env.contains('\n'))
        .then(|| (release.trim().to_owned(), env.to_owned()))
}

fn did(d: Option<&str>) -> Option<String> {
    d.filter(|d| name_ok(d, MAX_DID)).map(str::to_owned)
}

/// A `session` item, or `None` when it does not read or is out of bounds.
pub fn session_item(project_id: i64, payload: &[u8], received: i64) -> Option<SideRecord> {
    let u = SessionUpdate::from_slice(payload).ok()?;
    let (release, environment) = attrs(&u.attributes.release, u.attributes.environment.as_deref())?;
    let started = ms(u.started).min(received);
    if started < received - MAX_SESSION_AGE_MS {
        return None;
    }
    let seen = u
        .timestamp
        .map(ms)
        .unwrap_or(received)
        .clamp(started, received);
    let outcome = match u.status {
        SessionStatus::Ok => Outcome::Running,
        SessionStatus::Exited | SessionStatus::Errored => Outcome::Exited,
        SessionStatus::Crashed => Outcome::Crashed,
        SessionStatus::Abnormal => Outcome::Abnormal,
    };
    let errored = u.errors > 0 || !matches!(u.status, SessionStatus::Ok | SessionStatus::Exited);
    Some(SideRecord::Session(Box::new(SessionRecord::Update {
        project_id,
        sid: u.session_id.simple().to_string(),
        did: did(u.distinct_id.as_deref()),
        release,
        environment,
        started,
        seen,
        errored,
        outcome,
    })))
}

/// A `sessions` item (pre-aggregated), or `None` when it does not read or is out of
/// bounds. Buckets past [`MAX_BUCKETS`] or too old are left out.
pub fn sessions_item(project_id: i64, payload: &[u8], received: i64) -> Option<SideRecord> {
    let a = SessionAggregates::from_slice(payload).ok()?;
    let (release, environment) = attrs(&a.attributes.release, a.attributes.environment.as_deref())?;
    let buckets: Vec<AggregateBucket> = a
        .aggregates
        .iter()
        .take(MAX_BUCKETS)
        .map(|b| AggregateBucket {
            started: ms(b.started).min(received),
            did: did(b.distinct_id.as_deref()),
            exited: i64::from(b.exited),
            errored: i64::from(b.errored),
            abnormal: i64::from(b.abnormal),
            crashed: i64::from(b.crashed),
        })
        .filter(|b| b.started >= received - MAX_SESSION_AGE_MS)
        .collect();
    (!buckets.is_empty()).then(|| {
        SideRecord::Session(Box::new(SessionRecord::Aggregates {
            project_id,
            release,
            environment,
            seen: received,
            buckets,
        }))
    })
}

/// Reads a monitor configuration into what the store keeps; `None` when the schedule
/// or a number is out of bounds.
pub fn monitor_spec(config: &MonitorConfig) -> Option<MonitorSpec> {
    let (schedule_type, schedule_value, schedule_unit) = match &config.schedule {
        MonitorSchedule::Crontab { value } => ("crontab", value.trim().to_owned(), ""),
        MonitorSchedule::Interval { value, unit } => ("interval", value.to_string(), unit.as_str()),
    };
    let timezone = config.timezone.clone().unwrap_or_else(|| "UTC".into());
    if schedule_value.len() > 100 || timezone.len() > 64 {
        return None;
    }
    Schedule::parse(schedule_type, &schedule_value, schedule_unit, &timezone).ok()?;
    let bounded = |v: Option<u64>, default: u64, min: u64, max: u64| -> Option<i64> {
        let v = v.unwrap_or(default);
        (min..=max).contains(&v).then_some(v as i64)
    };
    Some(MonitorSpec {
        schedule_type: schedule_type.to_owned(),
        schedule_value,
        schedule_unit: schedule_unit.to_owned(),
        timezone,
        checkin_margin: bounded(config.checkin_margin, 1, 0, MAX_MINUTES)?,
        max_runtime: bounded(config.max_runtime, 30, 1, MAX_MINUTES)?,
        failure_threshold: bounded(config.failure_issue_threshold, 1, 1, MAX_THRESHOLD)?,
        recovery_threshold: bounded(config.recovery_threshold, 1, 1, MAX_THRESHOLD)?,
    })
}

/// Whether a slug is what Sentry accepts: lowercase letters, digits, `-` and `_`.
pub fn slug_ok(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A `check_in` item, or `None` when it does not read or is out of bounds (an unknown
/// status, a bad slug, a schedule that does not parse).
pub fn check_in_item(project_id: i64, payload: &[u8], received: i64) -> Option<SideRecord> {
    let c = MonitorCheckIn::from_slice(payload).ok()?;
    let status = match c.status {
        MonitorCheckInStatus::InProgress => "in_progress",
        MonitorCheckInStatus::Ok => "ok",
        MonitorCheckInStatus::Error => "error",
        MonitorCheckInStatus::Missed | MonitorCheckInStatus::Unknown => return None,
    };
    let slug = c.monitor_slug.trim().to_ascii_lowercase();
    if !slug_ok(&slug) {
        return None;
    }
    let config = match &c.monitor_config {
        Some(config) => Some(monitor_spec(config)?),
        None => None,
    };
    let environment = c
        .environment
        .as_deref()
        .map(str::trim)
        .filter(|e| name_ok(e, MAX_ENVIRONMENT))
        .map(str::to_owned);
    Some(SideRecord::CheckIn(Box::new(CheckInRecord {
        project_id,
        slug,
        check_in_id: c.check_in_id.simple().to_string(),
        status: status.to_owned(),
        environment,
        duration_ms: c
            .duration
            .filter(|d| *d < 1e9)
            .map(|d| (d * 1000.0).round() as i64),
        config,
        received,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_717_243_200_000;

    #[test]
    fn reads_and_bounds() {
        let s = br#"{"sid":"6b1e5a0c4f0a4a5e9d3b7f3c2e1a9b8d","started":"2024-06-01T11:59:00Z",
            "status":"crashed","errors":0,"did":"u","attrs":{"release":"a@1"}}"#;
        match session_item(1, s, NOW).map(|r| match r {
            SideRecord::Session(s) => *s,
            other => panic!("{other:?}"),
        }) {
            Some(SessionRecord::Update {
                errored,
                outcome,
                environment,
                ..
            }) => {
                assert!(errored);
                assert_eq!(outcome, Outcome::Crashed);
                assert_eq!(environment, "");
            }
            other => panic!("{other:?}"),
        }
        let old = br#"{"started":"2024-05-01T00:00:00Z","attrs":{"release":"a@1"}}"#;
        assert!(session_item(1, old, NOW).is_none());
        let long = format!(r#"{{"attrs":{{"release":"{}"}}}}"#, "r".repeat(201));
        assert!(session_item(1, long.as_bytes(), NOW).is_none());
        let c = br#"{"check_in_id":"c8b2f2f2a6a24b9a9d1f1f3e0a7b6c5d","monitor_slug":"Nightly",
            "status":"ok","monitor_config":{"schedule":{"type":"crontab","value":"0 3 * * *"},
            "timezone":"Europe/Vienna"}}"#;
        match check_in_item(1, c, NOW) {
            Some(SideRecord::CheckIn(r)) => {
                assert_eq!(r.slug, "nightly");
                assert_eq!(r.config.expect("config").timezone, "Europe/Vienna");
            }
            other => panic!("{other:?}"),
        }
        let bad_cron = br#"{"check_in_id":"c8b2f2f2a6a24b9a9d1f1f3e0a7b6c5d","monitor_slug":"x",
            "status":"ok","monitor_config":{"schedule":{"type":"crontab","value":"99 * * * *"}}}"#;
        assert!(check_in_item(1, bad_cron, NOW).is_none());
    }
}
