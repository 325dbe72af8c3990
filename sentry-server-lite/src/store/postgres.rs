//! The PostgreSQL backend: several server instances on one database behave as one server.
//!
//! - Connections come from a small blocking pool ([`pool`]); a connection that breaks is
//!   dropped and the next call opens a new one, so the server recovers by itself when the
//!   database comes back. Meanwhile calls fail with [`StoreError::Unavailable`] (ingestion
//!   answers 503 with `Retry-After`).
//! - The writer's group commit holds: a batch is one multi-row statement (`unnest` of
//!   arrays, prepared once per connection, one round trip), committed before any event of
//!   it is acknowledged (`ingest`). Its tag counts are queued with it and folded into
//!   `issue_tags` by a background thread; reads add the queued counts, so they are exact.
//! - Grouping is one `INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING` on the unique
//!   `(project_id, grouping_version, grouping_hash)`: the same new error arriving at two
//!   instances at once makes one issue with the exact count.
//! - Rate-limit windows and the failed-login throttle live in the database (every
//!   instance counts against one budget), and retention runs under an advisory lock (one
//!   instance at a time).
//! - Key changes notify every instance (a trigger and `LISTEN`, `background`), so a
//!   revoked key stops working on all of them at once.

mod accounts;
mod background;
mod browse;
mod ingest;
pub mod pool;
pub mod schema;

use ::postgres::types::ToSql;
use ::postgres::Row;

pub use pool::DbTarget;
use pool::{outside_runtime, Conn, Pool};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::*;
use crate::secrets;

/// Connections per instance: the writers, the API's blocking threads and the key lookups.
const POOL_SIZE: usize = 16;
/// Writer threads per instance: batches commit side by side, so one batch's round trip
/// and commit wait overlap with the next one's. On the 2-core benchmark machine
/// (BENCHMARKS.md #11) two gave the highest single-instance throughput with the same
/// two-instance figure as one thread; more threads make smaller batches, which cost
/// PostgreSQL more per event (4: about a third less than 2, 8: under half).
///
/// Several instances sharing one machine split it: on the 2-core machine, two instances
/// with one writer and one async worker each (`serve --worker-threads 1 --writer-threads
/// 1`) spent 2–15% more CPU per event than one instance with the defaults, two instances
/// with the defaults 3–41% more (BENCHMARKS.md #11).
const WRITER_THREADS: usize = 2;
/// At most half the pool commits at once, so that pages and API calls always find a
/// connection.
pub const MAX_WRITER_THREADS: usize = POOL_SIZE / 2;

/// The PostgreSQL implementation of [`Store`].
pub struct PgStore {
    pool: Arc<Pool>,
    /// Ends the background threads when the store is dropped.
    stop: Arc<background::Stop>,
    /// Whether the tag folder runs (started by the first batch written).
    folder: OnceLock<bool>,
    /// Whether the key-change listener runs (started by the first key-cache check).
    key_listener: OnceLock<bool>,
    /// Bumped on every key change any instance makes (see [`Store::key_generation`]).
    key_generation: Arc<AtomicU64>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop.stop();
    }
}

/// Runs `f` with a connection of `pool`, off any async worker.
fn with_pool<T: Send>(
    pool: &Pool,
    f: impl FnOnce(&mut Conn) -> StoreResult<T> + Send,
) -> StoreResult<T> {
    outside_runtime(|| {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
}

fn now_ms() -> i64 {
    crate::clock::now_ms()
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        if is_unavailable(&e) {
            StoreError::Unavailable(pool::error_chain(&e))
        } else {
            StoreError::Postgres(e)
        }
    }
}

/// Connection-level failures: the database went away (or refuses connections for now).
fn is_unavailable(e: &::postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let c = code.code();
            c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03" | "53300")
        }
        None => std::error::Error::source(e)
            .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()),
    }
}

