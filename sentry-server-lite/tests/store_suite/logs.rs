//! Structured logs in the store (issue #20): written by a batch beside events, read
//! newest first with every filter and the keyset cursor, a trace in time order, a batch
//! with a bad record failing alone, retention and project deletion.

use sentry_server_lite::store::logs::{self, LogFilter, NewLog};
use sentry_server_lite::store::{RetentionPolicy, SideRecord, Store};

fn log(project_id: i64, i: i64, level: &str, trace: &str, attributes: &str) -> NewLog {
    NewLog {
        project_id,
        timestamp_ms: 1_000_000 + i,
        received_ms: 1_000_000 + i,
        level: level.into(),
        severity: 9,
        body: format!("body {i}"),
        trace_id: Some(trace.into()),
        span_id: None,
        release: Some(if i % 2 == 0 { "r1" } else { "r2" }.into()),
        environment: Some("prod".into()),
        attributes: attributes.into(),
    }
}

pub fn logs_are_written_filtered_paged_and_retained(s: &dyn Store) {
    let pid = super::project(s);
    let t1 = "11111111111111111111111111111111";
    let t2 = "22222222222222222222222222222222";
    let batch: Vec<NewLog> = (0..10)
        .map(|i| {
            let attrs = format!(r#"{{"n":{i},"user.id":"u{}","ok":{}}}"#, i % 3, i % 2 == 0);
            let level = if i % 4 == 0 { "error" } else { "info" };
            log(pid, i, level, if i < 5 { t1 } else { t2 }, &attrs)
        })
        .collect();
    let (first, rest) = batch.split_at(4);
    let out = s.write_records(
        &[super::event(pid, "e1", "h", 1_000_000)],
        &[
            SideRecord::Logs(first.to_vec()),
            SideRecord::Logs(rest.to_vec()),
        ],
    );
    assert!(out.events.iter().all(Result::is_ok) && out.side.iter().all(Result::is_ok));
    assert_eq!(logs::count(s, pid).expect("count"), 10);
    let bodies = |f: LogFilter, limit: u64| -> Vec<String> {
        logs::search(s, pid, &f, limit)
            .expect("search")
            .into_iter()
            .map(|l| l.body)
            .collect()
    };
    assert_eq!(
        bodies(LogFilter::default(), 3),
        ["body 9", "body 8", "body 7"]
    );
    let errors = LogFilter {
        levels: vec!["error".into()],
        ..Default::default()
    };
    assert_eq!(bodies(errors, 10), ["body 8", "body 4", "body 0"]);
    let attr = |k: &str, v: &str| LogFilter {
        pairs: vec![(k.into(), v.into())],
        ..Default::default()
    };
    assert_eq!(
        bodies(attr("user.id", "u1"), 10),
        ["body 7", "body 4", "body 1"]
    );
    assert_eq!(bodies(attr("n", "3"), 10), ["body 3"]);
    assert_eq!(bodies(attr("ok", "true"), 2), ["body 8", "body 6"]);
    assert_eq!(bodies(attr("release", "r2"), 2), ["body 9", "body 7"]);
    assert!(bodies(attr("missing", "x"), 10).is_empty());
    let text = LogFilter {
        text: vec!["BODY 5".into()],
        ..Default::default()
    };
    assert_eq!(bodies(text, 10), ["body 5"]);
    let ranged = LogFilter {
        since_ms: Some(1_000_002),
        until_ms: Some(1_000_004),
        ..Default::default()
    };
    assert_eq!(bodies(ranged, 10), ["body 3", "body 2"]);
    // Keyset: after the page's last log.
    let page = logs::search(s, pid, &LogFilter::default(), 4).expect("page");
    let last = page.last().expect("last");
    let next = LogFilter {
        before: Some((last.timestamp_ms, last.id)),
        ..Default::default()
    };
    assert_eq!(bodies(next, 2), ["body 5", "body 4"]);
    let trace: Vec<String> = logs::of_trace(s, pid, t1, 100)
        .expect("trace")
        .into_iter()
        .map(|l| l.body)
        .collect();
    assert_eq!(trace, ["body 0", "body 1", "body 2", "body 3", "body 4"]);
    // Retention: the cap keeps the newest; age drops the rest.
    let cap = RetentionPolicy {
        max_age_days: 0,
        max_events_per_issue: 0,
        log_max_age_days: 0,
        max_logs_per_project: 6,
        ..Default::default()
    };
    s.apply_retention(&cap, 2_000_000).expect("retention");
    assert_eq!(logs::count(s, pid).expect("count"), 6);
    assert_eq!(
        bodies(LogFilter::default(), 100).last().map(String::as_str),
        Some("body 4")
    );
    let aged = RetentionPolicy {
        log_max_age_days: 1,
        max_logs_per_project: 0,
        ..cap
    };
    s.apply_retention(&aged, 1_000_000 + 86_400_000 + 7)
        .expect("retention");
    assert_eq!(
        bodies(LogFilter::default(), 100),
        ["body 9", "body 8", "body 7"]
    );
    assert!(s.delete_project(pid).expect("delete"));
    assert_eq!(logs::count(s, pid).expect("count"), 0);
}
