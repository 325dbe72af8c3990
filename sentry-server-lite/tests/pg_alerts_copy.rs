//! `db copy` keeps alert rules, their outbox rows (delivery ids, states) and volume
//! windows (issue #19): SQLite → PostgreSQL → SQLite. Needs PostgreSQL: fails (never
//! skips) when `SENTRY_TEST_POSTGRES_URL` is not set.

mod common;

use sentry_server_lite::store::alerts::{self, AlertAction, RuleSpec, Trigger, VolumeThreshold};
use sentry_server_lite::store::copy::{copy, Endpoint};
use sentry_server_lite::store::outbox;
use sentry_server_lite::store::{PgStore, SqliteStore, Store, Synchronous};

fn state(s: &dyn Store, project: i64) -> String {
    let rules = alerts::list_rules(s, project).expect("rules");
    let deliveries: Vec<_> = rules
        .iter()
        .map(|r| outbox::list_deliveries(s, r.id, 100).expect("deliveries"))
        .collect();
    format!("{rules:?}\n{deliveries:?}")
}

#[test]
fn alert_rules_and_deliveries_survive_db_copy_both_ways() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    let back = dir.path().join("back");
    let (project, before) = {
        let s = SqliteStore::open(
            &sentry_server_lite::config::database_path(&src),
            Synchronous::Normal,
        )
        .expect("open");
        let team = s.create_team("t", "T", None).expect("team");
        let p = s.create_project(team.id, "p", "P", None).expect("project");
        let spec = RuleSpec {
            name: "copied".into(),
            triggers: vec![Trigger::NewIssue, Trigger::Volume],
            environment: Some("production".into()),
            level: None,
            volume: Some(VolumeThreshold {
                events: 1,
                minutes: 5,
            }),
            actions: vec![AlertAction::Email {
                to: vec!["a@example.com".into()],
            }],
            frequency_minutes: 0,
        };
        alerts::create_rule(&s, p.id, &spec).expect("rule");
        let mut e = store_event(p.id);
        e.environment = Some("production".into());
        s.write_batch(&[e.clone()]);
        e.event_id = "b".repeat(32);
        s.write_batch(&[e]);
        let st = state(&s, p.id);
        assert!(st.contains("new_issue") && st.contains("volume"), "{st}");
        (p.id, st)
    };
    let url = common::fresh_postgres_database();
    let to_pg = copy(
        &Endpoint::Sqlite(sentry_server_lite::config::database_path(&src)),
        &Endpoint::Postgres(url.clone()),
        false,
        &mut |_, _, _| {},
    )
    .expect("copy to PostgreSQL");
    assert!(
        to_pg
            .tables
            .iter()
            .any(|(t, n)| t == "alert_deliveries" && *n == 2),
        "{to_pg:?}"
    );
    assert_eq!(state(&PgStore::open(&url).expect("pg"), project), before);
    copy(
        &Endpoint::Postgres(url.clone()),
        &Endpoint::Sqlite(sentry_server_lite::config::database_path(&back)),
        false,
        &mut |_, _, _| {},
    )
    .expect("copy back");
    let s = SqliteStore::open(
        &sentry_server_lite::config::database_path(&back),
        Synchronous::Normal,
    )
    .expect("open");
    assert_eq!(state(&s, project), before);
    common::drop_postgres_database(
        url.rsplit('/')
            .next()
            .and_then(|s| s.split('?').next())
            .expect("name"),
    );
}

fn store_event(project_id: i64) -> sentry_server_lite::store::NewEvent {
    sentry_server_lite::store::NewEvent {
        project_id,
        event_id: "a".repeat(32),
        timestamp_ms: 1,
        received_ms: 1,
        level: "error".into(),
        platform: "python".into(),
        release: None,
        environment: None,
        title: "copied issue".into(),
        culprit: "c".into(),
        message: "m".into(),
        issue_type: "error".into(),
        metadata: "{}".into(),
        grouping_version: "g1".into(),
        grouping_hash: "h".into(),
        tags: vec![],
        body_zstd: zstd::bulk::compress(b"{}", 1).expect("zstd"),
        body_size: 2,
    }
}
