//! Alerts are delivered durably (issue #19): while the receiver answers 503 the delivery is
//! retried; across a `kill -9` of the real `serve` binary and a restart it is retried
//! again, and once the receiver is back it arrives, once, under the one delivery id it had
//! from the start. An e-mail alert goes through a real SMTP server (Python's `aiosmtpd`
//! from the test venv, `SENTRY_TEST_PYTHON`) with the title in its subject and a
//! link built from `--public-url`.
//! SQLite by default, PostgreSQL with `SENTRY_TEST_BACKEND=postgres`.

mod alerts_support;
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alerts_support::{event_json, Receiver};
use common::{db_env, envelope, new_id, open_store, python, request, spawn_serve};
use sentry_server_lite::secrets;
use serde_json::{json, Value};

/// Generous: bounds a hung test (retries back off from 200 ms), not speed.
const LIMIT: Duration = Duration::from_secs(90);

/// A team, a project with a key, and a superuser's API token in the data dir's store;
/// `(project id, public key, token)`.
fn seed(dir: &Path) -> (i64, String, String) {
    let store = open_store(dir);
    let team = store.create_team("team", "Team", None).expect("team");
    let project = store
        .create_project(team.id, "proj", "Proj", None)
        .expect("project");
    let key = store.create_key(project.id, "Default").expect("key");
    let user = store
        .create_user("admin@example.com", "unused", true)
        .expect("user");
    let (token, digest) = secrets::new_api_token();
    store.create_token(user.id, &digest, "t").expect("token");
    (project.id, key.public_key, token)
}

/// A `serve` process, killed (SIGKILL) when dropped, so that a failing test leaves none.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path, extra: &[(&str, &str)]) -> (Serving, std::net::SocketAddr) {
    let mut envs = db_env(dir);
    for (k, v) in [
        ("SENTRY_LITE_ALERT_ALLOW_PRIVATE_NETWORKS", "true"),
        ("SENTRY_LITE_ALERT_RETRY_BASE_MS", "200"),
        ("SENTRY_LITE_ALERT_POLL_MS", "50"),
        ("SENTRY_LITE_ALERT_LEASE_MS", "2000"),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    {
        envs.push((k.to_owned(), v.to_owned()));
    }
    let (child, addr) = spawn_serve(dir, envs);
    (Serving(child), addr)
}

fn api(addr: std::net::SocketAddr, token: &str, method: &str, path: &str, body: &Value) -> Value {
    let auth = format!("Bearer {token}");
    let text = body.to_string();
    let payload = if body.is_null() {
        b"".as_slice()
    } else {
        text.as_bytes()
    };
    let r = request(
        addr,
        method,
        path,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        payload,
    );
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.text());
    r.json()
}

fn send_event(addr: std::net::SocketAddr, project_id: i64, key: &str, message: &str) {
    let auth = format!("Sentry sentry_key={key}, sentry_version=7");
    let r = request(
        addr,
        "POST",
        &format!("/api/{project_id}/envelope/"),
        &[("X-Sentry-Auth", &auth)],
        &envelope("{}", &event_json(&new_id(), message)),
    );
    assert_eq!(r.status, 200, "ingest: {}", r.text());
}

