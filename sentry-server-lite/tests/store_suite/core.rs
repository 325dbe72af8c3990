//! Issues, events, tags, retention, keys, tokens and settings.

use sentry_server_lite::store::*;

use super::*;

/// A case of the suite.
pub fn upsert_groups_dedups_and_reopens(s: &dyn Store) {
    let pid = project(s);
    let out = s.write_batch(&[
        event(pid, "a1", "h1", 1000),
        event(pid, "a2", "h1", 2000),
        event(pid, "b1", "h2", 1500),
    ]);
    let (i1, new1, _) = stored(&out[0]);
    let (i1b, new1b, _) = stored(&out[1]);
    let (i2, new2, _) = stored(&out[2]);
    assert_eq!(i1, i1b);
    assert_ne!(i1, i2);
    assert!(new1 && !new1b && new2);
    // A retried event id changes nothing.
    assert!(matches!(
        s.write_batch(&[event(pid, "a1", "h1", 3000)])[0],
        Ok(WriteOutcome::Duplicate)
    ));
    let issue = s.issue(i1).expect("read").expect("issue");
    assert_eq!(
        (issue.times_seen, issue.first_seen_ms, issue.last_seen_ms),
        (2, 1000, 2000)
    );
    assert_eq!(issue.substatus, "ongoing");
    assert_eq!(s.count_events().expect("count"), 3);
    // Resolve, then a new event reopens it as a regression.
    let resolved = s
        .set_issue_status(i1, IssueStatus::Resolved)
        .expect("set")
        .expect("issue");
    assert_eq!(resolved.status, IssueStatus::Resolved);
    assert!(resolved.resolved_at_ms.is_some());
    let (_, _, regression) = stored(&s.write_batch(&[event(pid, "a3", "h1", 4000)])[0]);
    assert!(regression);
    let reopened = s.issue(i1).expect("read").expect("issue");
    assert_eq!(
        (reopened.status, reopened.substatus.as_str()),
        (IssueStatus::Unresolved, "regressed")
    );
    assert_eq!(reopened.resolved_at_ms, None);
    let (_, _, again) = stored(&s.write_batch(&[event(pid, "a4", "h1", 5000)])[0]);
    assert!(!again, "only the reopening event is a regression");
    // Events, newest first, with their bodies.
    let events = s
        .list_events(
            i1,
            Page {
                offset: 0,
                limit: 10,
            },
        )
        .expect("events");
    assert_eq!(
        events
            .iter()
            .map(|e| e.event_id.as_str())
            .collect::<Vec<_>>(),
        ["a4", "a3", "a2", "a1"]
    );
    assert_eq!(events[0].body, br#"{"message":"m"}"#);
    assert_eq!(
        s.latest_event(i1).expect("latest").expect("some").event_id,
        "a4"
    );
    assert_eq!(
        s.event(pid, "b1").expect("get").expect("some").issue_id,
        Some(i2)
    );
    let tags = s.issue_tags(i1).expect("tags");
    assert!(tags.contains(&TagCount {
        key: "release".into(),
        value: "r1".into(),
        count: 4
    }));
}

/// A case of the suite.
pub fn issue_filters_and_pages(s: &dyn Store) {
    let pid = project(s);
    let mut e = event(pid, "x1", "h1", 1000);
    e.tags.push(("browser".into(), "Firefox".into()));
    e.title = "KeyError: 'user'".into();
    s.write_batch(&[
        e,
        event(pid, "x2", "h2", 2000),
        event(pid, "x3", "h3", 3000),
    ]);
    let all = |f: IssueFilter| {
        s.search_issues(
            pid,
            &sentry_server_lite::store::IssueQuery {
                filter: f.clone(),
                ..Default::default()
            },
            Page {
                offset: 0,
                limit: 10,
            },
        )
        .map(|p| p.issues)
        .expect("list")
        .into_iter()
        .map(|i| i.title)
        .collect::<Vec<_>>()
    };
    assert_eq!(
        all(IssueFilter::default()),
        ["title h3", "title h2", "KeyError: 'user'"]
    );
    let by_tag = IssueFilter {
        tags: vec![("browser".into(), "Firefox".into())],
        ..Default::default()
    };
    assert_eq!(all(by_tag), ["KeyError: 'user'"]);
    let by_text = IssueFilter {
        text: Some("keyerror".into()),
        ..Default::default()
    };
    assert_eq!(all(by_text), ["KeyError: 'user'"]);
    let wildcard = IssueFilter {
        text: Some("%".into()),
        ..Default::default()
    };
    assert!(all(wildcard).is_empty(), "LIKE wildcards are escaped");
    let page = s
        .search_issues(
            pid,
            &sentry_server_lite::store::IssueQuery::default(),
            Page {
                offset: 1,
                limit: 1,
            },
        )
        .map(|p| p.issues)
        .expect("page");
    assert_eq!(page[0].title, "title h2");
    let resolved = IssueFilter {
        status: Some(IssueStatus::Resolved),
        ..Default::default()
    };
    assert!(all(resolved).is_empty());
}

/// A case of the suite.
pub fn retention_by_age_and_count(s: &dyn Store) {
    let pid = project(s);
    let day = 86_400_000;
    let now = 100 * day;
    let mut batch = vec![event(pid, "old", "h-old", now - 40 * day)];
    for i in 0..5 {
        batch.push(event(pid, &format!("n{i}"), "h-new", now - 10 + i));
    }
    s.write_batch(&batch);
    let policy = RetentionPolicy {
        max_age_days: 30,
        max_events_per_issue: 3,
        max_deletions: 100,
        ..RetentionPolicy::default()
    };
    assert_eq!(s.apply_retention(&policy, now).expect("retention"), 3);
    assert!(s.event(pid, "old").expect("get").is_none());
    let left: Vec<String> = ["n0", "n1", "n2", "n3", "n4"]
        .iter()
        .filter(|id| s.event(pid, id).expect("get").is_some())
        .map(|s| s.to_string())
        .collect();
    assert_eq!(left, ["n2", "n3", "n4"], "the newest are kept");
    let issues = s
        .search_issues(
            pid,
            &sentry_server_lite::store::IssueQuery::default(),
            Page {
                offset: 0,
                limit: 10,
            },
        )
        .map(|p| p.issues)
        .expect("list");
    assert_eq!(issues.len(), 1, "the expired issue is gone");
    assert_eq!(issues[0].times_seen, 5, "counts survive retention");
}

/// A case of the suite.
pub fn accounts_keys_tokens_settings(s: &dyn Store) {
    let pid = project(s);
    let u = s
        .create_user("Admin@Example.com", "hash", true)
        .expect("user");
    assert!(matches!(
        s.create_user("admin@example.COM", "h", false),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.user_by_email("ADMIN@example.com")
            .expect("get")
            .map(|u| u.id),
        Some(u.id)
    );
    assert!(matches!(
        s.create_team("t", "again", None),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.create_team("Bad Slug", "x", None),
        Err(StoreError::Invalid(_))
    ));
    let k = s.create_key(pid, "Default").expect("key");
    assert_eq!(k.public_key.len(), 32);
    assert_eq!(
        s.key_by_public(&k.public_key)
            .expect("get")
            .map(|k| k.project_id),
        Some(pid)
    );
    s.set_key_active(k.id, false).expect("revoke");
    s.set_key_rate_limit(
        k.id,
        Some(RateLimit {
            count: 5,
            window_secs: 60,
        }),
    )
    .expect("limit");
    let k2 = s.key_by_public(&k.public_key).expect("get").expect("key");
    assert!(!k2.is_active);
    assert_eq!(
        k2.rate_limit,
        Some(RateLimit {
            count: 5,
            window_secs: 60
        })
    );
    s.create_token(u.id, "digest", "cli").expect("token");
    assert_eq!(
        s.token_user("digest").expect("get").map(|u| u.id),
        Some(u.id)
    );
    assert_eq!(s.token_user("other").expect("get"), None);
    s.set_setting("a", "1").expect("set");
    s.set_setting("a", "2").expect("set");
    assert_eq!(s.get_setting("a").expect("get").as_deref(), Some("2"));
    assert_eq!(s.list_projects().expect("list")[0].team_slug, "t");
}

/// A case of the suite: batches across and within, duplicates, the first event of a
/// batch reopening a resolved issue.
pub fn batches_group_dedup_and_reopen(s: &dyn Store) {
    let pid = project(s);
    let out = s.write_batch(&[
        event(pid, "a1", "h1", 1000),
        event(pid, "a2", "h1", 2000),
        event(pid, "b1", "h2", 1500),
        event(pid, "a1", "h1", 3000),
    ]);
    let (i1, new1, _) = stored(&out[0]);
    let (i1b, new1b, _) = stored(&out[1]);
    let (i2, new2, _) = stored(&out[2]);
    assert_eq!(i1, i1b);
    assert_ne!(i1, i2);
    assert!(new1 && !new1b && new2);
    assert!(
        matches!(out[3], Ok(WriteOutcome::Duplicate)),
        "in-batch dup"
    );
    let issue = s.issue(i1).expect("read").expect("issue");
    assert_eq!(issue.times_seen, 2);
    assert_eq!((issue.first_seen_ms, issue.last_seen_ms), (1000, 2000));
    assert_eq!(issue.substatus, "ongoing");
    let tags = s.issue_tags(i1).expect("tags");
    assert!(tags.iter().any(|t| t.key == "level" && t.count == 2));

    // Across batches: a duplicate changes nothing; a resolved issue reopens.
    assert!(matches!(
        s.write_batch(&[event(pid, "a2", "h1", 5000)])[0],
        Ok(WriteOutcome::Duplicate)
    ));
    // A batch mixing a stored event with new ones: the stored one is a duplicate and the
    // others are counted once (the attempt that hit the stored event left nothing behind).
    let out = s.write_batch(&[
        event(pid, "b1", "h2", 5100),
        event(pid, "b2", "h2", 5200),
        event(pid, "c1", "h3", 5300),
    ]);
    assert!(
        matches!(out[0], Ok(WriteOutcome::Duplicate)),
        "{:?}",
        out[0]
    );
    let (i2b, new_b2, _) = stored(&out[1]);
    let (_, new_c1, _) = stored(&out[2]);
    assert_eq!(i2b, i2);
    assert!(!new_b2 && new_c1);
    let issue2 = s.issue(i2).expect("read").expect("issue");
    assert_eq!(issue2.times_seen, 2);
    let tags2 = s.issue_tags(i2).expect("tags");
    assert!(
        tags2.iter().any(|t| t.key == "level" && t.count == 2),
        "{tags2:?}"
    );
    s.set_issue_status(i1, IssueStatus::Resolved)
        .expect("resolve");
    let out = s.write_batch(&[event(pid, "a3", "h1", 6000), event(pid, "a4", "h1", 7000)]);
    let (_, new3, reg3) = stored(&out[0]);
    let (_, _, reg4) = stored(&out[1]);
    assert!(
        !new3 && reg3 && !reg4,
        "the first event of the batch reopens it"
    );
    let issue = s.issue(i1).expect("read").expect("issue");
    assert_eq!(issue.status, IssueStatus::Unresolved);
    assert_eq!(issue.substatus, "regressed");
    assert_eq!(issue.times_seen, 4);
    assert_eq!(s.count_events().expect("count"), 7);
    assert_eq!(
        s.latest_event(i1).expect("latest").expect("event").event_id,
        "a4"
    );
}

/// A case of the suite: each event reads back with the tags stored at ingest.
pub fn events_keep_their_tags(s: &dyn Store) {
    let pid = project(s);
    let mut e = event(pid, "t1", "h1", 1000);
    e.tags = vec![
        ("browser".into(), "Firefox \"128\"".into()),
        ("level".into(), "error".into()),
    ];
    let (issue, _, _) = stored(&s.write_batch(&[e.clone()])[0]);
    let latest = s.latest_event(issue).expect("read").expect("event");
    assert_eq!(latest.tags, e.tags);
    let by_id = s.event(pid, "t1").expect("read").expect("event");
    assert_eq!(by_id.tags, e.tags);
    let listed = s
        .list_events(
            issue,
            Page {
                offset: 0,
                limit: 10,
            },
        )
        .expect("list");
    assert_eq!(listed[0].tags, e.tags);
    let mut bare = event(pid, "t2", "h1", 2000);
    bare.tags.clear();
    s.write_batch(&[bare]);
    assert!(s
        .event(pid, "t2")
        .expect("read")
        .expect("event")
        .tags
        .is_empty());
}
