//! Release health and cron monitors end to end, on the backend of the test run: sessions
//! from our SDK (application and request mode, a panicking run), from sentry-python and
//! from the official Rust crate give the expected crash-free rates through
//! `GET .../releases/`; check-ins from our SDK and sentry-python create monitors; with a
//! test clock, a missed run and a timed-out run each mark the monitor and open an issue,
//! and a later `ok` resolves it. Fails — never skips — without `SENTRY_TEST_PYTHON`.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{python, wait_for, TestServer};
use sentry_client::protocol::{
    Event, Exception, Mechanism, MonitorCheckIn, MonitorCheckInStatus, MonitorConfig,
    MonitorIntervalUnit, MonitorSchedule,
};
use sentry_client::{Client, ClientOptions, Hub, SessionMode};
use sentry_server_lite::clock::Clock;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

fn client(s: &TestServer, release: &str, mode: SessionMode) -> Arc<Client> {
    Arc::new(Client::from_config(
        ClientOptions::new()
            .dsn(&s.dsn())
            .release(release.to_owned())
            .environment("production")
            .session_mode(mode),
    ))
}

fn releases(s: &TestServer) -> Vec<Value> {
    s.api(&format!(
        "/api/0/projects/team/{}/releases/",
        s.project.slug
    ))
    .as_array()
    .expect("array")
    .clone()
}

/// Waits until the release has `sessions` sessions; returns its JSON.
fn release(s: &TestServer, version: &str, sessions: u64) -> Value {
    wait_for(WAIT, || {
        releases(s)
            .into_iter()
            .find(|r| r["version"] == version && r["sessions"].as_u64() == Some(sessions))
    })
    .unwrap_or_else(|| {
        panic!(
            "no release {version} with {sessions} sessions: {:#?}",
            releases(s)
        )
    })
}

fn rate(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a rate: {v}"))
}

