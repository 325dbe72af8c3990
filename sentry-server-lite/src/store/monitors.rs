//! Cron monitors: what a `check_in` item becomes (written in the ingest batch,
//! [`insert`]), the scheduler's pass ([`scheduler_pass`]: missed and timed-out runs,
//! which monitors need an issue opened, updated or resolved), and the reads of the
//! Monitors page and API ([`list`]). Tables: see `schema/health.rs`.
//!
//! A monitor's state is kept on its row: `status` (`active` until its first run, then
//! the last run's `ok` / `error` / `missed` / `timeout`), `next_expected` (when the next
//! check-in is due; `+ checkin_margin` minutes later it is missed), the run of
//! consecutive `failures` and of `oks` since the last failure, `reported_failures` (how
//! many of the failures an issue event was written for) and `issue_id` (the open issue).
//! A check-in changes the state only when it changed its row (a retried envelope does
//! nothing twice).

use super::sql::{args, read, write, Conn, Database, Dialect, SqlRow};
use super::StoreResult;
use crate::schedule::Schedule;

/// A monitor's configuration as a check-in carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorSpec {
    /// `crontab` or `interval`.
    pub schedule_type: String,
    /// The crontab expression or the interval's number.
    pub schedule_value: String,
    /// The interval's unit (`""` for a crontab).
    pub schedule_unit: String,
    /// The time zone (`UTC` by default).
    pub timezone: String,
    /// Minutes of grace before a check-in is missed.
    pub checkin_margin: i64,
    /// Minutes a run may stay in progress.
    pub max_runtime: i64,
    /// Consecutive failures before an issue is opened.
    pub failure_threshold: i64,
    /// Consecutive successes before the issue is resolved.
    pub recovery_threshold: i64,
}

/// What a check-in item becomes.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckInRecord {
    /// The project.
    pub project_id: i64,
    /// The monitor's slug.
    pub slug: String,
    /// The check-in id (32 hex digits).
    pub check_in_id: String,
    /// `in_progress`, `ok` or `error`.
    pub status: String,
    /// The environment.
    pub environment: Option<String>,
    /// The run's duration in milliseconds.
    pub duration_ms: Option<i64>,
    /// The configuration that creates or updates the monitor.
    pub config: Option<MonitorSpec>,
    /// When it was received (the server's clock).
    pub received: i64,
}

/// The schedule of a row's columns, if it has a valid one.
fn schedule_of(kind: &str, value: &str, unit: &str, tz: &str) -> Option<Schedule> {
    Schedule::parse(kind, value, unit, tz).ok()
}

