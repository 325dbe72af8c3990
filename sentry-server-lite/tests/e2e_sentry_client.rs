//! End to end with our own SDK (`sentry-client`): events sent through its HTTP and UDP
//! transports to a real lite server are stored, grouped and read back through the API.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{wait_for, TestServer};
use sentry_client::{Client, ClientOptions, Hub, Level};

#[inline(never)]
fn parse_quantity(s: &str) -> Result<u32, std::num::ParseIntError> {
    s.parse()
}

fn client(dsn: &str) -> (Arc<Client>, Arc<Hub>) {
    let client = Arc::new(Client::from_config(ClientOptions {
        release: Some("client-e2e@1.0".into()),
        attach_stacktrace: true,
        ..ClientOptions::default().with_dsn(dsn)
    }));
    assert!(client.is_enabled(), "DSN {dsn} accepted");
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    (client, hub)
}

#[test]
fn sentry_client_over_http_is_stored_and_grouped() {
    let s = TestServer::start();
    let (client, hub) = client(&s.dsn());
    Hub::run(hub, || {
        sentry_client::configure_scope(|scope| scope.set_tag("e2e", "http"));
        for _ in 0..3 {
            let err = parse_quantity("3x").expect_err("not a number");
            sentry_client::capture_error(&err);
        }
        sentry_client::capture_message("cache warmed", Level::Info);
    });
    assert!(client.flush(Some(Duration::from_secs(10))), "delivered");
    let issues = wait_for(Duration::from_secs(10), || {
        let issues = s.issues();
        (issues.len() >= 2).then_some(issues)
    })
    .expect("two issues");
    let err = issues
        .iter()
        .find(|i| {
            i["title"]
                .as_str()
                .unwrap_or("")
                .starts_with("ParseIntError")
        })
        .unwrap_or_else(|| panic!("ParseIntError issue in {issues:#?}"));
    assert_eq!(
        err["count"].as_str(),
        Some("3"),
        "three captures, one issue"
    );
    let latest = s.api(&format!(
        "/api/0/issues/{}/events/latest/",
        err["id"].as_str().expect("id")
    ));
    assert_eq!(latest["sdk"]["name"], sentry_client::SDK_NAME);
    assert_eq!(latest["release"], "client-e2e@1.0");
    assert_eq!(latest["platform"], "native");
    // The API answers in the shape of Sentry's: the exception is an entry.
    let exception = latest["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "exception"))
        .expect("exception entry");
    let frames = exception["data"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        frames
            .iter()
            .any(|f| f["inApp"] == true || f["in_app"] == true),
        "in-app frames stored: {exception:#}"
    );
    assert_eq!(exception["data"]["values"][0]["type"], "ParseIntError");
    assert!(issues
        .iter()
        .any(|i| i["title"].as_str() == Some("cache warmed")));
    client.close(None);
}

#[test]
fn sentry_client_over_udp_is_stored() {
    let s = TestServer::start_with(|c| c.udp_bind = Some("127.0.0.1:0".parse().expect("addr")));
    let udp = s.udp_addr.expect("udp listener");
    let dsn = format!("udp://{}@{}/{}", s.key.public_key, udp, s.project.id);
    let (client, hub) = client(&dsn);
    Hub::run(hub, || {
        for i in 0..20 {
            sentry_client::capture_message(&format!("over udp {}", i % 2), Level::Warning);
        }
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let n = wait_for(Duration::from_secs(10), || {
        let n = s.event_count();
        (n >= 20).then_some(n)
    });
    assert_eq!(n, Some(20), "every datagram stored");
    // "over udp 0" and "over udp 1" share the message template (numbers normalized), so
    // they are one issue; which of the two titles it carries depends on which event was
    // committed first (several writer threads on PostgreSQL).
    let issues = s.issues();
    assert_eq!(issues.len(), 1, "{issues:#?}");
    let title = issues[0]["title"].as_str().unwrap_or_default();
    assert!(
        title == "over udp 0" || title == "over udp 1",
        "{issues:#?}"
    );
    assert_eq!(issues[0]["count"], "20", "{issues:#?}");
    client.close(None);
}