#[test]
fn a_delivery_survives_receiver_outage_and_kill_9_with_one_id() {
    let hook = Receiver::start(503);
    let dir = tempfile::tempdir().expect("tempdir");
    let (project_id, key, token) = seed(dir.path());
    let (mut first, addr) = serve(dir.path(), &[]);
    let rule = api(
        addr,
        &token,
        "POST",
        "/api/0/projects/team/proj/alert-rules/",
        &json!({"name": "durable", "triggers": ["new_issue"],
                "actions": [{"type": "webhook", "url": hook.url("/down"), "secret": "k"}]}),
    );
    let rule_id = rule["id"].as_str().expect("id").to_owned();
    send_event(addr, project_id, &key, "survive me");
    hook.wait(LIMIT, "two failed tries", |r| r.len() >= 2);

    first.0.kill().expect("SIGKILL");
    first.0.wait().expect("reaped");
    let before_restart = hook.requests().len();
    let (second, addr) = serve(dir.path(), &[]);
    hook.wait(LIMIT, "a try after the restart", |r| {
        r.len() > before_restart
    });

    hook.set_status(200);
    hook.wait(LIMIT, "the delivery once the receiver is back", |r| {
        r.iter().any(|x| x.answered == 200)
    });
    let path = format!("/api/0/projects/team/proj/alert-rules/{rule_id}/deliveries/");
    let start = Instant::now();
    let deliveries = loop {
        let d = api(addr, &token, "GET", &path, &Value::Null);
        if d[0]["status"] == "sent" {
            break d;
        }
        assert!(start.elapsed() < LIMIT, "not recorded as sent: {d}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let all = hook.requests();
    let ids: std::collections::BTreeSet<String> = all.iter().map(|r| r.delivery_id()).collect();
    assert_eq!(ids.len(), 1, "one delivery id on every try: {ids:?}");
    assert_eq!(hook.accepted().len(), 1, "delivered once");
    assert_eq!(deliveries.as_array().map(Vec::len), Some(1));
    assert_eq!(deliveries[0]["id"], ids.iter().next().expect("id").as_str());
    assert!(
        deliveries[0]["attempts"].as_i64().unwrap_or(0) >= all.len() as i64 - 1,
        "the tries are counted (one may have been cut by the kill): {deliveries}"
    );
    let body = hook.accepted()[0].json();
    assert_eq!(body["action"], "new_issue");
    assert_eq!(body["issue"]["title"], "survive me");
    drop(second);
}

/// `python -m aiosmtpd` on a free loopback port, printing what it receives to `out`.
struct SmtpServer {
    child: Child,
    port: u16,
}

impl SmtpServer {
    fn start(out: &Path) -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::from(std::fs::File::create(out).expect("log file")))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start aiosmtpd");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < LIMIT, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer { child, port }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_email_alert_arrives_through_smtp_with_the_title_in_its_subject() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mails = dir.path().join("mails.txt");
    let smtp = SmtpServer::start(&mails);
    let smtp_url = format!("smtp://127.0.0.1:{}", smtp.port);
    let s = common::TestServer::start_with(|c| {
        c.alerts.smtp_url = Some(smtp_url);
        c.alerts.smtp_from = Some("alerts@example.com".into());
        c.alerts.poll = Duration::from_millis(20);
        c.public_url = Some("https://errors.example.com".into());
    });
    let (addr, project_id, key, token) = (
        s.addr,
        s.project.id,
        s.key.public_key.clone(),
        s.token.clone(),
    );
    api(
        addr,
        &token,
        "POST",
        "/api/0/projects/team/proj/alert-rules/",
        &json!({"name": "mail", "triggers": ["new_issue"],
                "actions": [{"type": "email", "to": ["oncall@example.com"]}]}),
    );
    send_event(addr, project_id, &key, "mailed failure");
    let start = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&mails).unwrap_or_default();
        if text.contains("mailed failure") && text.contains("END MESSAGE") {
            break text;
        }
        assert!(start.elapsed() < LIMIT, "no mail arrived: {text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let subject = text
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .unwrap_or_else(|| panic!("no subject in {text}"));
    assert!(
        subject.contains("[team/proj] New issue: mailed failure"),
        "{subject}"
    );
    assert!(text.contains("To: oncall@example.com"), "{text}");
    assert!(text.contains("From: alerts@example.com"), "{text}");
    assert!(
        text.contains("text/plain") && text.contains("text/html"),
        "{text}"
    );
    assert!(
        text.contains("https://errors.example.com/issues/"),
        "a link from --public-url: {text}"
    );
    let metrics = request(addr, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("sentry_lite_alert_deliveries_total{type=\"email\",outcome=\"sent\"} 1"),
        "{metrics}"
    );
}