/// Writes a check-in inside the ingest batch's transaction.
pub fn insert(c: &mut dyn Conn, r: &CheckInRecord) -> StoreResult<()> {
    match &r.config {
        // A configuration sets the schedule; the next check-in is then expected by it
        // unless a check-in set it already (the end of a run may arrive before its start).
        Some(s) => c.exec(
            "INSERT INTO monitors (project_id, slug, schedule_type, schedule_value, \
               schedule_unit, timezone, checkin_margin, max_runtime, failure_threshold, \
               recovery_threshold, environment, created_at, next_expected) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (project_id, slug) DO UPDATE SET \
               next_expected = COALESCE(monitors.next_expected, excluded.next_expected), \
               schedule_type = excluded.schedule_type, schedule_value = excluded.schedule_value, \
               schedule_unit = excluded.schedule_unit, timezone = excluded.timezone, \
               checkin_margin = excluded.checkin_margin, max_runtime = excluded.max_runtime, \
               failure_threshold = excluded.failure_threshold, \
               recovery_threshold = excluded.recovery_threshold",
            args![
                r.project_id,
                r.slug.as_str(),
                s.schedule_type.as_str(),
                s.schedule_value.as_str(),
                s.schedule_unit.as_str(),
                s.timezone.as_str(),
                s.checkin_margin,
                s.max_runtime,
                s.failure_threshold,
                s.recovery_threshold,
                r.environment.as_deref(),
                r.received,
                schedule_of(
                    &s.schedule_type,
                    &s.schedule_value,
                    &s.schedule_unit,
                    &s.timezone
                )
                .and_then(|s| s.next_after(r.received))
            ],
        )?,
        None => c.exec(
            "INSERT INTO monitors (project_id, slug, environment, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, slug) DO NOTHING",
            args![
                r.project_id,
                r.slug.as_str(),
                r.environment.as_deref(),
                r.received
            ],
        )?,
    };
    let (id, kind, value, unit, tz) = c.one(
        "SELECT id, schedule_type, schedule_value, schedule_unit, timezone FROM monitors \
         WHERE project_id = $1 AND slug = $2",
        args![r.project_id, r.slug.as_str()],
        "monitor",
        |row| {
            Ok((
                row.int(0)?,
                row.text(1)?,
                row.text(2)?,
                row.text(3)?,
                row.text(4)?,
            ))
        },
    )?;
    let changed = if r.status == "in_progress" {
        c.exec(
            "INSERT INTO monitor_checkins (monitor_id, check_in_id, status, environment, \
               duration_ms, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (monitor_id, check_in_id) DO NOTHING",
            args![
                id,
                r.check_in_id.as_str(),
                r.status.as_str(),
                r.environment.as_deref(),
                r.duration_ms,
                r.received
            ],
        )?
    } else {
        // A run's end updates its `in_progress` row (a run already marked timed out
        // stays so); an end without a start is a row of its own.
        c.exec(
            "INSERT INTO monitor_checkins (monitor_id, check_in_id, status, environment, \
               duration_ms, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (monitor_id, check_in_id) DO UPDATE SET status = excluded.status, \
               duration_ms = excluded.duration_ms, updated_at = excluded.updated_at \
             WHERE monitor_checkins.status = 'in_progress'",
            args![
                id,
                r.check_in_id.as_str(),
                r.status.as_str(),
                r.environment.as_deref(),
                r.duration_ms,
                r.received
            ],
        )?
    };
    if changed == 0 {
        return Ok(());
    }
    let next = schedule_of(&kind, &value, &unit, &tz).and_then(|s| s.next_after(r.received));
    c.exec(
        "UPDATE monitors SET last_checkin = $2, next_expected = $3, \
           environment = COALESCE($5, environment), \
           status = CASE WHEN $4 = 'in_progress' THEN status ELSE $4 END, \
           failures = CASE WHEN $4 = 'ok' THEN 0 WHEN $4 = 'error' THEN failures + 1 \
                      ELSE failures END, \
           reported_failures = CASE WHEN $4 = 'ok' THEN 0 ELSE reported_failures END, \
           oks = CASE WHEN $4 = 'ok' THEN oks + 1 WHEN $4 = 'error' THEN 0 ELSE oks END \
         WHERE id = $1",
        args![
            id,
            r.received,
            next,
            r.status.as_str(),
            r.environment.as_deref()
        ],
    )?;
    Ok(())
}

/// A monitor that needs an issue event (a failed, missed or timed-out run at or past its
/// failure threshold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedMonitor {
    /// The monitor.
    pub monitor_id: i64,
    /// Its project.
    pub project_id: i64,
    /// Its slug.
    pub slug: String,
    /// `error`, `missed` or `timeout`.
    pub status: String,
    /// Its environment.
    pub environment: Option<String>,
    /// Consecutive failures.
    pub failures: i64,
}

/// What one scheduler pass found to do outside its transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Whether this instance ran the pass (on PostgreSQL another may hold the lock).
    pub ran: bool,
    /// Runs marked missed.
    pub missed: u64,
    /// Runs marked timed out.
    pub timed_out: u64,
    /// Monitors to write an issue event for (already marked reported).
    pub failed: Vec<FailedMonitor>,
    /// `(monitor_id, issue_id)` of recovered monitors whose issue to resolve (already
    /// detached from the monitor).
    pub recovered: Vec<(i64, i64)>,
}

