//! The store's test suite, one source for both backends: every case takes a fresh
//! `&dyn Store` and uses only the storage interface, and `store_suite_tests!(open)` makes
//! one `#[test]` of each case on the store `open()` returns (tests/sqlite_store.rs on a
//! SQLite file, tests/pg_store.rs on a fresh PostgreSQL database).
#![allow(dead_code)]

pub mod accounts;
pub mod alerts;
pub mod browse;
pub mod core;
pub mod feedback;

use sentry_server_lite::store::{NewEvent, Store, StoreResult, WriteOutcome};

/// A team `t` with a project `p` in `s`; the project's id.
pub fn project(s: &dyn Store) -> i64 {
    let team = s.create_team("t", "T", None).expect("team");
    s.create_project(team.id, "p", "P", None)
        .expect("project")
        .id
}

/// An event of project `project_id` with id `id` in group `hash` at `at` (ms), tagged
/// `level=error` and `release=r1`.
pub fn event(project_id: i64, id: &str, hash: &str, at: i64) -> NewEvent {
    NewEvent {
        project_id,
        event_id: id.to_owned(),
        timestamp_ms: at,
        received_ms: at,
        level: "error".into(),
        platform: "python".into(),
        release: Some("r1".into()),
        environment: None,
        title: format!("title {hash}"),
        culprit: "app in f".into(),
        message: "m".into(),
        issue_type: "error".into(),
        metadata: "{}".into(),
        grouping_version: "g1".into(),
        grouping_hash: hash.to_owned(),
        tags: vec![
            ("level".into(), "error".into()),
            ("release".into(), "r1".into()),
        ],
        body_zstd: zstd::bulk::compress(br#"{"message":"m"}"#, 3).expect("zstd"),
        body_size: 15,
    }
}

/// `(issue id, new issue, regression)` of a stored event's outcome.
pub fn stored(o: &StoreResult<WriteOutcome>) -> (i64, bool, bool) {
    match o {
        Ok(WriteOutcome::Stored {
            issue_id,
            new_issue,
            regression,
        }) => (*issue_id, *new_issue, *regression),
        other => panic!("not stored: {other:?}"),
    }
}

/// One `#[test]` per case of the suite, each on a store from `$open()` (which returns
/// `(anything to keep alive, a store)`).
#[macro_export]
macro_rules! store_suite_tests {
    ($open:ident) => {
        $crate::store_suite_tests!(@cases $open;
            core::upsert_groups_dedups_and_reopens,
            core::batches_group_dedup_and_reopen,
            core::events_keep_their_tags,
            core::issue_filters_and_pages,
            core::retention_by_age_and_count,
            core::accounts_keys_tokens_settings,
            accounts::memberships_owners_and_moves,
            accounts::share_ids_bookmarks_and_deletion,
            accounts::sessions_expire_and_audit_is_ordered,
            browse::search_sorts_filters_counts_and_bookmarks,
            browse::histograms_and_neighbors,
            browse::tokens_are_listed_and_deleted_per_user,
            alerts::batches_queue_alerts_and_claims_are_exclusive,
            feedback::attachments_and_feedback_follow_their_events,
        );
    };
    (@cases $open:ident; $($module:ident :: $case:ident),* $(,)?) => {
        mod suite {
            $(
                #[test]
                fn $case() {
                    let (_keep, store) = super::$open();
                    super::store_suite::$module::$case(&*store);
                }
            )*
        }
    };
}
