//! Cron monitors and alert rules (issues #19 and #21): a monitor's failed and missed runs
//! reach its failure threshold, the scheduler's issue event creates the issue and the
//! rule's webhook gets one `new_issue`; good runs resolve it; failing again reopens it and
//! the webhook gets one `regression`. With a test clock, on the backend of the test run.

mod alerts_support;
mod common;

use std::time::Duration;

use alerts_support::Receiver;
use common::{wait_for, TestServer};
use sentry_server_lite::clock::Clock;
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(60);

fn check_in(s: &TestServer, status: &str, config: bool) {
    let config = if config {
        r#","monitor_config":{"schedule":{"type":"interval","value":1,"unit":"minute"},"checkin_margin":1,"failure_issue_threshold":2,"recovery_threshold":1}"#
    } else {
        ""
    };
    let body = format!(
        "{{}}\n{{\"type\":\"check_in\"}}\n{{\"check_in_id\":\"{}\",\"monitor_slug\":\"billing-job\",\"status\":\"{status}\"{config}}}\n",
        common::new_id()
    );
    let r = s.post_envelope(body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
}

fn monitor(s: &TestServer) -> Value {
    s.api("/api/0/projects/team/proj/monitors/")[0].clone()
}

fn wait_monitor(s: &TestServer, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    wait_for(LIMIT, || Some(monitor(s)).filter(|m| f(m)))
        .unwrap_or_else(|| panic!("monitor never {what}: {}", monitor(s)))
}

#[test]
fn monitor_failures_alert_as_new_issue_then_regression() {
    let hook = Receiver::start(200);
    let clock = Clock::test();
    let s = {
        let clock = clock.clone();
        TestServer::start_with(move |c| {
            c.alerts.allow_private_networks = true;
            c.alerts.poll = Duration::from_millis(20);
            c.clock = clock;
            c.monitor_interval = Duration::from_millis(50);
        })
    };
    let r = s.api_raw(
        "POST",
        "/api/0/projects/team/proj/alert-rules/",
        json!({"name": "crons", "triggers": ["new_issue", "regression"],
               "actions": [{"type": "webhook", "url": hook.url("/cron")}]})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    check_in(&s, "ok", true);
    wait_monitor(&s, "ok", |m| m["status"] == "ok");
    // One missed run: below the threshold of two, no issue yet.
    clock.advance(Duration::from_secs(150));
    wait_monitor(&s, "missed", |m| m["status"] == "missed");
    // A failed run makes two in a row: the issue opens and the rule fires once.
    check_in(&s, "error", false);
    let title = "Cron monitor billing-job: run failed";
    let got = hook.wait(LIMIT, "the new_issue POST", |r| !r.is_empty());
    assert_eq!(got.len(), 1, "{got:#?}");
    let body = got[0].json();
    assert_eq!(body["action"], "new_issue");
    assert_eq!(body["issue"]["title"], title);
    let issue = s.issue_by_title(title);
    assert_eq!(issue["status"], "unresolved");
    wait_monitor(&s, "linked to its issue", |m| m["issueId"] == issue["id"]);
    // Recovery: one good run resolves it.
    check_in(&s, "ok", false);
    wait_for(LIMIT, || {
        (s.issue_by_title(title)["status"] == "resolved").then_some(())
    })
    .expect("resolved");
    // Failing again (twice) reopens it: one regression.
    check_in(&s, "error", false);
    check_in(&s, "error", false);
    let got = hook.wait(LIMIT, "the regression POST", |r| r.len() >= 2);
    let actions: Vec<Value> = got.iter().map(|r| r.json()["action"].clone()).collect();
    assert_eq!(actions, [json!("new_issue"), json!("regression")]);
    assert_eq!(got[1].json()["issue"]["id"], issue["id"]);
    // Each reported failure is an event of the one issue.
    assert_eq!(s.issue_by_title(title)["count"], "2");
}
