//! Accounts: memberships, owners, sharing, bookmarks, deletion, sessions, audit.

use sentry_server_lite::policy::Role;
use sentry_server_lite::secrets;
use sentry_server_lite::store::accounts::*;
use sentry_server_lite::store::*;

fn event(project_id: i64, hash: &str) -> NewEvent {
    NewEvent {
        project_id,
        event_id: secrets::random_hex(16),
        timestamp_ms: 1_000,
        received_ms: 1_000,
        level: "error".into(),
        platform: "other".into(),
        release: None,
        environment: None,
        title: "t".into(),
        culprit: "c".into(),
        message: "m".into(),
        issue_type: "default".into(),
        metadata: "{}".into(),
        grouping_version: "g1".into(),
        grouping_hash: hash.into(),
        tags: vec![("level".into(), "error".into())],
        body_zstd: zstd::bulk::compress(b"{}", 1).expect("zstd"),
        body_size: 2,
    }
}

fn issue_of_event(s: &dyn Store, e: NewEvent) -> i64 {
    match s.write_batch(&[e]).remove(0).expect("write") {
        WriteOutcome::Stored { issue_id, .. } => issue_id,
        WriteOutcome::Duplicate => panic!("duplicate"),
    }
}

/// A case of the suite.
pub fn memberships_owners_and_moves(s: &dyn Store) {
    let a = s.create_user("a@x.io", "h", false).expect("a");
    let b = s.create_user("b@x.io", "h", false).expect("b");
    let t1 = s.create_team("t1", "T1", Some(a.id)).expect("t1");
    let t2 = s.create_team("t2", "T2", None).expect("t2");
    assert_eq!(
        s.memberships_of(a.id).expect("m"),
        vec![(t1.id, Role::Admin)]
    );
    s.set_membership(t1.id, b.id, Role::Agent).expect("add");
    s.set_membership(t1.id, b.id, Role::Member).expect("change");
    s.set_membership(t2.id, b.id, Role::Admin)
        .expect("other team");
    let mut roles = s.memberships_of(b.id).expect("m");
    roles.sort_by_key(|(t, _)| *t);
    assert_eq!(roles, vec![(t1.id, Role::Member), (t2.id, Role::Admin)]);
    assert!(s.remove_membership(t2.id, b.id).expect("rm"));
    assert!(!s.remove_membership(t2.id, b.id).expect("rm again"));
    s.set_team_owner(t1.id, b.id).expect("owner");
    s.rename_team(t1.id, "Renamed").expect("rename");
    let t = s.team_by_id(t1.id).expect("r").expect("t");
    assert_eq!((t.owner_id, t.name.as_str()), (Some(b.id), "Renamed"));
    assert!(s.rename_team(t1.id, "  ").is_err());

    let p = s.create_project(t1.id, "p", "P", None).expect("p");
    let p2 = s
        .update_project(
            p.id,
            &ProjectUpdate {
                name: Some("New".into()),
                is_public: Some(true),
                allowed_origins: Some(vec!["a.example".into(), "*.b.example".into()]),
                ..Default::default()
            },
        )
        .expect("update");
    assert_eq!(p2.name, "New");
    assert!(p2.is_public);
    assert_eq!(p2.allowed_origins, vec!["a.example", "*.b.example"]);
    assert!(s
        .update_project(
            p.id,
            &ProjectUpdate {
                allowed_origins: Some(vec!["a b".into()]),
                ..Default::default()
            }
        )
        .is_err());
    s.set_project_owner(p.id, a.id).expect("owner");
    s.move_project(p.id, t2.id).expect("move");
    let moved = s.project_by_id(p.id).expect("r").expect("p");
    assert_eq!(
        (moved.team_slug.as_str(), moved.owner_id),
        ("t2", Some(a.id))
    );
    // Deactivated users keep their tokens on record but are flagged.
    s.set_user_active(b.id, false).expect("deactivate");
    assert!(!s.user_by_id(b.id).expect("r").expect("b").is_active);
}

