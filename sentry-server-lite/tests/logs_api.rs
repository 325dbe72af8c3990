//! Structured logs end to end (issue #20): logs from our SDK (macros, `sentry-log`'s
//! `log` adapter is covered in its own crate; here the macros and the tracing layer's
//! output through the same client), from the official Rust crate and from sentry-python
//! (`enable_logs=True`, `sentry_sdk.logger`) are stored and read back through
//! `GET /api/0/projects/{team}/{project}/logs/` with their attributes and trace ids;
//! filters, the keyset `Link` pagination, bad parameters and retention. Runs on SQLite,
//! and on PostgreSQL with `SENTRY_TEST_BACKEND=postgres`.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{python, request, wait_for, TestServer};
use sentry_client::{logger_error, logger_info, logger_warn, Client, ClientOptions, Hub};
use serde_json::Value;

const TRACE: &str = "0123456789abcdef0123456789abcdef";

/// The official crate's envelopes, POSTed one by one as its HTTP transports format them.
struct BlockingHttp {
    addr: std::net::SocketAddr,
    path: String,
    auth: String,
    statuses: Arc<std::sync::Mutex<Vec<u16>>>,
}

impl sentry::Transport for BlockingHttp {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        let mut body = Vec::new();
        envelope.to_writer(&mut body).expect("serialize envelope");
        let r = request(
            self.addr,
            "POST",
            &self.path,
            &[("X-Sentry-Auth", &self.auth)],
            &body,
        );
        self.statuses.lock().expect("lock").push(r.status);
    }
}

fn logs(s: &TestServer, query: &str) -> Vec<Value> {
    let v = s.api(&format!("/api/0/projects/team/proj/logs/?{query}"));
    v.as_array().expect("array").clone()
}

fn wait_logs(s: &TestServer, query: &str, n: usize) -> Vec<Value> {
    wait_for(Duration::from_secs(20), || {
        let l = logs(s, query);
        (l.len() >= n).then_some(l)
    })
    .unwrap_or_else(|| panic!("{n} logs for {query:?}: {:#?}", logs(s, query)))
}