/// Unique and foreign-key violations become [`StoreError::Conflict`].
fn conflict_or(e: ::postgres::Error, what: &str) -> StoreError {
    match e.code().map(|c| c.code()) {
        Some(c) if c.starts_with("23") => StoreError::Conflict(what.to_owned()),
        _ => e.into(),
    }
}

impl PgStore {
    /// Connects to `url` (see [`DbTarget::parse`]) and applies pending migrations. Fails
    /// within the connect timeout (10 s by default) when the database cannot be reached.
    pub fn open(url: &str) -> StoreResult<Self> {
        Self::open_target(DbTarget::parse(url)?)
    }

    /// Like [`PgStore::open`] with a parsed target.
    pub fn open_target(target: DbTarget) -> StoreResult<Self> {
        let store = PgStore {
            pool: Arc::new(Pool::new(target, POOL_SIZE)),
            stop: Arc::default(),
            folder: OnceLock::new(),
            key_listener: OnceLock::new(),
            key_generation: Arc::default(),
        };
        store.with(|c| schema::migrate(&mut c.client).map(drop))?;
        Ok(store)
    }

    /// Applies pending migrations; returns the versions applied now.
    pub fn migrate(&self) -> StoreResult<Vec<i64>> {
        self.with(|c| schema::migrate(&mut c.client))
    }

    /// `host:port/dbname` of the database.
    pub fn describe(&self) -> &str {
        &self.pool.target().display
    }

    /// Runs `f` with a pooled connection, off any async worker.
    pub(crate) fn with<T: Send>(
        &self,
        f: impl FnOnce(&mut Conn) -> StoreResult<T> + Send,
    ) -> StoreResult<T> {
        with_pool(&self.pool, f)
    }

    /// Folds every queued tag count into `issue_tags` now (the background folder does this
    /// within a fraction of a second; `db copy` calls it so that it copies folded counts).
    /// Returns the queued rows folded.
    pub fn fold_tags(&self) -> StoreResult<u64> {
        self.with(ingest::fold_all_tags)
    }

    /// Starts the background tag folder once.
    fn start_folder(&self) {
        self.folder.get_or_init(|| {
            background::start_folder(self.pool.target().clone(), self.stop.clone())
        });
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        self.with(|c| Ok(c.client.query(sql, params)?))
    }

    fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
        self.with(|c| Ok(c.client.query_opt(sql, params)?))
    }

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        self.with(|c| Ok(c.client.execute(sql, params)?))
    }

    fn project_where(
        &self,
        condition: &str,
        param: &(dyn ToSql + Sync),
    ) -> StoreResult<Option<Project>> {
        self.query_opt(
            &format!(
                "SELECT {PROJECT_COLS} FROM projects p JOIN teams t ON t.id = p.team_id \
                 WHERE {condition}"
            ),
            &[param],
        )?
        .map(|r| project_row(&r))
        .transpose()
    }
}

type RowResult<T> = Result<T, StoreError>;

pub(crate) const USER_COLS: &str = "id, email, password_hash, is_superuser, is_active";
pub(crate) fn user_row(r: &Row) -> RowResult<User> {
    Ok(User {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        password_hash: r.try_get(2)?,
        is_superuser: r.try_get(3)?,
        is_active: r.try_get(4)?,
    })
}

pub(crate) const TEAM_COLS: &str = "id, slug, name, owner_id";
pub(crate) fn team_row(r: &Row) -> RowResult<Team> {
    Ok(Team {
        id: r.try_get(0)?,
        slug: r.try_get(1)?,
        name: r.try_get(2)?,
        owner_id: r.try_get(3)?,
    })
}

const PROJECT_COLS: &str =
    "p.id, p.team_id, t.slug, p.slug, p.name, p.owner_id, p.is_public, p.allowed_origins";
