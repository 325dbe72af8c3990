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
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};

use super::migrations::MIGRATIONS;
use super::*;
use crate::secrets;

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
}

fn now_ms() -> i64 {
    crate::clock::now_ms()
}

impl SqliteStore {
    /// One project by a condition on `p` (its team joined in). Reads through the writer
    /// connection so that a row created a moment ago is always visible.
    fn project_where(
        &self,
        condition: &str,
        param: impl rusqlite::ToSql,
    ) -> StoreResult<Option<Project>> {
        self.write(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT {PROJECT_COLS} FROM projects p JOIN teams t ON t.id = p.team_id \
                     WHERE {condition}"
                ),
                [param],
                project_row,
            )
            .optional()?)
        })
    }

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

    /// Consecutive failed rounds of the background WAL checkpointer (0 when it is not
    /// running or its last round succeeded).
    pub fn checkpoint_failures(&self) -> u64 {
        match self.checkpointer.get() {
            Some(Some(c)) => c.failures(),
            _ => 0,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        for r in &self.readers {
            if let Some(conn) = r.try_lock() {
                return Ok(f(&conn)?);
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let conn = self.readers[i].lock();
        Ok(f(&conn)?)
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
    for (version, name, sql) in MIGRATIONS {
        let done: Option<i64> = conn
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()?;
        if done.is_some() {
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
                let done: Option<i64> = conn
                    .query_row(
                        "SELECT version FROM schema_migrations WHERE version = ?1",
                        [version],
                        |r| r.get(0),
                    )
                    .optional()?;
                if done.is_none() {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(())
}

fn conflict_or(e: rusqlite::Error, what: &str) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(what.to_owned())
        }
        _ => StoreError::Database(e),
    }
}

const USER_COLS: &str = "id, email, password_hash, is_superuser, is_active";
fn user_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        password_hash: r.get(2)?,
        is_superuser: r.get(3)?,
        is_active: r.get(4)?,
    })
}

const TEAM_COLS: &str = "id, slug, name, owner_id";
fn team_row(r: &Row) -> rusqlite::Result<Team> {
    Ok(Team {
        id: r.get(0)?,
        slug: r.get(1)?,
        name: r.get(2)?,
        owner_id: r.get(3)?,
    })
}

const PROJECT_COLS: &str =
    "p.id, p.team_id, t.slug, p.slug, p.name, p.owner_id, p.is_public, p.allowed_origins";
