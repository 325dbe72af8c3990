//! User feedback (issue #22): feedback sent by our SDK (`capture_feedback`), by
//! sentry-python (a `feedback` item and a `user_report` item built with its own envelope
//! classes and sent through its transport, as the browser SDKs send them) and through
//! the legacy endpoint `POST /api/{project_id}/user-feedback/` is listed by the API
//! with the issue of the event it names and shown on that issue's page, escaped;
//! feedback whose event comes later is linked once it does. SQLite and PostgreSQL.

mod common;
#[path = "support/web.rs"]
mod web;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{envelope, new_id, python, request, wait_for, TestServer};
use serde_json::Value;
use web::{get, login};

fn feedback(s: &TestServer) -> Vec<Value> {
    s.api("/api/0/projects/team/proj/user-feedback/")
        .as_array()
        .expect("array")
        .clone()
}

fn wait_feedback(s: &TestServer, n: usize) -> Vec<Value> {
    wait_for(Duration::from_secs(20), || {
        let list = feedback(s);
        (list.len() >= n).then_some(list)
    })
    .unwrap_or_else(|| panic!("{n} feedback(s): {:#?}", feedback(s)))
}

fn by_message<'a>(list: &'a [Value], message: &str) -> &'a Value {
    list.iter()
        .find(|f| f["message"] == message)
        .unwrap_or_else(|| panic!("{message:?} in {list:#?}"))
}