/// A case of the suite.
pub fn share_ids_bookmarks_and_deletion(s: &dyn Store) {
    let u = s.create_user("u@x.io", "h", false).expect("u");
    let t = s.create_team("t", "T", None).expect("t");
    let p = s.create_project(t.id, "p", "P", None).expect("p");
    let i1 = issue_of_event(s, event(p.id, "h1"));
    let i2 = issue_of_event(s, event(p.id, "h2"));
    issue_of_event(s, event(p.id, "h1"));

    let share = s
        .set_issue_public(i1, true)
        .expect("pub")
        .expect("share id");
    assert_eq!(share.len(), 32);
    assert_eq!(
        s.set_issue_public(i1, true).expect("again"),
        Some(share.clone()),
        "stable while public"
    );
    assert_eq!(
        s.issue_by_share_id(&share).expect("r").map(|i| i.id),
        Some(i1)
    );
    assert_eq!(s.set_issue_public(i1, false).expect("private"), None);
    assert!(
        s.issue_by_share_id(&share).expect("r").is_none(),
        "old link dead"
    );
    assert!(s.set_issue_public(999, true).is_err());

    s.set_bookmark(u.id, i1, true).expect("bm");
    s.set_bookmark(u.id, i1, true).expect("bm twice");
    assert_eq!(s.bookmarked(u.id, &[i1, i2]).expect("b"), vec![i1]);
    s.set_bookmark(u.id, i1, false).expect("unbm");
    assert!(s.bookmarked(u.id, &[i1]).expect("b").is_empty());
    s.set_bookmark(u.id, i2, true).expect("bm");

    assert!(s.delete_issue(i2).expect("del"));
    assert!(!s.delete_issue(i2).expect("del again"));
    assert!(s.issue(i2).expect("r").is_none());
    assert!(s.bookmarked(u.id, &[i2]).expect("b").is_empty());
    assert_eq!(s.count_events().expect("c"), 2);
    assert_eq!(
        s.set_issue_status(i1, IssueStatus::Resolved)
            .expect("s")
            .map(|i| i.status),
        Some(IssueStatus::Resolved)
    );
    assert!(
        s.list_events(
            i1,
            Page {
                offset: 0,
                limit: 10
            }
        )
        .expect("e")
        .len()
            == 2
    );

    s.create_key(p.id, "k").expect("key");
    assert!(s.delete_project(p.id).expect("del"));
    assert_eq!(s.count_events().expect("c"), 0);
    assert!(s.issue(i1).expect("r").is_none());
    assert!(s.list_keys(p.id).expect("k").is_empty());
}

/// A case of the suite.
pub fn sessions_expire_and_audit_is_ordered(s: &dyn Store) {
    let u = s.create_user("u@x.io", "h", false).expect("u");
    s.create_session("hash1", u.id, "csrf1", 5_000)
        .expect("session");
    let live = s.session("hash1", 4_999).expect("r").expect("live");
    assert_eq!((live.user.id, live.csrf_token.as_str()), (u.id, "csrf1"));
    assert!(s.session("hash1", 5_000).expect("r").is_none(), "expired");
    assert!(s.session("other", 0).expect("r").is_none());
    s.set_user_active(u.id, false).expect("deactivate");
    assert!(s.session("hash1", 0).expect("r").is_none(), "inactive user");
    assert!(s.delete_session("hash1").expect("delete"), "it existed");
    assert!(!s.delete_session("hash1").expect("delete"), "deleted once");

    // Every session of a user but one ends (after a password change).
    s.set_user_active(u.id, true).expect("reactivate");
    let other = s.create_user("o@x.io", "h", false).expect("o");
    for (hash, user) in [("a", u.id), ("b", u.id), ("c", u.id), ("d", other.id)] {
        s.create_session(hash, user, "csrf", 5_000)
            .expect("session");
    }
    assert_eq!(s.delete_user_sessions(u.id, Some("b")).expect("end"), 2);
    let left: Vec<bool> = ["a", "b", "c", "d"]
        .iter()
        .map(|h| s.session(h, 0).expect("r").is_some())
        .collect();
    assert_eq!(left, [false, true, false, true]);
    assert_eq!(s.delete_user_sessions(u.id, None).expect("end"), 1);

    for n in 0..3 {
        s.audit(&AuditEntry {
            actor_id: Some(u.id),
            action: format!("a{n}"),
            target: "t".into(),
            outcome: "ok".into(),
            details: String::new(),
        })
        .expect("audit");
    }
    let log = s.audit_log(2).expect("log");
    assert_eq!(
        log.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        vec!["a2", "a1"]
    );
}
