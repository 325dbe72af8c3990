//! Alerts (issue #19) through a real server and a real webhook receiver on 127.0.0.1: a
//! new issue gives exactly one signed POST, more events of it none, a regression one; a
//! volume rule fires once when crossed and `frequencyMinutes` holds; the API refuses bad
//! rules with 400 and follows the permission table; the test button sends; `/metrics`
//! counts deliveries. Runs on SQLite, and on PostgreSQL with `SENTRY_TEST_BACKEND=postgres`.

mod alerts_support;
mod common;

use std::time::Duration;

use alerts_support::{event_json, Receiver};
use common::{envelope, new_id, request, TestServer};
use sentry_server_lite::alerts::message::hmac_sha256_hex;
use sentry_server_lite::policy::Role;
use sentry_server_lite::secrets;
use sentry_server_lite::store::sql;
use serde_json::{json, Value};

/// Generous: the sender polls every 20 ms here; this bounds a hung test, not speed.
const LIMIT: Duration = Duration::from_secs(60);

fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.alerts.allow_private_networks = true;
        c.alerts.retry_base = Duration::from_millis(100);
        c.alerts.poll = Duration::from_millis(20);
    })
}

const RULES: &str = "/api/0/projects/team/proj/alert-rules/";

fn create_rule(s: &TestServer, body: Value) -> Value {
    let r = s.api_raw("POST", RULES, body.to_string().as_bytes());
    assert_eq!(r.status, 201, "create rule: {}", r.text());
    r.json()
}

fn send(s: &TestServer, message: &str) -> String {
    let id = new_id();
    let r = s.post_envelope(&envelope("{}", &event_json(&id, message)));
    assert_eq!(r.status, 200, "ingest: {}", r.text());
    id
}

fn deliveries(s: &TestServer, rule_id: &str) -> Vec<Value> {
    s.api(&format!("{RULES}{rule_id}/deliveries/"))
        .as_array()
        .expect("array")
        .clone()
}

#[test]
fn new_issue_and_regression_each_post_once_signed() {
    let hook = Receiver::start(200);
    let s = server();
    let rule = create_rule(
        &s,
        json!({"name": "hook", "triggers": ["new_issue", "regression"],
               "actions": [{"type": "webhook", "url": hook.url("/hook"), "secret": "s3cret"}]}),
    );
    let rule_id = rule["id"].as_str().expect("id").to_owned();
    assert_eq!(rule["frequencyMinutes"], 30, "the default");
    assert_eq!(
        rule["actions"][0]["secret"], "s3cret",
        "shown to its manager"
    );

    let first = send(&s, "alert me");
    let got = hook.wait(LIMIT, "the new-issue POST", |r| !r.is_empty());
    let post = &got[0];
    assert_eq!(post.path, "/hook");
    let body = post.json();
    let issue = s.issue_by_title("alert me");
    let issue_id = issue["id"].as_str().expect("issue id").to_owned();
    assert_eq!(body["action"], "new_issue");
    assert_eq!(body["rule"]["id"], rule_id.as_str());
    assert_eq!(body["rule"]["name"], "hook");
    assert_eq!(
        body["project"],
        json!({"team": "team", "slug": "proj", "name": "Proj"})
    );
    assert_eq!(body["issue"]["id"], issue_id.as_str());
    assert_eq!(body["issue"]["title"], "alert me");
    assert_eq!(body["issue"]["level"], "error");
    assert_eq!(body["issue"]["status"], "unresolved");
    assert_eq!(body["issue"]["count"], 1);
    for field in ["culprit", "firstSeen", "lastSeen"] {
        assert!(body["issue"][field].is_string(), "issue.{field}: {body}");
    }
    let base = format!("http://{}", s.addr);
    assert_eq!(body["issue"]["url"], format!("{base}/issues/{issue_id}/"));
    assert_eq!(body["event"]["id"], first.as_str());
    assert_eq!(body["event"]["environment"], "production");
    assert_eq!(body["event"]["release"], "1.0");
    assert_eq!(
        body["event"]["url"],
        format!("{base}/issues/{issue_id}/?event={first}")
    );
    let delivery = post.delivery_id();
    uuid::Uuid::parse_str(&delivery).expect("the delivery id is a UUID");
    assert_eq!(
        post.header("X-Sentry-Lite-Signature"),
        Some(format!("sha256={}", hmac_sha256_hex(b"s3cret", &post.body)).as_str()),
        "the HMAC of the body as sent"
    );
    assert_eq!(post.header("Content-Type"), Some("application/json"));

    // More events of the same issue: the outbox (written with each batch) gets nothing.
    send(&s, "alert me");
    send(&s, "alert me");
    assert_eq!(
        deliveries(&s, &rule_id).len(),
        1,
        "one alert for the new issue"
    );

    // Resolved, then an event: one regression.
    let r = s.api_raw(
        "PUT",
        &format!("/api/0/issues/{issue_id}/"),
        br#"{"status":"resolved"}"#,
    );
    assert_eq!(r.status, 200, "resolve: {}", r.text());
    send(&s, "alert me");
    let got = hook.wait(LIMIT, "the regression POST", |r| r.len() >= 2);
    let regression = got[1].json();
    assert_eq!(regression["action"], "regression");
    assert_eq!(regression["issue"]["id"], issue_id.as_str());
    assert_eq!(regression["issue"]["count"], 4);
    assert_ne!(
        got[1].delivery_id(),
        delivery,
        "a new alert, a new delivery id"
    );
    let all = deliveries(&s, &rule_id);
    assert_eq!(all.len(), 2, "{all:#?}");
    common::wait_for(LIMIT, || {
        deliveries(&s, &rule_id)
            .iter()
            .all(|d| d["status"] == "sent")
            .then_some(())
    })
    .expect("both recorded as sent");
    assert_eq!(hook.requests().len(), 2, "nothing sent twice");
    let metrics = request(s.addr, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("sentry_lite_alert_deliveries_total{type=\"webhook\",outcome=\"sent\"} 2"),
        "{metrics}"
    );
}

