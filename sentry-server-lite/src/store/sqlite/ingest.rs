//! The SQLite write path of ingestion: [`write_batch`] (one transaction per batch of
//! events) and the background WAL [`Checkpointer`].
//!
//! A batch executes its [`BatchPlan`] (the same plan as PostgreSQL's): per event an index
//! lookup (duplicate check), then one upsert per issue, one insert per event, and the
//! tag counts, summed per issue over the whole batch, in multi-row upserts: one statement
//! per 64 tag rows instead of one per tag and event (an event has ~15 tags).
//!
//! The alerts a batch fires (events of projects with alert rules only) are written last,
//! in the batch's transaction ([`crate::store::outbox::queue`]).
//!
//! Checkpoints (copying WAL pages into the database file and fsyncing it) do not run in
//! the writer's commits: a background thread checkpoints passively (not blocking the
//! writer) every [`CHECKPOINT_INTERVAL`]. Under continuous writes a passive checkpoint
//! never catches up with the last commit, and SQLite only rewinds the WAL to its start
//! when it has; so once the WAL holds [`RESTART_FRAMES`] frames, the checkpointer takes
//! the commit gate (holding off `write_batch` for the short time it takes to copy the
//! frames committed since its unblocked pass), and the next commit starts the WAL over.
//! The writer's own automatic checkpoint stays on as a bound on the WAL size
//! ([`WRITER_AUTOCHECKPOINT_PAGES`]) should the background thread fall behind.
//!
//! Failures never stop ingestion: a failed batch (disk full, I/O error) is rolled back
//! and answered with errors, and the next batch starts on a clean connection; the
//! checkpointer releases the gate on every error or panic (a guard), survives them, and
//! the writer waits for the gate at most [`MAX_HOLD_OFF`] anyway.

use std::collections::HashSet;
use std::path::Path;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{params, params_from_iter, Connection, ToSql};

use super::{Synchronous, BUSY_TIMEOUT};
use crate::store::alerts::ProjectRules;
use crate::store::plan::{BatchPlan, UpsertedIssue, ISSUE_UPSERT, TAG_UPSERT};
use crate::store::records::{BatchOutcome, SideRecord};
use crate::store::{NewEvent, StoreError, StoreResult, WriteOutcome};

/// How often the background thread checkpoints the WAL.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// WAL frames past which the checkpointer makes the WAL start over (32 MiB of 4 KiB
/// pages): each restart holds the writer off for one fsync of the database file, so not
/// too often.
pub const RESTART_FRAMES: i64 = 8192;

/// The writer connection's automatic checkpoint threshold (pages) once the background
/// checkpointer runs: a safety bound (128 MiB of WAL with 4 KiB pages), not the normal
/// path.
pub const WRITER_AUTOCHECKPOINT_PAGES: i64 = 32_768;

/// The longest the writer waits for the commit gate; past it, it commits without (a
/// checkpoint normally holds it for milliseconds; a stuck one must not stop ingestion).
pub const MAX_HOLD_OFF: Duration = Duration::from_secs(5);

/// Tag rows per multi-row upsert statement (6 parameters each).
const TAG_ROWS_PER_STATEMENT: usize = 64;

/// Writes a plan's tag counts in statements of 64, 32, 16, ... rows: few distinct
/// statements, so they stay in the connection's statement cache.
fn write_tags(conn: &Connection, plan: &BatchPlan<'_>, issue_ids: &[i64]) -> StoreResult<()> {
    let mut rest = &plan.tags[..];
    while !rest.is_empty() {
        let size = TAG_ROWS_PER_STATEMENT.min(1 << rest.len().ilog2());
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut sql = String::with_capacity(200 + chunk.len() * 20);
        sql.push_str(
            "INSERT INTO issue_tags (issue_id, key, value, times_seen, first_seen, \
             last_seen) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?)");
        }
        sql.push(' ');
        sql.push_str(TAG_UPSERT);
        let mut args: Vec<&dyn ToSql> = Vec::with_capacity(chunk.len() * 6);
        for t in chunk {
            let issue_id = issue_ids
                .get(t.group)
                .ok_or_else(|| StoreError::Corrupt("a tag count without its issue".into()))?;
            args.extend([
                issue_id as &dyn ToSql,
                &t.key,
                &t.value,
                &t.count,
                &t.first_seen,
                &t.last_seen,
            ]);
        }
        conn.prepare_cached(&sql)?.execute(params_from_iter(args))?;
    }
    Ok(())
}