fn project_row(r: &Row) -> rusqlite::Result<Project> {
    let origins: String = r.get(7)?;
    Ok(Project {
        id: r.get(0)?,
        team_id: r.get(1)?,
        team_slug: r.get(2)?,
        slug: r.get(3)?,
        name: r.get(4)?,
        owner_id: r.get(5)?,
        is_public: r.get(6)?,
        allowed_origins: origins
            .split_whitespace()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

const KEY_COLS: &str =
    "id, project_id, public_key, secret_key, label, is_active, rate_limit_count, rate_limit_window";
fn key_row(r: &Row) -> rusqlite::Result<ProjectKey> {
    let count: Option<i64> = r.get(6)?;
    let window: Option<i64> = r.get(7)?;
    Ok(ProjectKey {
        id: r.get(0)?,
        project_id: r.get(1)?,
        public_key: r.get(2)?,
        secret_key: r.get(3)?,
        label: r.get(4)?,
        is_active: r.get(5)?,
        rate_limit: match (count, window) {
            (Some(c), Some(w)) if c >= 0 && w > 0 => Some(RateLimit {
                count: c as u64,
                window_secs: w as u64,
            }),
            _ => None,
        },
    })
}

const ISSUE_COLS: &str = "id, project_id, grouping_version, grouping_hash, title, culprit, level, \
    platform, issue_type, metadata, status, substatus, first_seen, last_seen, times_seen, \
    resolved_at, is_public";
fn issue_row(r: &Row) -> rusqlite::Result<Issue> {
    let status: String = r.get(10)?;
    let times_seen: i64 = r.get(14)?;
    Ok(Issue {
        id: r.get(0)?,
        project_id: r.get(1)?,
        grouping_version: r.get(2)?,
        grouping_hash: r.get(3)?,
        title: r.get(4)?,
        culprit: r.get(5)?,
        level: r.get(6)?,
        platform: r.get(7)?,
        issue_type: r.get(8)?,
        metadata: r.get(9)?,
        status: IssueStatus::parse(&status).unwrap_or(IssueStatus::Unresolved),
        substatus: r.get(11)?,
        first_seen_ms: r.get(12)?,
        last_seen_ms: r.get(13)?,
        times_seen: times_seen.max(0) as u64,
        resolved_at_ms: r.get(15)?,
        is_public: r.get(16)?,
    })
}

const EVENT_COLS: &str = "id, project_id, event_id, issue_id, timestamp, received, level, \
    platform, title, culprit, message, body";
fn event_row(r: &Row) -> rusqlite::Result<StoredEvent> {
    let compressed: Vec<u8> = r.get(11)?;
    let body = zstd::stream::decode_all(&compressed[..]).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Blob, Box::new(e))
    })?;
    Ok(StoredEvent {
        id: r.get(0)?,
        project_id: r.get(1)?,
        event_id: r.get(2)?,
        issue_id: r.get(3)?,
        timestamp_ms: r.get(4)?,
        received_ms: r.get(5)?,
        level: r.get(6)?,
        platform: r.get(7)?,
        title: r.get(8)?,
        culprit: r.get(9)?,
        message: r.get(10)?,
        body,
    })
}

