//! Web UI security and robustness over plain HTTP: redirect targets, invitation tokens
//! versus sessions, the failed-login throttle, hostile event data on the pages, HTML
//! well-formedness, and 404/400 for unknown ids and malformed parameters.

mod common;
#[path = "support/web.rs"]
mod web;

use common::{envelope, new_id, request, TestServer};
use sentry_server_lite::secrets;
use web::{
    cookie_pair, csrf_of, get, login, message_issue, post, set_cookie_value, try_login, user,
};

/// `next=` of the login form and `back` of the issue forms only ever lead to a path on
/// this server: not `//host`, `/\host`, or `/<TAB>/host` (browsers drop tabs, making it
/// `//host`).
#[test]
fn redirect_targets_stay_on_this_server() {
    let s = TestServer::start();
    let page = get(&s, None, "/login?next=%2F%09%2Fevil.example%2F");
    assert_eq!(page.status, 200);
    assert!(!page.text().contains("evil.example"), "next dropped");
    for next in [
        "%2F%09%2Fevil.example",
        "%2F%5Cevil.example",
        "%2F%2Fevil.example",
    ] {
        let page = get(&s, None, "/login");
        let csrf_cookie =
            cookie_pair(&set_cookie_value(&page, "sentry_lite_login_csrf").expect("cookie"));
        let body = format!(
            "csrf={}&email=admin%40example.com&password=password1&next={next}",
            csrf_of(&page.text())
        );
        let r = request(
            s.addr,
            "POST",
            "/login",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", csrf_cookie.as_str()),
            ],
            body.as_bytes(),
        );
        assert_eq!((r.status, r.header("location")), (303, Some("/")), "{next}");
    }
    let web = login(&s, "admin@example.com", "password1");
    let issue = message_issue(&s, "redirect target");
    let r = post(
        &s,
        Some(&web),
        &format!("/issues/{issue}/actions"),
        &format!(
            "csrf={}&action=bookmark&back=%2F%09%2Fevil.example",
            web.csrf
        ),
    );
    assert_eq!(
        r.header("location"),
        Some(format!("/issues/{issue}/").as_str())
    );
    let r = post(
        &s,
        Some(&web),
        "/projects/team/proj/bulk",
        &format!(
            "csrf={}&action=unbookmark&id={issue}&back=%2F%0D%0A%2Fevil.example",
            web.csrf
        ),
    );
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/projects/team/proj/"))
    );
}

/// An invitation token is not a session: put in the session cookie it logs nobody in,
/// and a login session's token is no invitation. A login replaces the browser's old
/// session server-side (no fixation, nothing left behind).
#[test]
fn invitation_tokens_are_not_sessions() {
    let s = TestServer::start();
    let invitee = s
        .store
        .create_user("invitee@example.com", "!", false)
        .expect("user");
    let path =
        sentry_server_lite::ui::invite::create(s.store.as_ref(), invitee.id).expect("invite");
    let token = path.strip_prefix("/invite/").expect("token").to_owned();
    assert_eq!(get(&s, None, &path).status, 200);
    for cookie in [
        format!("sentry_lite_session={token}"),
        format!("sentry_lite_session=invite:{token}"),
    ] {
        let r = request(
            s.addr,
            "GET",
            "/account/",
            &[("Cookie", cookie.as_str())],
            b"",
        );
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/login")),
            "{cookie} is no login"
        );
    }
    let web = login(&s, "admin@example.com", "password1");
    let session_token = web.cookie.split_once('=').expect("pair").1;
    assert_eq!(
        get(&s, None, &format!("/invite/{session_token}")).status,
        404
    );

    // Logging in again from the same browser ends the old session.
    let page = get(&s, Some(&web), "/login");
    assert_eq!(page.status, 303, "already logged in");
    let r = {
        let page = get(&s, None, "/login");
        let csrf_cookie =
            cookie_pair(&set_cookie_value(&page, "sentry_lite_login_csrf").expect("cookie"));
        let cookies = format!("{csrf_cookie}; {}", web.cookie);
        let body = format!(
            "csrf={}&email=admin%40example.com&password=password1",
            csrf_of(&page.text())
        );
        request(
            s.addr,
            "POST",
            "/login",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", cookies.as_str()),
            ],
            body.as_bytes(),
        )
    };
    assert_eq!(r.status, 303);
    let fresh = cookie_pair(&set_cookie_value(&r, "sentry_lite_session").expect("new session"));
    assert_ne!(fresh, web.cookie, "a new session token");
    assert_eq!(
        get(&s, Some(&web), "/account/").status,
        303,
        "old session ended"
    );
    let r = request(
        s.addr,
        "GET",
        "/account/",
        &[("Cookie", fresh.as_str())],
        b"",
    );
    assert_eq!(r.status, 200);
}