/// Inserts events, upserts their issues and tags as the batch's [`BatchPlan`] says; runs
/// inside the caller's transaction and returns one outcome per event. Any error fails the
/// whole call (the caller rolls back and may retry event by event). The alerts the batch
/// fires (`rules`) are written last, in the same transaction.
///
/// The duplicate checks come first (an index lookup per event), then one upsert per
/// issue, then the event rows with their issue ids, then the tag counts. Duplicates
/// cannot slip in between the check and the insert: the caller's transaction is the
/// only writer, and the insert keeps its `ON CONFLICT DO NOTHING` as a second guard.
pub(super) fn insert_events(
    conn: &Connection,
    events: &[NewEvent],
    rules: &ProjectRules,
) -> StoreResult<Vec<WriteOutcome>> {
    let mut duplicate_stmt =
        conn.prepare_cached("SELECT 1 FROM events WHERE project_id = ?1 AND event_id = ?2")?;
    let mut stored = HashSet::new();
    for e in events {
        if duplicate_stmt.exists(params![e.project_id, e.event_id])? {
            stored.insert((e.project_id, e.event_id.as_str()));
        }
    }
    let plan = BatchPlan::new(events, &stored);
    // One upsert creates or updates each issue: race-free under concurrent writers.
    let mut issue_stmt = conn.prepare_cached(&format!(
        "INSERT INTO issues (project_id, grouping_version, grouping_hash, title, culprit, \
         level, platform, issue_type, metadata, status, substatus, first_seen, last_seen, \
         times_seen, regressed_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'unresolved', ?10, ?11, ?12, ?13, ?14) \
         {ISSUE_UPSERT} RETURNING id, times_seen, regressed_by"
    ))?;
    let mut issues = Vec::with_capacity(plan.groups.len());
    for g in &plan.groups {
        let first = &events[g.first];
        let issue = issue_stmt.query_row(
            params![
                first.project_id,
                first.grouping_version,
                first.grouping_hash,
                first.title,
                first.culprit,
                events[g.last].level,
                first.platform,
                first.issue_type,
                first.metadata,
                g.new_substatus(),
                g.first_seen,
                g.last_seen,
                g.count,
                first.event_id,
            ],
            |r| {
                Ok(UpsertedIssue {
                    id: r.get(0)?,
                    times_seen: r.get(1)?,
                    regressed_by: r.get(2)?,
                })
            },
        )?;
        issues.push(issue);
    }
    let mut event_stmt = conn.prepare_cached(
        "INSERT INTO events (project_id, event_id, issue_id, timestamp, received, level, \
         platform, release, environment, title, culprit, message, body, body_size, tags) \
         VALUES (?1, ?2, ?14, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?15) \
         ON CONFLICT (project_id, event_id) DO NOTHING",
    )?;
    for &i in &plan.fresh {
        let e = &events[i];
        let issue_id = plan
            .group_index(i)
            .and_then(|g| issues.get(g))
            .map(|issue| issue.id)
            .ok_or_else(|| StoreError::Corrupt(format!("no issue for event {}", e.event_id)))?;
        let inserted = event_stmt.execute(params![
            e.project_id,
            e.event_id,
            e.timestamp_ms,
            e.received_ms,
            e.level,
            e.platform,
            e.release,
            e.environment,
            e.title,
            e.culprit,
            e.message,
            e.body_zstd,
            e.body_size as i64,
            issue_id,
            crate::store::rows::encode_tags(&e.tags),
        ])?;
        if inserted == 0 {
            // Unreachable with one writer (checked above); fail the batch rather than
            // count an event that was not stored.
            return Err(StoreError::Conflict(format!("event {}", e.event_id)));
        }
    }
    let ids: Vec<i64> = issues.iter().map(|i| i.id).collect();
    write_tags(conn, &plan, &ids)?;
    let outcomes = plan.outcomes(&issues)?;
    if rules.any_for(events) {
        let now = crate::clock::now_ms();
        crate::store::outbox::queue(&mut { conn }, rules, &plan, &issues, &outcomes, now)?;
    }
    Ok(outcomes)
}

