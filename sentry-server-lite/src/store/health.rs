//! Release health: what `session` and `sessions` items become (written in the ingest
//! batch, [`insert`]), and the per-release figures read back ([`releases`],
//! [`crash_free_series`], [`first_release`]). Tables: see `schema/health.rs`.
//!
//! **A session is counted once, whatever number of updates it sends.** Its first update
//! inserts its `health_session_states` row (and counts one session); each later fact
//! moves a flag of that row at most once (`errored`, the final `outcome`), and only a
//! flag that moved adds to the hour's counters. So `init` + final, a retried envelope,
//! or an update that arrives without its `init` all count the session exactly once.
//! Pre-aggregated buckets (`sessions` items, request mode) carry no ids and are added as
//! they come.

use std::collections::BTreeMap;

use super::sql::{args, read, Conn, Database};
use super::StoreResult;

/// The hour (Unix ms of its start) a time falls in.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(3_600_000) * 3_600_000
}

/// How one session update ended (or not yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still running.
    Running,
    /// Ended normally.
    Exited,
    /// Crashed.
    Crashed,
    /// Ended abnormally.
    Abnormal,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "",
            Outcome::Exited => "exited",
            Outcome::Crashed => "crashed",
            Outcome::Abnormal => "abnormal",
        }
    }
}

/// One bucket of pre-aggregated sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateBucket {
    /// When the bucket started (Unix ms).
    pub started: i64,
    /// The user.
    pub did: Option<String>,
    /// Ended without errors.
    pub exited: i64,
    /// Had errors.
    pub errored: i64,
    /// Ended abnormally.
    pub abnormal: i64,
    /// Crashed.
    pub crashed: i64,
}

/// What a session item becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionRecord {
    /// One update of one session.
    Update {
        /// The project.
        project_id: i64,
        /// The session id.
        sid: String,
        /// The user.
        did: Option<String>,
        /// The release.
        release: String,
        /// The environment (`""` when none).
        environment: String,
        /// When the session started (Unix ms).
        started: i64,
        /// When the update was made (or received).
        seen: i64,
        /// Whether the session had errors (or crashed, or ended abnormally).
        errored: bool,
        /// How it ended.
        outcome: Outcome,
    },
    /// The buckets of a `sessions` item.
    Aggregates {
        /// The project.
        project_id: i64,
        /// The release.
        release: String,
        /// The environment (`""` when none).
        environment: String,
        /// When the item was received.
        seen: i64,
        /// The buckets.
        buckets: Vec<AggregateBucket>,
    },
}

impl SessionRecord {
    /// The project.
    pub fn project_id(&self) -> i64 {
        match self {
            SessionRecord::Update { project_id, .. }
            | SessionRecord::Aggregates { project_id, .. } => *project_id,
        }
    }
}

/// One hour of one release: project, release, environment, hour (Unix ms).
type HourKey<'a> = (i64, &'a str, &'a str, i64);

/// Counts to add to one hour of one release.
#[derive(Clone, Copy, Debug)]
struct Counts {
    sessions: i64,
    errored: i64,
    crashed: i64,
    abnormal: i64,
    first: i64,
    last: i64,
}

/// What one batch's session records add to the hourly counters and to the users of
/// each hour, merged by key. Written in key order, so that concurrent batches (several
/// writer threads, or instances, on one PostgreSQL) take the rows' locks in one order
/// and never deadlock on each other; and each row is written once per batch.
#[derive(Default)]
struct Additions<'a> {
    hours: BTreeMap<HourKey<'a>, Counts>,
    /// Whether the user crashed in that hour.
    users: BTreeMap<(HourKey<'a>, &'a str), bool>,
}

impl<'a> Additions<'a> {
    fn hour(&mut self, key: HourKey<'a>, add: Counts) {
        self.hours
            .entry(key)
            .and_modify(|c| {
                c.sessions = c.sessions.saturating_add(add.sessions);
                c.errored = c.errored.saturating_add(add.errored);
                c.crashed = c.crashed.saturating_add(add.crashed);
                c.abnormal = c.abnormal.saturating_add(add.abnormal);
                c.first = c.first.min(add.first);
                c.last = c.last.max(add.last);
            })
            .or_insert(add);
    }

    fn user(&mut self, key: HourKey<'a>, did: &'a str, crashed: bool) {
        *self.users.entry((key, did)).or_insert(false) |= crashed;
    }

