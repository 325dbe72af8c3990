//! Per-project scrubbing settings (issue #17): the project API round trip with the
//! names of Sentry's project API and its 400s, the settings page, and events stored by
//! them (an extra sensitive field scrubbed, a safe field kept, IP addresses scrubbed
//! when on and kept when off).

mod common;
#[path = "support/web.rs"]
mod support;

use common::{envelope, new_id, TestServer};
use serde_json::{json, Value};

const PROJECT: &str = "/api/0/projects/team/proj/";

fn put(s: &TestServer, body: Value) -> common::Response {
    s.api_raw("PUT", PROJECT, body.to_string().as_bytes())
}

fn settings(s: &TestServer) -> Value {
    let v = s.api(PROJECT);
    json!({
        "dataScrubber": v["dataScrubber"],
        "sensitiveFields": v["sensitiveFields"],
        "safeFields": v["safeFields"],
        "scrubIPAddresses": v["scrubIPAddresses"],
    })
}

#[test]
fn the_api_round_trips_and_refuses_bad_settings() {
    let s = TestServer::start();
    assert_eq!(
        settings(&s),
        json!({"dataScrubber": true, "sensitiveFields": [], "safeFields": [], "scrubIPAddresses": false}),
        "the defaults"
    );
    let r = put(
        &s,
        json!({"sensitiveFields": ["mysekret", " pin "], "safeFields": ["session_hint"], "scrubIPAddresses": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["sensitiveFields"], json!(["mysekret", "pin"]));
    let want = json!({"dataScrubber": true, "sensitiveFields": ["mysekret", "pin"],
        "safeFields": ["session_hint"], "scrubIPAddresses": true});
    assert_eq!(settings(&s), want);
    // A PUT of one field leaves the others.
    let r = put(&s, json!({"dataScrubber": false}));
    assert_eq!(r.status, 200, "{}", r.text());
    let mut off = want.clone();
    off["dataScrubber"] = json!(false);
    assert_eq!(settings(&s), off);
    assert_eq!(put(&s, json!({"dataScrubber": true})).status, 200);

    let long = "x".repeat(201);
    let many: Vec<String> = (0..101).map(|i| format!("f{i}")).collect();
    for (body, part) in [
        (json!({"sensitiveFields": "mysekret"}), "array of strings"),
        (json!({"sensitiveFields": [1]}), "array of strings"),
        (json!({"safeFields": {"a": 1}}), "array of strings"),
        (json!({"sensitiveFields": [""]}), "not a field name"),
        (json!({"safeFields": [long]}), "not a field name"),
        (json!({"sensitiveFields": ["a\nb"]}), "not a field name"),
        (json!({"sensitiveFields": many}), "at most 100"),
        (json!({"dataScrubber": "yes"}), "boolean"),
        (json!({"scrubIPAddresses": 1}), "boolean"),
        (
            json!({"name": "Renamed", "sensitiveFields": [""]}),
            "not a field name",
        ),
    ] {
        let r = put(&s, body.clone());
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert!(r.detail().contains(part), "{body}: {}", r.detail());
        assert_eq!(settings(&s), want, "{body} changed nothing");
    }
    assert_eq!(s.api(PROJECT)["name"], "Proj", "nothing stored half-way");
    // Anonymous callers cannot change them.
    let r = common::request(
        s.addr,
        "PUT",
        PROJECT,
        &[("Content-Type", "application/json")],
        br#"{"dataScrubber": false}"#,
    );
    assert!([401, 404].contains(&r.status), "{}", r.status);
    assert_eq!(settings(&s), want);
}

fn send(s: &TestServer, marker: &str) -> String {
    let event = format!(
        r#"{{"message":"{marker}","user":{{"id":"u1","ip_address":"10.9.8.7"}},
        "request":{{"url":"https://h/p","headers":{{"X-Forwarded-For":"10.9.8.6","Accept":"*/*"}},"env":{{"REMOTE_ADDR":"10.9.8.5"}}}},
        "extra":{{"mysekret":"SECRET-EXTRA","session_hint":"KEPT-SAFE","password":"SECRET-DEFAULT","note":"kept"}}}}"#
    );
    let r = s.post_envelope(&envelope(
        &format!(r#"{{"event_id":"{}"}}"#, new_id()),
        &event,
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let issue = s.issue_by_title(marker);
    let id = issue["id"].as_str().expect("id").to_owned();
    s.api(&format!("/api/0/issues/{id}/events/latest/"))
        .to_string()
}

#[test]
fn events_are_stored_scrubbed_by_the_project_settings() {
    let s = TestServer::start();
    // Defaults: the default keys go, IPs stay, the project's own field names stay.
    let text = send(&s, "defaults");
    assert!(!text.contains("SECRET-DEFAULT"), "{text}");
    assert!(
        text.contains("SECRET-EXTRA") && text.contains("10.9.8.7"),
        "{text}"
    );
    assert!(
        !text.contains("KEPT-SAFE"),
        "session_* is a default key: {text}"
    );

    let r = put(
        &s,
        json!({"sensitiveFields": ["MySekret"], "safeFields": ["session_hint"], "scrubIPAddresses": true}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = send(&s, "scrubbed");
    for secret in [
        "SECRET-EXTRA",
        "SECRET-DEFAULT",
        "10.9.8.7",
        "10.9.8.6",
        "10.9.8.5",
    ] {
        assert!(!text.contains(secret), "{secret} stored: {text}");
    }
    assert!(text.contains("KEPT-SAFE") && text.contains("kept") && text.contains("*/*"));

    assert_eq!(put(&s, json!({"scrubIPAddresses": false})).status, 200);
    let text = send(&s, "ips kept");
    assert!(
        text.contains("10.9.8.7") && text.contains("10.9.8.5"),
        "{text}"
    );
    assert!(!text.contains("SECRET-EXTRA"), "{text}");
}

#[test]
fn the_settings_page_shows_and_saves_scrubbing() {
    let s = TestServer::start();
    let web = support::login(&s, "admin@example.com", "password1");
    let path = "/settings/projects/team/proj/";
    let page = support::get(&s, Some(&web), path);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("Data scrubbing") && html.contains("name=\"sensitive_fields\""));
    assert!(
        html.contains("name=\"data_scrubber\" value=\"1\" checked"),
        "on by default"
    );
    let body = format!(
        "csrf={}&action=scrubbing&data_scrubber=1&scrub_ip=1&sensitive_fields=mysekret%0D%0Apin&safe_fields=session_hint",
        web.csrf
    );
    let r = support::post(&s, Some(&web), path, &body);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        settings(&s),
        json!({"dataScrubber": true, "sensitiveFields": ["mysekret", "pin"],
            "safeFields": ["session_hint"], "scrubIPAddresses": true})
    );
    let html = support::get(&s, Some(&web), path).text();
    assert!(html.contains("mysekret\npin") && html.contains("session_hint"));
    // A bad entry is refused with 400 and changes nothing.
    let long = "x".repeat(300);
    let body = format!("csrf={}&action=scrubbing&sensitive_fields={long}", web.csrf);
    let r = support::post(&s, Some(&web), path, &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(settings(&s)["sensitiveFields"], json!(["mysekret", "pin"]));
    // Unchecking turns both off.
    let body = format!("csrf={}&action=scrubbing", web.csrf);
    assert_eq!(support::post(&s, Some(&web), path, &body).status, 303);
    assert_eq!(
        settings(&s),
        json!({"dataScrubber": false, "sensitiveFields": [], "safeFields": [], "scrubIPAddresses": false})
    );
}
