//! Storage: one interface ([`Store`]) for everything the ingest pipeline, the API and the
//! CLI need, with two backends: SQLite ([`sqlite`], the default: one file, nothing else to
//! run) and PostgreSQL ([`postgres`]: several server instances on one database). [`open`]
//! picks one from a database URL.
//!
//! Everything is written once for both backends: the statements (with `$n` placeholders)
//! and their execution through [`sql`] (a thin driver per backend), the row mappings in
//! [`rows`], the methods of [`Store`] and [`AccountStore`] as the traits' default methods
//! (`core`, `account_ops`, `browse`, `retention`), and the plan of an ingest batch in
//! [`plan`] (duplicates, issues, tag counts, the issue lifecycle rule). A backend adds
//! only what its dialect really does differently: its schema ([`schema`]), how it
//! commits a batch, its pool or reader connections, and PostgreSQL's advisory locks,
//! notifications and queued tag counts.
//!
//! The interface is synchronous on purpose: SQLite and the blocking PostgreSQL client work
//! best from dedicated threads. Async callers go through
//! `tokio::task::spawn_blocking`; the ingest path goes through the single writer thread
//! ([`crate::writer`]).
//!
//! Grouping is race-free by construction: an issue is identified by the unique
//! `(project_id, grouping_version, grouping_hash)` and created or updated by one upsert,
//! never by a read followed by an insert, so several writers (several server instances on
//! one PostgreSQL database) cannot create the same issue twice.

mod account_ops;
pub mod accounts;
pub mod alerts;
pub mod attachments;
mod browse;
pub mod copy;
mod core;
pub mod feedback;
pub mod health;
pub mod logs;
pub mod monitors;
pub mod outbox;
pub mod plan;
pub mod postgres;
pub mod records;
mod retention;
pub mod rows;
pub mod schema;
pub mod sql;
pub mod sqlite;
mod types;

