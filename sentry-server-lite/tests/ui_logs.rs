//! The Logs page and "Logs of this trace" on an event's page (issue #20): over plain
//! HTTP (filters, escaping, the "Older" link, who may see it), and in headless Chromium
//! (the page renders, a log's attributes open on click). Fails — never skips — without
//! `SENTRY_TEST_CHROMIUM` / `SENTRY_TEST_CHROMEDRIVER` (see tests/ui_browser.rs).

mod common;
#[path = "support/web.rs"]
mod web;
#[allow(dead_code)] // the helpers other browser tests use
#[path = "support/webdriver.rs"]
mod webdriver;

use std::sync::Arc;
use std::time::Duration;

use common::{request, wait_for, TestServer};
use sentry_client::{logger_error, logger_info, Client, ClientOptions, Hub, Level};
use web::{get, login};
use webdriver::Browser;

const PAGE: &str = "/projects/team/proj/logs/";
const TRACE: &str = "fedcba9876543210fedcba9876543210";

/// Sends logs in a trace, then an error event in the same trace, and waits for both.
fn send(s: &TestServer) {
    let client = Arc::new(Client::from_config(ClientOptions::new().dsn(&s.dsn())));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(hub, || {
        sentry_client::configure_scope(|scope| {
            scope.set_context(
                "trace",
                serde_json::json!({"trace_id": TRACE, "span_id": "0011223344556677"}),
            )
        });
        logger_info!(cart.id = "c-9", "loading <cart> for {}", "bob");
        logger_error!(code = 502, "payment gateway timed out");
        sentry_client::capture_message("checkout failed", Level::Error);
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    wait_for(Duration::from_secs(20), || {
        let logs = s.api("/api/0/projects/team/proj/logs/");
        (logs.as_array().map(Vec::len) == Some(2) && !s.issues().is_empty()).then_some(())
    })
    .expect("two logs and an issue");
}

#[test]
fn the_logs_page_filters_escapes_and_pages() {
    let s = TestServer::start();
    send(&s);
    let admin = login(&s, "admin@example.com", "password1");
    let r = get(&s, Some(&admin), PAGE);
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(
        html.contains("loading &#60;cart&#62; for bob"),
        "escaped body: {html}"
    );
    assert!(!html.contains("<cart>"));
    assert!(html.contains("log log-error") && html.contains("log log-info"));
    assert!(html.contains("cart.id") && html.contains("c-9"));
    // The error log is newest: it comes first.
    assert!(html.find("payment gateway").unwrap() < html.find("loading &#60;cart").unwrap());
    let only_errors = get(&s, Some(&admin), &format!("{PAGE}?level=error")).text();
    assert!(only_errors.contains("payment gateway") && !only_errors.contains("loading &#60;cart"));
    let by_attr = get(&s, Some(&admin), &format!("{PAGE}?query=cart.id%3Ac-9")).text();
    assert!(by_attr.contains("loading &#60;cart") && !by_attr.contains("payment gateway"));
    let bad = get(&s, Some(&admin), &format!("{PAGE}?level=loud")).text();
    assert!(bad.contains("unknown level"), "{bad}");
    // One per page: an "Older logs" link leads to the next one.
    let one = get(&s, Some(&admin), &format!("{PAGE}?limit=1")).text();
    assert!(one.contains("payment gateway") && !one.contains("loading &#60;cart"));
    let href = one
        .split("<a href=\"")
        .find_map(|p| {
            p.split_once("\" rel=\"next\"")
                .map(|(h, _)| h.replace("&amp;", "&"))
        })
        .expect("an Older link");
    let older = get(&s, Some(&admin), &format!("{PAGE}{href}")).text();
    assert!(
        older.contains("loading &#60;cart") && !older.contains("payment gateway"),
        "{older}"
    );
    // Anonymous: a private project's logs are not shown.
    let anon = request(s.addr, "GET", PAGE, &[], b"");
    assert!(
        anon.status == 302 || anon.status == 303 || anon.status == 404 || anon.status == 401,
        "{}",
        anon.status
    );
}

#[test]
fn the_event_page_lists_the_logs_of_its_trace() {
    let s = TestServer::start();
    send(&s);
    let admin = login(&s, "admin@example.com", "password1");
    let issue = s.issue_by_title("checkout failed");
    let html = get(
        &s,
        Some(&admin),
        &format!("/issues/{}/", issue["id"].as_str().expect("id")),
    )
    .text();
    assert!(html.contains("Logs of this trace"), "{html}");
    assert!(html.contains(TRACE));
    // In time order: what happened before the error comes first.
    let a = html
        .find("loading &#60;cart&#62; for bob")
        .expect("first log");
    let b = html.find("payment gateway timed out").expect("second log");
    assert!(a < b);
    assert!(html.contains(&format!("/projects/team/proj/logs/?trace={TRACE}")));
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set. Run ./scripts/test, or see tests/ui_browser.rs")
    })
}

#[test]
fn the_logs_page_renders_in_headless_chromium() {
    let s = TestServer::start();
    send(&s);
    let b = Browser::start(
        &env("SENTRY_TEST_CHROMEDRIVER"),
        &env("SENTRY_TEST_CHROMIUM"),
    );
    let base = format!("http://{}", s.addr);
    b.goto(&format!("{base}/login"));
    b.type_into(&b.find("#login-email"), "admin@example.com");
    b.type_into(&b.find("#login-password"), "password1");
    b.click(&b.find("form.login button[type=submit]"));
    b.wait_url(&format!("{base}/"));
    b.goto(&format!("{base}{PAGE}"));
    let logs = b.find_all("details.log");
    assert_eq!(logs.len(), 2);
    let body = b.text(&b.find("details.log-info .log-body"));
    assert_eq!(body, "loading <cart> for bob");
    // The attribute table opens on click.
    let open = b.script("return document.querySelector('details.log-info').open;");
    assert_eq!(open, serde_json::Value::Bool(false));
    b.click(&b.find("details.log-info summary"));
    let open = b.script("return document.querySelector('details.log-info').open;");
    assert_eq!(open, serde_json::Value::Bool(true));
    let attrs = b.text(&b.find("details.log-info table.log-attributes"));
    assert!(
        attrs.contains("cart.id") && attrs.contains("c-9"),
        "{attrs}"
    );
    // The error's border colour differs from the info's.
    let colour = |sel: &str| {
        b.script(&format!(
            "return getComputedStyle(document.querySelector('{sel}')).borderLeftColor;"
        ))
    };
    assert_ne!(colour("details.log-error"), colour("details.log-info"));
    // And the event page shows the trace's logs.
    let issue = s.issue_by_title("checkout failed");
    b.goto(&format!(
        "{base}/issues/{}/",
        issue["id"].as_str().expect("id")
    ));
    let section = b.text(&b.find("section.trace-logs"));
    assert!(section.contains("payment gateway timed out"), "{section}");
}
