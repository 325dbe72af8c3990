//! Upgrading an old install: the SQL dumps under `tests/fixtures/upgrade/` were written by
//! an earlier release through its real commands and HTTP (`make.sh` there); loaded into a
//! fresh SQLite data dir and a fresh PostgreSQL database, each is opened by this build's
//! server (its migrations run at start) and must serve the same issues, counts, DSNs,
//! logins, web session and API token. Both backends are checked here, so this test runs
//! on PostgreSQL whatever `SENTRY_TEST_BACKEND` says (it needs `SENTRY_TEST_POSTGRES_URL`).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use common::{envelope, new_id, request, spawn_serve, wait_for, Response};
use sentry_server_lite::store::{self, DbTarget, Synchronous};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/upgrade");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture file")
}

/// The fixture's session was made to last 14 days from when it was written: moved into
/// the future here, as if the old install had been upgraded the day it was dumped.
fn refresh_session_sql() -> String {
    let later = sentry_server_lite::clock::now_ms() + 24 * 3600 * 1000;
    format!("UPDATE sessions SET expires_at = {later}")
}

/// A server on the upgraded data; stopped on drop.
struct Upgraded {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Upgraded {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, database_url: Option<&str>) -> Upgraded {
    let mut envs = vec![
        // The fixture's events are as old as the fixture: keep them.
        ("SENTRY_LITE_RETENTION_DAYS".to_owned(), "0".to_owned()),
    ];
    if let Some(url) = database_url {
        envs.push(("SENTRY_LITE_DATABASE_URL".to_owned(), url.to_owned()));
    }
    let (child, addr) = spawn_serve(dir, envs);
    Upgraded { child, addr }
}

fn api(addr: SocketAddr, token: &str, path: &str) -> Value {
    let auth = format!("Bearer {token}");
    let r = request(addr, "GET", path, &[("Authorization", auth.as_str())], b"");
    assert_eq!(r.status, 200, "GET {path}: {}", r.text());
    r.json()
}

fn issues(addr: SocketAddr, token: &str, project: &str) -> Vec<Value> {
    let mut list: Vec<Value> = api(
        addr,
        token,
        &format!("/api/0/projects/backend/{project}/issues/?query="),
    )
    .as_array()
    .expect("a list")
    .iter()
    .map(|i| serde_json::json!({"title": i["title"], "count": i["count"], "status": i["status"]}))
    .collect();
    list.sort_by(|a, b| a["title"].as_str().cmp(&b["title"].as_str()));
    list
}

fn post_event(addr: SocketAddr, project_id: i64, key: &str, message: &str) -> Response {
    let body = envelope(
        &format!("{{\"event_id\":\"{}\"}}", new_id()),
        &format!(
            "{{\"message\":\"{message}\",\"level\":\"error\",\"tags\":{{\"upgraded\":\"yes\"}}}}"
        ),
    );
    let auth = format!("Sentry sentry_version=7, sentry_key={key}");
    request(
        addr,
        "POST",
        &format!("/api/{project_id}/envelope/"),
        &[("X-Sentry-Auth", auth.as_str())],
        &body,
    )
}

fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.split(';').next().unwrap_or_default().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn login(addr: SocketAddr, email: &str, password: &str) -> Response {
    let page = request(addr, "GET", "/login", &[], b"");
    assert_eq!(page.status, 200);
    let csrf_cookie = set_cookie(&page, "sentry_lite_login_csrf").expect("csrf cookie");
    let html = page.text();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    let csrf = html[start..].split('"').next().unwrap_or_default();
    let body = format!(
        "csrf={csrf}&email={}&password={password}&next=%2F",
        email.replace('@', "%40")
    );
    request(
        addr,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", csrf_cookie.as_str()),
        ],
        body.as_bytes(),
    )
}

