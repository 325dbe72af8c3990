//! End to end with the official Python SDK (`sentry-sdk`, from the venv that
//! `scripts/test` creates): events are sent to a real server and read back through the
//! JSON API. Fails — never skips — when `SENTRY_TEST_PYTHON` is not set.

mod common;

use std::process::Command;

use common::{python, TestServer};
use serde_json::Value;

const SCRIPT: &str = r#"
import logging, os, sys
import sentry_sdk

dsn, phase, algo = sys.argv[1], sys.argv[2], sys.argv[3]
experiments = {"transport_compression_algo": algo} if algo else {}
sentry_sdk.init(dsn=dsn, project_root=os.path.dirname(os.path.abspath(__file__)),
                release="e2e@1.0", environment="test", _experiments=experiments)

def parse(value):
    raise ValueError("bad value %s" % value)

def lookup():
    return {}["missing-key"]

def capture(fn, *args):
    try:
        fn(*args)
    except Exception:
        sentry_sdk.capture_exception()

if phase == "first":
    for i in range(2):
        capture(parse, i)
    capture(lookup)
    log = logging.getLogger("billing")
    log.error("Payment provider %s timed out after %d ms", "stripe", 3012)
    log.error("Payment provider %s timed out after %d ms", "adyen", 120)
    sentry_sdk.capture_message("user 17 not found")
    sentry_sdk.capture_message("user 42 not found")
    for m in ("db down in eu", "db down in us"):
        with sentry_sdk.new_scope() as scope:
            scope.fingerprint = ["database-unavailable"]
            sentry_sdk.capture_message(m)
else:
    capture(parse, 99)
sentry_sdk.flush(timeout=10)
"#;

fn run_sdk(s: &TestServer, phase: &str, compression: &str) {
    let script = s.dir.path().join("send_events.py");
    std::fs::write(&script, SCRIPT).expect("write script");
    let out = Command::new(python())
        .arg(&script)
        .args([&s.dsn(), phase, compression])
        .output()
        .expect("run the Python SDK");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn find<'a>(issues: &'a [Value], prefix: &str) -> Vec<&'a Value> {
    issues
        .iter()
        .filter(|i| i["title"].as_str().unwrap_or("").starts_with(prefix))
        .collect()
}

#[test]
fn python_sdk_events_group_into_issues() {
    let s = TestServer::start();
    // Default compression: brotli (installed in the venv).
    run_sdk(&s, "first", "");
    let issues = s.issues();
    let titles: Vec<&str> = issues
        .iter()
        .map(|i| i["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(issues.len(), 5, "issues: {titles:?}");

    // The same error raised twice: one issue, count 2.
    let value_errors = find(&issues, "ValueError: bad value");
    assert_eq!(value_errors.len(), 1, "{titles:?}");
    let value_error = value_errors[0];
    assert_eq!(value_error["count"], "2");
    assert_eq!(value_error["level"], "error");
    assert_eq!(value_error["platform"], "python");
    assert_eq!(value_error["culprit"], "__main__ in parse");
    // A different error: a second issue.
    let key_errors = find(&issues, "KeyError");
    assert_eq!(key_errors.len(), 1, "{titles:?}");
    assert_eq!(key_errors[0]["count"], "1");
    // Logging with a template: grouped by the template, whatever the parameters.
    let payments = find(&issues, "Payment provider");
    assert_eq!(payments.len(), 1, "{titles:?}");
    assert_eq!(payments[0]["count"], "2");
    // Plain messages: grouped after parameterizing the numbers.
    let users = find(&issues, "user ");
    assert_eq!(users.len(), 1, "{titles:?}");
    assert_eq!(users[0]["count"], "2");
    // A fingerprint groups different messages.
    let db = find(&issues, "db down in");
    assert_eq!(db.len(), 1, "{titles:?}");
    assert_eq!(db[0]["count"], "2");

    // The stored event reads back with its details.
    let id = value_error["id"].as_str().expect("id");
    let latest = s.api(&format!("/api/0/issues/{id}/events/latest/"));
    assert_eq!(latest["sdk"]["name"], "sentry.python");
    assert_eq!(latest["release"], "e2e@1.0");
    let exc = latest["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["type"] == "exception")
        .expect("exception entry");
    let frames = exc["data"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .expect("frames");
    assert!(frames.iter().any(|f| f["function"] == "parse"));
    let detail = s.api(&format!("/api/0/issues/{id}/"));
    let tag_keys: Vec<&str> = detail["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["key"].as_str())
        .collect();
    assert!(
        tag_keys.contains(&"release") && tag_keys.contains(&"environment"),
        "{tag_keys:?}"
    );

    // Resolve it; the same error again (gzip this time) reopens it as a regression.
    let r = s.api_raw(
        "PUT",
        &format!("/api/0/issues/{id}/"),
        br#"{"status":"resolved"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.api(&format!("/api/0/issues/{id}/"))["status"], "resolved");
    run_sdk(&s, "again", "gzip");
    let reopened = s.api(&format!("/api/0/issues/{id}/"));
    assert_eq!(reopened["status"], "unresolved");
    assert_eq!(reopened["substatus"], "regressed");
    assert_eq!(reopened["count"], "3");
    assert_eq!(s.issues().len(), 5, "no new issue for the regression");
}