/// Commits `events` and the `side` records in one transaction; when that fails, retries
/// each event and each record in its own transaction so that one bad item cannot fail
/// the others.
pub(super) fn write_batch(
    conn: &Connection,
    events: &[NewEvent],
    side: &[SideRecord],
    rules: &ProjectRules,
) -> BatchOutcome {
    if let Err(e) = end_open_transaction(conn) {
        let message = e.to_string();
        return BatchOutcome::all_failed(events.len(), side.len(), || {
            StoreError::Io(std::io::Error::other(message.clone()))
        });
    }
    let batch = (|| -> StoreResult<Vec<WriteOutcome>> {
        let tx = conn.unchecked_transaction()?;
        let out = insert_events(&tx, events, rules)?;
        crate::store::records::write(&mut { &*tx }, side)?;
        tx.commit()?;
        Ok(out)
    })();
    match batch {
        Ok(outcomes) => BatchOutcome::committed(outcomes, side.len()),
        Err(batch_err) if storage_failure(&batch_err) => {
            // Disk full, I/O error, locked or read-only database: no single item is to
            // blame, and retrying each would repeat the failure once per item (on a
            // failing disk, a batch's worth of slow failures). The whole batch fails.
            tracing::error!(error = %batch_err, "batch commit failed: storage unavailable");
            let message = batch_err.to_string();
            if let Err(e) = end_open_transaction(conn) {
                tracing::error!(error = %e, "rollback after the failed batch failed");
            }
            BatchOutcome::all_failed(events.len(), side.len(), || {
                StoreError::Unavailable(message.clone())
            })
        }
        Err(batch_err) => {
            tracing::warn!(error = %batch_err, "batch commit failed; retrying item by item");
            let events = events
                .iter()
                .map(|e| {
                    end_open_transaction(conn)?;
                    let tx = conn.unchecked_transaction()?;
                    let outcome = insert_events(&tx, std::slice::from_ref(e), rules)?
                        .pop()
                        .ok_or_else(|| StoreError::Invalid("no outcome".into()))?;
                    tx.commit()?;
                    Ok(outcome)
                })
                .collect();
            let side = side
                .iter()
                .map(|r| {
                    end_open_transaction(conn)?;
                    let tx = conn.unchecked_transaction()?;
                    crate::store::records::write(&mut { &*tx }, std::slice::from_ref(r))?;
                    tx.commit()?;
                    Ok(())
                })
                .collect();
            BatchOutcome { events, side }
        }
    }
}

/// Whether `e` is a failure of the storage itself rather than of one event's data.
fn storage_failure(e: &StoreError) -> bool {
    use rusqlite::ErrorCode::*;
    match e {
        StoreError::Database(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.code,
            DiskFull
                | SystemIoFailure
                | DatabaseBusy
                | DatabaseLocked
                | ReadOnly
                | CannotOpen
                | OutOfMemory
                | DatabaseCorrupt
                | NotADatabase
        ),
        _ => false,
    }
}

/// Rolls back a transaction left open on `conn`: when COMMIT fails (SQLITE_FULL,
/// SQLITE_IOERR) SQLite may or may not have rolled back, and the rollback on the
/// transaction's drop may itself fail (its error is lost there). Without this, one failed
/// batch would make every later `BEGIN` fail ("cannot start a transaction within a
/// transaction") even after the disk has room again.
fn end_open_transaction(conn: &Connection) -> StoreResult<()> {
    if conn.is_autocommit() {
        return Ok(());
    }
    tracing::warn!("a failed transaction was left open; rolling it back");
    conn.execute_batch("ROLLBACK")?;
    Ok(())
}

