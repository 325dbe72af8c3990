//! The store's test suite ([`store_suite`]) on a SQLite file.

#[macro_use]
mod store_suite;

use sentry_server_lite::store::{SqliteStore, Store, Synchronous};

/// A fresh SQLite store in a temporary directory (kept alive with it).
fn open() -> (tempfile::TempDir, Box<dyn Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SqliteStore::open(&dir.path().join("sentry.db"), Synchronous::Normal).expect("open");
    (dir, Box::new(s))
}

store_suite_tests!(open);