fn issue_page(s: &TestServer, issue_id: &str) -> String {
    let admin = login(s, "admin@example.com", "password1");
    let r = get(s, Some(&admin), &format!("/issues/{issue_id}/"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

#[test]
fn our_sdk_feedback_is_listed_and_shown_on_its_issue() {
    use sentry_client::protocol::Feedback;
    let s = TestServer::start();
    let client = Arc::new(sentry_client::Client::from_config(
        sentry_client::ClientOptions::default().with_dsn(&s.dsn()),
    ));
    let hub = Arc::new(sentry_client::Hub::new(
        Some(Arc::clone(&client)),
        Default::default(),
    ));
    let (event, fb) = sentry_client::Hub::run(hub, || {
        let event = sentry_client::capture_message("export failed", sentry_client::Level::Error);
        let fb = sentry_client::capture_feedback(Feedback {
            message: "Export <b>does nothing</b> & then <script>alert(1)</script>".into(),
            contact_email: Some("ana@example.com".into()),
            name: Some("Ana <Admin>".into()),
            url: Some("https://shop.example/export?a=1&b=2".into()),
            associated_event_id: Some(event),
        });
        (event, fb)
    });
    assert!(!fb.is_nil());
    assert!(client.flush(Some(Duration::from_secs(10))), "delivered");
    let list = wait_for(Duration::from_secs(20), || {
        let list = feedback(&s);
        list.first()
            .filter(|f| !f["issue"].is_null())
            .map(|_| list.clone())
    })
    .expect("feedback linked to its issue");
    let f = &list[0];
    let message = "Export <b>does nothing</b> & then <script>alert(1)</script>";
    assert_eq!(f["message"], message, "stored as sent");
    assert_eq!(f["email"], "ana@example.com");
    assert_eq!(f["name"], "Ana <Admin>");
    assert_eq!(f["eventID"], event.simple().to_string());
    let issue = s.issue_by_title("export failed");
    assert_eq!(f["issue"]["id"], issue["id"]);
    assert_eq!(f["issue"]["title"], "export failed");
    assert!(f["dateCreated"].as_str().is_some_and(|d| d.ends_with('Z')));
    assert!(f["id"].as_str().is_some());
    let html = issue_page(&s, issue["id"].as_str().expect("id"));
    assert!(html.contains("User feedback"), "{html}");
    assert!(
        html.contains(
            "Export &#60;b&#62;does nothing&#60;/b&#62; &#38; then &#60;script&#62;alert(1)&#60;/script&#62;"
        ),
        "escaped: {html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains("Ana &#60;Admin&#62;"), "{html}");
    client.close(None);
}

const PYTHON: &str = r#"
import sys, time, uuid
import sentry_sdk
from sentry_sdk.envelope import Envelope, Item, PayloadRef

dsn = sys.argv[1]
sentry_sdk.init(dsn=dsn)
event_id = sentry_sdk.capture_message("checkout crashed")
sentry_sdk.flush(timeout=10)
transport = sentry_sdk.get_client().transport

feedback_id = uuid.uuid4().hex
feedback = {
    "event_id": feedback_id,
    "timestamp": time.time(),
    "type": "feedback",
    "level": "info",
    "platform": "javascript",
    "contexts": {"feedback": {
        "message": "The pay button spins forever",
        "contact_email": "bo@example.com",
        "name": "Bo",
        "url": "https://shop.example/checkout",
        "source": "widget",
        "associated_event_id": event_id,
    }},
}
env = Envelope(headers={"event_id": feedback_id})
env.add_item(Item(payload=PayloadRef(json=feedback), type="feedback"))
transport.capture_envelope(env)

report = {"event_id": event_id, "name": "Cy", "email": "cy@example.com",
          "comments": "Same here, <i>twice</i>"}
env = Envelope(headers={"event_id": event_id})
env.add_item(Item(payload=PayloadRef(json=report), type="user_report"))
transport.capture_envelope(env)
sentry_sdk.flush(timeout=10)
print(event_id)
"#;

#[test]
fn python_feedback_and_user_report_items_are_listed_and_shown() {
    let s = TestServer::start();
    let script = s.dir.path().join("feedback.py");
    std::fs::write(&script, PYTHON).expect("script");
    let out = Command::new(python())
        .arg(&script)
        .arg(s.dsn())
        .output()
        .expect("run the Python SDK");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event_id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let list = wait_feedback(&s, 2);
    let issue = s.issue_by_title("checkout crashed");
    let widget = by_message(&list, "The pay button spins forever");
    assert_eq!(widget["email"], "bo@example.com");
    assert_eq!(widget["url"], "https://shop.example/checkout");
    assert_eq!(widget["eventID"], event_id);
    assert_eq!(widget["issue"]["id"], issue["id"]);
    let report = by_message(&list, "Same here, <i>twice</i>");
    assert_eq!(report["name"], "Cy");
    assert_eq!(report["eventID"], event_id);
    assert_eq!(report["issue"]["title"], "checkout crashed");
    let html = issue_page(&s, issue["id"].as_str().expect("id"));
    assert!(html.contains("The pay button spins forever"), "{html}");
    assert!(
        html.contains("Same here, &#60;i&#62;twice&#60;/i&#62;"),
        "{html}"
    );
}

#[test]
fn the_legacy_endpoint_takes_user_reports() {
    let s = TestServer::start();
    let event_id = new_id();
    let path = format!(
        "/api/{}/user-feedback/?sentry_key={}",
        s.project.id, s.key.public_key
    );
    let post = |body: &str| {
        request(
            s.addr,
            "POST",
            &path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    };
    // The feedback arrives before its event: it stands alone until the event comes.
    let body = format!(
        r#"{{"event_id":"{event_id}","name":"Di","email":"di@example.com","comments":"Login page is blank"}}"#
    );
    let r = post(&body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], event_id);
    let list = wait_feedback(&s, 1);
    assert!(list[0]["issue"].is_null(), "no event yet: {list:#?}");
    assert_eq!(list[0]["eventID"], event_id);
    let event = format!(r#"{{"event_id":"{event_id}","message":"blank login page"}}"#);
    assert_eq!(s.post_envelope(&envelope("{}", &event)).status, 200);
    let linked = wait_for(Duration::from_secs(20), || {
        let list = feedback(&s);
        (!list[0]["issue"].is_null()).then_some(list)
    })
    .expect("linked once the event is stored");
    assert_eq!(linked[0]["issue"]["title"], "blank login page");
    let html = issue_page(&s, linked[0]["issue"]["id"].as_str().expect("id"));
    assert!(
        html.contains("Login page is blank"),
        "shown on its issue: {html}"
    );
    assert!(html.contains("Di &#60;di@example.com&#62;"), "{html}");
    // A second report on the same event is not stored twice (one per event, as Sentry).
    assert_eq!(post(&body).status, 200);
    assert_eq!(feedback(&s).len(), 1);

    // Bad bodies: 400 with the reason, nothing stored.
    for (bad, why) in [
        ("[1]", "expected a JSON object"),
        (r#"{"comments":"x"}"#, "event_id is required"),
        (
            r#"{"event_id":"zz","comments":"x"}"#,
            "event_id is required",
        ),
        (
            &format!(r#"{{"event_id":"{}","comments":"  "}}"#, new_id()),
            "comments is required",
        ),
    ] {
        let r = post(bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        assert!(r.detail().contains(why), "{bad}: {}", r.detail());
    }
    // No credentials, or another project's id: refused.
    let r = request(
        s.addr,
        "POST",
        &format!("/api/{}/user-feedback/", s.project.id),
        &[],
        body.as_bytes(),
    );
    assert_eq!(r.status, 401, "{}", r.text());
    let r = request(
        s.addr,
        "POST",
        &format!(
            "/api/{}/user-feedback/?sentry_key={}",
            s.project.id + 1,
            s.key.public_key
        ),
        &[],
        body.as_bytes(),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(feedback(&s).len(), 1);
}

#[test]
fn bad_feedback_items_are_dropped_not_the_envelope() {
    let s = TestServer::start();
    let event_id = new_id();
    let event = format!(r#"{{"event_id":"{event_id}","message":"with bad feedback"}}"#);
    let items = [
        (
            "feedback",
            r#"{"contexts":{"feedback":{"message":"   "}}}"#.to_owned(),
        ),
        ("feedback", r#"{"contexts":{}}"#.to_owned()),
        ("feedback", "not json".to_owned()),
        ("user_report", r#"{"comments":"no event id"}"#.to_owned()),
        (
            "user_report",
            format!(r#"{{"event_id":"{event_id}","comments":"kept"}}"#),
        ),
    ];
    let mut body = format!(
        "{{\"event_id\":\"{event_id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{event}\n",
        event.len()
    );
    for (ty, payload) in &items {
        body.push_str(&format!(
            "{{\"type\":\"{ty}\",\"length\":{}}}\n{payload}\n",
            payload.len()
        ));
    }
    let r = s.post_envelope(body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let list = wait_feedback(&s, 1);
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["message"], "kept");
    assert_eq!(s.event_count(), 1);
    // The list needs the project's read permission.
    let r = request(
        s.addr,
        "GET",
        "/api/0/projects/team/proj/user-feedback/",
        &[],
        b"",
    );
    assert!([401, 404].contains(&r.status), "{}", r.status);
}