/// A background thread that checkpoints the WAL through its own connection, so that the
/// writer's commits do not wait for checkpoints. Stopped (and joined) on drop.
///
/// A failed or panicking round is logged; the thread goes on. Should it exit anyway, [`Checkpointer::failure`] says so.
pub struct Checkpointer {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection to `path` and starts checkpointing every `interval`; `gate` is
    /// the lock `write_batch` holds during its transactions.
    pub fn start(
        path: &Path,
        synchronous: Synchronous,
        interval: Duration,
        gate: Arc<parking_lot::Mutex<()>>,
    ) -> StoreResult<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Checkpoints sync the WAL before and the database after copying, as with the
        // writer's own checkpoints (the same `synchronous` setting).
        conn.pragma_update(None, "synchronous", synchronous.pragma())?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (tx, rx) = channel::<()>();
        let handle = std::thread::Builder::new()
            .name("sentry-lite-checkpoint".into())
            .spawn(move || loop {
                match rx.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {
                        // The gate guard is dropped on error and on unwinding alike.
                        let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            checkpoint(&conn, &gate)
                        }));
                        match round {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "background WAL checkpoint failed");
                            }
                            Err(_) => tracing::error!("background WAL checkpoint panicked"),
                        }
                    }
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .map_err(StoreError::Io)?;
        Ok(Checkpointer {
            stop: Some(tx),
            handle: Some(handle),
        })
    }

    /// Why the thread is not running, if it is not (it only returns when stopped).
    pub fn failure(&self) -> Option<String> {
        match &self.handle {
            Some(h) if !h.is_finished() => None,
            _ => Some("the WAL checkpointer thread has exited".into()),
        }
    }
}