/// Everything the fixture's facts promise, through the upgraded server.
fn check(dir: &Path, database_url: Option<&str>, facts: &Value) {
    let server = serve(dir, database_url);
    let addr = server.addr;
    let token = facts["token"].as_str().expect("token");

    // The API token still works; the projects, issues, counts and statuses are the same.
    let projects = api(addr, token, "/api/0/projects/");
    let mut slugs: Vec<&str> = projects
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["slug"].as_str())
        .collect();
    slugs.sort_unstable();
    assert_eq!(slugs, ["api", "web"]);
    for project in ["api", "web"] {
        assert_eq!(
            issues(addr, token, project),
            facts["issues"][project].as_array().expect("issues").clone(),
            "issues of {project}"
        );
    }
    let bad = request(
        addr,
        "GET",
        "/api/0/projects/",
        &[("Authorization", "Bearer 0000000000000000")],
        b"",
    );
    assert_eq!(bad.status, 401, "an unknown token is refused");

    // What later migrations added reads as its defaults on the old projects: scrubbing
    // settings (on, IPs kept) and no alert rules.
    for project in ["api", "web"] {
        let details = api(addr, token, &format!("/api/0/projects/backend/{project}/"));
        assert_eq!(details["dataScrubber"], true, "{project}: {details}");
        assert_eq!(details["scrubIPAddresses"], false, "{project}: {details}");
        let rules = api(
            addr,
            token,
            &format!("/api/0/projects/backend/{project}/alert-rules/"),
        );
        assert_eq!(rules, serde_json::json!([]), "{project}");
    }

    // The DSNs: the live key and the rate-limited one ingest, the revoked one is refused.
    let api_id = facts["projects"]["api"]["id"].as_i64().expect("id");
    let web_id = facts["projects"]["web"]["id"].as_i64().expect("id");
    let live = facts["projects"]["api"]["live_key"].as_str().expect("key");
    let revoked = facts["projects"]["api"]["revoked_key"]
        .as_str()
        .expect("key");
    let limited = facts["projects"]["web"]["rate_limited_key"]
        .as_str()
        .expect("key");
    let r = post_event(addr, api_id, live, "database timeout");
    assert_eq!(r.status, 200, "live key: {}", r.text());
    let r = post_event(addr, api_id, live, "cache miss storm");
    assert_eq!(r.status, 200, "live key: {}", r.text());
    let r = post_event(addr, web_id, limited, "button broken");
    assert_eq!(r.status, 200, "rate-limited key: {}", r.text());
    let r = post_event(addr, api_id, revoked, "database timeout");
    assert!(
        r.status == 401 || r.status == 403,
        "revoked key refused, got {}: {}",
        r.status,
        r.text()
    );
    // The new events joined the old issues; the resolved one came back.
    let expected = |title: &str, count: &str, status: &str| serde_json::json!({"title": title, "count": count, "status": status});
    let want_api = vec![
        expected("cache miss storm", "2", "unresolved"),
        expected("database timeout", "4", "unresolved"),
        expected("payment declined", "2", "unresolved"),
    ];
    let want_web = vec![expected("button broken", "3", "unresolved")];
    let got = wait_for(Duration::from_secs(10), || {
        let (a, w) = (issues(addr, token, "api"), issues(addr, token, "web"));
        (a == want_api && w == want_web).then_some(())
    });
    assert!(
        got.is_some(),
        "issues after ingest: {:?} {:?}",
        issues(addr, token, "api"),
        issues(addr, token, "web")
    );

    // The items later migrations store (logs, sessions, attachments) go into the
    // upgraded database beside an event, and read back.
    let event_id = new_id();
    let now = serde_json::to_string(&sentry_client::protocol::Timestamp::now()).expect("time");
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let body = format!(
        "{{\"event_id\":\"{event_id}\"}}\n\
         {{\"type\":\"event\"}}\n\
         {{\"message\":\"after the upgrade\",\"level\":\"error\"}}\n\
         {{\"type\":\"log\",\"item_count\":1,\"content_type\":\"application/vnd.sentry.items.log+json\"}}\n\
         {{\"items\":[{{\"body\":\"upgraded log\",\"level\":\"info\",\"timestamp\":{secs}}}]}}\n\
         {{\"type\":\"session\"}}\n\
         {{\"sid\":\"{sid}\",\"init\":true,\"started\":{now},\"status\":\"exited\",\"attrs\":{{\"release\":\"api@2\"}}}}\n\
         {{\"type\":\"attachment\",\"length\":5,\"filename\":\"note.txt\"}}\n\
         hello\n",
        sid = new_id(),
    );
    let auth = format!("Sentry sentry_version=7, sentry_key={live}");
    let r = request(
        addr,
        "POST",
        &format!("/api/{api_id}/envelope/"),
        &[("X-Sentry-Auth", auth.as_str())],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "new item types: {}", r.text());
    let logs = wait_for(Duration::from_secs(10), || {
        let v = api(addr, token, "/api/0/projects/backend/api/logs/");
        let list = v.as_array().cloned().unwrap_or_default();
        (!list.is_empty()).then_some(list)
    })
    .expect("the log is stored");
    assert_eq!(logs[0]["body"], "upgraded log");
    let releases = api(addr, token, "/api/0/projects/backend/api/releases/");
    assert!(
        releases
            .as_array()
            .expect("releases")
            .iter()
            .any(|r| r["version"] == "api@2" && r["sessions"] == 1),
        "the session counts: {releases}"
    );
    let files = api(
        addr,
        token,
        &format!("/api/0/projects/backend/api/events/{event_id}/attachments/"),
    );
    assert_eq!(files[0]["name"], "note.txt", "{files}");

    // Every password still logs in; the old web session is still live.
    for user in facts["logins"].as_array().expect("logins") {
        let email = user["email"].as_str().expect("email");
        let r = login(addr, email, user["password"].as_str().expect("password"));
        assert_eq!(r.status, 303, "login {email}: {}", r.text());
        assert!(set_cookie(&r, "sentry_lite_session").is_some(), "{email}");
    }
    let r = login(addr, "dev@example.com", "not-the-password");
    assert_ne!(r.status, 303, "a wrong password is refused");
    let cookie = format!(
        "sentry_lite_session={}",
        facts["session"]["cookie"].as_str().expect("cookie")
    );
    let home = request(addr, "GET", "/", &[("Cookie", cookie.as_str())], b"");
    assert_eq!(home.status, 200);
    let email = facts["session"]["email"].as_str().expect("email");
    assert!(home.text().contains(email), "the old session is {email}'s");
    drop(server);

    // What HTTP does not show: the rate limit and the team's roles.
    let store = store::open(
        database_url,
        &sentry_server_lite::config::database_path(dir),
        Synchronous::Full,
    )
    .expect("open the upgraded store");
    let key = store.key_by_public(limited).expect("read").expect("key");
    let limit = key.rate_limit.expect("a rate limit");
    assert_eq!(
        (limit.count, limit.window_secs),
        (100, 60),
        "rate limit kept"
    );
    let team = store.team_by_slug("backend").expect("read").expect("team");
    let members = store.team_members(team.id).expect("members");
    for (email, role) in facts["team"]["members"].as_object().expect("members") {
        let m = members
            .iter()
            .find(|m| m.email == *email)
            .unwrap_or_else(|| panic!("{email} is a member"));
        assert_eq!(m.role.as_str(), role.as_str().expect("role"), "{email}");
    }
}

