//! Two instances on one PostgreSQL database (issue #19): every alert is delivered once,
//! though both senders poll the same outbox (each row is claimed by one of them), and a
//! rule created through one instance fires for events the other ingests.
//!
//! Needs PostgreSQL: fails (never skips) when `SENTRY_TEST_POSTGRES_URL` is not set.

mod alerts_support;
mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alerts_support::{event_json, Receiver};
use common::{envelope, fresh_postgres_database, new_id, request, ServerThread};
use sentry_server_lite::config::ServerConfig;
use sentry_server_lite::secrets;
use serde_json::json;

/// Generous: bounds a hung test, not speed.
const LIMIT: Duration = Duration::from_secs(90);

fn instance(url: &str, dir: &std::path::Path) -> ServerThread {
    let mut config = ServerConfig::new(dir);
    config.database_url = Some(url.to_owned());
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.key_cache_ttl = Duration::from_millis(0);
    config.alerts.allow_private_networks = true;
    config.alerts.poll = Duration::from_millis(5);
    config.alerts.retry_base = Duration::from_millis(100);
    ServerThread::start(config)
}

/// A title per issue (letters: grouping folds numbers in messages into one issue).
fn title(i: usize) -> String {
    let letter = |n: usize| char::from(b'a' + (n % 26) as u8);
    format!("pair issue {}{}", letter(i / 26), letter(i))
}

#[test]
fn two_instances_deliver_each_alert_once() {
    let hook = Receiver::start(200);
    let url = fresh_postgres_database();
    let (da, db) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let a = instance(&url, da.path());
    let b = instance(&url, db.path());
    let store = a.store.clone();
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
    let auth = format!("Bearer {token}");
    let rule = json!({"name": "both", "triggers": ["new_issue"],
                      "actions": [{"type": "webhook", "url": hook.url("/pair")}]});
    let r = request(
        a.addr,
        "POST",
        "/api/0/projects/team/proj/alert-rules/",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        rule.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let rule_id = r.json()["id"].as_str().expect("id").to_owned();

    let issues = 20;
    let ingest = |addr: SocketAddr, i: usize| {
        let auth = format!("Sentry sentry_key={}, sentry_version=7", key.public_key);
        let r = request(
            addr,
            "POST",
            &format!("/api/{}/envelope/", project.id),
            &[("X-Sentry-Auth", &auth)],
            &envelope("{}", &event_json(&new_id(), &title(i))),
        );
        assert_eq!(r.status, 200, "ingest: {}", r.text());
    };
    for i in 0..issues {
        ingest(if i % 2 == 0 { a.addr } else { b.addr }, i);
    }
    let path = format!("/api/0/projects/team/proj/alert-rules/{rule_id}/deliveries/");
    let start = Instant::now();
    loop {
        let r = request(b.addr, "GET", &path, &[("Authorization", &auth)], b"");
        let all = r.json();
        let all = all.as_array().cloned().unwrap_or_default();
        if all.len() == issues && all.iter().all(|d| d["status"] == "sent") {
            break;
        }
        assert!(start.elapsed() < LIMIT, "not all sent: {all:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Every row is sent; a try only happens on a claimed pending row, so nothing more
    // can arrive: the receiver's count is final.
    let got = hook.requests();
    let ids: BTreeSet<String> = got.iter().map(|r| r.delivery_id()).collect();
    assert_eq!(got.len(), issues, "each alert once: {got:#?}");
    assert_eq!(ids.len(), issues, "one delivery id per alert");
    let titles: BTreeSet<String> = got
        .iter()
        .map(|r| r.json()["issue"]["title"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(titles.len(), issues, "one per issue: {titles:?}");
    drop(a);
    drop(b);
    common::drop_postgres_database(
        url.rsplit('/')
            .next()
            .and_then(|s| s.split('?').next())
            .expect("name"),
    );
}