    fn write(&self, c: &mut dyn Conn) -> StoreResult<()> {
        for (&(project_id, release, environment, bucket), d) in &self.hours {
            c.exec(
                "INSERT INTO health_sessions (project_id, release, environment, bucket, sessions, \
                   errored, crashed, abnormal, first_seen, last_seen) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (project_id, release, environment, bucket) DO UPDATE SET \
                   sessions = health_sessions.sessions + excluded.sessions, \
                   errored = health_sessions.errored + excluded.errored, \
                   crashed = health_sessions.crashed + excluded.crashed, \
                   abnormal = health_sessions.abnormal + excluded.abnormal, \
                   first_seen = CASE WHEN excluded.first_seen < health_sessions.first_seen \
                                THEN excluded.first_seen ELSE health_sessions.first_seen END, \
                   last_seen = CASE WHEN excluded.last_seen > health_sessions.last_seen \
                               THEN excluded.last_seen ELSE health_sessions.last_seen END",
                args![
                    project_id,
                    release,
                    environment,
                    bucket,
                    d.sessions,
                    d.errored,
                    d.crashed,
                    d.abnormal,
                    d.first,
                    d.last
                ],
            )?;
        }
        for (&((project_id, release, environment, bucket), did), &crashed) in &self.users {
            c.exec(
                "INSERT INTO health_users (project_id, release, environment, bucket, did, crashed) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (project_id, release, environment, bucket, did) DO UPDATE SET \
                   crashed = CASE WHEN excluded.crashed > health_users.crashed \
                             THEN excluded.crashed ELSE health_users.crashed END",
                args![
                    project_id,
                    release,
                    environment,
                    bucket,
                    did,
                    i64::from(crashed)
                ],
            )?;
        }
        Ok(())
    }
}

/// Writes the session records of one ingest batch inside its transaction: first each
/// session's state row, in (project, session id) order (a session's own updates in the
/// order they came), then the merged hourly counters and users in key order (see
/// [`Additions`]).
pub fn insert(c: &mut dyn Conn, records: &[&SessionRecord]) -> StoreResult<()> {
    let mut updates: Vec<&SessionRecord> = records
        .iter()
        .copied()
        .filter(|r| matches!(r, SessionRecord::Update { .. }))
        .collect();
    updates.sort_by(|a, b| match (a, b) {
        (
            SessionRecord::Update {
                project_id: pa,
                sid: sa,
                ..
            },
            SessionRecord::Update {
                project_id: pb,
                sid: sb,
                ..
            },
        ) => (pa, sa).cmp(&(pb, sb)),
        _ => std::cmp::Ordering::Equal,
    });
    let mut add = Additions::default();
    for record in updates {
        if let SessionRecord::Update {
            project_id,
            sid,
            did,
            release,
            environment,
            started,
            seen,
            errored,
            outcome,
        } = record
        {
            let new = c.exec(
                "INSERT INTO health_session_states (project_id, sid, errored, outcome, updated_at) \
                 VALUES ($1, $2, 0, '', $3) ON CONFLICT (project_id, sid) DO NOTHING",
                args![*project_id, sid.as_str(), *seen],
            )? == 1;
            let newly_errored = *errored
                && c.exec(
                    "UPDATE health_session_states SET errored = 1, updated_at = $3 \
                     WHERE project_id = $1 AND sid = $2 AND errored = 0",
                    args![*project_id, sid.as_str(), *seen],
                )? == 1;
            let ended = *outcome != Outcome::Running
                && c.exec(
                    "UPDATE health_session_states SET outcome = $3, updated_at = $4 \
                     WHERE project_id = $1 AND sid = $2 AND outcome = ''",
                    args![*project_id, sid.as_str(), outcome.as_str(), *seen],
                )? == 1;
            let key = (
                *project_id,
                release.as_str(),
                environment.as_str(),
                hour_of(*started),
            );
            if new || newly_errored || ended {
                add.hour(
                    key,
                    Counts {
                        sessions: i64::from(new),
                        errored: i64::from(newly_errored),
                        crashed: i64::from(ended && *outcome == Outcome::Crashed),
                        abnormal: i64::from(ended && *outcome == Outcome::Abnormal),
                        first: *started,
                        last: *seen,
                    },
                );
            }
            if let Some(did) = did {
                add.user(key, did, *outcome == Outcome::Crashed);
            }
        }
    }
    for record in records {
        if let SessionRecord::Aggregates {
            project_id,
            release,
            environment,
            seen,
            buckets,
        } = record
        {
            for b in buckets {
                let key = (
                    *project_id,
                    release.as_str(),
                    environment.as_str(),
                    hour_of(b.started),
                );
                add.hour(
                    key,
                    Counts {
                        sessions: b.exited + b.errored + b.abnormal + b.crashed,
                        errored: b.errored + b.abnormal + b.crashed,
                        crashed: b.crashed,
                        abnormal: b.abnormal,
                        first: b.started,
                        last: (*seen).max(b.started),
                    },
                );
                if let Some(did) = &b.did {
                    add.user(key, did, b.crashed > 0);
                }
            }
        }
    }
    add.write(c)
}

