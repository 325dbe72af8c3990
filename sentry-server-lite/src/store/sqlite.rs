//! The SQLite backend: one file (`DATA_DIR/sentry.db`) in WAL mode, one write connection
//! (used by the ingest writer thread and by admin commands, serialized by a mutex) and a
//! small pool of read-only connections for the API.
//!
//! Durability: `synchronous = FULL` by default, so a commit is on disk (fsynced WAL)
//! before the writer answers, and an acknowledged event survives a power loss as well as
//! `kill -9`. Group commit makes the fsync cheap: one per batch, not one per event.
//! `synchronous = NORMAL` (flag `--synchronous normal`) skips the per-commit fsync; that
//! still survives `kill -9` of the server (the WAL is in the OS page cache) but a power
//! loss or kernel crash can lose the last commits. See BENCHMARKS.md for both.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::schema::sqlite::MIGRATIONS;
use super::*;

/// How hard SQLite syncs commits to disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Synchronous {
    /// fsync the WAL at every commit: survives power loss. The default.
    #[default]
    Full,
    /// No fsync per commit: survives a killed process, not a power loss.
    Normal,
}

impl Synchronous {
    /// The value of SQLite's `synchronous` pragma.
    pub fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

const READ_POOL_SIZE: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    synchronous: Synchronous,
    /// Started by the first [`Store::write_batch`] (the ingest writer), not by every
    /// short-lived open of the CLI.
    checkpointer: std::sync::OnceLock<Option<ingest::Checkpointer>>,
    /// Held by `write_batch` for its transaction, and briefly by the checkpointer so
    /// that the WAL can start over (see [`ingest`]).
    commit_gate: std::sync::Arc<Mutex<()>>,
    /// Every project's alert rules, matched against each batch.
    alert_rules: alerts::RuleCache,
}

fn now_ms() -> i64 {
    crate::clock::now_ms()
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path, synchronous: Synchronous) -> StoreResult<Self> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        let writer = Connection::open(path)?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", synchronous.pragma())?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        // 32 MiB of page cache for the writer: the indexes of recent events stay hot.
        writer.pragma_update(None, "cache_size", -32_000)?;
        writer.set_prepared_statement_cache_capacity(64);
        migrate(&writer)?;
        let mut readers = Vec::with_capacity(READ_POOL_SIZE);
        for _ in 0..READ_POOL_SIZE {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            readers.push(Mutex::new(conn));
        }
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            synchronous,
            checkpointer: std::sync::OnceLock::new(),
            commit_gate: std::sync::Arc::new(Mutex::new(())),
            alert_rules: alerts::RuleCache::default(),
        })
    }

    /// Starts the background WAL checkpointer once, and then lets the writer connection
    /// checkpoint by itself only past a large WAL (see [`ingest::Checkpointer`]).
    fn start_checkpointer(&self, writer: &Connection) {
        self.checkpointer.get_or_init(|| {
            match ingest::Checkpointer::start(
                &self.path,
                self.synchronous,
                ingest::CHECKPOINT_INTERVAL,
                self.commit_gate.clone(),
            ) {
                Ok(c) => {
                    if let Err(e) = writer.pragma_update(
                        None,
                        "wal_autocheckpoint",
                        ingest::WRITER_AUTOCHECKPOINT_PAGES,
                    ) {
                        tracing::warn!(error = %e, "could not raise wal_autocheckpoint");
                    }
                    Some(c)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no background checkpointer; the writer checkpoints");
                    None
                }
            }
        });
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a free reader connection (or waits for one, round-robin).
    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        for r in &self.readers {
            if let Some(conn) = r.try_lock() {
                return f(&conn);
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let conn = self.readers[i].lock();
        f(&conn)
    }

    fn write<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let conn = self.writer.lock();
        f(&conn)
    }
}

fn migrate(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )?;
    let applied = |version: &i64| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT version FROM schema_migrations WHERE version = ?1",
            [version],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map(|v| v.is_some())
    };
    for (version, name, sql) in MIGRATIONS {
        if applied(version)? {
            continue;
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let res = conn.execute_batch(sql).and_then(|_| {
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![version, name, now_ms()],
            )
        });
        match res {
            Ok(_) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                // Another process may have applied it meanwhile.
                if !applied(version)? {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(())
}

impl Store for SqliteStore {
    fn write_records(&self, events: &[NewEvent], side: &[SideRecord]) -> BatchOutcome {
        let rules = self.alert_rules.current(self, 0);
        // The checkpointer holds the writer off only for a bounded time: past it (a
        // checkpoint stuck on a failing disk) the writer commits without the gate, which
        // only costs the WAL its restart (SQLite's own locks keep the two apart).
        let _gate = self.commit_gate.try_lock_for(ingest::MAX_HOLD_OFF);
        if _gate.is_none() {
            tracing::warn!("the checkpointer held the writer off too long; committing anyway");
        }
        let conn = self.writer.lock();
        self.start_checkpointer(&conn);
        ingest::write_batch(&conn, events, side, &rules)
    }

    fn background_failure(&self) -> Option<String> {
        self.checkpointer.get()?.as_ref()?.failure()
    }
}

#[cfg(test)]
mod failure_tests;
#[cfg(test)]
mod tests;

mod driver;

mod ingest;