/// The scheduler's pass at `now`, in one transaction (on PostgreSQL under
/// `LOCK_MONITORS`, skipped when another instance holds it).
pub fn scheduler_pass<D: Database + ?Sized>(db: &D, now: i64) -> StoreResult<Pass> {
    let dialect = db.dialect();
    write(db, |c| {
        if dialect == Dialect::Postgres {
            let got = c.one(
                "SELECT pg_try_advisory_xact_lock($1)",
                args![super::schema::postgres::LOCK_MONITORS],
                "lock",
                |r| r.flag(0),
            )?;
            if !got {
                return Ok(Pass::default());
            }
        }
        let mut pass = Pass {
            ran: true,
            ..Pass::default()
        };
        // Missed: nothing arrived by the expected time plus the margin. One missed run
        // is recorded per pass, and the next one is expected after now.
        let due: Vec<(i64, i64, String, String, String, String)> = c.all(
            "SELECT id, next_expected, schedule_type, schedule_value, schedule_unit, timezone \
             FROM monitors WHERE next_expected IS NOT NULL \
               AND next_expected + checkin_margin * 60000 <= $1",
            args![now],
            |r| {
                Ok((
                    r.int(0)?,
                    r.int(1)?,
                    r.text(2)?,
                    r.text(3)?,
                    r.text(4)?,
                    r.text(5)?,
                ))
            },
        )?;
        for (id, expected, kind, value, unit, tz) in due {
            let next = schedule_of(&kind, &value, &unit, &tz).and_then(|s| s.next_after(now));
            c.exec(
                "INSERT INTO monitor_checkins (monitor_id, check_in_id, status, started_at, \
                   updated_at) VALUES ($1, $2, 'missed', $3, $4) \
                 ON CONFLICT (monitor_id, check_in_id) DO NOTHING",
                args![id, format!("missed-{expected}").as_str(), expected, now],
            )?;
            c.exec(
                "UPDATE monitors SET status = 'missed', failures = failures + 1, oks = 0, \
                   next_expected = $2 WHERE id = $1",
                args![id, next],
            )?;
            pass.missed += 1;
        }
        // Timed out: in progress for longer than the monitor's max runtime.
        let running: Vec<(i64, i64)> = c.all(
            "SELECT c.id, c.monitor_id FROM monitor_checkins c \
             JOIN monitors m ON m.id = c.monitor_id \
             WHERE c.status = 'in_progress' AND c.started_at + m.max_runtime * 60000 <= $1",
            args![now],
            |r| Ok((r.int(0)?, r.int(1)?)),
        )?;
        for (checkin, monitor) in running {
            let moved = c.exec(
                "UPDATE monitor_checkins SET status = 'timeout', updated_at = $2 \
                 WHERE id = $1 AND status = 'in_progress'",
                args![checkin, now],
            )?;
            if moved == 1 {
                c.exec(
                    "UPDATE monitors SET status = 'timeout', failures = failures + 1, oks = 0 \
                     WHERE id = $1",
                    args![monitor],
                )?;
                pass.timed_out += 1;
            }
        }
        pass.failed = c.all(
            "SELECT id, project_id, slug, status, environment, failures FROM monitors \
             WHERE failures >= failure_threshold AND failures > reported_failures",
            &[],
            |r| {
                Ok(FailedMonitor {
                    monitor_id: r.int(0)?,
                    project_id: r.int(1)?,
                    slug: r.text(2)?,
                    status: r.text(3)?,
                    environment: r.opt_text(4)?,
                    failures: r.int(5)?,
                })
            },
        )?;
        for f in &pass.failed {
            c.exec(
                "UPDATE monitors SET reported_failures = $2 WHERE id = $1",
                args![f.monitor_id, f.failures],
            )?;
        }
        pass.recovered = c.all(
            "SELECT id, issue_id FROM monitors \
             WHERE issue_id IS NOT NULL AND failures = 0 AND oks >= recovery_threshold",
            &[],
            |r| Ok((r.int(0)?, r.int(1)?)),
        )?;
        for (id, _) in &pass.recovered {
            c.exec(
                "UPDATE monitors SET issue_id = NULL WHERE id = $1",
                args![*id],
            )?;
        }
        Ok(pass)
    })
}