/// One round: a passive checkpoint while the writer goes on, then, past
/// [`RESTART_FRAMES`], a second one with the writer held off so that it completes.
fn checkpoint(conn: &Connection, gate: &parking_lot::Mutex<()>) -> rusqlite::Result<()> {
    let passive = |conn: &Connection| {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })
    };
    let (frames, _) = passive(conn)?;
    if frames >= RESTART_FRAMES {
        let _held = gate.lock();
        passive(conn)?;
    }
    Ok(())
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SqliteStore, Store};

    fn open() -> (tempfile::TempDir, SqliteStore, i64) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStore::open(&dir.path().join("sentry.db"), Synchronous::Full).expect("open");
        let team = s.create_team("t", "T", None).expect("team");
        let p = s.create_project(team.id, "p", "P", None).expect("project");
        (dir, s, p.id)
    }

    fn event(project_id: i64, id: &str, hash: &str, at: i64, tags: &[(&str, &str)]) -> NewEvent {
        crate::store::plan::test_event(project_id, id, hash, at, tags)
    }

    type TagRowView = (String, String, String, i64, i64, i64);

    fn tag_rows(s: &SqliteStore) -> Vec<TagRowView> {
        let conn = s.writer.lock();
        let mut stmt = conn
            .prepare(
                "SELECT i.grouping_hash, t.key, t.value, t.times_seen, t.first_seen, \
                 t.last_seen FROM issue_tags t JOIN issues i ON i.id = t.issue_id \
                 ORDER BY 1, 2, 3",
            )
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    /// One batch gives the same tag rows and outcomes as one event per batch: counts add
    /// up, first_seen is the earliest, last_seen the latest, duplicates count 0.
    #[test]
    fn batched_tags_equal_event_by_event() {
        // 50 tags on one issue: the batch flushes 5 + 50 = 55 rows, in statements of
        // 32, 16, 4, 2 and 1 rows.
        let owned: Vec<(String, String)> = (0..50)
            .map(|i| (format!("t{i}"), format!("v{}", i % 7)))
            .collect();
        let many: Vec<(&str, &str)> = owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let events = |p: i64| {
            vec![
                event(p, "a", "h1", 100, &[("region", "eu"), ("x", "1")]),
                event(p, "b", "h1", 50, &[("region", "eu")]),
                event(p, "c", "h2", 70, &[("region", "us"), ("x", "1")]),
                event(p, "a", "h1", 500, &[("region", "eu")]),
                event(p, "d", "h1", 200, &[("region", "eu"), ("x", "2")]),
                event(p, "e", "h3", 300, &many),
                event(p, "f", "h3", 250, &many[..40]),
            ]
        };
        let (_d1, batched, p1) = open();
        let (_d2, single, p2) = open();
        let outcome = |o: &StoreResult<WriteOutcome>| format!("{:?}", o.as_ref().expect("ok"));
        let a: Vec<String> = batched
            .write_batch(&events(p1))
            .iter()
            .map(outcome)
            .collect();
        let b: Vec<String> = events(p2)
            .iter()
            .map(|e| outcome(&batched_one(&single, e)))
            .collect();
        assert_eq!(a, b);
        assert_eq!(a[3], "Duplicate");
        let rows = tag_rows(&batched);
        assert_eq!(rows, tag_rows(&single));
        // first_seen is the earliest event time (as on PostgreSQL and for issues).
        assert!(rows.contains(&("h1".into(), "region".into(), "eu".into(), 3, 50, 200)));
        assert!(rows.contains(&("h1".into(), "x".into(), "1".into(), 1, 100, 100)));
        assert!(rows.contains(&("h3".into(), "t3".into(), "v3".into(), 2, 250, 300)));
        assert!(rows.contains(&("h3".into(), "t45".into(), "v3".into(), 1, 300, 300)));
        assert_eq!(rows.len(), 5 + 50);
        assert_eq!(batched.count_events().expect("count"), 6);
    }

    fn batched_one(s: &SqliteStore, e: &NewEvent) -> StoreResult<WriteOutcome> {
        s.write_batch(std::slice::from_ref(e))
            .pop()
            .expect("one outcome")
    }

    /// Under continuous writes the checkpointer still makes the WAL start over: after
    /// three restart thresholds' worth of event bodies its size stays under two, instead
    /// of growing to the writer's safety threshold.
    #[test]
    fn wal_starts_over_under_continuous_writes() {
        let (dir, s, p) = open();
        let big = vec![7u8; 16 * 1024];
        let restart_bytes = RESTART_FRAMES as usize * 4096;
        let (mut n, mut written) = (0, 0);
        let started = std::time::Instant::now();
        while written < 3 * restart_bytes && started.elapsed() < Duration::from_secs(60) {
            let batch: Vec<NewEvent> = (0..50)
                .map(|i| {
                    let mut e = event(p, &format!("{n}-{i}"), "h", 1, &[("k", "v")]);
                    e.body_zstd = big.clone();
                    e
                })
                .collect();
            for o in s.write_batch(&batch) {
                o.expect("write");
            }
            written += 50 * big.len();
            n += 1;
        }
        assert!(
            written >= 3 * restart_bytes,
            "too slow: {n} batches in 60 s"
        );
        let wal = std::fs::metadata(dir.path().join("sentry.db-wal"))
            .expect("wal")
            .len() as usize;
        // Without a restart the WAL holds every page written (more than `written`, with
        // frame headers and b-tree pages). How often the checkpointer gets a core on a
        // loaded machine varies, so the test asks only that the WAL started over at
        // least once while the writes went on, which leaves it well below `written`.
        assert!(
            wal < written,
            "WAL of {wal} bytes after {n} batches ({written} bytes of events): the \
             background checkpoints never restarted it"
        );
    }

    /// Once the checkpointer thread has exited, the store says so (`/healthz` answers
    /// 503 with it), and the writer is not held off by it.
    #[test]
    fn exited_checkpointer_is_reported_and_does_not_hold_the_writer() {
        let (_dir, s, p) = open();
        assert_eq!(s.background_failure(), None, "not started yet");
        batched_one(&s, &event(p, "a", "h", 1, &[])).expect("write");
        assert_eq!(s.background_failure(), None, "running");
        let c = s
            .checkpointer
            .get()
            .and_then(Option::as_ref)
            .expect("started");
        c.stop.as_ref().expect("sender").send(()).expect("stop");
        let started = std::time::Instant::now();
        while c.failure().is_none() {
            assert!(started.elapsed() < Duration::from_secs(60), "did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(s
            .background_failure()
            .is_some_and(|f| f.contains("checkpointer")));
        batched_one(&s, &event(p, "b", "h", 2, &[])).expect("write after the exit");
        assert_eq!(s.count_events().expect("count"), 2);
    }
}
