//! The web UI in a real browser: headless Chromium driven over WebDriver against a server
//! started by the test, with an issue made by a real panic sent by our SDK.
//!
//! Needs Debian's `chromium` and `chromium-driver`; `scripts/test` installs them and sets
//! `SENTRY_TEST_CHROMIUM` and `SENTRY_TEST_CHROMEDRIVER`. Fails — never skips — without.
//! Screenshots go to `target/ui-screenshots/`.

mod common;
#[path = "support/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{wait_for, TestServer};
use sentry_client::{Client, ClientOptions, Hub};
use sentry_server_lite::policy::Role;
use sentry_server_lite::secrets;
use sentry_server_lite::store::IssueStatus;
use serde_json::Value;
use webdriver::Browser;

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

/// The function whose frame the issue page must show.
#[inline(never)]
fn checkout_total_overflows(items: &[u32]) -> u32 {
    let total: u32 = items.iter().sum();
    if total > 10 {
        panic!("checkout total {total} exceeds the limit");
    }
    total
}

/// Sends a real panic (and a message) through our SDK and waits until both are stored.
fn report_panic(s: &TestServer) {
    let client = Arc::new(Client::from_config(ClientOptions {
        release: Some("ui-browser@1.0".into()),
        ..ClientOptions::default().with_dsn(&s.dsn())
    }));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    sentry_client::panic::install_panic_hook();
    let h = Arc::clone(&hub);
    let joined = std::thread::Builder::new()
        .name("checkout".into())
        .spawn(move || {
            Hub::run(h, || {
                sentry_client::add_breadcrumb(sentry_client::Breadcrumb {
                    category: Some("cart".into()),
                    message: Some("added 3 items".into()),
                    ..Default::default()
                });
                checkout_total_overflows(std::hint::black_box(&[7, 8, 9]))
            })
        })
        .expect("thread")
        .join();
    assert!(joined.is_err(), "the thread panicked");
    Hub::run(hub, || {
        sentry_client::capture_message("nightly report finished", sentry_client::Level::Info)
    });
    assert!(client.flush(Some(Duration::from_secs(10))), "delivered");
    let stored = wait_for(Duration::from_secs(10), || {
        (s.issues().len() >= 2).then_some(())
    });
    assert!(stored.is_some(), "two issues stored: {:#?}", s.issues());
    client.close(None);
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // target/<profile>/deps/<test exe>
            let exe = std::env::current_exe().expect("exe");
            exe.ancestors().nth(3).expect("target dir").to_path_buf()
        });
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A full-page screenshot: the window grows to the page's height first.
fn save_screenshot(b: &Browser, name: &str, width: u32) {
    // The window's height includes the (invisible) browser frame: add it.
    let sizes = b.script(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
    );
    let page = sizes[0].as_u64().unwrap_or(900);
    let frame = sizes[1].as_u64().unwrap_or(0);
    b.resize(width, (page + frame).clamp(400, 8000) as u32);
    let png = b.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let path = screenshot_dir().join(name);
    std::fs::write(&path, png).expect("write screenshot");
    eprintln!("screenshot: {}", path.display());
    b.resize(width, 900);
}

const A11Y_CHECK: &str = r#"
const problems = [];
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden') continue;
  const byFor = el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
  if (!(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || byFor || el.closest('label')))
    problems.push('unlabelled ' + el.outerHTML.slice(0, 100));
}
for (const img of document.querySelectorAll('img')) {
  if (!img.hasAttribute('alt')) problems.push('img without alt ' + img.outerHTML.slice(0, 100));
}
for (const svg of document.querySelectorAll('svg')) {
  if (!(svg.getAttribute('aria-label') || svg.getAttribute('aria-hidden'))) problems.push('svg without a label');
}
const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => +h.tagName[1]);
if (levels.filter(l => l === 1).length !== 1) problems.push('h1 count is ' + levels.filter(l => l === 1).length);
let prev = 0;
for (const l of levels) { if (l > prev + 1) problems.push('heading jumps from h' + prev + ' to h' + l); prev = l; }
if (!document.documentElement.lang) problems.push('no lang on <html>');
for (const b of document.querySelectorAll('button, a')) {
  if (!(b.textContent.trim() || b.getAttribute('aria-label'))) problems.push('empty ' + b.tagName);
}
return problems;
"#;