/// Records the issue a monitor's failure event went to; `reported: None` gives the
/// failures back to the next pass (the event could not be written).
pub fn set_issue<D: Database + ?Sized>(
    db: &D,
    monitor_id: i64,
    issue_id: Option<i64>,
) -> StoreResult<()> {
    write(db, |c| {
        match issue_id {
            Some(issue) => c.exec(
                "UPDATE monitors SET issue_id = $2 WHERE id = $1",
                args![monitor_id, issue],
            )?,
            None => c.exec(
                "UPDATE monitors SET reported_failures = 0 WHERE id = $1",
                args![monitor_id],
            )?,
        };
        Ok(())
    })
}

/// One run of a monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckInRow {
    /// The check-in id.
    pub check_in_id: String,
    /// `in_progress`, `ok`, `error`, `missed` or `timeout`.
    pub status: String,
    /// The environment.
    pub environment: Option<String>,
    /// Duration in milliseconds.
    pub duration_ms: Option<i64>,
    /// When it started (or was due, for a missed one).
    pub started_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// A monitor with its recent runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Monitor {
    /// The id.
    pub id: i64,
    /// The slug.
    pub slug: String,
    /// The status.
    pub status: String,
    /// `crontab` / `interval` / `""` (none yet).
    pub schedule_type: String,
    /// The crontab expression or the interval's number.
    pub schedule_value: String,
    /// The interval's unit.
    pub schedule_unit: String,
    /// The time zone.
    pub timezone: String,
    /// Minutes of grace.
    pub checkin_margin: i64,
    /// Minutes a run may take.
    pub max_runtime: i64,
    /// Failures before an issue.
    pub failure_threshold: i64,
    /// Successes before recovery.
    pub recovery_threshold: i64,
    /// The environment.
    pub environment: Option<String>,
    /// The last check-in (Unix ms).
    pub last_checkin: Option<i64>,
    /// When the next one is due.
    pub next_expected: Option<i64>,
    /// The open issue.
    pub issue_id: Option<i64>,
    /// The newest runs first.
    pub recent: Vec<CheckInRow>,
}

fn monitor_row(r: &dyn SqlRow) -> StoreResult<Monitor> {
    Ok(Monitor {
        id: r.int(0)?,
        slug: r.text(1)?,
        status: r.text(2)?,
        schedule_type: r.text(3)?,
        schedule_value: r.text(4)?,
        schedule_unit: r.text(5)?,
        timezone: r.text(6)?,
        checkin_margin: r.int(7)?,
        max_runtime: r.int(8)?,
        failure_threshold: r.int(9)?,
        recovery_threshold: r.int(10)?,
        environment: r.opt_text(11)?,
        last_checkin: r.opt_int(12)?,
        next_expected: r.opt_int(13)?,
        issue_id: r.opt_int(14)?,
        recent: Vec::new(),
    })
}

/// The monitors of a project by slug, each with its `recent` newest runs.
pub fn list<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    recent: i64,
) -> StoreResult<Vec<Monitor>> {
    read(db, |c| {
        let mut monitors = c.all(
            "SELECT id, slug, status, schedule_type, schedule_value, schedule_unit, timezone, \
               checkin_margin, max_runtime, failure_threshold, recovery_threshold, environment, \
               last_checkin, next_expected, issue_id \
             FROM monitors WHERE project_id = $1 ORDER BY slug",
            args![project_id],
            monitor_row,
        )?;
        for m in &mut monitors {
            m.recent = c.all(
                "SELECT check_in_id, status, environment, duration_ms, started_at, updated_at \
                 FROM monitor_checkins WHERE monitor_id = $1 ORDER BY id DESC LIMIT $2",
                args![m.id, recent],
                |r| {
                    Ok(CheckInRow {
                        check_in_id: r.text(0)?,
                        status: r.text(1)?,
                        environment: r.opt_text(2)?,
                        duration_ms: r.opt_int(3)?,
                        started_at: r.int(4)?,
                        updated_at: r.int(5)?,
                    })
                },
            )?;
        }
        Ok(monitors)
    })
}
