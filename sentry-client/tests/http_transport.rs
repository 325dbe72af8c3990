//! The HTTP transport against a real local server: bursts, gzip, rate limits, client
//! reports, retries, the spool (also across a process restart), bounded shutdown.
#![cfg(feature = "client")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry_client::protocol::{DataCategory, DiscardReason, ItemType};
use sentry_client::{Client, ClientOptions, Hub, Level};
use support::{free_port, Reply, Sink};

fn client(dsn: &str, opts: ClientOptions) -> (Arc<Client>, Arc<Hub>) {
    let client = Arc::new(Client::from_config(opts.with_dsn(dsn)));
    assert!(client.is_enabled());
    let hub = Arc::new(Hub::new(Some(Arc::clone(&client)), Default::default()));
    (client, hub)
}

#[test]
fn burst_of_10000_messages_all_arrive_with_zero_discards() {
    let sink = Sink::start();
    let (client, hub) = client(&sink.dsn(), ClientOptions::default());
    let start = Instant::now();
    Hub::run(Arc::clone(&hub), || {
        for i in 0..10_000 {
            let id = sentry_client::capture_message(&format!("burst {i}"), Level::Info);
            assert!(!id.is_nil(), "event {i} was not queued");
        }
    });
    let caller = start.elapsed();
    assert!(
        client.flush(Some(Duration::from_secs(120))),
        "flush timed out"
    );
    eprintln!(
        "10,000 captures: caller {caller:?}, delivered after {:?}",
        start.elapsed()
    );
    let events = sink.events();
    assert_eq!(events.len(), 10_000);
    let mut seen: Vec<usize> = events
        .iter()
        .map(|e| e.message_text().expect("text")[6..].parse().expect("index"))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 10_000, "every event exactly once");
    assert!(
        client.pending_discards().is_empty(),
        "{:?}",
        client.pending_discards()
    );
    client.close(None);
    assert!(
        sink.client_reports().is_empty(),
        "no discards, so no client report"
    );
    // Wire details of what arrived.
    let r = &sink.received()[0];
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/x-sentry-envelope")
    );
    let auth = r.auth.as_deref().expect("auth header");
    assert!(
        auth.starts_with("Sentry sentry_key=0123456789abcdef0123456789abcdef, sentry_version=7")
    );
    assert!(auth.contains("sentry_client=sentry.rust.lite/"));
    assert!(r
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with("sentry.rust.lite/")));
    // A small event goes uncompressed (below `gzip_threshold`).
    assert_eq!(r.content_encoding, None);
}

/// `user_agent` (the official option) is the `User-Agent` of both HTTP paths: the plain
/// one and reqwest's (behind a proxy), which also takes `accept_invalid_certs`.
#[test]
fn the_user_agent_option_is_sent() {
    let sink = Sink::start();
    let plain = sink.dsn();
    let behind_proxy = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1".to_owned();
    for (dsn, proxy) in [
        (plain, None),
        (behind_proxy, Some(format!("http://{}", sink.addr))),
    ] {
        let opts = ClientOptions::new()
            .user_agent("my-app/1.0")
            .accept_invalid_certs(true);
        let opts = match proxy {
            Some(p) => opts.http_proxy(p),
            None => opts,
        };
        let (client, hub) = client(&dsn, opts);
        Hub::run(hub, || {
            sentry_client::capture_message("ua", Level::Info);
        });
        assert!(client.flush(Some(Duration::from_secs(10))));
    }
    let agents: Vec<_> = sink.received().into_iter().map(|r| r.user_agent).collect();
    assert_eq!(
        agents,
        [Some("my-app/1.0".to_owned()), Some("my-app/1.0".to_owned())]
    );
}

/// With a proxy, sends go through reqwest (the `https://` client) instead of the plain
/// `http://` path: the DSN's own address (port 9, nothing listens) is never contacted.
#[test]
fn sends_through_an_http_proxy() {
    let sink = Sink::start();
    let dsn = "http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1";
    let (client, hub) = client(
        dsn,
        ClientOptions {
            http_proxy: Some(format!("http://{}", sink.addr).into()),
            ..Default::default()
        },
    );
    Hub::run(hub, || {
        sentry_client::capture_message("via proxy", Level::Info);
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let events = sink.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].message_text(), Some("via proxy"));
    let r = &sink.received()[0];
    assert!(r
        .user_agent
        .as_deref()
        .is_some_and(|ua| ua.starts_with("sentry.rust.lite/")));
    assert!(r.auth.is_some());
}