/// After five wrong passwords for one e-mail, its logins are refused for a while (even
/// with the right password), before any password is checked; other e-mails are not.
#[test]
fn repeated_failed_logins_are_throttled() {
    let s = TestServer::start();
    user(&s, "victim@example.com");
    for i in 0..5 {
        let r = try_login(&s, "victim@example.com", &format!("guess{i}"), &[]);
        assert_eq!(r.status, 401, "guess {i}");
    }
    let r = try_login(&s, "victim@example.com", "password1", &[]);
    assert_eq!(r.status, 429);
    assert!(r.text().contains("Too many failed logins"));
    assert!(set_cookie_value(&r, "sentry_lite_session").is_none());
    login(&s, "admin@example.com", "password1");
}

/// Checks that every non-void element is closed in order and that headings never skip a
/// level going down; answers the first problem.
fn html_problem(html: &str) -> Option<String> {
    const VOID: [&str; 9] = [
        "meta", "link", "input", "br", "img", "hr", "rect", "source", "!doctype",
    ];
    let mut stack: Vec<String> = Vec::new();
    let mut last_heading = 0u8;
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>')?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || VOID.contains(&name.as_str()) || tag.ends_with('/') {
            continue;
        }
        if closing {
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Some(format!("</{name}> closes {other:?}")),
            }
        } else {
            if let Some(level) = name
                .strip_prefix('h')
                .and_then(|l| l.parse::<u8>().ok())
                .filter(|l| (1..=6).contains(l))
            {
                if level > last_heading + 1 {
                    return Some(format!("<h{level}> after <h{last_heading}>"));
                }
                last_heading = level;
            }
            if name == "script" || name == "pre" || name == "title" || name == "textarea" {
                // Raw or escaped text up to the closing tag.
                let close = format!("</{name}>");
                let Some(i) = rest.find(&close) else {
                    return Some(format!("<{name}> never closed"));
                };
                rest = &rest[i + close.len()..];
                continue;
            }
            stack.push(name);
        }
    }
    (!stack.is_empty()).then(|| format!("unclosed: {stack:?}"))
}

/// Event data is text everywhere on the pages (HTML in messages, frames, source lines,
/// breadcrumbs, tags, request and user is escaped; a `javascript:` request URL is no
/// link), the main pages are well-formed with headings in order, and unknown ids or
/// malformed parameters answer 404 / 400, never 500.
#[test]
fn hostile_event_data_and_bad_requests() {
    assert!(
        html_problem("<div><p>x</div>").is_some(),
        "the checker sees unclosed tags"
    );
    assert!(
        html_problem("<h1>a</h1><h3>b</h3>").is_some(),
        "and skipped headings"
    );
    assert_eq!(html_problem("<h1>a</h1><h2>b</h2><p>c<br></p>"), None);
    let s = TestServer::start();
    let evil = r#"<img src=x onerror=alert(1)>\"'><script>alert(2)</script>"#;
    let event = serde_json::json!({
        "level": "error",
        "message": format!("hostile {evil}"),
        "culprit": evil,
        "release": evil,
        "environment": evil,
        "exception": {"values": [{"type": evil, "value": evil, "module": evil,
            "mechanism": {"type": evil, "handled": false},
            "stacktrace": {"frames": [
                {"function": evil, "filename": evil, "lineno": 3, "in_app": false},
                {"function": evil, "filename": "src/main.rs", "lineno": 7, "in_app": true,
                 "pre_context": [evil], "context_line": format!("</pre>{evil}"),
                 "post_context": [evil], "vars": {evil: evil}}]}}]},
        "breadcrumbs": {"values": [{"timestamp": 1.0, "category": evil, "message": evil, "level": "info"}]},
        "tags": {"evil": evil},
        "request": {"method": "GET", "url": "javascript:alert(3)",
            "headers": [["Referer", evil], ["Cookie", "session=hunter2"]],
            "query_string": [["q", evil]], "data": evil},
        "user": {"email": evil, "id": "7"},
        "contexts": {"os": {"name": evil, "version": "1"}},
        "extra": {"note": evil},
        "sdk": {"name": evil, "version": "1"}
    });
    let body = envelope(
        &format!("{{\"event_id\":\"{}\"}}", new_id()),
        &event.to_string(),
    );
    assert_eq!(s.post_envelope(&body).status, 200);
    let issue: i64 = s
        .issues()
        .first()
        .and_then(|i| i["id"].as_str().map(str::to_owned))
        .expect("issue")
        .parse()
        .expect("numeric");
    let admin = login(&s, "admin@example.com", "password1");
    let detail = get(&s, Some(&admin), &format!("/issues/{issue}/"));
    assert_eq!(detail.status, 200);
    let html = detail.text();
    for raw in [
        "<img src=x",
        "<script>alert",
        "href=\"javascript:",
        "hunter2",
    ] {
        assert!(!html.contains(raw), "{raw} in the issue page");
    }
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "shown as text"
    );
    for (path, web) in [
        (format!("/issues/{issue}/"), Some(&admin)),
        ("/projects/team/proj/".to_owned(), Some(&admin)),
        (
            "/projects/team/proj/?query=evil%3A%22%3Cimg%22".to_owned(),
            Some(&admin),
        ),
        ("/".to_owned(), Some(&admin)),
        ("/".to_owned(), None),
        ("/login".to_owned(), None),
        ("/account/".to_owned(), Some(&admin)),
        ("/settings/teams/team/".to_owned(), Some(&admin)),
        ("/settings/projects/team/proj/".to_owned(), Some(&admin)),
        ("/issues/999999/".to_owned(), Some(&admin)),
    ] {
        let r = get(&s, web, &path);
        assert!(r.status == 200 || r.status == 404, "{path}: {}", r.status);
        let html = r.text();
        assert!(!html.contains("<img src=x"), "{path} escapes");
        assert_eq!(html_problem(&html), None, "{path}");
    }
    // Unknown ids: 404; malformed parameters: 400.
    for path in [
        "/issues/999999/".to_owned(),
        "/issues/abc/".to_owned(),
        format!("/issues/{issue}/?event=00000000000000000000000000000000"),
        format!("/issues/{issue}/?event=not-an-id"),
        "/share/nope/".to_owned(),
        "/projects/team/nope/".to_owned(),
        "/projects/nope/proj/".to_owned(),
        "/settings/teams/nope/".to_owned(),
        "/settings/projects/team/nope/".to_owned(),
    ] {
        assert_eq!(get(&s, Some(&admin), &path).status, 404, "{path}");
    }
    // Out of range: refused, never wrapped (page=2^64-1 wrapped to page 1, #17).
    for path in [
        "/projects/team/proj/?page=abc",
        "/projects/team/proj/?page=-1",
        "/projects/team/proj/?page=18446744073709551615",
    ] {
        assert_eq!(get(&s, Some(&admin), path).status, 400, "{path}");
    }
    for path in [
        "/projects/team/proj/?page=0",
        "/projects/team/proj/?sort=nonsense&status=nonsense",
        "/projects/team/proj/?query=%22unclosed",
    ] {
        let r = get(&s, Some(&admin), path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(html_problem(&r.text()), None, "{path}");
    }
    let r = post(
        &s,
        Some(&admin),
        "/projects/team/proj/bulk",
        &format!("csrf={}&action=resolve&id=abc", admin.csrf),
    );
    assert_eq!(r.status, 400);
    let r = post(
        &s,
        Some(&admin),
        &format!("/issues/{issue}/actions"),
        &format!("csrf={}&action=explode", admin.csrf),
    );
    assert_eq!(r.status, 400);
    let r = post(
        &s,
        Some(&admin),
        "/issues/999999/actions",
        &format!("csrf={}&action=resolve", admin.csrf),
    );
    assert_eq!(r.status, 404);
}

