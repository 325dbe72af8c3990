//! A browser as far as the server can tell, for the web UI tests over plain HTTP: the
//! session cookie and CSRF token, logins, form posts, and a few fixtures.
#![allow(dead_code)]

use crate::common::{envelope, new_id, request, Response, TestServer};
use sentry_server_lite::secrets;

/// A logged-in browser, as far as the server can tell: the session cookie and the
/// session's CSRF token.
pub struct Web {
    pub cookie: String,
    pub csrf: String,
}

pub fn set_cookie_value(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v)
        .find(|v| v.starts_with(&format!("{name}=")))
        .cloned()
}

pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

pub fn get(s: &TestServer, web: Option<&Web>, path: &str) -> Response {
    let headers: Vec<(&str, &str)> = web
        .map(|w| vec![("Cookie", w.cookie.as_str())])
        .unwrap_or_default();
    request(s.addr, "GET", path, &headers, b"")
}

pub fn post(s: &TestServer, web: Option<&Web>, path: &str, body: &str) -> Response {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(w) = web {
        headers.push(("Cookie", w.cookie.as_str()));
    }
    request(s.addr, "POST", path, &headers, body.as_bytes())
}

pub fn try_login(s: &TestServer, email: &str, password: &str, extra: &[(&str, &str)]) -> Response {
    let page = request(s.addr, "GET", "/login", extra, b"");
    assert_eq!(page.status, 200);
    let csrf_cookie =
        cookie_pair(&set_cookie_value(&page, "sentry_lite_login_csrf").expect("csrf cookie"));
    let token = csrf_of(&page.text());
    let body = format!(
        "csrf={token}&email={}&password={}&next=%2F",
        email.replace('@', "%40"),
        password
    );
    let mut headers = vec![
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", csrf_cookie.as_str()),
    ];
    headers.extend_from_slice(extra);
    request(s.addr, "POST", "/login", &headers, body.as_bytes())
}

pub fn login(s: &TestServer, email: &str, password: &str) -> Web {
    let r = try_login(s, email, password, &[]);
    assert_eq!(r.status, 303, "login {email}: {}", r.text());
    let cookie = cookie_pair(&set_cookie_value(&r, "sentry_lite_session").expect("session cookie"));
    let home = request(s.addr, "GET", "/", &[("Cookie", cookie.as_str())], b"");
    assert!(home.text().contains(email), "home page names {email}");
    Web {
        csrf: csrf_of(&home.text()),
        cookie,
    }
}

pub fn user(s: &TestServer, email: &str) -> i64 {
    s.store
        .create_user(
            email,
            &secrets::hash_password("password1").expect("hash"),
            false,
        )
        .expect("user")
        .id
}

pub fn message_issue(s: &TestServer, message: &str) -> i64 {
    let body = envelope(
        &format!("{{\"event_id\":\"{}\"}}", new_id()),
        &format!(
            "{{\"message\":\"{message}\",\"level\":\"error\",\"tags\":{{\"cell\":\"{}\"}}}}",
            message.len()
        ),
    );
    let r = s.post_envelope(&body);
    assert_eq!(r.status, 200, "{}", r.text());
    s.issue_by_title(message)["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("numeric")
}

/// Posts the invitation form at `path` from `n` threads released at once, thread `i`
/// choosing `password-{i}` and sending to `addrs[i % addrs.len()]`; the statuses, by `i`.
pub fn accept_invitation_concurrently(
    addrs: &[std::net::SocketAddr],
    path: &str,
    csrf: &str,
    n: usize,
) -> Vec<u16> {
    let start = std::sync::Barrier::new(n);
    std::thread::scope(|scope| {
        let posts: Vec<_> = (0..n)
            .map(|i| {
                let (addr, start) = (addrs[i % addrs.len()], &start);
                scope.spawn(move || {
                    let body = format!("csrf={csrf}&password=password-{i}&confirm=password-{i}");
                    start.wait();
                    request(
                        addr,
                        "POST",
                        path,
                        &[("Content-Type", "application/x-www-form-urlencoded")],
                        body.as_bytes(),
                    )
                    .status
                })
            })
            .collect();
        posts.into_iter().map(|h| h.join().expect("post")).collect()
    })
}