/// How long a session's state row is kept after its last update: longer than ingest
/// accepts a session (`ingest::health::MAX_SESSION_AGE_MS`, five days), so that no
/// update of a session can come after its row went (and count it again).
pub const STATE_DAYS: i64 = 7;
/// Runs kept per monitor.
pub const RUNS_KEPT: i64 = 100;

/// Retention of release health and monitors, inside the retention pass's transaction
/// (at most `budget` rows of each kind): session states past [`STATE_DAYS`], hourly
/// counts and users past the policy's event age (when it has one), and each monitor's
/// runs beyond its [`RUNS_KEPT`] newest.
pub fn prune(
    c: &mut dyn Conn,
    policy: &super::RetentionPolicy,
    now_ms: i64,
    budget: i64,
) -> StoreResult<()> {
    let states = now_ms - STATE_DAYS * 86_400_000;
    c.exec(
        "DELETE FROM health_session_states WHERE sid IN (SELECT sid FROM health_session_states          WHERE updated_at < $1 LIMIT $2) AND updated_at < $1",
        args![states, budget],
    )?;
    if policy.max_age_days > 0 {
        let cutoff = hour_of(now_ms - (policy.max_age_days.min(1 << 40) as i64) * 86_400_000);
        for table in ["health_sessions", "health_users"] {
            c.exec(
                &format!("DELETE FROM {table} WHERE bucket < $1"),
                args![cutoff],
            )?;
        }
    }
    c.exec(
        "DELETE FROM monitor_checkins WHERE id IN (SELECT c.id FROM monitor_checkins c          WHERE c.id < (SELECT n.id FROM monitor_checkins n WHERE n.monitor_id = c.monitor_id                        ORDER BY n.id DESC LIMIT 1 OFFSET $1)          LIMIT $2)",
        args![RUNS_KEPT - 1, budget],
    )?;
    Ok(())
}

/// Removes a project's release-health and monitor rows, inside the transaction that
/// deletes the project (the tables without a foreign key to it, and the others first, so
/// that the order does not depend on cascades).
pub fn delete_project(c: &mut dyn Conn, project_id: i64) -> StoreResult<()> {
    c.exec(
        "DELETE FROM monitor_checkins WHERE monitor_id IN \
         (SELECT id FROM monitors WHERE project_id = $1)",
        args![project_id],
    )?;
    for table in [
        "monitors",
        "health_sessions",
        "health_session_states",
        "health_users",
    ] {
        c.exec(
            &format!("DELETE FROM {table} WHERE project_id = $1"),
            args![project_id],
        )?;
    }
    Ok(())
}

/// One release's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseHealth {
    /// The version.
    pub version: String,
    /// First session or event (Unix ms).
    pub first_seen: i64,
    /// Last session or event (Unix ms).
    pub last_seen: i64,
    /// Sessions.
    pub sessions: i64,
    /// Sessions with errors (crashed included).
    pub errored: i64,
    /// Crashed sessions.
    pub crashed: i64,
    /// Abnormal sessions.
    pub abnormal: i64,
    /// Distinct users.
    pub users: i64,
    /// Distinct users with a crashed session.
    pub crashed_users: i64,
    /// Issues whose first event came from this release.
    pub new_issues: i64,
}

impl ReleaseHealth {
    /// Crash-free sessions in percent (`None` without sessions).
    pub fn crash_free_sessions(&self) -> Option<f64> {
        percent_free(self.sessions, self.crashed)
    }

    /// Crash-free users in percent (`None` without users).
    pub fn crash_free_users(&self) -> Option<f64> {
        percent_free(self.users, self.crashed_users)
    }
}

/// `100 × (1 − bad / all)`, `None` when `all` is 0.
pub fn percent_free(all: i64, bad: i64) -> Option<f64> {
    (all > 0).then(|| 100.0 * (1.0 - bad.clamp(0, all) as f64 / all as f64))
}