#[test]
fn bodies_over_the_threshold_are_gzipped() {
    let sink = Sink::start();
    let (client, hub) = client(&sink.dsn(), ClientOptions::default());
    Hub::run(hub, || {
        sentry_client::configure_scope(|s| s.set_extra("blob", "x".repeat(16384).into()));
        sentry_client::capture_message("big", Level::Info);
    });
    assert!(client.flush(Some(Duration::from_secs(10))));
    let r = &sink.received()[0];
    assert_eq!(r.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(
        sink.events()[0].extra["blob"].as_str().map(str::len),
        Some(16384)
    );
}

#[test]
fn rate_limit_429_stops_error_sends_and_reports_the_discards() {
    let sink = Sink::start_with(0, |i, _| {
        if i == 0 {
            Reply::RateLimited {
                retry_after: Some("60"),
                limits: Some("60:error:key"),
            }
        } else {
            Reply::Ok
        }
    });
    let (client, hub) = client(&sink.dsn(), ClientOptions::default());
    Hub::run(Arc::clone(&hub), || {
        let err = "x".parse::<u8>().expect_err("error");
        sentry_client::capture_error(&err);
        assert!(client.flush(Some(Duration::from_secs(10))));
        // Limited now: these never reach the server.
        for _ in 0..5 {
            sentry_client::capture_error(&err);
            sentry_client::capture_message("also an event", Level::Error);
        }
        assert!(client.flush(Some(Duration::from_secs(10))));
    });
    let discards = client.pending_discards();
    assert_eq!(
        discards,
        vec![(DiscardReason::RatelimitBackoff, DataCategory::Error, 10)]
    );
    // At shutdown the report goes out alone (client reports are never rate limited).
    client.close(Some(Duration::from_secs(5)));
    let received = sink.received();
    assert_eq!(
        received
            .iter()
            .filter(|r| r.envelope.item(&ItemType::Event).is_some())
            .count(),
        1,
        "only the first error was sent"
    );
    let reports = sink.client_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].count(DiscardReason::RatelimitBackoff, DataCategory::Error),
        10
    );
    let last = received.last().expect("report request");
    assert_eq!(last.envelope.items.len(), 1, "the report travels alone");
}

#[test]
fn a_500_is_retried_until_accepted() {
    let sink = Sink::start_with(0, |i, _| if i < 2 { Reply::Status(500) } else { Reply::Ok });
    let (client, hub) = client(&sink.dsn(), ClientOptions::default());
    let id = Hub::run(hub, || {
        sentry_client::capture_message("retry me", Level::Warning)
    });
    assert!(client.flush(Some(Duration::from_secs(20))));
    let received = sink.received();
    assert_eq!(received.len(), 3, "two 500s, then accepted");
    for r in &received {
        assert_eq!(
            r.envelope.event().expect("event").expect("parses").event_id,
            id
        );
    }
    assert_eq!(sink.events().len(), 1);
    assert!(client.pending_discards().is_empty());
}

#[test]
fn a_4xx_is_dropped_and_counted_as_send_error() {
    let sink = Sink::start_with(0, |i, _| {
        if i == 0 {
            Reply::Status(400)
        } else {
            Reply::Ok
        }
    });
    let (client, hub) = client(&sink.dsn(), ClientOptions::default());
    Hub::run(hub, || sentry_client::capture_message("bad", Level::Info));
    assert!(client.flush(Some(Duration::from_secs(10))));
    assert_eq!(
        client.pending_discards(),
        vec![(DiscardReason::SendError, DataCategory::Error, 1)]
    );
    client.close(Some(Duration::from_secs(5)));
    assert_eq!(
        sink.client_reports()[0].count(DiscardReason::SendError, DataCategory::Error),
        1
    );
}

#[test]
fn server_down_then_up_receives_every_spooled_event() {
    let port = free_port();
    let dsn = format!("http://0123456789abcdef0123456789abcdef@127.0.0.1:{port}/1");
    let spool = tempfile::tempdir().expect("tempdir");
    let (client, hub) = client(&dsn, ClientOptions::default().with_spool_dir(spool.path()));
    Hub::run(hub, || {
        for i in 0..20 {
            sentry_client::capture_message(&format!("while down {i}"), Level::Error);
        }
    });
    // Spooled envelopes are settled: the flush returns once they are on disk.
    assert!(client.flush(Some(Duration::from_secs(10))));
    let files = std::fs::read_dir(spool.path()).expect("spool").count();
    assert_eq!(files, 20, "one file per envelope");
    let sink = Sink::start_with(port, |_, _| Reply::Ok);
    assert_eq!(sink.wait_for_events(20, Duration::from_secs(30)), 20);
    client.close(None);
    let mut texts: Vec<_> = sink
        .events()
        .iter()
        .map(|e| e.message_text().expect("text").to_owned())
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 20);
    assert_eq!(std::fs::read_dir(spool.path()).expect("spool").count(), 0);
}