impl Store for SqliteStore {
    fn create_user(&self, email: &str, password_hash: &str, superuser: bool) -> StoreResult<User> {
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(StoreError::Invalid(format!("e-mail {email:?}")));
        }
        self.write(|c| {
            c.execute(
                "INSERT INTO users (email, email_lower, password_hash, is_superuser, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    email,
                    email.to_lowercase(),
                    password_hash,
                    superuser,
                    now_ms()
                ],
            )
            .map_err(|e| conflict_or(e, &format!("user {email}")))?;
            Ok(User {
                id: c.last_insert_rowid(),
                email: email.to_owned(),
                password_hash: password_hash.to_owned(),
                is_superuser: superuser,
                is_active: true,
            })
        })
    }

    fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let lower = email.trim().to_lowercase();
        self.read(|c| {
            c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE email_lower = ?1"),
                [lower],
                user_row,
            )
            .optional()
        })
    }

    fn update_user(&self, user_id: i64, password_hash: &str, superuser: bool) -> StoreResult<()> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE users SET password_hash = ?1, is_superuser = ?2 WHERE id = ?3",
                params![password_hash, superuser, user_id],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("user {user_id}")));
            }
            Ok(())
        })
    }

    fn create_team(&self, slug: &str, name: &str, owner_id: Option<i64>) -> StoreResult<Team> {
        crate::slug::validate(slug).map_err(StoreError::Invalid)?;
        self.write(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO teams (slug, name, owner_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![slug, name, owner_id, now_ms()],
            )
            .map_err(|e| conflict_or(e, &format!("team {slug}")))?;
            let id = tx.last_insert_rowid();
            if let Some(owner) = owner_id {
                tx.execute(
                    "INSERT INTO memberships (team_id, user_id, role, created_at) \
                     VALUES (?1, ?2, 'admin', ?3)",
                    params![id, owner, now_ms()],
                )?;
            }
            tx.commit()?;
            Ok(Team {
                id,
                slug: slug.to_owned(),
                name: name.to_owned(),
                owner_id,
            })
        })
    }

    fn team_by_slug(&self, slug: &str) -> StoreResult<Option<Team>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {TEAM_COLS} FROM teams WHERE slug = ?1"),
                [slug],
                team_row,
            )
            .optional()
        })
    }

    fn create_project(
        &self,
        team_id: i64,
        slug: &str,
        name: &str,
        owner_id: Option<i64>,
    ) -> StoreResult<Project> {
        crate::slug::validate(slug).map_err(StoreError::Invalid)?;
        let id = self.write(|c| {
            c.execute(
                "INSERT INTO projects (team_id, slug, name, owner_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![team_id, slug, name, owner_id, now_ms()],
            )
            .map_err(|e| conflict_or(e, &format!("project {slug}")))?;
            Ok(c.last_insert_rowid())
        })?;
        self.project_by_id(id)?
            .ok_or_else(|| StoreError::NotFound(format!("project {id}")))
    }

    fn project_by_slug(&self, slug: &str) -> StoreResult<Option<Project>> {
        self.project_where("p.slug = ?1", slug)
    }

    fn project_by_id(&self, id: i64) -> StoreResult<Option<Project>> {
        self.project_where("p.id = ?1", id)
    }

    fn list_projects(&self) -> StoreResult<Vec<Project>> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {PROJECT_COLS} FROM projects p JOIN teams t ON t.id = p.team_id \
                 ORDER BY p.id"
            ))?;
            let rows = stmt.query_map([], project_row)?;
            rows.collect()
        })
    }

    fn create_key(&self, project_id: i64, label: &str) -> StoreResult<ProjectKey> {
        let public_key = secrets::random_hex(16);
        let secret_key = secrets::random_hex(16);
        self.write(|c| {
            c.execute(
                "INSERT INTO project_keys (project_id, public_key, secret_key, label, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![project_id, public_key, secret_key, label, now_ms()],
            )
            .map_err(|e| conflict_or(e, "project key"))?;
            Ok(ProjectKey {
                id: c.last_insert_rowid(),
                project_id,
                public_key,
                secret_key,
                label: label.to_owned(),
                is_active: true,
                rate_limit: None,
            })
        })
    }

    fn list_keys(&self, project_id: i64) -> StoreResult<Vec<ProjectKey>> {
        self.write(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {KEY_COLS} FROM project_keys WHERE project_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([project_id], key_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn key_by_public(&self, public_key: &str) -> StoreResult<Option<ProjectKey>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {KEY_COLS} FROM project_keys WHERE public_key = ?1"),
                [public_key],
                key_row,
            )
            .optional()
        })
    }

    fn set_key_active(&self, key_id: i64, active: bool) -> StoreResult<()> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE project_keys SET is_active = ?1 WHERE id = ?2",
                params![active, key_id],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("key {key_id}")));
            }
            Ok(())
        })
    }

    fn set_key_rate_limit(&self, key_id: i64, limit: Option<RateLimit>) -> StoreResult<()> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE project_keys SET rate_limit_count = ?1, rate_limit_window = ?2 WHERE id = ?3",
                params![
                    limit.map(|l| l.count as i64),
                    limit.map(|l| l.window_secs as i64),
                    key_id
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("key {key_id}")));
            }
            Ok(())
        })
    }

    fn create_token(&self, user_id: i64, token_hash: &str, label: &str) -> StoreResult<i64> {
        self.write(|c| {
            c.execute(
                "INSERT INTO api_tokens (user_id, token_hash, label, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![user_id, token_hash, label, now_ms()],
            )
            .map_err(|e| conflict_or(e, "token"))?;
            Ok(c.last_insert_rowid())
        })
    }

    fn user_by_token(&self, token_hash: &str) -> StoreResult<Option<User>> {
        self.read(|c| {
            c.query_row(
                "SELECT u.id, u.email, u.password_hash, u.is_superuser, u.is_active \
                 FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = ?1 AND u.is_active = 1",
                [token_hash],
                user_row,
            )
            .optional()
        })
    }

    fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.write(|c| {
            Ok(
                c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }

    fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    fn write_batch(&self, events: &[NewEvent]) -> Vec<StoreResult<WriteOutcome>> {
        // The checkpointer holds the writer off only for a bounded time: past it (a
        // checkpoint stuck on a failing disk) the writer commits without the gate, which
        // only costs the WAL its restart (SQLite's own locks keep the two apart).
        let _gate = self.commit_gate.try_lock_for(ingest::MAX_HOLD_OFF);
        if _gate.is_none() {
            tracing::warn!("the checkpointer held the writer off too long; committing anyway");
        }
        let conn = self.writer.lock();
        self.start_checkpointer(&conn);
        ingest::write_batch(&conn, events)
    }

    fn background_failure(&self) -> Option<String> {
        self.checkpointer.get()?.as_ref()?.failure()
    }

    fn list_issues(
        &self,
        project_id: i64,
        filter: &IssueFilter,
        page: Page,
    ) -> StoreResult<Vec<Issue>> {
        let mut sql = format!("SELECT {ISSUE_COLS} FROM issues i WHERE i.project_id = ?");
        let mut args: Vec<rusqlite::types::Value> = vec![project_id.into()];
        if let Some(status) = filter.status {
            sql.push_str(" AND i.status = ?");
            args.push(status.as_str().to_owned().into());
        }
        if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!(
                "%{}%",
                text.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            sql.push_str(" AND (i.title LIKE ? ESCAPE '\\' OR i.culprit LIKE ? ESCAPE '\\')");
            args.push(pattern.clone().into());
            args.push(pattern.into());
        }
        for (k, v) in &filter.tags {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = i.id \
                 AND t.key = ? AND t.value = ?)",
            );
            args.push(k.clone().into());
            args.push(v.clone().into());
        }
        sql.push_str(" ORDER BY i.last_seen DESC, i.id DESC LIMIT ? OFFSET ?");
        args.push((page.limit.min(i64::MAX as u64) as i64).into());
        args.push((page.offset.min(i64::MAX as u64) as i64).into());
        self.read(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), issue_row)?;
            rows.collect()
        })
    }

    fn issue(&self, issue_id: i64) -> StoreResult<Option<Issue>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {ISSUE_COLS} FROM issues WHERE id = ?1"),
                [issue_id],
                issue_row,
            )
            .optional()
        })
    }

    fn set_issue_status(&self, issue_id: i64, status: IssueStatus) -> StoreResult<Option<Issue>> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE issues SET status = ?1, \
                   resolved_at = CASE WHEN ?1 = 'resolved' THEN ?2 ELSE NULL END, \
                   substatus = CASE WHEN ?1 = 'unresolved' AND status != 'unresolved' \
                                    THEN 'ongoing' ELSE substatus END \
                 WHERE id = ?3",
                params![status.as_str(), now_ms(), issue_id],
            )?;
            if n == 0 {
                return Ok(None);
            }
            Ok(c.query_row(
                &format!("SELECT {ISSUE_COLS} FROM issues WHERE id = ?1"),
                [issue_id],
                issue_row,
            )
            .optional()?)
        })
    }

    fn list_events(&self, issue_id: i64, page: Page) -> StoreResult<Vec<StoredEvent>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {EVENT_COLS} FROM events WHERE issue_id = ?1 ORDER BY id DESC \
                 LIMIT ?2 OFFSET ?3"
            ))?;
            let rows = stmt.query_map(
                params![issue_id, page.limit as i64, page.offset as i64],
                event_row,
            )?;
            rows.collect()
        })
    }

    fn latest_event(&self, issue_id: i64) -> StoreResult<Option<StoredEvent>> {
        Ok(self
            .list_events(
                issue_id,
                Page {
                    offset: 0,
                    limit: 1,
                },
            )?
            .into_iter()
            .next())
    }

    fn event(&self, project_id: i64, event_id: &str) -> StoreResult<Option<StoredEvent>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {EVENT_COLS} FROM events WHERE project_id = ?1 AND event_id = ?2"),
                params![project_id, event_id],
                event_row,
            )
            .optional()
        })
    }

    fn issue_tags(&self, issue_id: i64) -> StoreResult<Vec<TagCount>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT key, value, times_seen FROM issue_tags WHERE issue_id = ?1 \
                 ORDER BY key, times_seen DESC, value LIMIT 1000",
            )?;
            let rows = stmt.query_map([issue_id], |r| {
                let n: i64 = r.get(2)?;
                Ok(TagCount {
                    key: r.get(0)?,
                    value: r.get(1)?,
                    count: n.max(0) as u64,
                })
            })?;
            rows.collect()
        })
    }

    fn count_events(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
        })
    }

    fn search_issues(
        &self,
        project_id: i64,
        query: &IssueQuery,
        page: Page,
    ) -> StoreResult<IssuePage> {
        browse::search_issues(self, project_id, query, page)
    }

    fn event_histogram(
        &self,
        scope: EventScope,
        start_ms: i64,
        bucket_ms: i64,
        buckets: usize,
    ) -> StoreResult<Vec<u64>> {
        browse::event_histogram(self, scope, start_ms, bucket_ms, buckets)
    }

    fn event_neighbors(&self, issue_id: i64, event_row_id: i64) -> StoreResult<EventNeighbors> {
        browse::event_neighbors(self, issue_id, event_row_id)
    }

    fn list_tokens(&self, user_id: i64) -> StoreResult<Vec<ApiTokenInfo>> {
        browse::list_tokens(self, user_id)
    }

    fn delete_token(&self, user_id: i64, token_id: i64) -> StoreResult<bool> {
        browse::delete_token(self, user_id, token_id)
    }

    fn apply_retention(&self, policy: &RetentionPolicy, now_ms: i64) -> StoreResult<u64> {
        let budget = policy.max_deletions.max(1) as i64;
        self.write(|c| {
            let mut deleted: i64 = 0;
            if policy.max_age_days > 0 {
                let cutoff = now_ms - (policy.max_age_days as i64) * 86_400_000;
                deleted += c.execute(
                    "DELETE FROM events WHERE id IN \
                     (SELECT id FROM events WHERE received < ?1 LIMIT ?2)",
                    params![cutoff, budget],
                )? as i64;
                // Issues whose every event has expired go too, with their tags.
                c.execute(
                    "DELETE FROM issue_tags WHERE issue_id IN (SELECT id FROM issues \
                     WHERE last_seen < ?1 AND NOT EXISTS \
                     (SELECT 1 FROM events e WHERE e.issue_id = issues.id))",
                    [cutoff],
                )?;
                c.execute(
                    "DELETE FROM issues WHERE last_seen < ?1 AND NOT EXISTS \
                     (SELECT 1 FROM events e WHERE e.issue_id = issues.id)",
                    [cutoff],
                )?;
            }
            if policy.max_events_per_issue > 0 && deleted < budget {
                let keep = policy.max_events_per_issue as i64;
                let over: Vec<i64> = {
                    let mut stmt = c.prepare(
                        "SELECT issue_id FROM events WHERE issue_id IS NOT NULL \
                         GROUP BY issue_id HAVING COUNT(*) > ?1",
                    )?;
                    let rows = stmt.query_map([keep], |r| r.get(0))?;
                    rows.collect::<rusqlite::Result<_>>()?
                };
                for issue_id in over {
                    if deleted >= budget {
                        break;
                    }
                    deleted += c.execute(
                        "DELETE FROM events WHERE id IN (SELECT id FROM events \
                         WHERE issue_id = ?1 ORDER BY id DESC LIMIT ?3 OFFSET ?2)",
                        params![issue_id, keep, budget - deleted],
                    )? as i64;
                }
            }
            Ok(deleted.max(0) as u64)
        })
    }
}

#[cfg(test)]
mod failure_tests;
#[cfg(test)]
mod tests;

mod accounts;

mod browse;

mod ingest;
