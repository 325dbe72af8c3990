//! The audit log under attack (issue #17 item 9): anonymous refusals are counted, and
//! only a small sample of them is written; refusals of logged-in users are all written;
//! rows past the audit retention are deleted by the retention pass.

mod common;

use common::{request, TestServer};
use sentry_server_lite::app::audit::ANONYMOUS_ROWS_PER_MINUTE;
use sentry_server_lite::secrets;
use sentry_server_lite::store::accounts::AuditEntry;
use sentry_server_lite::store::RetentionPolicy;

fn metric(s: &TestServer, name: &str) -> u64 {
    let text = request(s.addr, "GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

fn audit_rows(s: &TestServer) -> usize {
    s.store.audit_log(100_000).expect("audit").len()
}

#[test]
fn anonymous_refusals_are_counted_not_written_row_by_row() {
    let s = TestServer::start();
    let rows_before = audit_rows(&s);
    let counted_before = metric(&s, "sentry_lite_anonymous_refusals_total");
    let body = br#"{"slug":"mine","name":"Mine"}"#;
    for i in 0..500 {
        let path = if i % 2 == 0 {
            "/api/0/teams/"
        } else {
            "/api/0/teams/team/"
        };
        let method = if i % 2 == 0 { "POST" } else { "PUT" };
        let r = request(
            s.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            body,
        );
        assert!(
            [401, 404].contains(&r.status),
            "{method} {path}: {}",
            r.status
        );
    }
    let written = audit_rows(&s) - rows_before;
    // Two kinds of refusal, each written at most once a minute (the 500 requests may
    // straddle a minute boundary), and never more than the per-minute cap.
    assert!(
        (1..=4.min(2 * ANONYMOUS_ROWS_PER_MINUTE)).contains(&written),
        "{written} rows for 500 anonymous refusals"
    );
    let counted = metric(&s, "sentry_lite_anonymous_refusals_total") - counted_before;
    assert!(counted >= 500, "{counted} counted");
    assert_eq!(s.store.team_by_slug("mine").expect("team"), None);

    // A logged-in user's refusals are all audited.
    let user = s
        .store
        .create_user(
            "nobody@example.com",
            &secrets::hash_password("password1").expect("hash"),
            false,
        )
        .expect("user");
    let (token, digest) = secrets::new_api_token();
    s.store.create_token(user.id, &digest, "t").expect("token");
    let bearer = format!("Bearer {token}");
    let before = audit_rows(&s);
    for _ in 0..3 {
        let r = request(
            s.addr,
            "POST",
            "/api/0/teams/",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &bearer),
            ],
            body,
        );
        assert_eq!(r.status, 403, "{}", r.text());
    }
    let log = s.store.audit_log(3).expect("audit");
    assert_eq!(audit_rows(&s) - before, 3);
    assert!(log
        .iter()
        .all(|r| r.actor_id == Some(user.id) && r.outcome == "forbidden"));
}

#[test]
fn audit_rows_past_the_retention_are_pruned() {
    let s = TestServer::start();
    s.store
        .audit(&AuditEntry {
            actor_id: None,
            action: "test.action".into(),
            target: "server".into(),
            outcome: "ok".into(),
            details: "old".into(),
        })
        .expect("audit");
    let has_row = |s: &TestServer| {
        s.store
            .audit_log(100_000)
            .expect("audit")
            .iter()
            .any(|r| r.action == "test.action")
    };
    let policy = RetentionPolicy {
        audit_max_age_days: 90,
        ..RetentionPolicy::default()
    };
    let day = 86_400_000;
    let now = sentry_server_lite::clock::now_ms();
    // 89 days later the row stays; 91 days later the retention pass deletes it.
    s.store
        .apply_retention(&policy, now + 89 * day)
        .expect("retention");
    assert!(has_row(&s));
    let keep_all = RetentionPolicy {
        audit_max_age_days: 0,
        ..policy.clone()
    };
    s.store
        .apply_retention(&keep_all, now + 91 * day)
        .expect("retention");
    assert!(has_row(&s), "0 keeps the audit log");
    // On PostgreSQL a pass is skipped while another holds the retention lock (the
    // server's own background pass may be running): try again until one ran.
    for _ in 0..200 {
        s.store
            .apply_retention(&policy, now + 91 * day)
            .expect("retention");
        if !has_row(&s) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!has_row(&s), "the row past the retention is deleted");
}
