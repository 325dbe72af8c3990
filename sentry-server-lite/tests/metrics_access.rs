//! `/metrics` can be kept from the public (issue #17 item 5): behind a bearer token
//! (`--metrics-token`), or only on a separate address (`--metrics-bind`). By default it
//! stays public.

mod common;

use std::time::Duration;

use common::{request, TestServer};
use sentry_server_lite::config::ServerConfig;
use sentry_server_lite::server::Server;

#[test]
fn metrics_are_public_by_default_and_token_only_with_a_token() {
    let open = TestServer::start();
    let r = request(open.addr, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("sentry_lite_events_accepted_total"));

    let s = TestServer::start_with(|c| c.metrics_token = Some("s3cret-metrics".into()));
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "Bearer s3cret-metrics-and-more")],
        vec![("Authorization", "Basic s3cret-metrics")],
    ] {
        let r = request(s.addr, "GET", "/metrics", &headers, b"");
        assert_eq!(r.status, 401, "{headers:?}");
        assert!(!r.text().contains("sentry_lite_"), "no figures leak");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    let r = request(
        s.addr,
        "GET",
        "/metrics",
        &[("Authorization", "Bearer s3cret-metrics")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(r.text().contains("sentry_lite_events_accepted_total"));
    assert_eq!(request(s.addr, "GET", "/healthz", &[], b"").status, 200);
}

#[test]
fn metrics_bind_serves_metrics_only_on_its_own_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(dir.path());
    config.database_url = common::database_url(dir.path());
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.metrics_bind = Some("127.0.0.1:0".parse().expect("addr"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(Server::bind(config)).expect("bind");
    let (main, metrics) = (
        server.http_addr(),
        server.metrics_addr().expect("a metrics address"),
    );
    assert_ne!(main, metrics);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        rt.block_on(server.run(async {
            let _ = stopped.await;
        }))
        .expect("run");
    });
    let r = request(metrics, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("sentry_lite_events_accepted_total"));
    assert_eq!(request(main, "GET", "/metrics", &[], b"").status, 404);
    assert_eq!(request(main, "GET", "/healthz", &[], b"").status, 200);
    // Nothing else is served on the metrics address.
    assert_eq!(request(metrics, "GET", "/healthz", &[], b"").status, 404);
    assert_eq!(
        request(metrics, "GET", "/api/0/projects/", &[], b"").status,
        404
    );
    let _ = stop.send(());
    thread.join().expect("server thread");
    // Both listeners are closed once the server has stopped.
    let gone = |addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err();
    assert!(gone(metrics) && gone(main));
    if common::postgres_backend() {
        common::drop_postgres_database(&common::database_name(dir.path()));
    }
}
