//! Password checks under attack (issue #17): a flood of logins runs only a few argon2
//! verifications at once (the rest wait briefly or get 503/429), a flood from one
//! address is throttled even with unknown e-mails, and guesses from one address never
//! lock the account's owner out at another.
//!
//! The hashing gate is one per process, so this binary's tests run one after another
//! inside a single test function.

mod common;
#[path = "support/web.rs"]
mod support;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{Response, TestServer};
use support::{cookie_pair, csrf_of, set_cookie_value, try_login, user};

fn metric(s: &TestServer, name: &str) -> u64 {
    let r = common::request(s.addr, "GET", "/metrics", &[], b"");
    let text = r.text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

/// One HTTP request sent from the local address `from` (another loopback address).
fn request_from(
    from: &str,
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let local: SocketAddr = format!("{from}:0").parse().expect("addr");
    socket.bind(&local.into()).expect("bind the client side");
    socket.connect(&to.into()).expect("connect");
    let mut stream: std::net::TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(req.as_bytes()).expect("write");
    stream.write_all(body).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Response {
        status,
        headers: head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn login_from(from: &str, s: &TestServer, email: &str, password: &str) -> Response {
    let page = request_from(from, s.addr, "GET", "/login", &[], b"");
    assert_eq!(page.status, 200);
    let cookie = cookie_pair(&set_cookie_value(&page, "sentry_lite_login_csrf").expect("cookie"));
    let body = format!(
        "csrf={}&email={}&password={password}&next=%2F",
        csrf_of(&page.text()),
        email.replace('@', "%40")
    );
    request_from(
        from,
        s.addr,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", cookie.as_str()),
        ],
        body.as_bytes(),
    )
}

#[test]
fn password_checks_are_bounded_and_throttled_by_address() {
    a_flood_of_unknown_e_mails_runs_few_hashes_and_is_throttled();
    guesses_from_one_address_do_not_lock_the_owner_out();
}

fn a_flood_of_unknown_e_mails_runs_few_hashes_and_is_throttled() {
    let s = Arc::new(TestServer::start());
    let slots = metric(&s, "sentry_lite_password_hash_slots");
    let barrier = Arc::new(Barrier::new(48));
    let flood: Vec<_> = (0..48)
        .map(|i| {
            let (s, barrier) = (s.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let r = try_login(&s, &format!("nobody{i}@example.com"), "guess-guess", &[]);
                if r.status == 503 {
                    assert!(r.header("retry-after").is_some(), "503 says when to retry");
                }
                r.status
            })
        })
        .collect();
    let statuses: Vec<u16> = flood
        .into_iter()
        .map(|t| t.join().expect("login"))
        .collect();
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "every login is refused cleanly: {statuses:?}"
    );
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.len() - wrong;
    // At most 30 failures per address and window are even checked.
    assert!(wrong <= 30, "{statuses:?}");
    assert!(refused >= 18, "{statuses:?}");
    eprintln!("flood statuses: {statuses:?}");
    let peak = metric(&s, "sentry_lite_password_hashes_peak");
    assert!(
        (1..=slots).contains(&peak),
        "hashes at once {peak} within {slots} slots"
    );
    // The address is throttled now, whatever e-mail it tries next.
    let r = try_login(&s, "someone-new@example.com", "guess-guess", &[]);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(metric(&s, "sentry_lite_password_hashes_running"), 0);
}

fn guesses_from_one_address_do_not_lock_the_owner_out() {
    let s = TestServer::start();
    user(&s, "owner@example.com");
    // The guesser, at 127.0.0.2: five wrong passwords, then refused even with the right one.
    for i in 0..5 {
        let r = login_from("127.0.0.2", &s, "owner@example.com", &format!("guess{i}"));
        assert_eq!(r.status, 401, "guess {i}");
    }
    let r = login_from("127.0.0.2", &s, "owner@example.com", "password1");
    assert_eq!(r.status, 429, "the guessing address is throttled");
    // The owner, at 127.0.0.1, logs in with the right password.
    let r = try_login(&s, "owner@example.com", "password1", &[]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(set_cookie_value(&r, "sentry_lite_session").is_some());
}