#[test]
fn sqlite_install_upgrades() {
    let dir = tempfile::tempdir().expect("tempdir");
    let facts: Value = serde_json::from_str(&fixture("sqlite-v2.json")).expect("facts");
    {
        let db = rusqlite::Connection::open(sentry_server_lite::config::database_path(dir.path()))
            .expect("sqlite");
        db.execute_batch(&fixture("sqlite-v2.sql"))
            .expect("load the dump");
        db.execute_batch(&refresh_session_sql()).expect("session");
    }
    check(dir.path(), None, &facts);
}

#[test]
fn postgres_install_upgrades() {
    let dir = tempfile::tempdir().expect("tempdir");
    let facts: Value = serde_json::from_str(&fixture("postgres-v4.json")).expect("facts");
    let url = common::fresh_postgres_database();
    {
        let mut db = DbTarget::parse(&url)
            .expect("url")
            .connect()
            .expect("connect");
        db.batch_execute(&fixture("postgres-v4.sql"))
            .expect("load the dump");
        // The dump empties the search path for its own statements.
        db.batch_execute(&format!(
            "SET search_path TO public; {}",
            refresh_session_sql()
        ))
        .expect("session");
    }
    check(dir.path(), Some(&url), &facts);
    if let Some(name) = url.rsplit('/').next().and_then(|s| s.split('?').next()) {
        common::drop_postgres_database(name);
    }
}