/// Accessibility basics and no horizontal scrolling at the current width.
fn check_page(b: &Browser, what: &str) {
    let problems = b.script(A11Y_CHECK);
    assert_eq!(
        problems,
        Value::Array(vec![]),
        "accessibility problems on {what} ({})",
        b.url()
    );
    let widths = b.script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
    );
    let (scroll, client) = (widths[0].as_u64(), widths[1].as_u64());
    assert!(
        scroll <= client,
        "{what} overflows horizontally: scrollWidth {scroll:?} > clientWidth {client:?} ({})",
        b.url()
    );
}

fn log_in(b: &Browser, base: &str, email: &str, password: &str) {
    b.clear_cookies();
    b.goto(&format!("{base}/login"));
    b.type_into(&b.find("#login-email"), email);
    b.type_into(&b.find("#login-password"), password);
    b.click(&b.find("form.login button[type=submit]"));
    b.wait_url(&format!("{base}/"));
    let who = b.text(&b.find(".account a"));
    assert_eq!(who, email);
}

fn page_source(b: &Browser) -> String {
    b.script("return document.documentElement.outerHTML;")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn web_ui_in_headless_chromium() {
    let chromedriver = env("SENTRY_TEST_CHROMEDRIVER");
    let chromium = env("SENTRY_TEST_CHROMIUM");
    let s = TestServer::start();
    let base = format!("http://{}", s.addr);
    let agent = s
        .store
        .create_user(
            "agent@example.com",
            &secrets::hash_password("agentpass1").expect("hash"),
            false,
        )
        .expect("agent");
    s.store
        .set_membership(s.project.team_id, agent.id, Role::Agent)
        .expect("agent membership");
    report_panic(&s);
    let panic_issue = s
        .issues()
        .into_iter()
        .find(|i| i["title"].as_str().unwrap_or("").contains("checkout total"))
        .unwrap_or_else(|| panic!("panic issue in {:#?}", s.issues()));
    let issue_id = panic_issue["id"].as_str().expect("id").to_owned();
    let title = panic_issue["title"].as_str().expect("title").to_owned();
    let message_issue = s.issue_by_title("nightly report finished");
    let message_id = message_issue["id"].as_str().expect("id").to_owned();

    let b = Browser::start(&chromedriver, &chromium);

    // A visitor sees the login form; the private project is not listed.
    b.goto(&format!("{base}/"));
    b.find("#login-email");
    assert!(b.find_all("a[href='/projects/team/proj/']").is_empty());
    check_page(&b, "home (visitor)");

    // The superuser logs in, opens the project and the issue.
    log_in(&b, &base, "admin@example.com", "password1");
    check_page(&b, "projects overview");
    assert_eq!(b.find_all(".project svg.spark").len(), 2, "two sparklines");
    b.click(&b.find("a[href='/projects/team/proj/']"));
    b.wait_url(&format!("{base}/projects/team/proj/"));
    let link = b.find(&format!("a.title[href='/issues/{issue_id}/']"));
    assert_eq!(b.text(&link), title);
    check_page(&b, "issue list");
    save_screenshot(&b, "issue-list.png", 1280);
    b.click(&link);
    b.wait_url(&format!("{base}/issues/{issue_id}/"));
    let frames: Vec<String> = b
        .find_all(".frame.app .fn")
        .iter()
        .map(|f| b.text(f))
        .collect();
    assert!(
        frames
            .iter()
            .any(|f| f.contains("checkout_total_overflows")),
        "the panicking function's frame is shown expanded: {frames:?}"
    );
    let html = page_source(&b);
    assert!(
        html.contains("checkout total 24 exceeds the limit"),
        "panic message"
    );
    assert!(html.contains("added 3 items"), "breadcrumb");
    check_page(&b, "issue detail");
    save_screenshot(&b, "issue-detail.png", 1280);

    // The settings pages pass the same checks (the alerts page with a rule on it).
    let rule = sentry_server_lite::store::alerts::RuleSpec {
        name: "Production errors".into(),
        triggers: vec![sentry_server_lite::store::alerts::Trigger::NewIssue],
        environment: Some("production".into()),
        level: None,
        volume: None,
        actions: vec![sentry_server_lite::store::alerts::AlertAction::Webhook {
            url: "https://hooks.example.com/x".into(),
            secret: None,
        }],
        frequency_minutes: 30,
    };
    sentry_server_lite::store::alerts::create_rule(s.store.as_ref(), s.project.id, &rule)
        .expect("alert rule");
    for (path, what, shot) in [
        ("/", "projects overview", "projects-overview.png"),
        (
            "/settings/projects/team/proj/",
            "project settings",
            "project-settings.png",
        ),
        (
            "/settings/teams/team/",
            "team settings",
            "team-settings.png",
        ),
        ("/account/", "account", "account.png"),
        (
            "/settings/projects/team/proj/alerts/",
            "alert settings",
            "alert-settings.png",
        ),
    ] {
        b.goto(&format!("{base}{path}"));
        check_page(&b, what);
        save_screenshot(&b, shot, 1280);
    }

    // Narrow (phone) viewport: the pages do not scroll sideways.
    b.resize(375, 800);
    for (path, what) in [
        ("/".to_owned(), "overview at 375px"),
        ("/projects/team/proj/".to_owned(), "issue list at 375px"),
        (format!("/issues/{issue_id}/"), "issue detail at 375px"),
        (
            "/settings/projects/team/proj/".to_owned(),
            "project settings at 375px",
        ),
        ("/settings/teams/team/".to_owned(), "team settings at 375px"),
        ("/account/".to_owned(), "account at 375px"),
        (
            "/settings/projects/team/proj/alerts/".to_owned(),
            "alert settings at 375px",
        ),
    ] {
        b.goto(&format!("{base}{path}"));
        check_page(&b, what);
    }
    b.goto(&format!("{base}/issues/{issue_id}/"));
    save_screenshot(&b, "issue-detail-narrow.png", 375);
    b.goto(&format!("{base}/projects/team/proj/"));
    save_screenshot(&b, "issue-list-narrow.png", 375);
    b.resize(1280, 900);

    // Resolve: the issue leaves the unresolved tab and shows up under resolved.
    b.goto(&format!("{base}/issues/{issue_id}/"));
    b.click(&b.find("#resolve"));
    b.wait_find("#unresolve");
    b.wait_url(&format!("{base}/issues/{issue_id}/"));
    let id: i64 = issue_id.parse().expect("numeric id");
    assert_eq!(
        s.store.issue(id).expect("issue").expect("exists").status,
        IssueStatus::Resolved
    );
    b.goto(&format!("{base}/projects/team/proj/"));
    assert!(
        b.find_all(&format!("a.title[href='/issues/{issue_id}/']"))
            .is_empty(),
        "resolved issue left the unresolved tab"
    );
    b.find(&format!("a.title[href='/issues/{message_id}/']"));
    b.goto(&format!("{base}/projects/team/proj/?status=resolved"));
    b.find(&format!("a.title[href='/issues/{issue_id}/']"));

    // Bulk: tick the other issue on the list and bookmark it.
    b.goto(&format!("{base}/projects/team/proj/"));
    // The page's script (served by the binary, allowed by its CSP) ticks every box.
    let select_all = b.find("#select-all");
    let ticked = "return [...document.querySelectorAll('input[name=id]')].map(c => c.checked);";
    b.click(&select_all);
    assert_eq!(b.script(ticked), serde_json::json!([true]), "select all");
    b.click(&select_all);
    assert_eq!(b.script(ticked), serde_json::json!([false]));
    b.click(&b.find(&format!("input[name=id][value='{message_id}']")));
    b.click(&b.find("form#bulk button[value=bookmark]"));
    b.wait_url(&format!("{base}/projects/team/proj/?status=unresolved"));
    b.goto(&format!("{base}/projects/team/proj/?status=bookmarked"));
    b.find(&format!("a.title[href='/issues/{message_id}/']"));

    // Log out: the session is gone server-side, the old cookie is worth nothing.
    b.goto(&format!("{base}/"));
    b.click(&b.find(".account button"));
    b.wait_find("#login-email");

    // The agent may look and bookmark but not resolve: no button, and a forged POST
    // carrying a valid CSRF token is refused by the policy.
    log_in(&b, &base, "agent@example.com", "agentpass1");
    b.goto(&format!("{base}/issues/{message_id}/"));
    assert!(
        b.find_all("#resolve").is_empty(),
        "no resolve button for an agent"
    );
    b.find("button[value=bookmark]");
    b.goto(&format!("{base}/issues/{issue_id}/"));
    assert!(
        b.find_all("#unresolve").is_empty(),
        "no unresolve button for an agent"
    );
    b.goto(&format!("{base}/projects/team/proj/"));
    assert!(
        b.find_all("button[value=resolve]").is_empty(),
        "no bulk resolve"
    );
    let forged = b.script(&format!(
        r#"const csrf = document.querySelector('input[name=csrf]').value;
        const post = body => fetch('/issues/{message_id}/actions', {{method: 'POST',
            headers: {{'Content-Type': 'application/x-www-form-urlencoded'}}, body, redirect: 'manual'}})
            .then(r => r.status);
        return Promise.all([post('csrf=' + csrf + '&action=resolve'),
                            post('csrf=forged&action=bookmark'),
                            fetch('/projects/team/proj/bulk', {{method: 'POST',
                              headers: {{'Content-Type': 'application/x-www-form-urlencoded'}},
                              body: 'csrf=' + csrf + '&action=resolve&id={message_id}', redirect: 'manual'}}).then(r => r.status)]);"#
    ));
    assert_eq!(
        forged,
        serde_json::json!([403, 403, 403]),
        "forged resolve (valid CSRF), forged CSRF, bulk resolve"
    );
    let mid: i64 = message_id.parse().expect("numeric id");
    assert_eq!(
        s.store.issue(mid).expect("issue").expect("exists").status,
        IssueStatus::Unresolved,
        "nothing changed"
    );
    // What the agent may do works through the same form.
    b.goto(&format!("{base}/issues/{message_id}/"));
    b.click(&b.find("button[value=bookmark]"));
    b.wait_find("button[value=unbookmark]");

    // A public project is listed for visitors and readable without actions.
    s.store
        .update_project(
            s.project.id,
            &sentry_server_lite::store::accounts::ProjectUpdate {
                is_public: Some(true),
                ..Default::default()
            },
        )
        .expect("public");
    b.clear_cookies();
    b.goto(&format!("{base}/"));
    b.click(&b.find("a[href='/projects/team/proj/']"));
    b.wait_find(&format!("a.title[href='/issues/{message_id}/']"));
    assert!(
        b.find_all("form#bulk").is_empty(),
        "no bulk actions for visitors"
    );
    check_page(&b, "public issue list");
    b.goto(&format!("{base}/issues/{message_id}/"));
    assert!(
        b.find_all("form.actions").is_empty(),
        "no actions for visitors"
    );

    // A raven-era template error with parts that did not read: the page lists what was
    // removed and shows the template, in the same layout checks.
    let auth = s.auth_header();
    let r = common::request(
        s.addr,
        "POST",
        &format!("/api/{}/store/", s.project.id),
        &[("X-Sentry-Auth", &auth), ("Content-Type", "application/json")],
        br#"{"message":"template failed to render","user":"nobody","level":40,
            "sentry.interfaces.Template":{"filename":"cart.html","lineno":2,
              "pre_context":["<ul>"],"context_line":"{{ item.price|money }}","post_context":["</ul>"]},
            "stacktrace":{"frames":[{"function":"render","module":"shop.views","lineno":-1,"in_app":true}]}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let odd = s.issue_by_title("template failed to render");
    let odd_id = odd["id"].as_str().expect("id").to_owned();
    log_in(&b, &base, "admin@example.com", "password1");
    b.resize(1280, 900);
    b.goto(&format!("{base}/issues/{odd_id}/"));
    let notice = b.text(&b.find(".removed-parts"));
    assert!(
        notice.contains("2 fields of this event were invalid and removed")
            && notice.contains("stacktrace.frames[0].lineno")
            && notice.contains("user"),
        "{notice}"
    );
    assert!(
        page_source(&b).contains("cart.html"),
        "the template is shown"
    );
    check_page(&b, "issue detail with removed parts");
    save_screenshot(&b, "issue-detail-removed-parts.png", 1280);
}
