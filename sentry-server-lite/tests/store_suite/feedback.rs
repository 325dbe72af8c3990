//! Attachments and user feedback (issue #22): written beside events in one batch,
//! duplicates of a retried envelope skipped, listed and read back, linked to issues at
//! read time, and removed by retention with their events.

use sentry_server_lite::store::attachments::{self, NewAttachment};
use sentry_server_lite::store::feedback::{self, FeedbackSource, NewFeedback};
use sentry_server_lite::store::{Page, RetentionPolicy, SideRecord, Store};

use super::{event, project, stored};

fn file(pid: i64, event_id: &str, ordinal: i64, bytes: &[u8], at: i64) -> SideRecord {
    SideRecord::Attachment(NewAttachment {
        project_id: pid,
        event_id: event_id.to_owned(),
        ordinal,
        name: format!("f{ordinal}.bin"),
        content_type: "application/octet-stream".into(),
        attachment_type: "event.attachment".into(),
        size: bytes.len() as i64,
        body_zstd: zstd::bulk::compress(bytes, 3).expect("zstd"),
        received_ms: at,
    })
}

fn said(pid: i64, id: &str, event_id: Option<&str>, message: &str, at: i64) -> SideRecord {
    SideRecord::Feedback(NewFeedback {
        project_id: pid,
        feedback_id: id.to_owned(),
        event_id: event_id.map(str::to_owned),
        message: message.to_owned(),
        name: Some("Ana".into()),
        email: None,
        url: None,
        source: FeedbackSource::Feedback,
        received_ms: at,
    })
}

const ALL: Page = Page {
    offset: 0,
    limit: 100,
};

/// A case of the suite.
pub fn attachments_and_feedback_follow_their_events(s: &dyn Store) {
    let pid = project(s);
    let day = 86_400_000;
    let now = 100 * day;
    let old = now - 40 * day;
    let events = vec![
        event(pid, "old", "h-old", old),
        event(pid, "new", "h-new", now - 10),
    ];
    let side = vec![
        file(pid, "old", 0, b"old bytes", old),
        file(pid, "new", 0, b"\x00\x01binary\xff", now - 10),
        file(pid, "new", 1, b"second", now - 10),
        // Its event never came: kept for the grace period, then removed.
        file(pid, "late", 0, b"waits", now - 60_000),
        file(pid, "gone", 0, b"orphan", now - 2 * 3_600_000),
        said(pid, "f-old", Some("old"), "old words", old),
        said(pid, "f-new", Some("new"), "new words", now - 5),
        said(pid, "f-alone", Some("never"), "alone", now - 5),
    ];
    let outcome = s.write_records(&events, &side);
    assert!(outcome.side.iter().all(Result::is_ok), "{:?}", outcome.side);
    let issue_new = stored(&outcome.events[1]).0;
    // A retried envelope: the same records again store nothing new.
    let again = s.write_records(&events[1..], &side[1..3]);
    assert!(again.side.iter().all(Result::is_ok));

    let listed = attachments::list_for_event(s, pid, "new").expect("list");
    let names: Vec<&str> = listed.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["f0.bin", "f1.bin"], "once each, in order");
    let (a, bytes) = attachments::get(s, pid, listed[0].id)
        .expect("get")
        .expect("found");
    assert_eq!(bytes, b"\x00\x01binary\xff");
    assert_eq!(a.size, 9);
    assert!(attachments::get(s, pid + 1, listed[0].id)
        .expect("get")
        .is_none());

    let all = feedback::list_for_project(s, pid, ALL).expect("feedback");
    assert_eq!(all.len(), 3);
    let new = all
        .iter()
        .find(|f| f.feedback_id == "f-new")
        .expect("f-new");
    assert_eq!(new.issue.as_ref().map(|i| i.id), Some(issue_new));
    assert_eq!(
        new.issue.as_ref().map(|i| i.title.as_str()),
        Some("title h-new")
    );
    let alone = all
        .iter()
        .find(|f| f.feedback_id == "f-alone")
        .expect("alone");
    assert!(alone.issue.is_none(), "stands alone");
    let on_issue = feedback::list_for_issue(s, issue_new, 10).expect("on issue");
    assert_eq!(on_issue.len(), 1);
    assert_eq!(on_issue[0].message, "new words");

    let policy = RetentionPolicy {
        max_age_days: 30,
        max_events_per_issue: 0,
        max_deletions: 100,
        ..RetentionPolicy::default()
    };
    s.apply_retention(&policy, now).expect("retention");
    assert!(attachments::list_for_event(s, pid, "old")
        .expect("list")
        .is_empty());
    assert!(attachments::list_for_event(s, pid, "gone")
        .expect("list")
        .is_empty());
    assert_eq!(
        attachments::list_for_event(s, pid, "late")
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        attachments::list_for_event(s, pid, "new")
            .expect("list")
            .len(),
        2
    );
    let left: Vec<String> = feedback::list_for_project(s, pid, ALL)
        .expect("feedback")
        .into_iter()
        .map(|f| f.feedback_id)
        .collect();
    assert_eq!(left, ["f-alone", "f-new"]);
    // Deleting the project takes its files and feedback along.
    assert!(s.delete_project(pid).expect("delete"));
    assert!(feedback::list_for_project(s, pid, ALL)
        .expect("feedback")
        .is_empty());
    assert!(attachments::list_for_event(s, pid, "new")
        .expect("list")
        .is_empty());
}
