//! `db copy` carries a project's structured logs (issue #20) from SQLite to PostgreSQL
//! and back, ids and attributes kept (always on PostgreSQL).

mod common;

use std::sync::Arc;

use sentry_server_lite::store::copy::{copy, Endpoint};
use sentry_server_lite::store::logs::{self, LogFilter, NewLog};
use sentry_server_lite::store::{SideRecord, SqliteStore, Store, Synchronous};

fn log(project_id: i64, i: i64) -> NewLog {
    NewLog {
        project_id,
        timestamp_ms: 1_700_000_000_000 + i,
        received_ms: 1_700_000_000_000 + i,
        level: "warn".into(),
        severity: 13,
        body: format!("copied {i}"),
        trace_id: Some(format!("{i:032x}")),
        span_id: Some(format!("{i:016x}")),
        release: Some("r@1".into()),
        environment: None,
        attributes: format!(r#"{{"n":{i},"tag":"x"}}"#),
    }
}

#[test]
fn logs_survive_a_copy_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sentry_server_lite::config::database_path(dir.path());
    let pid = {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&path, Synchronous::Normal).expect("sqlite"));
        let team = store.create_team("t", "T", None).expect("team");
        let p = store
            .create_project(team.id, "p", "P", None)
            .expect("project");
        let out = store.write_records(
            &[],
            &[SideRecord::Logs((0..3).map(|i| log(p.id, i)).collect())],
        );
        assert!(out.side.iter().all(Result::is_ok));
        p.id
    };
    let name = format!("t_{}", common::new_id());
    let url = common::create_postgres_database(&name);
    copy(
        &Endpoint::Sqlite(path.clone()),
        &Endpoint::Postgres(url.clone()),
        false,
        &mut |_, _, _| {},
    )
    .expect("copy to PostgreSQL");
    let pg = sentry_server_lite::store::open(Some(&url), &path, Synchronous::Normal).expect("pg");
    let copied = logs::search(&*pg, pid, &LogFilter::default(), 10).expect("read");
    assert_eq!(copied.len(), 3);
    assert_eq!(copied[0].body, "copied 2");
    assert_eq!(copied[0].attributes, r#"{"n":2,"tag":"x"}"#);
    assert_eq!(
        copied[2].trace_id.as_deref(),
        Some(format!("{:032x}", 0).as_str())
    );
    // New rows get ids after the copied ones.
    let out = pg.write_records(&[], &[SideRecord::Logs(vec![log(pid, 9)])]);
    assert!(out.side.iter().all(Result::is_ok));
    let newest = logs::search(&*pg, pid, &LogFilter::default(), 1).expect("read");
    assert!(newest[0].id > copied[0].id);
    let back = tempfile::tempdir().expect("tempdir");
    let back_path = sentry_server_lite::config::database_path(back.path());
    copy(
        &Endpoint::Postgres(url.clone()),
        &Endpoint::Sqlite(back_path.clone()),
        false,
        &mut |_, _, _| {},
    )
    .expect("copy back");
    let sqlite = SqliteStore::open(&back_path, Synchronous::Normal).expect("sqlite");
    assert_eq!(logs::count(&sqlite, pid).expect("count"), 4);
    drop(pg);
    common::drop_postgres_database(&name);
}