#[test]
fn our_sdk_logs_are_stored_with_attributes_and_trace() {
    let s = TestServer::start();
    let client = Arc::new(Client::from_config(
        ClientOptions::new()
            .dsn(&s.dsn())
            .release("shop@2.0")
            .environment("staging"),
    ));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(hub, || {
        sentry_client::configure_scope(|scope| {
            scope.set_context(
                "trace",
                serde_json::json!({"trace_id": TRACE, "span_id": "0011223344556677"}),
            )
        });
        logger_info!(user.id = "42", cart.items = 3, "cart of {} loaded", "bob");
        logger_warn!(paid = false, "payment slow");
        logger_error!("checkout failed");
        sentry_client::capture_message("checkout failed", sentry_client::Level::Error);
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let all = wait_logs(&s, "", 3);
    // Newest first.
    let bodies: Vec<&str> = all
        .iter()
        .map(|l| l["body"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        bodies,
        ["checkout failed", "payment slow", "cart of bob loaded"]
    );
    let cart = &all[2];
    assert_eq!(cart["level"], "info");
    assert_eq!(cart["severityNumber"], 9);
    assert_eq!(cart["traceId"], TRACE);
    assert_eq!(cart["spanId"], "0011223344556677");
    assert_eq!(cart["release"], "shop@2.0");
    assert_eq!(cart["environment"], "staging");
    assert_eq!(cart["attributes"]["user.id"], "42");
    assert_eq!(cart["attributes"]["cart.items"], 3);
    assert_eq!(
        cart["attributes"]["sentry.message.template"],
        "cart of {} loaded"
    );
    assert_eq!(cart["attributes"]["sentry.message.parameter.0"], "bob");
    assert_eq!(
        cart["attributes"]["sentry.sdk.name"],
        sentry_client::SDK_NAME
    );
    assert!(cart["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));

    // Filters: level, free text, key:value on attributes and columns, trace.
    let only = |q: &str| -> Vec<String> {
        logs(&s, q)
            .iter()
            .map(|l| l["body"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        only("level=warn,error"),
        ["checkout failed", "payment slow"]
    );
    assert_eq!(only("query=CART"), ["cart of bob loaded"]);
    assert_eq!(only("query=user.id:42"), ["cart of bob loaded"]);
    assert_eq!(only("query=cart.items:3"), ["cart of bob loaded"]);
    assert_eq!(only("query=paid:false"), ["payment slow"]);
    assert_eq!(only("query=level:error%20checkout"), ["checkout failed"]);
    assert_eq!(only("query=release:shop@2.0&limit=1"), ["checkout failed"]);
    assert_eq!(only("query=environment:prod"), Vec::<String>::new());
    assert_eq!(only(&format!("trace={TRACE}")).len(), 3);
    assert!(only("trace=ffffffffffffffffffffffffffffffff").is_empty());
    assert!(only("until=1000000000").is_empty());
    assert_eq!(only("since=1000000000").len(), 3);

    // Keyset pagination through the Link header.
    let r = s.api_raw("GET", "/api/0/projects/team/proj/logs/?limit=2", b"");
    assert_eq!(r.status, 200);
    let link = r.header("link").expect("Link").to_owned();
    assert!(link.contains("rel=\"next\"; results=\"true\""), "{link}");
    let next = link
        .split(", ")
        .find(|p| p.contains("rel=\"next\""))
        .and_then(|p| p.split('<').nth(1))
        .and_then(|p| p.split('>').next())
        .expect("next url");
    let path = &next[next.find("/api/").expect("path")..];
    let page2 = s.api(path);
    assert_eq!(page2.as_array().map(Vec::len), Some(1));
    assert_eq!(page2[0]["body"], "cart of bob loaded");

    // The event carries the same trace: its logs are found by it.
    let issue = s.issue_by_title("checkout failed");
    let latest = s.api(&format!(
        "/api/0/issues/{}/events/latest/",
        issue["id"].as_str().expect("id")
    ));
    assert_eq!(latest["contexts"]["trace"]["trace_id"], TRACE);
}

#[test]
fn sentry_log_records_and_tracing_events_are_stored() {
    use log::Log as _;
    use sentry_log::LogFilter;
    use tracing_subscriber::prelude::*;
    let s = TestServer::start();
    let client = Arc::new(Client::from_config(ClientOptions::new().dsn(&s.dsn())));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    let logger = sentry_log::SentryLogger::new().filter(|_| LogFilter::Log);
    let layer = sentry_log::tracing::layer().filter(|_| LogFilter::Log);
    let subscriber = tracing_subscriber::registry().with(layer);
    Hub::run(hub, || {
        let kvs: [(&str, log::kv::Value<'_>); 2] = [
            ("order", log::kv::Value::from(17u64)),
            ("paid", log::kv::Value::from(true)),
        ];
        logger.log(
            &log::Record::builder()
                .args(format_args!("order {} shipped", 17))
                .level(log::Level::Info)
                .target("shop::orders")
                .key_values(&kvs)
                .build(),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", route = "/cart", user = "ann");
            let _entered = span.enter();
            tracing::warn!(retries = 3, "payment provider slow");
        });
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let l = wait_logs(&s, "", 2);
    let order = l
        .iter()
        .find(|l| l["body"] == "order 17 shipped")
        .expect("log record");
    assert_eq!(order["level"], "info");
    assert_eq!(order["attributes"]["order"], 17);
    assert_eq!(order["attributes"]["paid"], true);
    assert_eq!(order["attributes"]["logger.name"], "shop::orders");
    let slow = l
        .iter()
        .find(|l| l["body"] == "payment provider slow")
        .expect("tracing");
    assert_eq!(slow["level"], "warn");
    assert_eq!(slow["attributes"]["retries"], 3);
    assert_eq!(slow["attributes"]["route"], "/cart");
    assert_eq!(slow["attributes"]["user"], "ann");
    assert_eq!(slow["attributes"]["sentry.origin"], "auto.tracing");
    // Both carry the client's trace (no trace in the scope): one trace for the run.
    assert_eq!(order["traceId"], slow["traceId"]);
}

#[test]
fn bad_parameters_are_400_and_other_projects_404() {
    let s = TestServer::start();
    for q in [
        "level=loud",
        "trace=nothex",
        "since=yesterday",
        "cursor=x",
        "limit=1000",
    ] {
        let r = s.api_raw("GET", &format!("/api/0/projects/team/proj/logs/?{q}"), b"");
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert!(!r.detail().is_empty());
    }
    let r = s.api_raw("GET", "/api/0/projects/team/nope/logs/", b"");
    assert_eq!(r.status, 404);
    // Anonymous callers see no logs of a private project.
    let r = request(s.addr, "GET", "/api/0/projects/team/proj/logs/", &[], b"");
    assert!(r.status == 401 || r.status == 404, "{}", r.status);
}

#[test]
fn malformed_log_items_are_dropped_not_the_envelope() {
    let s = TestServer::start();
    let event_id = common::new_id();
    let body = format!(
        "{{\"event_id\":\"{event_id}\"}}\n\
         {{\"type\":\"log\",\"item_count\":1,\"content_type\":\"application/vnd.sentry.items.log+json\"}}\n\
         {{\"items\":3}}\n\
         {{\"type\":\"log\"}}\n\
         {{\"items\":[{{\"body\":\"kept\",\"level\":\"info\",\"timestamp\":1700000000.5}},{{\"level\":\"info\"}}]}}\n\
         {{\"type\":\"event\"}}\n\
         {{\"message\":\"with logs\"}}\n"
    );
    let r = s.post_envelope(body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let l = wait_logs(&s, "", 1);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["body"], "kept");
    assert_eq!(l[0]["timestamp"], "2023-11-14T22:13:20.500Z");
    assert_eq!(s.event_count(), 1);
}

#[test]
fn log_envelopes_count_in_the_keys_rate_limit() {
    let s = TestServer::start();
    s.store
        .set_key_rate_limit(
            s.key.id,
            Some(sentry_server_lite::store::RateLimit {
                count: 2,
                window_secs: 3600,
            }),
        )
        .expect("limit");
    let body = b"{}\n{\"type\":\"log\"}\n{\"items\":[{\"body\":\"counted\",\"level\":\"info\"}]}\n";
    let statuses: Vec<u16> = (0..3).map(|_| s.post_envelope(body).status).collect();
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(logs(&s, "").len(), 2);
}

#[test]
fn retention_drops_old_logs_and_caps_a_project() {
    let s = TestServer::start();
    let client = Arc::new(Client::from_config(ClientOptions::new().dsn(&s.dsn())));
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    Hub::run(hub, || {
        for i in 0..5 {
            logger_info!("n {}", i);
        }
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    wait_logs(&s, "", 5);
    let now = sentry_server_lite::clock::now_ms();
    let cap = sentry_server_lite::store::RetentionPolicy {
        max_age_days: 0,
        max_events_per_issue: 0,
        log_max_age_days: 14,
        max_logs_per_project: 2,
        ..Default::default()
    };
    // A retention pass may be skipped while another holds its lock (PostgreSQL): retry.
    let left = wait_for(Duration::from_secs(20), || {
        s.store.apply_retention(&cap, now).expect("retention");
        let l = logs(&s, "");
        (l.len() == 2).then_some(l)
    })
    .expect("capped at 2");
    assert_eq!(left[0]["body"], "n 4");
    let aged = sentry_server_lite::store::RetentionPolicy {
        max_logs_per_project: 0,
        ..cap
    };
    wait_for(Duration::from_secs(20), || {
        s.store
            .apply_retention(&aged, now + 15 * 86_400_000)
            .expect("retention");
        logs(&s, "").is_empty().then_some(())
    })
    .expect("all older than 14 days are gone");
}

#[test]
fn official_rust_crate_logs_are_stored() {
    let s = TestServer::start();
    let statuses = Arc::new(std::sync::Mutex::new(Vec::new()));
    let transport = Arc::new(BlockingHttp {
        addr: s.addr,
        path: s.envelope_path(),
        auth: s.auth_header(),
        statuses: Arc::clone(&statuses),
    });
    let mut options = sentry::ClientOptions::new();
    options.dsn = Some(s.dsn().parse().expect("dsn"));
    options.release = Some("official@1".into());
    options.transport = Some(Arc::new(transport));
    let client = Arc::new(sentry::Client::from(options));
    let hub = Arc::new(sentry::Hub::new(
        Some(Arc::clone(&client)),
        Default::default(),
    ));
    sentry::Hub::run(hub, || {
        sentry::logger_info!(order.id = 7, region = "eu", "order {} placed", 7);
        sentry::logger_warn!("stock low");
    });
    client.flush(Some(Duration::from_secs(10)));
    let l = wait_logs(&s, "", 2);
    assert!(statuses.lock().expect("lock").iter().all(|s| *s == 200));
    let order = l
        .iter()
        .find(|l| l["body"] == "order 7 placed")
        .unwrap_or_else(|| panic!("{l:#?}"));
    assert_eq!(order["level"], "info");
    assert_eq!(order["attributes"]["order.id"], 7);
    assert_eq!(order["attributes"]["region"], "eu");
    assert_eq!(order["attributes"]["sentry.sdk.name"], "sentry.rust");
    assert_eq!(order["release"], "official@1");
    assert_eq!(order["traceId"].as_str().map(str::len), Some(32));
}

const PYTHON: &str = r#"
import sys, sentry_sdk
from sentry_sdk import logger
sentry_sdk.init(dsn=sys.argv[1], enable_logs=True, release="py@1", environment="dev")
with sentry_sdk.start_transaction(name="job") as tx:
    logger.info("user {user} logged in", user="ann", attributes={"plan": "pro", "seats": 5})
    logger.error("charge failed", attributes={"retry": True})
    sentry_sdk.capture_message("charge failed")
sentry_sdk.flush(10)
"#;

#[test]
fn python_sdk_logs_are_stored() {
    let s = TestServer::start();
    let script = s.dir.path().join("logs.py");
    std::fs::write(&script, PYTHON).expect("script");
    let out = Command::new(python())
        .arg(&script)
        .arg(s.dsn())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l = wait_logs(&s, "", 2);
    let login = l
        .iter()
        .find(|l| l["body"] == "user ann logged in")
        .unwrap_or_else(|| panic!("{l:#?}"));
    assert_eq!(login["level"], "info");
    assert_eq!(login["attributes"]["plan"], "pro");
    assert_eq!(login["attributes"]["seats"], 5);
    assert_eq!(
        login["attributes"]["sentry.message.template"],
        "user {user} logged in"
    );
    assert_eq!(login["release"], "py@1");
    assert_eq!(login["environment"], "dev");
    let trace = login["traceId"].as_str().expect("trace id").to_owned();
    assert_eq!(trace.len(), 32);
    let failed = l
        .iter()
        .find(|l| l["body"] == "charge failed")
        .expect("error log");
    assert_eq!(failed["level"], "error");
    assert_eq!(failed["attributes"]["retry"], true);
    assert_eq!(failed["traceId"], trace.as_str());
    // The event of the same transaction shares the trace.
    let issue = wait_for(Duration::from_secs(10), || {
        s.issues()
            .into_iter()
            .find(|i| i["title"] == "charge failed")
    })
    .expect("issue");
    let latest = s.api(&format!(
        "/api/0/issues/{}/events/latest/",
        issue["id"].as_str().expect("id")
    ));
    assert_eq!(latest["contexts"]["trace"]["trace_id"], trace.as_str());
}
