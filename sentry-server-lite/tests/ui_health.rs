//! The Releases and Monitors pages (issue #21): over plain HTTP (what they list, HTML
//! escaping, who may see them, "first seen in release" on the issue page) and in
//! headless Chromium (they render, with labelled sparklines, one h1, no horizontal
//! scrolling). The browser test needs `SENTRY_TEST_CHROMIUM` and
//! `SENTRY_TEST_CHROMEDRIVER` (set by `scripts/test`); it fails — never skips — without.

mod common;
#[path = "support/web.rs"]
mod web;
#[path = "support/webdriver.rs"]
mod webdriver;

use std::time::Duration;

use common::{envelope, new_id, wait_for, TestServer};
use serde_json::Value;
use web::{get, login, user};
use webdriver::Browser;

const RELEASES: &str = "/projects/team/proj/releases/";
const MONITORS: &str = "/projects/team/proj/monitors/";

/// Sessions of two releases (one with a crash), an error event, and a monitor with a run.
fn seed(s: &TestServer) {
    let now = sentry_client::protocol::Timestamp::now().to_rfc3339();
    let mut body = String::from("{}\n");
    for (i, (release, status)) in [
        ("web@1.0", "exited"),
        ("web@1.0", "crashed"),
        ("<b>web@2.0</b>", "exited"),
    ]
    .iter()
    .enumerate()
    {
        let payload = format!(
            r#"{{"sid":"{:032x}","init":true,"started":"{now}","status":"{status}","did":"u{i}","attrs":{{"release":"{release}","environment":"production"}}}}"#,
            i + 1
        );
        body.push_str(&format!("{{\"type\":\"session\"}}\n{payload}\n"));
    }
    let check_in = r#"{"check_in_id":"c8b2f2f2a6a24b9a9d1f1f3e0a7b6c5d","monitor_slug":"nightly-backup","status":"ok","duration":2.5,"monitor_config":{"schedule":{"type":"crontab","value":"0 3 * * *"},"timezone":"Europe/Vienna"}}"#;
    body.push_str(&format!("{{\"type\":\"check_in\"}}\n{check_in}\n"));
    let r = s.post_envelope(body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let event = r#"{"message":"release page failure","level":"error","release":"web@1.0"}"#;
    let r = s.post_envelope(&envelope(
        &format!("{{\"event_id\":\"{}\"}}", new_id()),
        event,
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    let ready = wait_for(Duration::from_secs(20), || {
        let releases = s.api("/api/0/projects/team/proj/releases/");
        let monitors = s.api("/api/0/projects/team/proj/monitors/");
        (releases.as_array().map(Vec::len) == Some(2)
            && monitors.as_array().map(Vec::len) == Some(1))
        .then_some(())
    });
    assert!(ready.is_some(), "seeded");
}

#[test]
fn pages_over_http() {
    let s = TestServer::start();
    seed(&s);
    let admin = login(&s, "admin@example.com", "password1");
    let r = get(&s, Some(&admin), RELEASES);
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(html.contains("web@1.0"), "{html}");
    assert!(
        html.contains("50.00 %"),
        "one of two sessions crashed: {html}"
    );
    assert!(
        html.contains("&#60;b&#62;web@2.0&#60;/b&#62;") || html.contains("&lt;b&gt;web@2.0"),
        "escaped: {html}"
    );
    assert!(!html.contains("<b>web@2.0"), "{html}");
    assert!(html.contains("crash-free sessions per hour"), "{html}");
    let r = get(&s, Some(&admin), MONITORS);
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(html.contains("nightly-backup"), "{html}");
    assert!(html.contains("crontab 0 3 * * * (Europe/Vienna)"), "{html}");
    assert!(html.contains("2.5 s"), "{html}");
    // The project's issue list links both pages; the issue page names the first release.
    let list = get(&s, Some(&admin), "/projects/team/proj/").text();
    assert!(list.contains(RELEASES) && list.contains(MONITORS), "{list}");
    let issue = s.issue_by_title("release page failure");
    let page = get(
        &s,
        Some(&admin),
        &format!("/issues/{}/", issue["id"].as_str().expect("id")),
    )
    .text();
    assert!(
        page.contains("first seen in release <strong>web@1.0</strong>"),
        "{page}"
    );
    // Someone outside the team sees neither page.
    user(&s, "outsider@example.com");
    let outsider = login(&s, "outsider@example.com", "password1");
    assert_eq!(get(&s, Some(&outsider), RELEASES).status, 404);
    assert_eq!(get(&s, Some(&outsider), MONITORS).status, 404);
    let api = common::request(
        s.addr,
        "GET",
        "/api/0/projects/team/proj/monitors/",
        &[],
        b"",
    );
    assert!(
        matches!(api.status, 401 | 403 | 404),
        "anonymous: {}",
        api.status
    );
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set (see ./scripts/test): apt-get install chromium chromium-driver")
    })
}

/// One h1, labelled SVGs, no horizontal scrolling.
fn check_page(b: &Browser, what: &str) {
    let problems = b.script(
        r#"const p = [];
        if (document.querySelectorAll('h1').length !== 1) p.push('h1 count');
        for (const svg of document.querySelectorAll('svg'))
          if (!svg.getAttribute('aria-label')) p.push('svg without a label');
        if (document.documentElement.scrollWidth > document.documentElement.clientWidth)
          p.push('horizontal scrolling');
        return p;"#,
    );
    assert_eq!(problems, Value::Array(vec![]), "{what}");
}

#[test]
fn pages_in_headless_chromium() {
    let chromedriver = env("SENTRY_TEST_CHROMEDRIVER");
    let chromium = env("SENTRY_TEST_CHROMIUM");
    let s = TestServer::start();
    seed(&s);
    let base = format!("http://{}", s.addr);
    let b = Browser::start(&chromedriver, &chromium);
    b.clear_cookies();
    b.goto(&format!("{base}/login"));
    b.type_into(&b.find("#login-email"), "admin@example.com");
    b.type_into(&b.find("#login-password"), "password1");
    b.click(&b.find("form.login button[type=submit]"));
    b.wait_url(&format!("{base}/"));

    b.goto(&format!("{base}/projects/team/proj/"));
    b.click(&b.find(&format!("a[href=\"{RELEASES}\"]")));
    b.wait_url(&format!("{base}{RELEASES}"));
    let rows = b.find_all("tr.release");
    assert_eq!(rows.len(), 2);
    let text: Vec<String> = rows.iter().map(|r| b.text(r)).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("web@1.0") && t.contains("50.00 %")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|t| t.contains("<b>web@2.0</b>")),
        "shown as text: {text:?}"
    );
    assert_eq!(b.find_all("svg.crash-free").len(), 2);
    check_page(&b, "releases");
    b.resize(390, 900);
    check_page(&b, "releases on a phone");
    b.resize(1280, 900);

    b.goto(&format!("{base}{MONITORS}"));
    let card = b.wait_find("#monitor-nightly-backup");
    let text = b.text(&card);
    assert!(
        text.contains("nightly-backup") && text.contains("ok"),
        "{text}"
    );
    assert_eq!(b.find_all("tr.run").len(), 1);
    check_page(&b, "monitors");
    let png = b.screenshot();
    assert!(png.starts_with(b"\x89PNG"));
}
