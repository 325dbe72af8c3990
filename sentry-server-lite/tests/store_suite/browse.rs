//! The web UI's reads: search, histograms, neighbors, tokens.

use sentry_server_lite::secrets;
use sentry_server_lite::store::*;

use super::*;

fn event(project_id: i64, hash: &str, title: &str, received_ms: i64) -> NewEvent {
    NewEvent {
        project_id,
        event_id: secrets::random_hex(16),
        timestamp_ms: received_ms,
        received_ms,
        level: "error".into(),
        platform: "rust".into(),
        release: None,
        environment: None,
        title: title.into(),
        culprit: "main".into(),
        message: String::new(),
        issue_type: "error".into(),
        metadata: format!("{{\"value\":\"{title} value\"}}"),
        grouping_version: "g1".into(),
        grouping_hash: hash.into(),
        tags: vec![("server".into(), format!("host-{hash}"))],
        body_zstd: zstd::bulk::compress(b"{}", 1).expect("zstd"),
        body_size: 2,
    }
}

fn write(s: &dyn Store, e: NewEvent) -> i64 {
    match s.write_batch(&[e]).remove(0).expect("write") {
        WriteOutcome::Stored { issue_id, .. } => issue_id,
        WriteOutcome::Duplicate => panic!("duplicate"),
    }
}

const ALL: Page = Page {
    offset: 0,
    limit: 100,
};

/// A case of the suite.
pub fn search_sorts_filters_counts_and_bookmarks(s: &dyn Store) {
    let pid = project(s);
    // a: first seen at 1000, 3 events, last seen 5000; b: 2000, 1 event; c: 3000, 2 events.
    let a = write(s, event(pid, "a", "Alpha crash", 1_000));
    let b = write(s, event(pid, "b", "Beta timeout", 2_000));
    let c = write(s, event(pid, "c", "Gamma crash", 3_000));
    write(s, event(pid, "c", "Gamma crash", 3_500));
    write(s, event(pid, "a", "Alpha crash", 4_000));
    write(s, event(pid, "a", "Alpha crash", 5_000));
    let ids = |q: &IssueQuery, page: Page| -> (Vec<i64>, u64) {
        let r = s.search_issues(pid, q, page).expect("search");
        (r.issues.iter().map(|i| i.id).collect(), r.total)
    };
    let mut q = IssueQuery::default();
    assert_eq!(ids(&q, ALL), (vec![a, c, b], 3));
    q.sort = IssueSort::FirstSeen;
    assert_eq!(ids(&q, ALL), (vec![c, b, a], 3));
    q.sort = IssueSort::Events;
    assert_eq!(ids(&q, ALL), (vec![a, c, b], 3));
    // Pages keep the total.
    assert_eq!(
        ids(
            &q,
            Page {
                offset: 1,
                limit: 1
            }
        ),
        (vec![c], 3)
    );
    // Text matches title, culprit and metadata, case-insensitively; tags must match.
    q.filter.text = Some("CRASH".into());
    assert_eq!(ids(&q, ALL), (vec![a, c], 2));
    q.filter.text = Some("timeout value".into());
    assert_eq!(ids(&q, ALL), (vec![b], 1));
    q.filter.text = Some("100%".into());
    assert_eq!(ids(&q, ALL), (vec![], 0));
    q.filter.text = None;
    q.filter.tags = vec![("server".into(), "host-c".into())];
    assert_eq!(ids(&q, ALL), (vec![c], 1));
    q.filter.tags.clear();
    // Status and bookmarks.
    s.set_issue_status(b, IssueStatus::Resolved)
        .expect("resolve");
    q.filter.status = Some(IssueStatus::Unresolved);
    assert_eq!(ids(&q, ALL), (vec![a, c], 2));
    let user = s.create_user("u@x.io", "h", false).expect("user");
    s.set_bookmark(user.id, c, true).expect("bookmark");
    q.filter.status = None;
    q.bookmarked_by = Some(user.id);
    assert_eq!(ids(&q, ALL), (vec![c], 1));
    // Another project's issues never show.
    let other = s.create_project(1, "o", "O", None).expect("other");
    assert_eq!(
        s.search_issues(other.id, &IssueQuery::default(), ALL)
            .expect("o")
            .total,
        0
    );
}

/// A case of the suite.
pub fn histograms_and_neighbors(s: &dyn Store) {
    let pid = project(s);
    let i = write(s, event(pid, "a", "A", 1_000));
    write(s, event(pid, "a", "A", 1_500));
    write(s, event(pid, "a", "A", 3_200));
    let j = write(s, event(pid, "b", "B", 3_900));
    write(s, event(pid, "b", "B", 9_000)); // outside the window
    assert_eq!(
        s.event_histogram(EventScope::Project(pid), 1_000, 1_000, 4)
            .expect("h"),
        vec![2, 0, 2, 0]
    );
    assert_eq!(
        s.event_histogram(EventScope::Issue(i), 1_000, 1_000, 4)
            .expect("h"),
        vec![2, 0, 1, 0]
    );
    assert_eq!(
        s.event_histogram(EventScope::Issue(j), 0, 1_000, 0)
            .expect("h"),
        Vec::<u64>::new()
    );
    let events = s.list_events(i, ALL).expect("events"); // newest first
    assert_eq!(events.len(), 3);
    let (newest, middle, oldest) = (&events[0], &events[1], &events[2]);
    let n = s.event_neighbors(i, middle.id).expect("n");
    assert_eq!(n.oldest.as_deref(), Some(oldest.event_id.as_str()));
    assert_eq!(n.previous.as_deref(), Some(oldest.event_id.as_str()));
    assert_eq!(n.next.as_deref(), Some(newest.event_id.as_str()));
    assert_eq!(n.latest.as_deref(), Some(newest.event_id.as_str()));
    let n = s.event_neighbors(i, oldest.id).expect("n");
    assert_eq!(n.previous, None);
    let n = s.event_neighbors(i, newest.id).expect("n");
    assert_eq!(n.next, None);
}

/// A case of the suite.
pub fn tokens_are_listed_and_deleted_per_user(s: &dyn Store) {
    project(s);
    let u = s.create_user("u@x.io", "h", false).expect("u");
    let v = s.create_user("v@x.io", "h", false).expect("v");
    let t1 = s.create_token(u.id, "d1", "laptop").expect("t1");
    let t2 = s.create_token(u.id, "d2", "ci").expect("t2");
    let listed = s.list_tokens(u.id).expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|t| (t.id, t.label.as_str()))
            .collect::<Vec<_>>(),
        vec![(t2, "ci"), (t1, "laptop")]
    );
    assert!(!s.delete_token(v.id, t1).expect("not theirs"));
    assert!(s.delete_token(u.id, t1).expect("delete"));
    assert!(s.token_user("d1").expect("gone").is_none());
    assert_eq!(s.list_tokens(u.id).expect("list").len(), 1);
}