/// The child half of `spooled_events_survive_a_process_restart`: only acts when run by
/// that test (environment variables set), otherwise passes trivially.
#[test]
fn spool_child_process() {
    let (Ok(dir), Ok(dsn)) = (
        std::env::var("SPOOL_TEST_DIR"),
        std::env::var("SPOOL_TEST_DSN"),
    ) else {
        return;
    };
    let _guard = sentry_client::init(
        ClientOptions::default()
            .with_dsn(&dsn)
            .with_spool_dir(dir)
            .with_shutdown_timeout(Duration::from_secs(2)),
    );
    for i in 0..7 {
        sentry_client::capture_message(&format!("from the first run {i}"), Level::Error);
    }
    // The guard's drop spools whatever is left and the process exits.
}

#[test]
fn spooled_events_survive_a_process_restart() {
    let port = free_port();
    let dsn = format!("http://0123456789abcdef0123456789abcdef@127.0.0.1:{port}/1");
    let spool = tempfile::tempdir().expect("tempdir");
    // Run 1: a separate process captures while the server is down, then exits.
    let status = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "spool_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SPOOL_TEST_DIR", spool.path())
        .env("SPOOL_TEST_DSN", &dsn)
        .status()
        .expect("run child");
    assert!(status.success());
    assert_eq!(std::fs::read_dir(spool.path()).expect("spool").count(), 7);
    // Run 2 (this process): the server is up; a new client on the same spool resends.
    let sink = Sink::start_with(port, |_, _| Reply::Ok);
    let (client, _hub) = client(&dsn, ClientOptions::default().with_spool_dir(spool.path()));
    assert_eq!(sink.wait_for_events(7, Duration::from_secs(30)), 7);
    client.close(None);
    let mut texts: Vec<_> = sink
        .events()
        .iter()
        .map(|e| e.message_text().expect("text").to_owned())
        .collect();
    texts.sort();
    assert_eq!(
        texts.first().map(String::as_str),
        Some("from the first run 0")
    );
    assert_eq!(texts.len(), 7);
}

#[test]
fn shutdown_with_a_hanging_server_returns_within_shutdown_timeout() {
    // A server that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let held = Arc::new(AtomicUsize::new(0));
    let held2 = Arc::clone(&held);
    std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in listener.incoming().flatten() {
            held2.fetch_add(1, Ordering::SeqCst);
            conns.push(c);
        }
    });
    let dsn = format!("http://0123456789abcdef0123456789abcdef@{addr}/1");
    let timeout = Duration::from_secs(1);
    let (client, hub) = client(
        &dsn,
        ClientOptions::default().with_shutdown_timeout(timeout),
    );
    Hub::run(hub, || {
        for _ in 0..10 {
            sentry_client::capture_message("into the void", Level::Error);
        }
    });
    let start = Instant::now();
    let flushed = client.close(None);
    let took = start.elapsed();
    assert!(!flushed, "nothing could be delivered");
    assert!(
        took < timeout + Duration::from_millis(500),
        "close took {took:?} with shutdown_timeout {timeout:?}"
    );
    assert!(held.load(Ordering::SeqCst) >= 1, "the server was contacted");
    // Capturing after close does nothing.
    assert!(!client.is_enabled());
}

#[test]
fn connection_refused_without_spool_keeps_retrying_then_flush_times_out() {
    let port = free_port();
    let dsn = format!("http://0123456789abcdef0123456789abcdef@127.0.0.1:{port}/1");
    let (client, hub) = client(&dsn, ClientOptions::default());
    Hub::run(hub, || sentry_client::capture_message("later", Level::Info));
    assert!(
        !client.flush(Some(Duration::from_millis(300))),
        "nothing delivered yet"
    );
    // The server comes up: the in-memory retry buffer delivers.
    let sink = Sink::start_with(port, |_, _| Reply::Ok);
    assert_eq!(sink.wait_for_events(1, Duration::from_secs(20)), 1);
    assert!(client.flush(Some(Duration::from_secs(5))));
}