fn project_row(r: &Row) -> RowResult<Project> {
    let origins: String = r.try_get(7)?;
    Ok(Project {
        id: r.try_get(0)?,
        team_id: r.try_get(1)?,
        team_slug: r.try_get(2)?,
        slug: r.try_get(3)?,
        name: r.try_get(4)?,
        owner_id: r.try_get(5)?,
        is_public: r.try_get(6)?,
        allowed_origins: origins
            .split_whitespace()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

pub(crate) const KEY_COLS: &str =
    "id, project_id, public_key, secret_key, label, is_active, rate_limit_count, rate_limit_window";
pub(crate) fn key_row(r: &Row) -> RowResult<ProjectKey> {
    let count: Option<i64> = r.try_get(6)?;
    let window: Option<i64> = r.try_get(7)?;
    Ok(ProjectKey {
        id: r.try_get(0)?,
        project_id: r.try_get(1)?,
        public_key: r.try_get(2)?,
        secret_key: r.try_get(3)?,
        label: r.try_get(4)?,
        is_active: r.try_get(5)?,
        rate_limit: match (count, window) {
            (Some(c), Some(w)) if c >= 0 && w > 0 => Some(RateLimit {
                count: c as u64,
                window_secs: w as u64,
            }),
            _ => None,
        },
    })
}

pub(crate) const ISSUE_COLS: &str = "id, project_id, grouping_version, grouping_hash, title, \
    culprit, level, platform, issue_type, metadata, status, substatus, first_seen, last_seen, \
    times_seen, resolved_at, is_public";
pub(crate) fn issue_row(r: &Row) -> RowResult<Issue> {
    let status: String = r.try_get(10)?;
    let times_seen: i64 = r.try_get(14)?;
    Ok(Issue {
        id: r.try_get(0)?,
        project_id: r.try_get(1)?,
        grouping_version: r.try_get(2)?,
        grouping_hash: r.try_get(3)?,
        title: r.try_get(4)?,
        culprit: r.try_get(5)?,
        level: r.try_get(6)?,
        platform: r.try_get(7)?,
        issue_type: r.try_get(8)?,
        metadata: r.try_get(9)?,
        status: IssueStatus::parse(&status).unwrap_or(IssueStatus::Unresolved),
        substatus: r.try_get(11)?,
        first_seen_ms: r.try_get(12)?,
        last_seen_ms: r.try_get(13)?,
        times_seen: times_seen.max(0) as u64,
        resolved_at_ms: r.try_get(15)?,
        is_public: r.try_get(16)?,
    })
}

const EVENT_COLS: &str = "id, project_id, event_id, issue_id, timestamp, received, level, \
    platform, title, culprit, message, body";
fn event_row(r: &Row) -> RowResult<StoredEvent> {
    let compressed: Vec<u8> = r.try_get(11)?;
    let body = zstd::stream::decode_all(&compressed[..])
        .map_err(|e| StoreError::Corrupt(format!("event body: {e}")))?;
    Ok(StoredEvent {
        id: r.try_get(0)?,
        project_id: r.try_get(1)?,
        event_id: r.try_get(2)?,
        issue_id: r.try_get(3)?,
        timestamp_ms: r.try_get(4)?,
        received_ms: r.try_get(5)?,
        level: r.try_get(6)?,
        platform: r.try_get(7)?,
        title: r.try_get(8)?,
        culprit: r.try_get(9)?,
        message: r.try_get(10)?,
        body,
    })
}

fn rows<T>(rows: Vec<Row>, f: impl Fn(&Row) -> RowResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

fn clamp(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

impl Store for PgStore {
    fn create_user(&self, email: &str, password_hash: &str, superuser: bool) -> StoreResult<User> {
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(StoreError::Invalid(format!("e-mail {email:?}")));
        }
        let row = self.with(|c| {
            c.client
                .query_one(
                    "INSERT INTO users (email, email_lower, password_hash, is_superuser, \
                     created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[
                        &email,
                        &email.to_lowercase(),
                        &password_hash,
                        &superuser,
                        &now_ms(),
                    ],
                )
                .map_err(|e| conflict_or(e, &format!("user {email}")))
        })?;
        Ok(User {
            id: row.try_get(0)?,
            email: email.to_owned(),
            password_hash: password_hash.to_owned(),
            is_superuser: superuser,
            is_active: true,
        })
    }

    fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let lower = email.trim().to_lowercase();
        self.query_opt(
            &format!("SELECT {USER_COLS} FROM users WHERE email_lower = $1"),
            &[&lower],
        )?
        .map(|r| user_row(&r))
        .transpose()
    }

    fn update_user(&self, user_id: i64, password_hash: &str, superuser: bool) -> StoreResult<()> {
        let n = self.execute(
            "UPDATE users SET password_hash = $1, is_superuser = $2 WHERE id = $3",
            &[&password_hash, &superuser, &user_id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        Ok(())
    }

    fn create_team(&self, slug: &str, name: &str, owner_id: Option<i64>) -> StoreResult<Team> {
        crate::slug::validate(slug).map_err(StoreError::Invalid)?;
        let id = self.with(|c| {
            let mut tx = c.client.transaction()?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO teams (slug, name, owner_id, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&slug, &name, &owner_id, &now_ms()],
                )
                .map_err(|e| conflict_or(e, &format!("team {slug}")))?
                .try_get(0)?;
            if let Some(owner) = owner_id {
                tx.execute(
                    "INSERT INTO memberships (team_id, user_id, role, created_at) \
                     VALUES ($1, $2, 'admin', $3)",
                    &[&id, &owner, &now_ms()],
                )
                .map_err(|e| conflict_or(e, "owner"))?;
            }
            tx.commit()?;
            Ok(id)
        })?;
        Ok(Team {
            id,
            slug: slug.to_owned(),
            name: name.to_owned(),
            owner_id,
        })
    }

    fn team_by_slug(&self, slug: &str) -> StoreResult<Option<Team>> {
        self.query_opt(
            &format!("SELECT {TEAM_COLS} FROM teams WHERE slug = $1"),
            &[&slug],
        )?
        .map(|r| team_row(&r))
        .transpose()
    }

    fn create_project(
        &self,
        team_id: i64,
        slug: &str,
        name: &str,
        owner_id: Option<i64>,
    ) -> StoreResult<Project> {
        crate::slug::validate(slug).map_err(StoreError::Invalid)?;
        let id: i64 = self
            .with(|c| {
                c.client
                    .query_one(
                        "INSERT INTO projects (team_id, slug, name, owner_id, created_at) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        &[&team_id, &slug, &name, &owner_id, &now_ms()],
                    )
                    .map_err(|e| conflict_or(e, &format!("project {slug}")))
            })?
            .try_get(0)?;
        self.project_by_id(id)?
            .ok_or_else(|| StoreError::NotFound(format!("project {id}")))
    }

    fn project_by_slug(&self, slug: &str) -> StoreResult<Option<Project>> {
        self.project_where("p.slug = $1", &slug)
    }

    fn project_by_id(&self, id: i64) -> StoreResult<Option<Project>> {
        self.project_where("p.id = $1", &id)
    }

    fn list_projects(&self) -> StoreResult<Vec<Project>> {
        rows(
            self.query(
                &format!(
                    "SELECT {PROJECT_COLS} FROM projects p JOIN teams t ON t.id = p.team_id \
                     ORDER BY p.id"
                ),
                &[],
            )?,
            project_row,
        )
    }

    fn create_key(&self, project_id: i64, label: &str) -> StoreResult<ProjectKey> {
        let public_key = secrets::random_hex(16);
        let secret_key = secrets::random_hex(16);
        let id: i64 = self
            .with(|c| {
                c.client
                    .query_one(
                        "INSERT INTO project_keys (project_id, public_key, secret_key, label, \
                         created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        &[&project_id, &public_key, &secret_key, &label, &now_ms()],
                    )
                    .map_err(|e| conflict_or(e, "project key"))
            })?
            .try_get(0)?;
        Ok(ProjectKey {
            id,
            project_id,
            public_key,
            secret_key,
            label: label.to_owned(),
            is_active: true,
            rate_limit: None,
        })
    }

    fn list_keys(&self, project_id: i64) -> StoreResult<Vec<ProjectKey>> {
        rows(
            self.query(
                &format!("SELECT {KEY_COLS} FROM project_keys WHERE project_id = $1 ORDER BY id"),
                &[&project_id],
            )?,
            key_row,
        )
    }

    fn key_by_public(&self, public_key: &str) -> StoreResult<Option<ProjectKey>> {
        self.query_opt(
            &format!("SELECT {KEY_COLS} FROM project_keys WHERE public_key = $1"),
            &[&public_key],
        )?
        .map(|r| key_row(&r))
        .transpose()
    }

    fn set_key_active(&self, key_id: i64, active: bool) -> StoreResult<()> {
        let n = self.execute(
            "UPDATE project_keys SET is_active = $1 WHERE id = $2",
            &[&active, &key_id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("key {key_id}")));
        }
        Ok(())
    }

    fn set_key_rate_limit(&self, key_id: i64, limit: Option<RateLimit>) -> StoreResult<()> {
        let n = self.execute(
            "UPDATE project_keys SET rate_limit_count = $1, rate_limit_window = $2 WHERE id = $3",
            &[
                &limit.map(|l| clamp(l.count)),
                &limit.map(|l| clamp(l.window_secs)),
                &key_id,
            ],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("key {key_id}")));
        }
        Ok(())
    }

    fn create_token(&self, user_id: i64, token_hash: &str, label: &str) -> StoreResult<i64> {
        Ok(self
            .with(|c| {
                c.client
                    .query_one(
                        "INSERT INTO api_tokens (user_id, token_hash, label, created_at) \
                         VALUES ($1, $2, $3, $4) RETURNING id",
                        &[&user_id, &token_hash, &label, &now_ms()],
                    )
                    .map_err(|e| conflict_or(e, "token"))
            })?
            .try_get(0)?)
    }

    fn user_by_token(&self, token_hash: &str) -> StoreResult<Option<User>> {
        self.query_opt(
            "SELECT u.id, u.email, u.password_hash, u.is_superuser, u.is_active \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND u.is_active",
            &[&token_hash],
        )?
        .map(|r| user_row(&r))
        .transpose()
    }

    fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .query_opt("SELECT value FROM settings WHERE key = $1", &[&key])?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        self.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&key, &value],
        )?;
        Ok(())
    }

    fn write_batch(&self, events: &[NewEvent]) -> Vec<StoreResult<WriteOutcome>> {
        self.start_folder();
        ingest::write_batch(self, events)
    }

    fn list_issues(
        &self,
        project_id: i64,
        filter: &IssueFilter,
        page: Page,
    ) -> StoreResult<Vec<Issue>> {
        let mut sql = format!("SELECT {ISSUE_COLS} FROM issues i WHERE i.project_id = $1");
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(project_id)];
        let mut arg = |sql: &mut String, v: Box<dyn ToSql + Sync + Send>, text: &str| {
            args.push(v);
            sql.push_str(&text.replace('?', &format!("${}", args.len())));
        };
        if let Some(status) = filter.status {
            arg(&mut sql, Box::new(status.as_str()), " AND i.status = ?");
        }
        if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!(
                "%{}%",
                text.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            arg(
                &mut sql,
                Box::new(pattern),
                " AND (i.title ILIKE ? ESCAPE '\\' OR i.culprit ILIKE ? ESCAPE '\\')",
            );
        }
        for (k, v) in &filter.tags {
            arg(
                &mut sql,
                Box::new(k.clone()),
                " AND EXISTS (SELECT 1 FROM issue_tags_live t WHERE t.issue_id = i.id AND t.key = ?",
            );
            arg(&mut sql, Box::new(v.clone()), " AND t.value = ?)");
        }
        arg(
            &mut sql,
            Box::new(clamp(page.limit)),
            " ORDER BY i.last_seen DESC, i.id DESC LIMIT ?",
        );
        arg(&mut sql, Box::new(clamp(page.offset)), " OFFSET ?");
        let params: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect();
        rows(self.query(&sql, &params)?, issue_row)
    }

    fn issue(&self, issue_id: i64) -> StoreResult<Option<Issue>> {
        self.query_opt(
            &format!("SELECT {ISSUE_COLS} FROM issues WHERE id = $1"),
            &[&issue_id],
        )?
        .map(|r| issue_row(&r))
        .transpose()
    }

    fn set_issue_status(&self, issue_id: i64, status: IssueStatus) -> StoreResult<Option<Issue>> {
        self.query_opt(
            &format!(
                "UPDATE issues SET status = $1, \
                   resolved_at = CASE WHEN $1 = 'resolved' THEN $2::bigint ELSE NULL END, \
                   substatus = CASE WHEN $1 = 'unresolved' AND status <> 'unresolved' \
                                    THEN 'ongoing' ELSE substatus END \
                 WHERE id = $3 RETURNING {ISSUE_COLS}"
            ),
            &[&status.as_str(), &now_ms(), &issue_id],
        )?
        .map(|r| issue_row(&r))
        .transpose()
    }

    fn list_events(&self, issue_id: i64, page: Page) -> StoreResult<Vec<StoredEvent>> {
        rows(
            self.query(
                &format!(
                    "SELECT {EVENT_COLS} FROM events WHERE issue_id = $1 ORDER BY id DESC \
                     LIMIT $2 OFFSET $3"
                ),
                &[&issue_id, &clamp(page.limit), &clamp(page.offset)],
            )?,
            event_row,
        )
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
        self.query_opt(
            &format!("SELECT {EVENT_COLS} FROM events WHERE project_id = $1 AND event_id = $2"),
            &[&project_id, &event_id],
        )?
        .map(|r| event_row(&r))
        .transpose()
    }

    fn issue_tags(&self, issue_id: i64) -> StoreResult<Vec<TagCount>> {
        rows(
            self.query(
                "SELECT key, value, SUM(times_seen)::bigint AS n FROM issue_tags_live \
                 WHERE issue_id = $1 GROUP BY key, value ORDER BY key, n DESC, value LIMIT 1000",
                &[&issue_id],
            )?,
            |r| {
                let n: i64 = r.try_get(2)?;
                Ok(TagCount {
                    key: r.try_get(0)?,
                    value: r.try_get(1)?,
                    count: n.max(0) as u64,
                })
            },
        )
    }

    fn count_events(&self) -> StoreResult<u64> {
        let n: i64 = self
            .with(|c| Ok(c.client.query_one("SELECT COUNT(*) FROM events", &[])?))?
            .try_get(0)?;
        Ok(n.max(0) as u64)
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

    fn writer_threads(&self) -> usize {
        WRITER_THREADS
    }

    fn max_writer_threads(&self) -> usize {
        MAX_WRITER_THREADS
    }

    fn take_rate_limit(
        &self,
        key_id: i64,
        limit: &RateLimit,
        n: u64,
        now_ms: i64,
    ) -> StoreResult<Option<Result<(), u64>>> {
        ingest::take_rate_limit(self, key_id, limit, n, now_ms).map(Some)
    }

    fn apply_retention(&self, policy: &RetentionPolicy, now_ms: i64) -> StoreResult<u64> {
        ingest::apply_retention(self, policy, now_ms)
    }

    fn key_generation(&self) -> u64 {
        self.key_listener.get_or_init(|| {
            background::start_key_listener(
                self.pool.target().clone(),
                self.key_generation.clone(),
                self.stop.clone(),
            )
        });
        self.key_generation.load(Ordering::SeqCst)
    }

    fn take_login_attempt(
        &self,
        email: &str,
        max: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Option<Result<(), u64>>> {
        ingest::take_login_attempt(self, email, max, window_ms, now_ms).map(Some)
    }

    fn clear_login_attempts(&self, email: &str) -> StoreResult<()> {
        self.execute("DELETE FROM login_attempts WHERE email = $1", &[&email])?;
        Ok(())
    }
}