/// Moves the rule's volume window (and, with `fired`, its last alert) back by `minutes`,
/// as if that much time had passed: the test does not wait for the window to end.
fn age_volume_window(s: &TestServer, minutes: i64, fired: bool) {
    let ms = minutes * 60_000;
    let sql = if fired {
        "UPDATE alert_volume SET window_start = window_start - $1, last_fired = last_fired - $1"
    } else {
        "UPDATE alert_volume SET window_start = window_start - $1"
    };
    let n = sql::write(s.store.as_ref(), |c| c.exec(sql, &[sql::Arg::Int(ms)])).expect("update");
    assert_eq!(n, 1, "one volume window");
}

#[test]
fn volume_fires_once_when_crossed_and_frequency_holds() {
    let hook = Receiver::start(200);
    let s = server();
    let rule = create_rule(
        &s,
        json!({"name": "busy", "triggers": ["volume"], "volume": {"events": 3, "minutes": 10},
               "frequencyMinutes": 30,
               "actions": [{"type": "webhook", "url": hook.url("/volume")}]}),
    );
    let rule_id = rule["id"].as_str().expect("id").to_owned();
    for _ in 0..3 {
        send(&s, "noisy");
    }
    assert!(
        deliveries(&s, &rule_id).is_empty(),
        "3 events do not exceed 3"
    );
    send(&s, "noisy");
    assert_eq!(deliveries(&s, &rule_id).len(), 1, "the 4th event fires");
    let got = hook.wait(LIMIT, "the volume POST", |r| !r.is_empty());
    let body = got[0].json();
    assert_eq!(body["action"], "volume");
    assert_eq!(body["issue"]["count"], 4);
    assert!(
        got[0].header("X-Sentry-Lite-Signature").is_none(),
        "no secret, no signature"
    );
    for _ in 0..4 {
        send(&s, "noisy");
    }
    assert_eq!(deliveries(&s, &rule_id).len(), 1, "once per crossing");

    // A new window crosses again within frequencyMinutes of the last alert: nothing.
    age_volume_window(&s, 11, false);
    for _ in 0..4 {
        send(&s, "noisy");
    }
    assert_eq!(deliveries(&s, &rule_id).len(), 1, "frequencyMinutes holds");
    // Past the frequency, the next crossing alerts again.
    age_volume_window(&s, 31, true);
    for _ in 0..4 {
        send(&s, "noisy");
    }
    assert_eq!(
        deliveries(&s, &rule_id).len(),
        2,
        "a crossing after the frequency"
    );
    hook.wait(LIMIT, "the second volume POST", |r| r.len() >= 2);
}

#[test]
fn filters_apply_to_the_triggering_event() {
    let hook = Receiver::start(200);
    let s = server();
    let rule = create_rule(
        &s,
        json!({"name": "staging only", "triggers": ["new_issue"], "environment": "staging",
               "actions": [{"type": "slack", "url": hook.url("/slack")}]}),
    );
    let rule_id = rule["id"].as_str().expect("id").to_owned();
    send(&s, "in production");
    assert!(deliveries(&s, &rule_id).is_empty(), "another environment");
    let id = new_id();
    let event = json!({"event_id": id, "message": "in staging", "level": "error",
                       "environment": "staging"});
    let r = s.post_envelope(&envelope("{}", &event.to_string()));
    assert_eq!(r.status, 200);
    let got = hook.wait(LIMIT, "the Slack POST", |r| !r.is_empty());
    let text = got[0].json()["text"].as_str().expect("text").to_owned();
    assert!(text.contains("New issue: in staging"), "{text}");
    assert!(text.contains("/issues/"), "a link: {text}");
}