pub use accounts::AccountStore;
pub use postgres::{DbTarget, PgStore};
pub use records::{BatchOutcome, SideRecord};
pub use sqlite::{SqliteStore, Synchronous};
pub use types::*;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// A file-system error (creating the data directory).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A referenced row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique value is already taken.
    #[error("{0} already exists")]
    Conflict(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A value given to the store is not acceptable.
    #[error("invalid value: {0}")]
    Invalid(String),
    /// PostgreSQL reported an error.
    #[error("database error: {}", postgres::pool::error_chain(.0))]
    Postgres(#[source] ::postgres::Error),
    /// The database cannot be reached (connection refused or lost, server shutting
    /// down): retry later. Ingestion answers 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// Opens the store a server or a command works on: PostgreSQL when `database_url` is
/// given, else the SQLite file at `sqlite_path`.
pub fn open(
    database_url: Option<&str>,
    sqlite_path: &std::path::Path,
    synchronous: Synchronous,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    Ok(match database_url {
        Some(url) => std::sync::Arc::new(PgStore::open(url)?),
        None => std::sync::Arc::new(SqliteStore::open(sqlite_path, synchronous)?),
    })
}

/// Result alias of the storage layer.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the server keeps, behind one interface so that a second backend
/// (PostgreSQL) can be added without touching the code above it.
pub trait Store: AccountStore + Send + Sync + 'static {
    // ---- accounts -------------------------------------------------------------------
    /// Creates a user; the e-mail is unique, compared case-insensitively.
    fn create_user(&self, email: &str, password_hash: &str, superuser: bool) -> StoreResult<User> {
        core::create_user(self, email, password_hash, superuser)
    }
    /// Finds a user by e-mail (case-insensitive).
    fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        core::user_by_email(self, email)
    }
    /// Sets a user's password hash and superuser flag.
    fn update_user(&self, user_id: i64, password_hash: &str, superuser: bool) -> StoreResult<()> {
        core::update_user(self, user_id, password_hash, superuser)
    }
    /// Creates a team owned by `owner_id` (who becomes its admin member).
    fn create_team(&self, slug: &str, name: &str, owner_id: Option<i64>) -> StoreResult<Team> {
        core::create_team(self, slug, name, owner_id)
    }
    /// Finds a team by slug.
    fn team_by_slug(&self, slug: &str) -> StoreResult<Option<Team>> {
        core::team_by_slug(self, slug)
    }
    /// Creates a project in a team.
    fn create_project(
        &self,
        team_id: i64,
        slug: &str,
        name: &str,
        owner_id: Option<i64>,
    ) -> StoreResult<Project> {
        core::create_project(self, team_id, slug, name, owner_id)
    }
    /// Finds a project by its (globally unique) slug.
    fn project_by_slug(&self, slug: &str) -> StoreResult<Option<Project>> {
        core::project_by_slug(self, slug)
    }
    /// Finds a project by id.
    fn project_by_id(&self, id: i64) -> StoreResult<Option<Project>> {
        core::project_by_id(self, id)
    }
    /// All projects with their team slug.
    fn list_projects(&self) -> StoreResult<Vec<Project>> {
        core::list_projects(self)
    }
    /// Creates a project key with fresh random public and secret keys.
    fn create_key(&self, project_id: i64, label: &str) -> StoreResult<ProjectKey> {
        core::create_key(self, project_id, label)
    }
    /// The keys of a project.
    fn list_keys(&self, project_id: i64) -> StoreResult<Vec<ProjectKey>> {
        core::list_keys(self, project_id)
    }
    /// Finds a key by its public part (what ingestion authenticates with).
    fn key_by_public(&self, public_key: &str) -> StoreResult<Option<ProjectKey>> {
        core::key_by_public(self, public_key)
    }
    /// Activates or revokes a key.
    fn set_key_active(&self, key_id: i64, active: bool) -> StoreResult<()> {
        core::set_key_active(self, key_id, active)
    }
    /// Sets a key's rate limit (`None` = unlimited).
    fn set_key_rate_limit(&self, key_id: i64, limit: Option<RateLimit>) -> StoreResult<()> {
        core::set_key_rate_limit(self, key_id, limit)
    }
    /// Stores an API token by its hash.
    fn create_token(&self, user_id: i64, token_hash: &str, label: &str) -> StoreResult<i64> {
        core::create_token(self, user_id, token_hash, label)
    }
    /// Reads a small setting.
    fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        core::get_setting(self, key)
    }
    /// Writes a small setting.
    fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        core::set_setting(self, key, value)
    }

    // ---- ingestion ------------------------------------------------------------------
    /// Commits a batch of events and the records written beside them ([`SideRecord`]:
    /// logs, sessions, ...) in one transaction and answers each, in order. When the
    /// batch transaction fails, backends retry event by event and record by record so
    /// that one bad item cannot fail the others.
    fn write_records(&self, events: &[NewEvent], side: &[SideRecord]) -> BatchOutcome;

    /// [`Store::write_records`] of events alone: one outcome per event, in order.
    fn write_batch(&self, events: &[NewEvent]) -> Vec<StoreResult<WriteOutcome>> {
        self.write_records(events, &[]).events
    }

    /// Why a background thread of the backend (SQLite's WAL checkpointer) has stopped,
    /// if one has: `/healthz` then answers 503 with it. `None` while all is well.
    fn background_failure(&self) -> Option<String> {
        None
    }

    // ---- reads ----------------------------------------------------------------------
    /// One issue.
    fn issue(&self, issue_id: i64) -> StoreResult<Option<Issue>> {
        core::issue(self, issue_id)
    }
    /// Sets an issue's status; returns the updated issue.
    fn set_issue_status(&self, issue_id: i64, status: IssueStatus) -> StoreResult<Option<Issue>> {
        core::set_issue_status(self, issue_id, status)
    }
    /// Events of an issue, newest first.
    fn list_events(&self, issue_id: i64, page: Page) -> StoreResult<Vec<StoredEvent>> {
        core::list_events(self, issue_id, page)
    }
    /// The newest event of an issue.
    fn latest_event(&self, issue_id: i64) -> StoreResult<Option<StoredEvent>> {
        Ok(core::list_events(
            self,
            issue_id,
            Page {
                offset: 0,
                limit: 1,
            },
        )?
        .into_iter()
        .next())
    }
    /// An event by project and event id (32 hex).
    fn event(&self, project_id: i64, event_id: &str) -> StoreResult<Option<StoredEvent>> {
        core::event(self, project_id, event_id)
    }
    /// Tag values of an issue with their counts.
    fn issue_tags(&self, issue_id: i64) -> StoreResult<Vec<TagCount>> {
        core::issue_tags(self, issue_id)
    }
    /// Number of stored events (all projects); for tests and metrics.
    fn count_events(&self) -> StoreResult<u64> {
        core::count_events(self)
    }

    /// How many writer threads commit batches side by side unless configured otherwise:
    /// 1 for SQLite (one write connection), more where transactions run concurrently.
    fn writer_threads(&self) -> usize {
        1
    }

    /// The most writer threads this store can serve at once (1 for SQLite).
    fn max_writer_threads(&self) -> usize {
        1
    }

    // ---- rate limits ----------------------------------------------------------------
    /// Takes `n` events from a key's budget in the window containing `now_ms`, shared by
    /// every instance on the same database. `Ok(None)`: this backend keeps no shared
    /// counters (a single server counts in memory). `Ok(Some(Err(seconds)))`: the budget
    /// is spent until the window resets; nothing was taken.
    fn take_rate_limit(
        &self,
        key_id: i64,
        limit: &RateLimit,
        n: u64,
        now_ms: i64,
    ) -> StoreResult<Option<Result<(), u64>>> {
        let _ = (key_id, limit, n, now_ms);
        Ok(None)
    }

    /// A number that changes whenever a project key or a project's allowed origins may
    /// have changed on any instance sharing this database, so that key caches can drop
    /// what they hold at once instead of waiting for their entries to expire. Backends
    /// with a single server return a constant (0).
    fn key_generation(&self) -> u64 {
        0
    }

    /// Counts one login attempt for `email` (lower-cased) in a window shared by every
    /// instance on the same database (the failed-login throttle of the web UI).
    /// `Ok(None)`: this backend keeps no shared counters (a single server counts in
    /// memory). `Ok(Some(Err(seconds)))`: `max` attempts were made in the window, which
    /// started at most `window_ms` ago; wait that long.
    fn take_login_attempt(
        &self,
        email: &str,
        max: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Option<Result<(), u64>>> {
        let _ = (email, max, window_ms, now_ms);
        Ok(None)
    }

    /// Forgets the login attempts counted for `email` by
    /// [`Store::take_login_attempt`] (after a successful login).
    fn clear_login_attempts(&self, email: &str) -> StoreResult<()> {
        let _ = email;
        Ok(())
    }

    // ---- reads for the web UI ---------------------------------------------------------
    /// A page of a project's issues matching `query`, in its order (ties: newest id
    /// first), with the number of matching issues.
    fn search_issues(
        &self,
        project_id: i64,
        query: &IssueQuery,
        page: Page,
    ) -> StoreResult<IssuePage> {
        browse::search_issues(self, project_id, query, page)
    }
    /// Events received per time bucket: `buckets` consecutive windows of `bucket_ms`
    /// starting at `start_ms` (by receive time), for sparklines.
    fn event_histogram(
        &self,
        scope: EventScope,
        start_ms: i64,
        bucket_ms: i64,
        buckets: usize,
    ) -> StoreResult<Vec<u64>> {
        browse::event_histogram(self, scope, start_ms, bucket_ms, buckets)
    }
    /// The oldest, previous, next and latest events of an issue around the event with
    /// row id `event_row_id` (by row id, i.e. arrival order).
    fn event_neighbors(&self, issue_id: i64, event_row_id: i64) -> StoreResult<EventNeighbors> {
        browse::event_neighbors(self, issue_id, event_row_id)
    }
    /// A user's API tokens, newest first.
    fn list_tokens(&self, user_id: i64) -> StoreResult<Vec<ApiTokenInfo>> {
        browse::list_tokens(self, user_id)
    }
    /// Deletes one of a user's API tokens; whether it existed (and was theirs).
    fn delete_token(&self, user_id: i64, token_id: i64) -> StoreResult<bool> {
        browse::delete_token(self, user_id, token_id)
    }

    // ---- maintenance ----------------------------------------------------------------
    /// Deletes events older than the policy's age and beyond its per-issue count, at
    /// most `policy.max_deletions` rows per call; returns how many events were deleted.
    fn apply_retention(&self, policy: &RetentionPolicy, now_ms: i64) -> StoreResult<u64> {
        retention::apply(self, policy, now_ms)
    }
}