fn crash(hub: &Hub) {
    hub.capture_event(Event {
        exception: vec![Exception {
            ty: Some("panic".into()),
            value: Some("boom".into()),
            mechanism: Some(Mechanism {
                ty: Some("panic".into()),
                handled: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        }]
        .into(),
        ..Default::default()
    });
}

#[test]
fn sessions_from_our_sdk() {
    let s = TestServer::start();
    // Application mode: four runs, one errored, one crashed by an unhandled error, one
    // by a real panic (the panic hook on a thread with its own hub).
    let app = client(&s, "ours@1.0", SessionMode::Application);
    for run in 0..3 {
        let hub = Arc::new(Hub::new(Some(app.clone()), Default::default()));
        hub.configure_scope(|scope| {
            scope.set_user(Some(sentry_client::User {
                id: Some(format!("user-{run}")),
                ..Default::default()
            }))
        });
        hub.start_session();
        match run {
            1 => {
                hub.capture_message("handled", sentry_client::Level::Error);
            }
            2 => crash(&hub),
            _ => {}
        }
        hub.end_session();
    }
    sentry_client::panic::install_panic_hook();
    let panicking = app.clone();
    let joined = std::thread::spawn(move || {
        let hub = Arc::new(Hub::new(Some(panicking), Default::default()));
        Hub::run(hub, || {
            sentry_client::start_session();
            panic!("the job panicked");
        })
    })
    .join();
    assert!(joined.is_err());
    assert!(app.flush(Some(WAIT)));
    let r = release(&s, "ours@1.0", 4);
    assert_eq!(r["sessionsCrashed"], 2, "{r}");
    assert_eq!(r["sessionsErrored"], 3, "{r}");
    assert!((rate(&r["crashFreeSessions"]) - 50.0).abs() < 1e-9, "{r}");
    // Three users with ids, one of whom crashed (the panicking thread had none).
    assert_eq!(r["users"], 3, "{r}");
    assert!(
        (rate(&r["crashFreeUsers"]) - 100.0 * 2.0 / 3.0).abs() < 1e-9,
        "{r}"
    );
    assert!(r["firstSeen"].as_str().is_some_and(|t| t.ends_with('Z')));
    // The three error events came from this release: three new issues.
    assert_eq!(r["newIssues"], 3, "{r}");

    // Request mode: ten requests, one crashed, two errored, sent as aggregates.
    let req = client(&s, "ours@2.0", SessionMode::Request);
    let base = Arc::new(Hub::new(Some(req.clone()), Default::default()));
    for i in 0..10 {
        let hub = Hub::new_from_top(&*base);
        hub.start_session();
        match i {
            3 => crash(&hub),
            5 | 6 => {
                hub.capture_message("request failed", sentry_client::Level::Error);
            }
            _ => {}
        }
        hub.end_session();
    }
    assert!(req.flush(Some(WAIT)));
    let r = release(&s, "ours@2.0", 10);
    assert_eq!(r["sessionsCrashed"], 1, "{r}");
    assert_eq!(r["sessionsErrored"], 3, "{r}");
    assert!((rate(&r["crashFreeSessions"]) - 90.0).abs() < 1e-9, "{r}");
}

#[test]
fn a_session_update_twice_counts_once() {
    let s = TestServer::start();
    let sid = "0b8f6b2ec0e34f6a9c1d2e3f4a5b6c7d";
    let now = sentry_client::protocol::Timestamp::now().to_rfc3339();
    let init = format!(
        r#"{{"sid":"{sid}","init":true,"started":"{now}","status":"ok","errors":0,"attrs":{{"release":"dup@1"}}}}"#
    );
    let crashed = format!(
        r#"{{"sid":"{sid}","started":"{now}","status":"crashed","errors":1,"attrs":{{"release":"dup@1"}}}}"#
    );
    for body in [&init, &crashed, &crashed, &init] {
        let envelope = format!("{{}}\n{{\"type\":\"session\"}}\n{body}\n");
        let r = s.post_envelope(envelope.as_bytes());
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = release(&s, "dup@1", 1);
    assert_eq!(r["sessionsCrashed"], 1, "{r}");
    assert_eq!(rate(&r["crashFreeSessions"]), 0.0);
    // A session item that does not read is dropped, not the envelope.
    let mixed = format!(
        "{{}}\n{{\"type\":\"session\"}}\n{{\"attrs\":{{}}}}\n{{\"type\":\"session\"}}\n{}\n",
        init.replace(sid, "1b8f6b2ec0e34f6a9c1d2e3f4a5b6c7d")
    );
    assert_eq!(s.post_envelope(mixed.as_bytes()).status, 200);
    release(&s, "dup@1", 2);
}

fn run_python(s: &TestServer, script: &str) {
    let path = s.dir.path().join("health.py");
    std::fs::write(&path, script).expect("write script");
    let out = Command::new(python())
        .arg(&path)
        .arg(s.dsn())
        .output()
        .expect("run the Python SDK");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const PYTHON_SESSIONS: &str = r#"
import sys
import sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], release="py@1.0", environment="production")
for run in range(4):
    sentry_sdk.set_user({"id": "py-user-%d" % run})
    sentry_sdk.start_session()
    if run == 1:
        try:
            {}["missing"]
        except Exception:
            sentry_sdk.capture_exception()
    if run == 2:
        sentry_sdk.capture_event({"exception": {"values": [{"type": "Crash", "value": "down",
            "mechanism": {"type": "test", "handled": False}}]}})
    sentry_sdk.end_session()
sentry_sdk.flush(timeout=10)
"#;

#[test]
fn sessions_from_sentry_python() {
    let s = TestServer::start();
    run_python(&s, PYTHON_SESSIONS);
    let r = release(&s, "py@1.0", 4);
    assert_eq!(r["sessionsCrashed"], 1, "{r}");
    assert_eq!(r["sessionsErrored"], 2, "{r}");
    assert!((rate(&r["crashFreeSessions"]) - 75.0).abs() < 1e-9, "{r}");
    assert!((rate(&r["crashFreeUsers"]) - 75.0).abs() < 1e-9, "{r}");
}

/// Sends each envelope of the official crate synchronously (as tests/e2e_rust_sdk.rs).
struct BlockingHttp {
    addr: std::net::SocketAddr,
    path: String,
    auth: String,
}

impl sentry::Transport for BlockingHttp {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        let mut body = Vec::new();
        envelope.to_writer(&mut body).expect("serialize envelope");
        let r = common::request(
            self.addr,
            "POST",
            &self.path,
            &[("X-Sentry-Auth", &self.auth)],
            &body,
        );
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

#[test]
fn sessions_from_the_official_rust_crate() {
    let s = TestServer::start();
    let dsn: sentry::types::Dsn = s.dsn().parse().expect("dsn");
    let transport = {
        let addr = s.addr;
        let path = dsn.envelope_api_url().path().to_owned();
        let auth = dsn.to_auth(Some("sentry.rust/0.49")).to_string();
        move |_: &sentry::ClientOptions| -> Arc<dyn sentry::Transport> {
            Arc::new(BlockingHttp {
                addr,
                path: path.clone(),
                auth: auth.clone(),
            })
        }
    };
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(dsn);
    options.release = Some("official@1.0".into());
    options.transport = Some(Arc::new(transport));
    let client = Arc::new(sentry::Client::from(options));
    for run in 0..4 {
        let hub = Arc::new(sentry::Hub::new(
            Some(client.clone()),
            Arc::new(sentry::Scope::default()),
        ));
        sentry::Hub::run(hub.clone(), || {
            sentry::start_session();
            if run == 0 {
                let mut event = sentry::protocol::Event::default();
                event.exception.values.push(sentry::protocol::Exception {
                    ty: "panic".into(),
                    mechanism: Some(sentry::protocol::Mechanism {
                        ty: "panic".into(),
                        handled: Some(false),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                sentry::capture_event(event);
            }
            sentry::end_session();
        });
    }
    assert!(client.close(Some(WAIT)));
    let r = release(&s, "official@1.0", 4);
    assert_eq!(r["sessionsCrashed"], 1, "{r}");
    assert!((rate(&r["crashFreeSessions"]) - 75.0).abs() < 1e-9, "{r}");
}

fn every_minute(max_runtime: u64) -> MonitorConfig {
    MonitorConfig {
        schedule: MonitorSchedule::Interval {
            value: 1,
            unit: MonitorIntervalUnit::Minute,
        },
        checkin_margin: Some(1),
        max_runtime: Some(max_runtime),
        timezone: None,
        failure_issue_threshold: None,
        recovery_threshold: None,
    }
}

fn monitors(s: &TestServer) -> Vec<Value> {
    s.api(&format!(
        "/api/0/projects/team/{}/monitors/",
        s.project.slug
    ))
    .as_array()
    .expect("array")
    .clone()
}

fn monitor_where(s: &TestServer, slug: &str, ok: impl Fn(&Value) -> bool) -> Value {
    wait_for(WAIT, || {
        monitors(s).into_iter().find(|m| m["slug"] == slug && ok(m))
    })
    .unwrap_or_else(|| panic!("monitor {slug} never matched: {:#?}", monitors(s)))
}

fn issue_with_status(s: &TestServer, title: &str, status: &str) -> Value {
    wait_for(WAIT, || {
        s.issues()
            .into_iter()
            .find(|i| i["title"] == title && i["status"] == status)
    })
    .unwrap_or_else(|| panic!("no {status} issue {title:?}: {:#?}", s.issues()))
}

fn with_clock(clock: &Clock) -> TestServer {
    let clock = clock.clone();
    TestServer::start_with(move |c| {
        c.clock = clock;
        c.monitor_interval = Duration::from_millis(50);
    })
}

#[test]
fn a_missed_run_opens_an_issue_and_an_ok_resolves_it() {
    let clock = Clock::test();
    let s = with_clock(&clock);
    let sdk = client(&s, "cron@1", SessionMode::Application);
    let hub = Arc::new(Hub::new(Some(sdk.clone()), Default::default()));
    let out: Result<(), String> = Hub::run(hub.clone(), || {
        sentry_client::monitor("every-minute", every_minute(5), || Ok(()))
    });
    assert!(out.is_ok());
    assert!(sdk.flush(Some(WAIT)));
    let m = monitor_where(&s, "every-minute", |m| m["status"] == "ok");
    assert_eq!(m["schedule"]["type"], "interval");
    assert_eq!(m["schedule"]["unit"], "minute");
    assert_eq!(m["recent"][0]["status"], "ok");
    assert!(m["recent"][0]["duration"].is_number());
    assert!(m["nextCheckInExpected"].is_string());
    assert_eq!(m["environment"], "production");

    // Nothing for three minutes: the run is missed and an issue opens.
    clock.advance(Duration::from_secs(180));
    monitor_where(&s, "every-minute", |m| m["status"] == "missed");
    let title = "Cron monitor every-minute: missed check-in";
    let issue = issue_with_status(&s, title, "unresolved");
    let m = monitor_where(&s, "every-minute", |m| m["issueId"].is_string());
    assert_eq!(m["issueId"], issue["id"]);
    assert_eq!(m["recent"][0]["status"], "missed");

    // A good run: recovered, the issue is resolved.
    let id = Hub::run(hub, || {
        sentry_client::capture_check_in(MonitorCheckIn {
            check_in_id: sentry_client::Uuid::new_v4(),
            monitor_slug: "every-minute".into(),
            status: MonitorCheckInStatus::Ok,
            environment: None,
            duration: Some(1.0),
            monitor_config: None,
        })
    });
    assert!(!id.is_nil());
    assert!(sdk.flush(Some(WAIT)));
    issue_with_status(&s, title, "resolved");
    monitor_where(&s, "every-minute", |m| {
        m["status"] == "ok" && m["issueId"].is_null()
    });

    // Missed again later: the same issue reopens (a regression for the alert rules).
    clock.advance(Duration::from_secs(180));
    let again = issue_with_status(&s, title, "unresolved");
    assert_eq!(again["id"], issue["id"]);
}

#[test]
fn a_timed_out_run_opens_an_issue_and_an_ok_resolves_it() {
    let clock = Clock::test();
    let s = with_clock(&clock);
    let sdk = client(&s, "cron@1", SessionMode::Application);
    let hub = Arc::new(Hub::new(Some(sdk.clone()), Default::default()));
    let daily = MonitorConfig {
        schedule: MonitorSchedule::Interval {
            value: 1,
            unit: MonitorIntervalUnit::Day,
        },
        ..every_minute(1)
    };
    let started = sentry_client::Uuid::new_v4();
    Hub::run(hub.clone(), || {
        sentry_client::capture_check_in(MonitorCheckIn {
            check_in_id: started,
            monitor_slug: "slow-job".into(),
            status: MonitorCheckInStatus::InProgress,
            environment: None,
            duration: None,
            monitor_config: Some(daily),
        })
    });
    assert!(sdk.flush(Some(WAIT)));
    monitor_where(&s, "slow-job", |m| {
        m["recent"][0]["status"] == "in_progress"
    });
    clock.advance(Duration::from_secs(120));
    monitor_where(&s, "slow-job", |m| {
        m["status"] == "timeout" && m["recent"][0]["status"] == "timeout"
    });
    let title = "Cron monitor slow-job: run timed out";
    issue_with_status(&s, title, "unresolved");
    // The late end of the timed-out run does not change it; the next good run recovers.
    let out: Result<(), String> =
        Hub::run(hub, || sentry_client::monitor("slow-job", None, || Ok(())));
    assert!(out.is_ok());
    assert!(sdk.flush(Some(WAIT)));
    issue_with_status(&s, title, "resolved");
    let m = monitor_where(&s, "slow-job", |m| m["status"] == "ok");
    let statuses: Vec<&str> = m["recent"]
        .as_array()
        .expect("recent")
        .iter()
        .filter_map(|c| c["status"].as_str())
        .collect();
    assert_eq!(statuses, ["ok", "timeout"]);
}

const PYTHON_CRONS: &str = r#"
import sys
import sentry_sdk
from sentry_sdk.crons import capture_checkin, monitor
from sentry_sdk.crons.consts import MonitorStatus
sentry_sdk.init(dsn=sys.argv[1], release="py@1.0", environment="production")
config = {"schedule": {"type": "crontab", "value": "0 3 * * *"}, "timezone": "Europe/Vienna",
          "checkin_margin": 5, "max_runtime": 30, "failure_issue_threshold": 2}
capture_checkin(monitor_slug="py-direct", status=MonitorStatus.OK, duration=1.5,
                monitor_config=config)

@monitor(monitor_slug="py-decorated", monitor_config={"schedule": {"type": "interval",
         "value": 2, "unit": "hour"}})
def job():
    return 7

job()
sentry_sdk.flush(timeout=10)
"#;

#[test]
fn check_ins_from_sentry_python() {
    let s = TestServer::start();
    run_python(&s, PYTHON_CRONS);
    let direct = monitor_where(&s, "py-direct", |m| m["status"] == "ok");
    assert_eq!(direct["schedule"]["value"], "0 3 * * *");
    assert_eq!(direct["timezone"], "Europe/Vienna");
    assert_eq!(direct["failureIssueThreshold"], 2);
    assert_eq!(direct["recent"][0]["duration"], 1500);
    let decorated = monitor_where(&s, "py-decorated", |m| m["status"] == "ok");
    assert_eq!(decorated["schedule"]["unit"], "hour");
    assert_eq!(decorated["recent"].as_array().map(Vec::len), Some(1));
}

#[test]
fn retention_keeps_a_monitors_newest_runs_and_the_release_counts() {
    let s = TestServer::start();
    for batch in 0..3 {
        let mut body = String::from("{}\n");
        for i in 0..40 {
            body.push_str(&format!(
                "{{\"type\":\"check_in\"}}\n{{\"check_in_id\":\"{:032x}\",\"monitor_slug\":\"busy\",\"status\":\"ok\"}}\n",
                batch * 100 + i + 1
            ));
        }
        assert_eq!(s.post_envelope(body.as_bytes()).status, 200);
    }
    let now = sentry_client::protocol::Timestamp::now().to_rfc3339();
    let session = format!(
        "{{}}\n{{\"type\":\"session\"}}\n{{\"sid\":\"{:032x}\",\"init\":true,\"started\":\"{now}\",\"status\":\"exited\",\"attrs\":{{\"release\":\"kept@1\"}}}}\n",
        7
    );
    assert_eq!(s.post_envelope(session.as_bytes()).status, 200);
    let runs = |s: &TestServer| {
        sentry_server_lite::store::monitors::list(s.store.as_ref(), s.project.id, 1000)
            .expect("list")[0]
            .recent
            .len()
    };
    assert_eq!(runs(&s), 120);
    let policy = sentry_server_lite::store::RetentionPolicy::default();
    let later = sentry_server_lite::clock::now_ms() + 8 * 86_400_000;
    s.store.apply_retention(&policy, later).expect("retention");
    assert_eq!(
        runs(&s),
        sentry_server_lite::store::health::RUNS_KEPT as usize
    );
    // Counts stay (within the event age); only the per-session state went.
    release(&s, "kept@1", 1);
}

#[test]
fn the_node_sdk_session_counts() {
    let s = TestServer::start();
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sentry-client/tests/fixtures/node/session.envelope"
    ))
    .expect("fixture");
    // Recorded days ago: moved to now (older sessions are dropped, as Relay does).
    let now = sentry_client::protocol::Timestamp::now().to_rfc3339();
    let body = raw
        .replace("2026-11-25T15:24:39.375Z", &now)
        .replace("2026-11-25T15:24:39.440Z", &now);
    let r = s.post_envelope(body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let r = release(&s, "fixtures@1.0.0", 1);
    assert_eq!(r["sessionsErrored"], 1, "{r}");
    assert_eq!(r["sessionsCrashed"], 0, "{r}");
    assert_eq!(r["users"], 1, "{r}");
    assert_eq!(rate(&r["crashFreeSessions"]), 100.0);
}

#[test]
fn deleting_the_project_removes_its_health_and_monitors() {
    let s = TestServer::start();
    let now = sentry_client::protocol::Timestamp::now().to_rfc3339();
    let body = format!(
        "{{}}\n{{\"type\":\"session\"}}\n{{\"sid\":\"{:032x}\",\"did\":\"u\",\"started\":\"{now}\",\"status\":\"crashed\",\"attrs\":{{\"release\":\"gone@1\"}}}}\n\
         {{\"type\":\"check_in\"}}\n{{\"check_in_id\":\"{:032x}\",\"monitor_slug\":\"gone\",\"status\":\"in_progress\"}}\n",
        9, 10
    );
    assert_eq!(s.post_envelope(body.as_bytes()).status, 200);
    release(&s, "gone@1", 1);
    monitor_where(&s, "gone", |_| true);
    let r = s.api_raw(
        "DELETE",
        &format!("/api/0/projects/team/{}/", s.project.slug),
        b"",
    );
    assert!(r.status < 300, "{} {}", r.status, r.text());
    let store = s.store.as_ref();
    assert!(
        sentry_server_lite::store::health::releases(store, s.project.id)
            .expect("releases")
            .is_empty()
    );
    assert!(
        sentry_server_lite::store::monitors::list(store, s.project.id, 10)
            .expect("monitors")
            .is_empty()
    );
}
