//! The PostgreSQL store directly: the shared store suite ([`store_suite`], also run on
//! SQLite by tests/sqlite_store.rs) on fresh databases, then what only PostgreSQL has:
//! queued tag counts (exact before and after
//! folding, in the background too, by one leading instance with another taking over when
//! it goes), retention (age, per issue, one instance at
//! a time under the advisory lock) and the shared rate-limit window.
//!
//! Needs PostgreSQL: fails (never skips) when `SENTRY_TEST_POSTGRES_URL` is not set.

mod common;
#[macro_use]
mod store_suite;

use common::fresh_postgres_database;
use sentry_server_lite::store::schema::postgres::{LOCK_RETENTION, LOCK_TAG_FOLDER};
use sentry_server_lite::store::{
    AccountStore, DbTarget, Issue, IssueFilter, IssueQuery, NewEvent, Page, PgStore, RateLimit,
    RetentionPolicy, Store,
};
use store_suite::{event, stored};

fn store() -> (String, PgStore, i64) {
    let url = fresh_postgres_database();
    let s = PgStore::open(&url).expect("open");
    let team = s.create_team("t", "T", None).expect("team");
    let p = s.create_project(team.id, "p", "P", None).expect("project");
    (url, s, p.id)
}

/// A fresh database's store, for the shared suite (the URL kept with it).
fn open() -> (String, Box<dyn Store>) {
    let url = fresh_postgres_database();
    let s = PgStore::open(&url).expect("open");
    (url, Box::new(s))
}

store_suite_tests!(open);

#[test]
fn retention_runs_on_one_instance_at_a_time() {
    let (url, s, pid) = store();
    let day = 86_400_000;
    let now = 100 * day;
    let mut batch = vec![event(pid, "old", "h-old", now - 40 * day)];
    for i in 0..5 {
        batch.push(event(pid, &format!("n{i}"), "h-new", now - i));
    }
    s.write_batch(&batch);
    let policy = RetentionPolicy {
        max_age_days: 30,
        max_events_per_issue: 3,
        max_deletions: 100,
        ..RetentionPolicy::default()
    };
    // Another instance holds the retention lock: this one does nothing.
    let mut other = DbTarget::parse(&url)
        .expect("url")
        .connect()
        .expect("connect");
    let mut tx = other.transaction().expect("tx");
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_RETENTION])
        .expect("lock");
    assert_eq!(s.apply_retention(&policy, now).expect("retention"), 0);
    assert_eq!(s.count_events().expect("count"), 6);
    tx.rollback().expect("release");
    assert_eq!(s.apply_retention(&policy, now).expect("retention"), 3);
    assert_eq!(s.count_events().expect("count"), 3);
    assert!(s.event(pid, "old").expect("read").is_none());
    // Per issue, the newest arrivals stay.
    assert!(s.event(pid, "n4").expect("read").is_some(), "newest kept");
    assert!(
        s.event(pid, "n0").expect("read").is_none(),
        "oldest arrival gone"
    );
}

#[test]
fn rate_limit_windows_are_shared() {
    let (url, a, pid) = store();
    let b = PgStore::open(&url).expect("second instance");
    let key = a.create_key(pid, "k").expect("key");
    let limit = RateLimit {
        count: 3,
        window_secs: 60,
    };
    let t = 10 * 60_000 + 15_000;
    assert_eq!(
        a.take_rate_limit(key.id, &limit, 2, t).expect("a"),
        Some(Ok(()))
    );
    assert_eq!(
        b.take_rate_limit(key.id, &limit, 1, t).expect("b"),
        Some(Ok(()))
    );
    assert_eq!(
        b.take_rate_limit(key.id, &limit, 1, t).expect("b"),
        Some(Err(45))
    );
    assert_eq!(
        a.take_rate_limit(key.id, &limit, 1, t + 60_000).expect("a"),
        Some(Ok(())),
        "the next window"
    );
}

fn queued_tag_rows(url: &str) -> i64 {
    let mut db = DbTarget::parse(url)
        .expect("url")
        .connect()
        .expect("connect");
    db.query_one("SELECT count(*) FROM tag_queue", &[])
        .expect("count")
        .get(0)
}

fn tag_count(s: &PgStore, issue_id: i64, key: &str, value: &str) -> Option<u64> {
    s.issue_tags(issue_id)
        .expect("tags")
        .into_iter()
        .find(|t| t.key == key && t.value == value)
        .map(|t| t.count)
}

/// Every issue of a project (the tests make a handful).
fn all_issues(s: &PgStore, pid: i64) -> Vec<Issue> {
    s.search_issues(
        pid,
        &sentry_server_lite::store::IssueQuery::default(),
        Page {
            offset: 0,
            limit: 100,
        },
    )
    .map(|p| p.issues)
    .expect("list")
}

fn with_tag(s: &PgStore, pid: i64, key: &str, value: &str) -> Vec<i64> {
    let filter = IssueFilter {
        tags: vec![(key.into(), value.into())],
        ..IssueFilter::default()
    };
    let page = Page {
        offset: 0,
        limit: 100,
    };
    let listed: Vec<i64> = s
        .search_issues(
            pid,
            &sentry_server_lite::store::IssueQuery {
                filter: filter.clone(),
                ..Default::default()
            },
            page,
        )
        .map(|p| p.issues)
        .expect("list")
        .iter()
        .map(|i| i.id)
        .collect();
    let query = IssueQuery {
        filter,
        ..IssueQuery::default()
    };
    let searched: Vec<i64> = s
        .search_issues(pid, &query, page)
        .expect("search")
        .issues
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(listed, searched, "list and search agree");
    listed
}