/// An invitation sets a password once, also when its form is sent several times at once.
#[test]
fn an_invitation_is_used_once_under_concurrent_posts() {
    let s = TestServer::start();
    let invitee = s
        .store
        .create_user("twice@example.com", "!", false)
        .expect("user");
    let path =
        sentry_server_lite::ui::invite::create(s.store.as_ref(), invitee.id).expect("invite");
    let csrf = csrf_of(&get(&s, None, &path).text());
    let statuses = web::accept_invitation_concurrently(&[s.addr], &path, &csrf, 4);
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 404),
        "{statuses:?}"
    );
    let hash = s
        .store
        .user_by_email("twice@example.com")
        .expect("read")
        .expect("user")
        .password_hash;
    let set: Vec<usize> = (0..4)
        .filter(|i| secrets::verify_password(&format!("password-{i}"), &hash))
        .collect();
    assert_eq!(set.len(), 1, "exactly one password was set");
}

/// A password change revokes the user's API tokens (whoever had the old password may
/// have made one), and guesses of the current password on the change form are
/// throttled: after five wrong ones, even the right one is refused for a while.
#[test]
fn a_password_change_revokes_tokens_and_guesses_are_throttled() {
    let s = TestServer::start();
    let uid = user(&s, "changer@example.com");
    let (token, digest) = secrets::new_api_token();
    s.store.create_token(uid, &digest, "laptop").expect("token");
    let bearer = format!("Bearer {token}");
    let api = |s: &TestServer| {
        request(
            s.addr,
            "GET",
            "/api/0/projects/",
            &[("Authorization", bearer.as_str())],
            b"",
        )
        .status
    };
    assert_eq!(api(&s), 200, "the token works before");
    let web = login(&s, "changer@example.com", "password1");
    let change = |current: &str, new: &str| {
        post(
            &s,
            Some(&web),
            "/account/password",
            &format!("csrf={}&current={current}&new={new}", web.csrf),
        )
    };
    let r = change("password1", "second-password");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("API tokens revoked (1)"), "{}", r.text());
    assert_eq!(api(&s), 401, "the token is revoked");
    assert!(s.store.list_tokens(uid).expect("tokens").is_empty());

    for i in 0..5 {
        let r = change(&format!("guess{i}"), "third-password");
        assert_eq!(r.status, 400, "guess {i}");
    }
    let r = change("second-password", "third-password");
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.text().contains("Too many wrong current passwords"));
    // Nothing changed: the password is still the second one.
    let r = try_login(&s, "changer@example.com", "second-password", &[]);
    assert_eq!(r.status, 303, "{}", r.text());
}