/// Every release of a project that has sessions or events, newest first.
pub fn releases<D: Database + ?Sized>(db: &D, project_id: i64) -> StoreResult<Vec<ReleaseHealth>> {
    read(db, |c| {
        let mut out: Vec<ReleaseHealth> = c.all(
            "SELECT release, MIN(first_seen), MAX(last_seen), CAST(SUM(sessions) AS BIGINT), CAST(SUM(errored) AS BIGINT), \
               CAST(SUM(crashed) AS BIGINT), CAST(SUM(abnormal) AS BIGINT) \
             FROM health_sessions WHERE project_id = $1 GROUP BY release",
            args![project_id],
            |r| {
                Ok(ReleaseHealth {
                    version: r.text(0)?,
                    first_seen: r.int(1)?,
                    last_seen: r.int(2)?,
                    sessions: r.int(3)?,
                    errored: r.int(4)?,
                    crashed: r.int(5)?,
                    abnormal: r.int(6)?,
                    users: 0,
                    crashed_users: 0,
                    new_issues: 0,
                })
            },
        )?;
        let seen_in_events: Vec<(String, i64, i64)> = c.all(
            "SELECT release, MIN(timestamp), MAX(timestamp) FROM events \
             WHERE project_id = $1 AND release IS NOT NULL AND release <> '' GROUP BY release",
            args![project_id],
            |r| Ok((r.text(0)?, r.int(1)?, r.int(2)?)),
        )?;
        for (version, first, last) in seen_in_events {
            match out.iter_mut().find(|h| h.version == version) {
                Some(h) => {
                    h.first_seen = h.first_seen.min(first);
                    h.last_seen = h.last_seen.max(last);
                }
                None => out.push(ReleaseHealth {
                    version,
                    first_seen: first,
                    last_seen: last,
                    sessions: 0,
                    errored: 0,
                    crashed: 0,
                    abnormal: 0,
                    users: 0,
                    crashed_users: 0,
                    new_issues: 0,
                }),
            }
        }
        let users: Vec<(String, i64, i64)> = c.all(
            "SELECT release, COUNT(DISTINCT did), \
               COUNT(DISTINCT CASE WHEN crashed = 1 THEN did END) \
             FROM health_users WHERE project_id = $1 GROUP BY release",
            args![project_id],
            |r| Ok((r.text(0)?, r.int(1)?, r.int(2)?)),
        )?;
        for (version, all, crashed) in users {
            if let Some(h) = out.iter_mut().find(|h| h.version == version) {
                h.users = all;
                h.crashed_users = crashed;
            }
        }
        let new_issues: Vec<(String, i64)> = c.all(
            "SELECT first_release, COUNT(*) FROM ( \
               SELECT (SELECT e.release FROM events e WHERE e.issue_id = i.id \
                       ORDER BY e.id ASC LIMIT 1) AS first_release \
               FROM issues i WHERE i.project_id = $1) firsts \
             WHERE first_release IS NOT NULL GROUP BY first_release",
            args![project_id],
            |r| Ok((r.text(0)?, r.int(1)?)),
        )?;
        for (version, n) in new_issues {
            if let Some(h) = out.iter_mut().find(|h| h.version == version) {
                h.new_issues = n;
            }
        }
        out.sort_by(|a, b| {
            b.last_seen
                .cmp(&a.last_seen)
                .then(a.version.cmp(&b.version))
        });
        Ok(out)
    })
}

/// Per release and hour since `since` (Unix ms): `(release, bucket, sessions, crashed)`,
/// oldest hour first (the Releases page's sparklines).
pub fn crash_free_series<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    since: i64,
) -> StoreResult<Vec<(String, i64, i64, i64)>> {
    read(db, |c| {
        c.all(
            "SELECT release, bucket, CAST(SUM(sessions) AS BIGINT), CAST(SUM(crashed) AS BIGINT) FROM health_sessions \
             WHERE project_id = $1 AND bucket >= $2 GROUP BY release, bucket \
             ORDER BY release, bucket",
            args![project_id, hour_of(since)],
            |r| Ok((r.text(0)?, r.int(1)?, r.int(2)?, r.int(3)?)),
        )
    })
}

/// The release of an issue's first stored event (the issue page's "first seen in
/// release").
pub fn first_release<D: Database + ?Sized>(db: &D, issue_id: i64) -> StoreResult<Option<String>> {
    read(db, |c| {
        Ok(c.opt(
            "SELECT release FROM events WHERE issue_id = $1 ORDER BY id ASC LIMIT 1",
            args![issue_id],
            |r| r.opt_text(0),
        )?
        .flatten()
        .filter(|r| !r.is_empty()))
    })
}
