//! What only SQLite has: the shared suite runs in tests/sqlite_store.rs.

use super::*;

/// Reopening a file runs no migration twice and sees the data.
#[test]
fn reopening_keeps_the_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sentry.db");
    let s = SqliteStore::open(&path, Synchronous::Normal).expect("open");
    s.set_setting("a", "2").expect("set");
    drop(s);
    let again = SqliteStore::open(&path, Synchronous::Full).expect("reopen");
    assert_eq!(again.get_setting("a").expect("get").as_deref(), Some("2"));
}