#[test]
fn queued_tag_counts_are_exact_before_and_after_folding() {
    let (url, s, pid) = store();
    let mut first = event(pid, "t1", "h1", 1000);
    first.tags.push(("user".into(), "u1".into()));
    let out = s.write_batch(&[first, event(pid, "t2", "h1", 2000)]);
    let (issue, _, _) = stored(&out[0]);
    let (other, _, _) = stored(&s.write_batch(&[event(pid, "t3", "h2", 3000)])[0]);
    s.write_batch(&[event(pid, "t4", "h1", 4000)]);

    // Whatever the background folder has done so far, reads add up both places.
    assert_eq!(tag_count(&s, issue, "level", "error"), Some(3));
    assert_eq!(tag_count(&s, issue, "user", "u1"), Some(1));
    assert_eq!(tag_count(&s, other, "level", "error"), Some(1));
    assert_eq!(with_tag(&s, pid, "user", "u1"), vec![issue]);
    assert_eq!(with_tag(&s, pid, "level", "error").len(), 2);
    assert!(with_tag(&s, pid, "user", "u2").is_empty());

    // Folded: the queue is empty and the counts are the same.
    s.fold_tags().expect("fold");
    assert_eq!(queued_tag_rows(&url), 0);
    assert_eq!(tag_count(&s, issue, "level", "error"), Some(3));
    assert_eq!(tag_count(&s, issue, "user", "u1"), Some(1));
    assert_eq!(with_tag(&s, pid, "user", "u1"), vec![issue]);

    // Folded and queued counts of one tag add up.
    s.write_batch(&[event(pid, "t5", "h1", 5000)]);
    assert_eq!(tag_count(&s, issue, "level", "error"), Some(4));

    // Deleting an issue takes its queued counts too.
    assert!(s.delete_issue(issue).expect("delete"));
    s.write_batch(&[event(pid, "t6", "h2", 6000)]);
    s.fold_tags().expect("fold");
    assert_eq!(queued_tag_rows(&url), 0);
    assert_eq!(tag_count(&s, other, "level", "error"), Some(2));
    assert!(s.issue_tags(issue).expect("tags").is_empty());
}

#[test]
fn the_background_folder_empties_the_queue() {
    let (url, s, pid) = store();
    let batch: Vec<NewEvent> = (0..50)
        .map(|i| event(pid, &format!("b{i}"), &format!("h{}", i % 5), 1000 + i))
        .collect();
    s.write_batch(&batch);
    wait_for("the queue emptied", 10, || {
        (queued_tag_rows(&url) == 0).then_some(())
    });
    let issues = all_issues(&s, pid);
    assert_eq!(issues.len(), 5);
    for i in issues {
        assert_eq!(tag_count(&s, i.id, "level", "error"), Some(10));
        assert_eq!(tag_count(&s, i.id, "release", "r1"), Some(10));
    }
}

/// Backend pids holding the tag folder's session lock on the database at `url`.
fn folder_lock_holders(url: &str) -> Vec<i32> {
    let mut db = DbTarget::parse(url)
        .expect("url")
        .connect()
        .expect("connect");
    // A bigint advisory key is classid (high 32 bits) and objid (low 32 bits), objsubid 1.
    db.query(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND (classid::bigint << 32 | objid::bigint) = $1",
        &[&LOCK_TAG_FOLDER],
    )
    .expect("locks")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not after {secs} s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn one_instance_folds_for_all_and_another_takes_over_when_it_goes() {
    let (url, a, pid) = store();
    // Writing starts a store's folder; `a` is alone, so it leads.
    a.write_batch(&[]);
    let leader = wait_for("a leader", 10, || match folder_lock_holders(&url)[..] {
        [pid] => Some(pid),
        _ => None,
    });
    let b = PgStore::open(&url).expect("open b");
    b.write_batch(&[]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(
        folder_lock_holders(&url),
        vec![leader],
        "the second instance follows"
    );

    // Counts queued through the follower are folded by the leader within its second
    // (the follower's own next fold is ten seconds away).
    let batch: Vec<NewEvent> = (0..40)
        .map(|i| event(pid, &format!("f{i}"), &format!("h{}", i % 4), 2000 + i))
        .collect();
    for o in b.write_batch(&batch) {
        stored(&o);
    }
    assert!(queued_tag_rows(&url) > 0, "the batch queued its tag counts");
    wait_for("the leader folding the follower's rows", 6, || {
        (queued_tag_rows(&url) == 0).then_some(())
    });
    let issues = all_issues(&b, pid);
    assert_eq!(issues.len(), 4);
    for i in &issues {
        assert_eq!(tag_count(&b, i.id, "release", "r1"), Some(10));
    }

    // The leader goes (its session, and the lock with it); the follower takes over at
    // its next try and folds every second from then on.
    drop(a);
    let next = wait_for("a new leader", 25, || match folder_lock_holders(&url)[..] {
        [pid] if pid != leader => Some(pid),
        _ => None,
    });
    assert_ne!(next, leader);
    let more: Vec<NewEvent> = (0..8)
        .map(|i| event(pid, &format!("g{i}"), "h0", 3000 + i))
        .collect();
    for o in b.write_batch(&more) {
        stored(&o);
    }
    wait_for("the new leader folding", 6, || {
        (queued_tag_rows(&url) == 0).then_some(())
    });
    let h0 = issues
        .iter()
        .find(|i| i.title == "title h0")
        .expect("issue h0");
    assert_eq!(tag_count(&b, h0.id, "release", "r1"), Some(18));
}
