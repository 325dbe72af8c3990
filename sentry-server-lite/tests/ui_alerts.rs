//! The alert settings page (issue #19) over plain HTTP: it lists a project's rules with
//! their recent deliveries and status (retrying with the last error and the next try,
//! then sent), its "send a test notification" button sends one through the outbox, a rule
//! can be created from its JSON form and deleted; members and agents see the page without
//! the buttons, and their posts are refused.

mod alerts_support;
mod common;
#[path = "support/web.rs"]
mod web;

use std::time::{Duration, Instant};

use alerts_support::{event_json, Receiver};
use common::{envelope, new_id, TestServer};
use sentry_server_lite::policy::Role;
use serde_json::json;
use web::{get, login, post, user};

/// Generous: bounds a hung test, not speed.
const LIMIT: Duration = Duration::from_secs(60);
const PAGE: &str = "/settings/projects/team/proj/alerts/";

fn wait_page(s: &TestServer, w: &web::Web, what: &str, f: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let r = get(s, Some(w), PAGE);
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        if f(&html) {
            return html;
        }
        assert!(start.elapsed() < LIMIT, "waited for {what}: {html}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_page_shows_deliveries_and_its_buttons_work() {
    let hook = Receiver::start(503);
    let s = TestServer::start_with(|c| {
        c.alerts.allow_private_networks = true;
        c.alerts.retry_base = Duration::from_millis(200);
        c.alerts.poll = Duration::from_millis(20);
    });
    let admin = login(&s, "admin@example.com", "password1");
    let r = get(&s, Some(&admin), PAGE);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("No alert rules yet."));

    // A rule from the page's JSON form.
    let rule = json!({"name": "page rule", "triggers": ["new_issue"],
                      "actions": [{"type": "webhook", "url": hook.url("/ui")}]});
    let body = format!(
        "csrf={}&action=create&rule_json={}",
        admin.csrf,
        sentry_server_lite::ui::url_encode(&rule.to_string())
    );
    let r = post(&s, Some(&admin), PAGE, &body);
    assert_eq!(r.status, 303, "{}", r.text());
    let bad = format!("csrf={}&action=create&rule_json=%7B", admin.csrf);
    assert_eq!(post(&s, Some(&admin), PAGE, &bad).status, 400, "not JSON");
    let rules = s.api("/api/0/projects/team/proj/alert-rules/");
    let id = rules[0]["id"].as_str().expect("id").to_owned();

    let event = event_json(&new_id(), "shown on the page");
    assert_eq!(s.post_envelope(&envelope("{}", &event)).status, 200);
    let html = wait_page(&s, &admin, "a retrying delivery", |h| {
        h.contains("retrying")
    });
    assert!(html.contains("page rule"), "{html}");
    assert!(html.contains("shown on the page"), "{html}");
    assert!(html.contains("HTTP 503"), "the last error: {html}");
    assert!(html.contains("next try"), "{html}");
    assert!(html.contains("Send a test notification"), "{html}");

    hook.set_status(200);
    wait_page(&s, &admin, "the delivery sent", |h| {
        h.contains("status-sent") && !h.contains("status-retrying")
    });
    let before = hook.accepted().len();
    let test = format!("csrf={}&action=test&rule={id}", admin.csrf);
    assert_eq!(post(&s, Some(&admin), PAGE, &test).status, 303);
    let got = hook.wait(LIMIT, "the test notification", |r| {
        r.iter().filter(|x| x.answered == 200).count() > before
    });
    assert_eq!(got.last().expect("a request").json()["action"], "test");
    let html = wait_page(&s, &admin, "the test delivery listed", |h| {
        h.contains(">test</td>") || h.contains(">test<")
    });
    assert!(html.contains("status-sent"), "{html}");

    // Members and agents see the rules, not the buttons; their posts are refused.
    for (email, role) in [
        ("member@example.com", Role::Member),
        ("agent@example.com", Role::Agent),
    ] {
        let uid = user(&s, email);
        s.store
            .set_membership(s.project.team_id, uid, role)
            .expect("membership");
        let w = login(&s, email, "password1");
        let r = get(&s, Some(&w), PAGE);
        assert_eq!(r.status, 200, "{email}");
        let html = r.text();
        assert!(html.contains("page rule"), "{email}: {html}");
        assert!(
            !html.contains("Send a test notification"),
            "{email}: {html}"
        );
        let test = format!("csrf={}&action=test&rule={id}", w.csrf);
        assert_eq!(post(&s, Some(&w), PAGE, &test).status, 403, "{email}");
    }
    let outsider = user(&s, "outsider@example.com");
    assert!(outsider > 0);
    let w = login(&s, "outsider@example.com", "password1");
    assert_eq!(get(&s, Some(&w), PAGE).status, 404, "an outsider");

    let delete = format!("csrf={}&action=delete&rule={id}", admin.csrf);
    assert_eq!(post(&s, Some(&admin), PAGE, &delete).status, 303);
    assert_eq!(
        s.api("/api/0/projects/team/proj/alert-rules/"),
        json!([]),
        "deleted"
    );
}
