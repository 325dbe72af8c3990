//! The feedback and attachment parts of the web UI (issue #22): in headless Chromium,
//! the issue page lists its event's attachments and the issue's feedback and the
//! project's feedback page lists what users said — hostile file names and HTML in
//! feedback shown as text, never as markup; over plain HTTP, the issue page's download
//! link answers with the headers that keep a file from rendering or being framed, the
//! settings form turns attachment storage off, and outsiders get nothing.
//!
//! Needs `SENTRY_TEST_CHROMIUM` and `SENTRY_TEST_CHROMEDRIVER` (set by `scripts/test`);
//! fails — never skips — without.

mod common;
#[path = "support/web.rs"]
mod web;
#[path = "support/webdriver.rs"]
mod webdriver;

use std::time::Duration;

use common::{new_id, wait_for, TestServer};
use serde_json::Value;
use web::{get, login, post};
use webdriver::Browser;

const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>.log";
const HOSTILE_FEEDBACK: &str = "It broke <script>window.pwned=1</script><b>bold</b>";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set. Run ./scripts/test (it installs Debian's chromium and \
             chromium-driver), or by hand: apt-get install chromium chromium-driver && \
             export SENTRY_TEST_CHROMIUM=/usr/bin/chromium \
             SENTRY_TEST_CHROMEDRIVER=/usr/bin/chromedriver"
        )
    })
}

/// An event with a hostile-named attachment and a feedback about it; the issue id and
/// the event id.
fn seed(s: &TestServer) -> (String, String) {
    let id = new_id();
    let event = format!(r#"{{"event_id":"{id}","message":"upload failed"}}"#);
    let file = b"line 1\nline 2\n";
    let name = serde_json::to_string(HOSTILE_NAME).expect("json");
    let feedback = serde_json::json!({
        "event_id": new_id(),
        "contexts": {"feedback": {"message": HOSTILE_FEEDBACK, "name": "Eve <eve>",
            "contact_email": "eve@example.com", "associated_event_id": id}},
    })
    .to_string();
    let mut body = format!(
        "{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{event}\n\
         {{\"type\":\"attachment\",\"length\":{},\"filename\":{name},\"content_type\":\"text/html\"}}\n",
        event.len(),
        file.len()
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(
        format!(
            "\n{{\"type\":\"feedback\",\"length\":{}}}\n{feedback}\n",
            feedback.len()
        )
        .as_bytes(),
    );
    let r = s.post_envelope(&body);
    assert_eq!(r.status, 200, "{}", r.text());
    let issue = wait_for(Duration::from_secs(20), || {
        let list = s.api("/api/0/projects/team/proj/user-feedback/");
        list[0]["issue"]["id"].as_str().map(str::to_owned)
    })
    .expect("feedback linked to the issue");
    (issue, id)
}

fn no_horizontal_scroll(b: &Browser, what: &str) {
    let widths = b.script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
    );
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "{what} overflows: {widths}"
    );
    let h1 = b.script("return document.querySelectorAll('h1').length;");
    assert_eq!(h1, Value::from(1), "{what}: one h1");
}

/// A screenshot kept in `target/ui-screenshots/` (as `tests/ui_browser.rs` keeps its).
fn save_screenshot(b: &Browser, name: &str) {
    let png = b.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("target"))
        .join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(dir.join(name), png).expect("write screenshot");
}

#[test]
fn attachments_and_feedback_in_headless_chromium() {
    let chromedriver = env("SENTRY_TEST_CHROMEDRIVER");
    let chromium = env("SENTRY_TEST_CHROMIUM");
    let s = TestServer::start();
    let (issue_id, _) = seed(&s);
    let base = format!("http://{}", s.addr);
    let b = Browser::start(&chromedriver, &chromium);
    b.clear_cookies();
    b.goto(&format!("{base}/login"));
    b.type_into(&b.find("#login-email"), "admin@example.com");
    b.type_into(&b.find("#login-password"), "password1");
    b.click(&b.find("form.login button[type=submit]"));
    b.wait_url(&format!("{base}/"));

    b.goto(&format!("{base}/issues/{issue_id}/"));
    b.wait_find("ul.attachments");
    let links = b.find_all("ul.attachments a");
    assert_eq!(links.len(), 1, "one attachment listed");
    assert_eq!(b.text(&links[0]), HOSTILE_NAME, "the name is text");
    let injected = b.script(
        "return [document.querySelectorAll('img[src=x]').length, \
         document.querySelectorAll('.feedback script, .feedback b').length, \
         window.pwned === undefined];",
    );
    assert_eq!(
        injected,
        serde_json::json!([0, 0, true]),
        "nothing injected"
    );
    let message = b.text(&b.find(".feedback-message"));
    assert_eq!(message, HOSTILE_FEEDBACK);
    no_horizontal_scroll(&b, "issue page");
    save_screenshot(&b, "issue-feedback-attachments.png");

    // The project's feedback page, through the issue list's link.
    b.goto(&format!("{base}/projects/team/proj/"));
    b.click(&b.find("a[href='/projects/team/proj/feedback/']"));
    b.wait_url(&format!("{base}/projects/team/proj/feedback/"));
    assert_eq!(b.text(&b.find(".feedback-message")), HOSTILE_FEEDBACK);
    assert!(b.text(&b.find(".feedback .muted")).contains("Eve <eve>"));
    no_horizontal_scroll(&b, "feedback page");
    save_screenshot(&b, "project-feedback.png");
    b.resize(375, 800);
    no_horizontal_scroll(&b, "feedback page at 375px");
    b.resize(1280, 900);
    b.click(&b.find(&format!(".feedback a[href='/issues/{issue_id}/']")));
    b.wait_url(&format!("{base}/issues/{issue_id}/"));
}

#[test]
fn downloads_from_the_issue_page_cannot_render_and_the_setting_works() {
    let s = TestServer::start();
    let (issue_id, event_id) = seed(&s);
    let admin = login(&s, "admin@example.com", "password1");
    let html = get(&s, Some(&admin), &format!("/issues/{issue_id}/")).text();
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62;.log"),
        "escaped name: {html}"
    );
    let start = html
        .find(&format!("/issues/{issue_id}/attachments/"))
        .expect("a download link");
    let link: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let r = get(&s, Some(&admin), &link);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b"line 1\nline 2\n");
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.starts_with("sandbox"),
        "the download's own policy: {csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(r
        .header("content-disposition")
        .unwrap_or_default()
        .starts_with("attachment;"));
    // Outsiders: the issue's files, feedback page and download are not found.
    assert_eq!(get(&s, None, &link).status, 404);
    assert_eq!(get(&s, None, "/projects/team/proj/feedback/").status, 404);
    let other = link.replace(&format!("/issues/{issue_id}/"), "/issues/999999/");
    assert_eq!(get(&s, Some(&admin), &other).status, 404);

    // The settings form turns storage off: the next event's file is not kept.
    let settings = "/settings/projects/team/proj/";
    let page = get(&s, Some(&admin), settings).text();
    assert!(
        page.contains("name=\"store_attachments\" value=\"1\" checked"),
        "{page}"
    );
    let r = post(
        &s,
        Some(&admin),
        settings,
        &format!("csrf={}&action=attachments", admin.csrf),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        s.api("/api/0/projects/team/proj/")["storeAttachments"],
        false
    );
    let (_, second) = seed(&s);
    assert_ne!(second, event_id);
    let files = s.api(&format!(
        "/api/0/projects/team/proj/events/{second}/attachments/"
    ));
    assert_eq!(files, serde_json::json!([]), "not stored");
}
