//! End to end with the official `sentry` crate: its envelopes (dashed event ids, no
//! Content-Type, no compression, `sentry_timestamp` in the auth header) are POSTed by a
//! small transport to a real server and read back through the JSON API.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::{request, TestServer};
use serde_json::Value;

/// Sends each envelope synchronously, the way sentry's HTTP transports format it.
struct BlockingHttp {
    addr: SocketAddr,
    path: String,
    auth: String,
    statuses: Arc<Mutex<Vec<u16>>>,
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

#[inline(never)]
fn checkout(order: u32) {
    panic!("order {order} has no shipping address");
}

fn find<'a>(issues: &'a [Value], prefix: &str) -> Vec<&'a Value> {
    issues
        .iter()
        .filter(|i| i["title"].as_str().unwrap_or("").starts_with(prefix))
        .collect()
}

#[test]
fn sentry_crate_events_group_into_issues() {
    let s = TestServer::start();
    let dsn: sentry::types::Dsn = s.dsn().parse().expect("dsn");
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let transport = {
        let statuses = statuses.clone();
        let addr = s.addr;
        let path = dsn.envelope_api_url().path().to_owned();
        let auth = dsn.to_auth(Some("sentry.rust/0.49")).to_string();
        move |_: &sentry::ClientOptions| -> Arc<dyn sentry::Transport> {
            Arc::new(BlockingHttp {
                addr,
                path: path.clone(),
                auth: auth.clone(),
                statuses: statuses.clone(),
            })
        }
    };
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(dsn);
    options.release = Some("rust-e2e@2.0".into());
    options.transport = Some(Arc::new(transport));
    let guard = sentry::init(options);

    let parse_int = || "x1".parse::<i32>().expect_err("not a number");
    sentry::capture_error(&parse_int());
    sentry::capture_error(&parse_int());
    sentry::capture_error(&"x".parse::<f64>().expect_err("not a float"));
    sentry::capture_message("order 17 failed", sentry::Level::Error);
    sentry::capture_message("order 18 failed", sentry::Level::Error);
    for region in ["eu", "us"] {
        sentry::with_scope(
            |scope| scope.set_fingerprint(Some(&["payment-gateway"])),
            || {
                sentry::capture_message(
                    &format!("gateway timeout in {region}"),
                    sentry::Level::Warning,
                )
            },
        );
    }
    for order in [1, 2] {
        let _ = std::panic::catch_unwind(|| checkout(order));
    }
    assert!(
        statuses.lock().expect("lock").iter().all(|s| *s == 200),
        "{statuses:?}"
    );

    let issues = s.issues();
    let titles: Vec<&str> = issues
        .iter()
        .map(|i| i["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(issues.len(), 5, "{titles:?}");
    let ints = find(&issues, "ParseIntError");
    assert_eq!(
        (ints.len(), ints[0]["count"].as_str()),
        (1, Some("2")),
        "{titles:?}"
    );
    assert_eq!(find(&issues, "ParseFloatError").len(), 1, "{titles:?}");
    let orders = find(&issues, "order ");
    assert_eq!(
        (orders.len(), orders[0]["count"].as_str()),
        (1, Some("2")),
        "{titles:?}"
    );
    let gateway = find(&issues, "gateway timeout");
    assert_eq!(
        (gateway.len(), gateway[0]["count"].as_str()),
        (1, Some("2")),
        "{titles:?}"
    );
    assert_eq!(gateway[0]["level"], "warning");
    let panics = find(&issues, "panic");
    assert_eq!(
        panics.len(),
        1,
        "two panics at one site are one issue: {titles:?}"
    );
    assert_eq!(
        (panics[0]["count"].as_str(), panics[0]["level"].as_str()),
        (Some("2"), Some("fatal"))
    );
    let latest = s.api(&format!(
        "/api/0/issues/{}/events/latest/",
        panics[0]["id"].as_str().expect("id")
    ));
    assert_eq!(latest["sdk"]["name"], "sentry.rust");
    assert_eq!(latest["platform"], "native");

    // Resolve; the same error again reopens the issue.
    let id = ints[0]["id"].as_str().expect("id").to_owned();
    let r = s.api_raw(
        "PUT",
        &format!("/api/0/issues/{id}/"),
        br#"{"status":"resolved"}"#,
    );
    assert_eq!(r.status, 200);
    sentry::capture_error(&parse_int());
    let reopened = s.api(&format!("/api/0/issues/{id}/"));
    assert_eq!(
        (
            reopened["status"].as_str(),
            reopened["substatus"].as_str(),
            reopened["count"].as_str()
        ),
        (Some("unresolved"), Some("regressed"), Some("3"))
    );
    drop(guard);
}
