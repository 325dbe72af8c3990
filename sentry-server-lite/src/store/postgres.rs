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

mod background;
mod driver;
mod ingest;
pub mod pool;

use ::postgres::types::ToSql;

pub use pool::DbTarget;
use pool::{outside_runtime, Conn, Pool};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::*;

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
    /// Every project's alert rules, matched against each batch.
    alert_rules: alerts::RuleCache,
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
            alert_rules: alerts::RuleCache::default(),
        };
        store.with(|c| super::schema::postgres::migrate(&mut c.client).map(drop))?;
        Ok(store)
    }

    /// Applies pending migrations; returns the versions applied now.
    pub fn migrate(&self) -> StoreResult<Vec<i64>> {
        self.with(|c| super::schema::postgres::migrate(&mut c.client))
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

    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        self.with(|c| Ok(c.client.execute(sql, params)?))
    }
}

impl Store for PgStore {
    fn write_records(&self, events: &[NewEvent], side: &[SideRecord]) -> BatchOutcome {
        self.start_folder();
        let rules = self.alert_rules.current(self, self.key_generation());
        ingest::write_batch(self, events, side, &rules)
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
