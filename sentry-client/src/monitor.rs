//! Cron monitors: [`capture_check_in`] sends one check-in; [`monitor`] wraps a job so
//! that it reports `in_progress` when it starts and `ok` or `error` (with the duration)
//! when it ends.
//!
//! The caller's thread builds the check-in and queues it; it is serialized and sent by
//! the background worker (filling in the client's `environment` when it has none), as a
//! `check_in` item (rate-limit category `monitor`).
//!
//! ```
//! use sentry_client as sentry;
//! use sentry::protocol::{MonitorConfig, MonitorIntervalUnit, MonitorSchedule};
//!
//! let config = MonitorConfig {
//!     schedule: MonitorSchedule::Interval { value: 1, unit: MonitorIntervalUnit::Day },
//!     checkin_margin: Some(5),
//!     max_runtime: Some(30),
//!     timezone: None,
//!     failure_issue_threshold: None,
//!     recovery_threshold: None,
//! };
//! // Sends `in_progress`, then `ok` (the job returned `Ok`) with the duration.
//! let result: Result<u32, std::io::Error> = sentry::monitor("nightly-backup", config, || Ok(7));
//! assert_eq!(result.unwrap(), 7);
//! ```

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Instant;

use uuid::Uuid;

use crate::protocol::{Envelope, MonitorCheckIn, MonitorCheckInStatus, MonitorConfig};
use crate::{ClientOptions, Hub};

/// Queues a check-in on the current hub's client; returns its `check_in_id`, or the nil
/// id when nothing was queued (no enabled client, full queue).
pub fn capture_check_in(check_in: MonitorCheckIn) -> Uuid {
    Hub::current().capture_check_in(check_in)
}

impl Hub {
    /// Queues a check-in on this hub's client (see [`capture_check_in`]).
    pub fn capture_check_in(&self, check_in: MonitorCheckIn) -> Uuid {
        let Some(client) = self.client().filter(|c| c.is_enabled()) else {
            return Uuid::nil();
        };
        let id = check_in.check_in_id;
        if client.submit_check_in(check_in) {
            id
        } else {
            Uuid::nil()
        }
    }
}

/// What a monitored job's result says about the run.
pub trait MonitorOutcome {
    /// Whether the run succeeded.
    fn is_ok(&self) -> bool;
}

impl MonitorOutcome for () {
    fn is_ok(&self) -> bool {
        true
    }
}

impl MonitorOutcome for bool {
    fn is_ok(&self) -> bool {
        *self
    }
}

impl<T, E> MonitorOutcome for Result<T, E> {
    fn is_ok(&self) -> bool {
        Result::is_ok(self)
    }
}

/// Runs `job` as a run of the monitor `slug`: sends `in_progress` (with `config`, which
/// creates or updates the monitor), then `ok` or `error` with the duration in seconds.
/// A job that returns `Err` (or `false`) is `error`; a job that panics is `error` and
/// the panic then continues.
pub fn monitor<C, F, R>(slug: &str, config: C, job: F) -> R
where
    C: Into<Option<MonitorConfig>>,
    F: FnOnce() -> R,
    R: MonitorOutcome,
{
    let hub = Hub::current();
    let check_in_id = crate::draft::new_event_id();
    hub.capture_check_in(MonitorCheckIn {
        check_in_id,
        monitor_slug: slug.to_owned(),
        status: MonitorCheckInStatus::InProgress,
        environment: None,
        duration: None,
        monitor_config: config.into(),
    });
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(job));
    let status = match &result {
        Ok(r) if r.is_ok() => MonitorCheckInStatus::Ok,
        _ => MonitorCheckInStatus::Error,
    };
    hub.capture_check_in(MonitorCheckIn {
        check_in_id,
        monitor_slug: slug.to_owned(),
        status,
        environment: None,
        duration: Some(started.elapsed().as_secs_f64()),
        monitor_config: None,
    });
    match result {
        Ok(r) => r,
        Err(payload) => resume_unwind(payload),
    }
}

/// The envelope of a queued check-in (worker side).
pub(crate) fn envelope(mut check_in: MonitorCheckIn, options: &ClientOptions) -> Envelope {
    if check_in.environment.is_none() {
        check_in.environment = options.environment.as_deref().map(str::to_owned);
    }
    let mut env = Envelope::new();
    env.push(check_in.to_item());
    env
}
