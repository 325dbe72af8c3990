//! Events of every SDK era are stored, never refused for the shape of one part: odd
//! shapes are coerced or removed (and what was removed is recorded on the event and
//! shown on its page), raven-era `sentry.interfaces.*` names are read, browser security
//! reports become issues. The payloads captured from real clients are checked by
//! `sdk_fixtures.rs`.

mod common;
#[path = "support/web.rs"]
mod web;

use common::{envelope, new_id, request, TestServer};
use serde_json::{json, Value};

/// POSTs one event to `/store/` with the project's key.
fn store(s: &TestServer, body: &[u8]) -> common::Response {
    let auth = s.auth_header();
    request(
        s.addr,
        "POST",
        &format!("/api/{}/store/", s.project.id),
        &[
            ("X-Sentry-Auth", &auth),
            ("Content-Type", "application/json"),
        ],
        body,
    )
}

/// The latest event of the issue titled `title`, as the JSON API returns it.
fn latest_event(s: &TestServer, title: &str) -> Value {
    let id = s.issue_by_title(title)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    s.api(&format!("/api/0/issues/{id}/events/latest/"))
}

/// The `name`s of the `invalid_data` errors of an event from the API.
fn removed(event: &Value) -> Vec<String> {
    let mut out: Vec<String> = event["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["type"] == "invalid_data")
                .filter_map(|e| e["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn exception_entry(event: &Value) -> Value {
    event["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|x| x["type"] == "exception"))
        .map(|x| x["data"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn one_bad_part_does_not_lose_the_event() {
    let s = TestServer::start();
    // An early sentry-python: a null in the exception list, next to the real one.
    let r = store(
        &s,
        br#"{"exception":{"values":[null,{"type":"KeyError","value":"'user'",
            "stacktrace":{"frames":[{"module":"app.views","function":"show","lineno":12,"in_app":true}]}}]},
            "platform":"python"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let e = latest_event(&s, "KeyError: 'user'");
    // The null is absent data: left out, not recorded as a removal.
    assert_eq!(removed(&e), Vec::<String>::new());
    assert_eq!(
        exception_entry(&e)["values"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(exception_entry(&e)["values"][0]["type"], "KeyError");

    // A Unity frame with `lineno: -1`, sent in an envelope: only the line goes.
    let r = s.post_envelope(&envelope(
        "{}",
        r#"{"exception":{"values":[{"type":"NullReferenceException","value":"Object reference not set",
            "stacktrace":{"frames":[{"function":"Update","module":"Player","lineno":-1,"in_app":true},
            {"function":"Move","module":"Player","lineno":"40","colno":1e300,"in_app":true}]}}]},
            "platform":"csharp","timestamp":"2026-12-03T10:00:00Z","level":"error"}"#,
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let e = latest_event(&s, "NullReferenceException: Object reference not set");
    assert_eq!(
        removed(&e),
        [
            "exception.values[0].stacktrace.frames[0].lineno",
            "exception.values[0].stacktrace.frames[1].colno"
        ]
    );
    let frames = &exception_entry(&e)["values"][0]["stacktrace"]["frames"];
    assert_eq!(frames[0]["function"], "Update");
    assert_eq!(frames[1]["lineno"], 40, "a number sent as a string is read");
    assert_eq!(
        s.issue_by_title("NullReferenceException: Object reference not set")["culprit"],
        "Player in Move"
    );
}

#[test]
fn coercions_keep_the_data() {
    let s = TestServer::start();
    // A single exception object where a list belongs, a fingerprint as a string,
    // numbers as strings and strings as numbers, a float timestamp, nulls in lists.
    let r = store(
        &s,
        br#"{"exception":{"type":"TimeoutError","value":"upstream","module":"net"},
            "fingerprint":"upstream-timeout","timestamp":1764756000.25,
            "breadcrumbs":[null,{"message":"GET /x","timestamp":"1764755990"}],
            "tags":{"attempt":3,"ok":true},"user":{"id":42},"release":1.5,
            "request":{"url":"https://shop.example/pay","headers":[["Accept","*/*"],["Bad"]]}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let title = "TimeoutError: upstream";
    let issue = s.issue_by_title(title);
    let e = latest_event(&s, title);
    assert_eq!(
        removed(&e),
        ["request.headers[1]"],
        "the null breadcrumb is left out"
    );
    assert_eq!(e["data"]["breadcrumbs"].as_array().map(Vec::len), Some(1));
    let tags: Vec<(String, String)> = e["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap_or("").into(),
                t["value"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(tags.contains(&("attempt".into(), "3".into())), "{tags:?}");
    assert_eq!(e["data"]["user"]["id"], "42");
    assert_eq!(e["data"]["release"], "1.5");
    assert_eq!(e["data"]["fingerprint"], json!(["upstream-timeout"]));
    assert_eq!(issue["count"], "1");
    // The fingerprint (read from a string) groups: a second event joins the issue.
    let r = store(
        &s,
        br#"{"exception":{"type":"OtherError","value":"x"},"fingerprint":"upstream-timeout"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.issue_by_title(title)["count"], "2");
}

#[test]
fn only_bodies_that_are_no_json_object_are_refused() {
    let s = TestServer::start();
    for body in [&b"not json"[..], b"[1,2]", b"\"text\"", b"{\"a\":"] {
        let r = store(&s, body);
        assert_eq!(
            r.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(body),
            r.text()
        );
    }
    // A recognizable object made only of bad parts is still stored.
    let r = store(
        &s,
        br#"{"exception":5,"level":[],"user":"x","message":"kept"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let e = latest_event(&s, "kept");
    assert_eq!(removed(&e), ["exception", "level", "user"]);
    assert_eq!(s.event_count(), 1);
}

#[test]
fn raven_era_events_keep_exception_stack_message_request_and_user() {
    let s = TestServer::start();
    let raven = |ty: &str, func: &str| {
        json!({
            "event_id": new_id(),
            "project": "1",
            "culprit": format!("shop.views in {func}"),
            "message": format!("{ty}: boom"),
            "platform": "python",
            "sentry.interfaces.Exception": {"type": ty, "value": "boom", "module": "shop.errors"},
            "sentry.interfaces.Stacktrace": {"frames": [
                {"module": "django.core", "function": "get_response", "in_app": false},
                {"module": "shop.views", "function": func, "lineno": 10, "in_app": true}
            ]},
            "sentry.interfaces.Http": {"url": "https://shop.example/cart", "method": "GET",
                "headers": {"User-Agent": "curl"}, "env": {"REMOTE_ADDR": "10.0.0.1"}},
            "sentry.interfaces.User": {"id": "u1", "email": "u1@example.com"},
        })
        .to_string()
    };
    for (ty, func) in [
        ("CartError", "cart"),
        ("PayError", "pay"),
        ("CartError", "cart"),
    ] {
        let r = store(&s, raven(ty, func).as_bytes());
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let issues = s.issues();
    assert_eq!(
        issues.len(),
        2,
        "unrelated legacy events are two issues: {issues:#?}"
    );
    let cart = s.issue_by_title("CartError: boom");
    assert_eq!(cart["count"], "2");
    assert_eq!(cart["culprit"], "shop.views in cart");
    let e = latest_event(&s, "CartError: boom");
    let exc = exception_entry(&e);
    assert_eq!(
        exc["values"][0]["stacktrace"]["frames"][1]["function"],
        "cart"
    );
    assert_eq!(e["data"]["request"]["url"], "https://shop.example/cart");
    assert_eq!(e["data"]["user"]["email"], "u1@example.com");
    assert!(e["data"].get("sentry.interfaces.Http").is_none());
    assert_eq!(removed(&e), Vec::<String>::new());

    // A message with its template: grouped by the template, titled by the text.
    for n in [17, 42] {
        let body = json!({
            "message": format!("user {n} not found"),
            "sentry.interfaces.Message": {"message": "user %s not found", "params": [n]},
        });
        let r = store(&s, body.to_string().as_bytes());
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let by_template: Vec<Value> = s
        .issues()
        .into_iter()
        .filter(|i| i["title"].as_str().is_some_and(|t| t.starts_with("user ")))
        .collect();
    assert_eq!(by_template.len(), 1, "{by_template:#?}");
    assert_eq!(by_template[0]["count"], "2");
}

#[test]
fn security_reports_become_issues() {
    let s = TestServer::start();
    let post = |query: &str, content_type: &str, body: &str| {
        request(
            s.addr,
            "POST",
            &format!("/api/{}/security/?{query}", s.project.id),
            &[
                ("Content-Type", content_type),
                ("User-Agent", "Mozilla/5.0 test"),
            ],
            body.as_bytes(),
        )
    };
    let key = format!("sentry_key={}", s.key.public_key);
    let csp = |blocked: &str| {
        json!({"csp-report": {
            "document-uri": "https://shop.example/cart", "referrer": "",
            "violated-directive": "script-src-elem", "effective-directive": "script-src-elem",
            "original-policy": "script-src 'self'; report-uri /csp", "disposition": "enforce",
            "blocked-uri": blocked, "status-code": 200, "line-number": 10}})
        .to_string()
    };
    for blocked in [
        "https://evil.example/a.js",
        "https://evil.example/b.js",
        "https://cdn.example/x.js",
    ] {
        let r = post(
            &format!("{key}&sentry_environment=prod"),
            "application/csp-report",
            &csp(blocked),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let evil = s.issue_by_title("Blocked 'script' from 'evil.example'");
    assert_eq!(evil["count"], "2", "same directive and host: one issue");
    assert_eq!(evil["culprit"], "script-src-elem");
    assert_eq!(evil["type"], "csp");
    s.issue_by_title("Blocked 'script' from 'cdn.example'");
    let e = latest_event(&s, "Blocked 'script' from 'evil.example'");
    assert_eq!(e["data"]["csp"]["blocked-uri"], "https://evil.example/b.js");
    assert_eq!(e["type"], "csp");
    assert_eq!(e["data"]["environment"], "prod");
    assert_eq!(e["data"]["request"]["url"], "https://shop.example/cart");

    // The Reporting API form, Expect-CT and HPKP.
    let reports = json!([
        {"type": "csp-violation", "url": "https://shop.example/", "age": 1,
         "body": {"documentURL": "https://shop.example/", "blockedURL": "inline",
                  "effectiveDirective": "style-src-elem", "disposition": "enforce"}},
        {"type": "deprecation", "body": {"id": "x", "message": "old api"}}
    ]);
    let r = post(&key, "application/reports+json", &reports.to_string());
    assert_eq!(r.status, 200, "{}", r.text());
    s.issue_by_title("Blocked unsafe inline 'style'");
    let ct = json!({"expect-ct-report": {"date-time": "2026-12-03T10:00:00Z",
        "hostname": "shop.example", "port": 443, "effective-expiration-date": "2027-01-01T00:00:00Z"}});
    assert_eq!(
        post(&key, "application/expect-ct-report+json", &ct.to_string()).status,
        200
    );
    s.issue_by_title("Expect-CT failed for 'shop.example'");
    let hpkp = json!({"date-time": "2026-12-03T10:00:00Z", "hostname": "shop.example", "port": 443,
        "noted-hostname": "shop.example", "include-subdomains": false, "known-pins": ["pin-sha256=\"x\""]});
    assert_eq!(
        post(&key, "application/json", &hpkp.to_string()).status,
        200
    );
    s.issue_by_title("Public key pinning validation failed for 'shop.example'");

    // What is refused, and why.
    let r = post(&key, "application/csp-report", r#"{"something":"else"}"#);
    assert_eq!(r.status, 400);
    assert!(
        r.detail().contains("unrecognized security report"),
        "{}",
        r.detail()
    );
    assert_eq!(post(&key, "application/csp-report", "nope").status, 400);
    let r = post(
        "",
        "application/csp-report",
        &csp("https://evil.example/c.js"),
    );
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(
        s.issue_by_title("Blocked 'script' from 'evil.example'")["count"],
        "2"
    );
}

#[test]
fn the_event_page_lists_what_was_removed() {
    let s = TestServer::start();
    let r = store(
        &s,
        br#"{"message":"page shows removals","user":"nobody",
            "stacktrace":{"frames":[{"function":"f","lineno":-3}]},
            "sentry.interfaces.Template":{"filename":"cart.html","lineno":4,
              "pre_context":["<ul>"],"context_line":"{{ item.price|money }}","post_context":["</ul>"]}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let id = s.issue_by_title("page shows removals")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let web = web::login(&s, "admin@example.com", "password1");
    let page = web::get(&s, Some(&web), &format!("/issues/{id}/"));
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("2 fields of this event were invalid and removed"),
        "{html}"
    );
    assert!(html.contains("<code>user</code>"), "{html}");
    assert!(
        html.contains("<code>stacktrace.frames[0].lineno</code>"),
        "{html}"
    );
    assert!(
        html.contains("<h3>Template</h3>") && html.contains("cart.html"),
        "{html}"
    );
    assert_eq!(s.issue_by_title("page shows removals")["culprit"], "f");
}