#[test]
fn the_test_button_sends_through_the_outbox() {
    let hook = Receiver::start(200);
    let s = server();
    let rule = create_rule(
        &s,
        json!({"name": "t", "triggers": ["new_issue"],
               "actions": [{"type": "webhook", "url": hook.url("/t")}]}),
    );
    let id = rule["id"].as_str().expect("id");
    let r = s.api_raw("POST", &format!("{RULES}{id}/test/"), b"");
    assert_eq!(r.status, 202, "{}", r.text());
    let got = hook.wait(LIMIT, "the test POST", |r| !r.is_empty());
    let body = got[0].json();
    assert_eq!(body["action"], "test");
    assert_eq!(body["rule"]["name"], "t");
    assert_eq!(body["issue"], Value::Null);
}

#[test]
fn bad_rules_are_refused_and_nothing_is_stored() {
    let s = TestServer::start();
    let ok_action = json!({"type": "webhook", "url": "https://hooks.example.com/x"});
    let cases = [
        json!({"name": "x", "triggers": ["new_issue"],
               "actions": [{"type": "webhook", "url": "ftp://hooks.example.com/x"}]}),
        json!({"name": "x", "triggers": ["new_issue"],
               "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/x"}]}),
        json!({"name": "x", "triggers": ["new_issue"],
               "actions": [{"type": "slack", "url": "http://localhost/x"}]}),
        json!({"name": "x", "triggers": ["new_issue"],
               "actions": [{"type": "webhook", "url": "http://[::1]/x"}]}),
        json!({"name": "x", "triggers": ["new_issue"], "actions": []}),
        json!({"name": "x", "triggers": ["whenever"], "actions": [ok_action]}),
        json!({"name": "x", "triggers": [], "actions": [ok_action]}),
        json!({"name": "x", "triggers": ["volume"], "actions": [ok_action]}),
        json!({"name": "x", "triggers": ["volume"], "volume": {"events": "many", "minutes": 5},
               "actions": [ok_action]}),
        json!({"name": "x", "triggers": ["volume"], "volume": {"events": 5},
               "actions": [ok_action]}),
        json!({"name": "", "triggers": ["new_issue"], "actions": [ok_action]}),
        json!({"name": "x", "triggers": ["new_issue"], "frequencyMinutes": -5,
               "actions": [ok_action]}),
        json!({"name": "x", "triggers": ["new_issue"],
               "actions": [{"type": "email", "to": ["not an address"]}]}),
        json!({"name": "x", "triggers": ["new_issue"], "actions": [{"type": "pager"}]}),
        // No SMTP relay on this server: e-mail actions are refused, not queued forever.
        json!({"name": "x", "triggers": ["new_issue"],
               "actions": [{"type": "email", "to": ["oncall@example.com"]}]}),
    ];
    for body in &cases {
        let r = s.api_raw("POST", RULES, body.to_string().as_bytes());
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert!(!r.detail().is_empty(), "a reason for {body}");
    }
    let r = s.api_raw("POST", RULES, b"[1]");
    assert_eq!(r.status, 400, "not an object");
    assert_eq!(s.api(RULES), json!([]), "nothing stored");
    // The private address is refused because of the flag, not the URL: a public one passes.
    let r = s.api_raw(
        "POST",
        RULES,
        json!({"name": "x", "triggers": ["new_issue"], "actions": [ok_action]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let r = s.api_raw(
        "PUT",
        &format!("{RULES}{id}/"),
        json!({"name": "x", "triggers": ["new_issue"], "actions": []})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 400, "updates are checked too");
    let stored = s.api(&format!("{RULES}{id}/"));
    assert_eq!(stored["actions"][0]["url"], ok_action["url"], "unchanged");
    assert_eq!(s.api_raw("GET", &format!("{RULES}999/"), b"").status, 404);
    assert_eq!(s.api_raw("GET", &format!("{RULES}nope/"), b"").status, 404);
}

fn call(s: &TestServer, token: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    let r = request(s.addr, method, path, &headers, body);
    (r.status, r.text())
}

#[test]
fn admins_manage_rules_members_and_agents_read_them() {
    let s = TestServer::start();
    let team = s.store.team_by_slug("team").expect("r").expect("team");
    let mut tokens = std::collections::BTreeMap::new();
    for (name, role) in [
        ("admin", Some(Role::Admin)),
        ("member", Some(Role::Member)),
        ("agent", Some(Role::Agent)),
        ("outsider", None),
    ] {
        let u = s
            .store
            .create_user(&format!("{name}@alerts.example"), "unused", false)
            .expect("user");
        if let Some(role) = role {
            s.store.set_membership(team.id, u.id, role).expect("role");
        }
        let (token, digest) = secrets::new_api_token();
        s.store.create_token(u.id, &digest, "t").expect("token");
        tokens.insert(name, token);
    }
    let body = json!({"name": "r", "triggers": ["new_issue"],
                      "actions": [{"type": "webhook", "url": "https://hooks.example.com/x",
                                   "secret": "hidden"}]})
    .to_string();
    for who in ["member", "agent"] {
        let (status, text) = call(&s, &tokens[who], "POST", RULES, body.as_bytes());
        assert_eq!(status, 403, "{who} creates: {text}");
    }
    let (status, text) = call(&s, &tokens["outsider"], "GET", RULES, b"");
    assert_eq!(
        status, 404,
        "an outsider does not see the private project: {text}"
    );
    let anonymous = request(s.addr, "GET", RULES, &[], b"");
    assert_eq!(anonymous.status, 404, "anonymous: {}", anonymous.text());
    let (status, text) = call(&s, &tokens["admin"], "POST", RULES, body.as_bytes());
    assert_eq!(status, 201, "admin creates: {text}");
    let id = serde_json::from_str::<Value>(&text).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for who in ["member", "agent"] {
        let (status, text) = call(&s, &tokens[who], "GET", RULES, b"");
        assert_eq!(status, 200, "{who} reads: {text}");
        let rules: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(rules[0]["id"], id.as_str());
        assert_eq!(rules[0]["actions"][0]["hasSecret"], true);
        assert!(
            rules[0]["actions"][0].get("secret").is_none(),
            "{who} does not see the secret"
        );
        let path = format!("{RULES}{id}/deliveries/");
        assert_eq!(call(&s, &tokens[who], "GET", &path, b"").0, 200, "{who}");
        for (method, path) in [
            ("PUT", format!("{RULES}{id}/")),
            ("DELETE", format!("{RULES}{id}/")),
            ("POST", format!("{RULES}{id}/test/")),
        ] {
            let (status, _) = call(&s, &tokens[who], method, &path, body.as_bytes());
            assert_eq!(status, 403, "{who} {method} {path}");
        }
    }
    let (status, _) = call(
        &s,
        &tokens["admin"],
        "DELETE",
        &format!("{RULES}{id}/"),
        b"",
    );
    assert_eq!(status, 204);
    assert_eq!(s.api(RULES), json!([]));
}

/// A rule saved while its URL was allowed (here: written to the store directly, as if the
/// server had run with `--alert-allow-private-networks` then) is checked again at every
/// send: without the flag nothing reaches a private address, and the delivery says why.
#[test]
fn private_targets_are_refused_at_send_time_too() {
    use sentry_server_lite::store::alerts::{create_rule, AlertAction, RuleSpec, Trigger};
    let hook = Receiver::start(200);
    let s = TestServer::start_with(|c| {
        c.alerts.retry_base = Duration::from_millis(100);
        c.alerts.poll = Duration::from_millis(20);
    });
    let spec = RuleSpec {
        name: "sneaky".into(),
        triggers: vec![Trigger::NewIssue],
        environment: None,
        level: None,
        volume: None,
        actions: vec![
            AlertAction::Webhook {
                url: hook.url("/literal"),
                secret: None,
            },
            AlertAction::Slack {
                url: format!("http://localhost:{}/name", hook.addr.port()),
            },
        ],
        frequency_minutes: 30,
    };
    let rule = create_rule(s.store.as_ref(), s.project.id, &spec).expect("rule");
    send(&s, "private target");
    let start = std::time::Instant::now();
    let rows = loop {
        let rows = deliveries(&s, &rule.id.to_string());
        if rows.len() == 2 && rows.iter().all(|d| d["status"] == "retrying") {
            break rows;
        }
        assert!(start.elapsed() < LIMIT, "not tried: {rows:#?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    for d in &rows {
        let error = d["lastError"].as_str().unwrap_or_default();
        assert!(
            error.contains("--alert-allow-private-networks"),
            "the reason: {d}"
        );
        assert!(d["nextAttempt"].is_string(), "{d}");
    }
    assert!(hook.requests().is_empty(), "nothing reached the receiver");
}
