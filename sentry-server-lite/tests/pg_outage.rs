//! PostgreSQL that cannot be reached or goes away:
//!
//! - `serve` with an unparseable URL, or a database nobody listens for, exits non-zero
//!   within 30 s with an error naming the host and the reason;
//! - while serving, a database that goes away (a TCP proxy in between is cut) makes
//!   ingestion answer 503 with `Retry-After`, nothing acknowledged that was not
//!   committed, and the server recovers by itself when the database is back.
//!
//! Needs PostgreSQL: fails (never skips) when `SENTRY_TEST_POSTGRES_URL` is not set.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{envelope, fresh_postgres_database, new_id, try_request, url_with_dbname, wait_for};
use sentry_server_lite::config::ServerConfig;
use sentry_server_lite::server::Server;
use sentry_server_lite::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_sentry-server-lite");

#[test]
fn unreachable_or_unparseable_database_fails_fast_and_clearly() {
    // Nobody listens on this port (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dir = tempfile::tempdir().expect("tempdir");
    for (url, expect) in [
        (
            format!("postgres://sentry:secret@127.0.0.1:{port}/sentry"),
            vec![format!("127.0.0.1:{port}"), "refused".to_owned()],
        ),
        (
            "postgres://sentry:secret@127.0.0.1:notaport/sentry".to_owned(),
            vec!["postgres://sentry@127.0.0.1:notaport/sentry".to_owned()],
        ),
    ] {
        let started = Instant::now();
        let out = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("SENTRY_LITE_DATABASE_URL", &url)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}: should fail");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{url}: too slow"
        );
        for e in expect {
            assert!(stderr.contains(&e), "{url}: {e:?} not in {stderr}");
        }
        assert!(
            !stderr.contains("secret"),
            "the password is never shown: {stderr}"
        );
        assert!(
            !dir.path().join("sentry.db").exists(),
            "no SQLite file is made"
        );
    }
}

/// A TCP proxy that can be cut (every connection closed, new ones refused) and restored.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let up = Arc::new(AtomicBool::new(true));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (up2, conns2) = (up.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let mut list = conns2.lock().expect("lock");
                for s in [&client, &server] {
                    if let Ok(c) = s.try_clone() {
                        list.push(c);
                    }
                }
                drop(list);
                for (mut from, mut to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ]
                .into_iter()
                .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
                {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy { addr, up, conns }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().expect("lock").drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[test]
fn database_going_away_is_503_with_retry_after_and_recovers() {
    let direct = fresh_postgres_database();
    let dbname = direct.rsplit('/').next().expect("db name").to_owned();
    let pg: SocketAddr = direct
        .split("://")
        .nth(1)
        .and_then(|r| r.split('@').nth(1))
        .and_then(|r| r.split('/').next())
        .expect("host:port")
        .parse()
        .expect("an IP:port URL");
    let proxy = Proxy::start(pg);
    let via_proxy = url_with_dbname(&format!("postgres://postgres@{}/x", proxy.addr), &dbname);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(dir.path());
    config.database_url = Some(via_proxy);
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.key_cache_ttl = Duration::from_millis(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(Server::bind(config)).expect("bind");
    let (addr, store) = (server.http_addr(), server.store());
    let team = store.create_team("t", "T", None).expect("team");
    let project = store
        .create_project(team.id, "p", "P", None)
        .expect("project");
    let key = store.create_key(project.id, "k").expect("key");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let _ = rt.block_on(server.run(async {
            let _ = stopped.await;
        }));
    });
    let auth = format!("Sentry sentry_key={}, sentry_version=7", key.public_key);
    let path = format!("/api/{}/envelope/", project.id);
    let send = |id: &str| {
        let body = envelope(
            &format!(r#"{{"event_id":"{id}"}}"#),
            &format!(r#"{{"event_id":"{id}","message":"outage test"}}"#),
        );
        try_request(addr, "POST", &path, &[("X-Sentry-Auth", &auth)], &body).expect("answer")
    };

    let before = new_id();
    assert_eq!(send(&before).status, 200);

    proxy.cut();
    let during = new_id();
    let r = send(&during);
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.header("Retry-After")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some(),
        "Retry-After on 503: {:?}",
        r.headers
    );

    proxy.restore();
    let after = wait_for(Duration::from_secs(20), || {
        let id = new_id();
        (send(&id).status == 200).then_some(id)
    })
    .expect("the server recovers by itself");

    let direct_store = sentry_server_lite::store::PgStore::open(&direct).expect("open");
    for id in [&before, &after] {
        assert!(
            direct_store.event(project.id, id).expect("read").is_some(),
            "acknowledged {id} is stored"
        );
    }
    assert!(
        direct_store
            .event(project.id, &during)
            .expect("read")
            .is_none(),
        "the refused event was not stored"
    );
    let _ = stop.send(());
    let _ = thread.join();
}
