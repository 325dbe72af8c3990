//! TLS to a real PostgreSQL (issue #11: rustls, `sslmode=require` with real certificate
//! checks). `scripts/test` starts its throwaway cluster with TLS on: a server certificate
//! for 127.0.0.1 and localhost signed by a throwaway CA (`SENTRY_TEST_POSTGRES_CA`), an
//! unrelated CA (`SENTRY_TEST_POSTGRES_OTHER_CA`), and the cluster also listening on
//! 127.0.0.2, a name the certificate does not cover.
//!
//! - `sslrootcert=` the CA: the store opens, its sessions really are TLS (`pg_stat_ssl`),
//!   writes and reads go through, and a server ingests an event over it;
//! - the webpki roots only, the unrelated CA, a host the certificate does not name, a
//!   missing `sslrootcert` file: opening fails with an error naming the host (or the
//!   file) and the certificate problem;
//! - no `sslmode` (libpq's default, `prefer`): TLS when the certificate checks out, and a
//!   plain session (not a failure) when it does not.
//!
//! Needs PostgreSQL with TLS: fails (never skips) when the variables are not set.

mod common;

use std::time::Duration;

use common::{
    envelope, fresh_postgres_database, new_id, postgres_admin_url, request, ServerThread,
};
use sentry_server_lite::config::ServerConfig;
use sentry_server_lite::store::{AccountStore, DbTarget, PgStore, Store};

/// A path `scripts/test` exports.
fn env_path(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set. Run ./scripts/test: it starts a throwaway PostgreSQL with TLS \
             and sets SENTRY_TEST_POSTGRES_URL, SENTRY_TEST_POSTGRES_CA (the CA that signed \
             the server's certificate) and SENTRY_TEST_POSTGRES_OTHER_CA (an unrelated CA)"
        )
    })
}

fn good_ca() -> String {
    env_path("SENTRY_TEST_POSTGRES_CA")
}

fn other_ca() -> String {
    env_path("SENTRY_TEST_POSTGRES_OTHER_CA")
}

/// A fresh database on the test cluster.
struct Db {
    /// `postgres://USER@HOST:PORT/NAME` without a query.
    base: String,
    name: String,
    port: u16,
}

impl Db {
    fn fresh() -> Db {
        let url = fresh_postgres_database();
        let base = url.split('?').next().expect("url").to_owned();
        let (authority, name) = base
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .expect("postgres://USER@HOST:PORT/DB");
        let port = authority
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("a port in SENTRY_TEST_POSTGRES_URL");
        Db {
            base: base.clone(),
            name: name.to_owned(),
            port,
        }
    }

    /// Its URL with `params` as the query.
    fn url(&self, params: &str) -> String {
        format!("{}?{params}", self.base)
    }

    /// Its URL on another address of the same cluster.
    fn url_on(&self, host: &str, params: &str) -> String {
        format!(
            "postgres://postgres@{host}:{}/{}?{params}",
            self.port, self.name
        )
    }

    /// `HOST:PORT` as error messages show it.
    fn host(&self, host: &str) -> String {
        format!("{host}:{}", self.port)
    }

    /// (sessions on TLS, all sessions) of others connected to this database now.
    fn sessions(&self) -> (i64, i64) {
        let admin = DbTarget::parse(&postgres_admin_url()).expect("admin url");
        let mut client = admin.connect().expect("connect to the test PostgreSQL");
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_activity a \
                 JOIN pg_stat_ssl s USING (pid) \
                 WHERE a.datname = $1 AND a.pid <> pg_backend_pid()",
                &[&self.name],
            )
            .expect("pg_stat_ssl");
        (row.get(0), row.get(1))
    }
}

/// Whether one connection made for `url` is TLS, by the server's own account.
fn session_is_tls(url: &str) -> bool {
    let mut client = DbTarget::parse(url)
        .expect("parse")
        .connect()
        .expect("connect");
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("pg_stat_ssl")
        .get(0)
}

/// Opening a store on `url` fails; the message.
fn open_error(url: &str) -> String {
    match PgStore::open(url) {
        Ok(_) => panic!("{url}: opened, should have failed"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_cas_certificate_gives_a_tls_session_that_stores() {
    let db = Db::fresh();
    let url = db.url(&format!("sslmode=require&sslrootcert={}", good_ca()));
    assert!(session_is_tls(&url), "{url}: not TLS");
    // The same query tells a plain session apart.
    assert!(!session_is_tls(&db.url("sslmode=disable")));

    let store = PgStore::open(&url).expect("open over TLS");
    let team = store.create_team("tls", "Over TLS", None).expect("team");
    let project = store
        .create_project(team.id, "p", "P", None)
        .expect("project");
    // Read back by a second store over TLS.
    let again = PgStore::open(&url).expect("open again");
    let teams = again.list_teams().expect("teams");
    assert_eq!(
        teams
            .iter()
            .map(|t| (t.slug.as_str(), t.name.as_str()))
            .collect::<Vec<_>>(),
        [("tls", "Over TLS")]
    );
    assert_eq!(
        again
            .project_by_id(project.id)
            .expect("project")
            .map(|p| p.slug),
        Some("p".to_owned())
    );
    // Every session the stores hold is TLS.
    let (tls, all) = db.sessions();
    assert!(all >= 2, "the two stores hold {all} sessions");
    assert_eq!(tls, all, "{tls} of {all} sessions on TLS");
}

#[test]
fn webpki_roots_alone_do_not_trust_a_private_ca() {
    let db = Db::fresh();
    let msg = open_error(&db.url("sslmode=require"));
    assert!(msg.contains(&db.host("127.0.0.1")), "{msg}");
    assert!(msg.contains("TLS"), "{msg}");
    assert!(
        msg.contains("certificate is not trusted: it is not signed by the webpki roots"),
        "{msg}"
    );
    assert!(msg.contains("sslrootcert=FILE"), "no hint: {msg}");
}

#[test]
fn an_unrelated_ca_is_not_trusted() {
    let db = Db::fresh();
    let ca = other_ca();
    let msg = open_error(&db.url(&format!("sslmode=require&sslrootcert={ca}")));
    assert!(msg.contains(&db.host("127.0.0.1")), "{msg}");
    assert!(msg.contains("TLS"), "{msg}");
    assert!(
        msg.contains(&format!(
            "certificate is not trusted: it is not signed by the CA certificate(s) in \
             sslrootcert {ca:?}"
        )),
        "{msg}"
    );
}

#[test]
fn a_host_the_certificate_does_not_name_is_refused() {
    let db = Db::fresh();
    // 127.0.0.2 reaches the same cluster (plain)...
    assert!(!session_is_tls(&db.url_on("127.0.0.2", "sslmode=disable")));
    // ...and a trusted certificate for 127.0.0.1 and localhost is not one for it.
    let msg = open_error(&db.url_on(
        "127.0.0.2",
        &format!("sslmode=require&sslrootcert={}", good_ca()),
    ));
    assert!(msg.contains(&db.host("127.0.0.2")), "{msg}");
    assert!(msg.contains("TLS"), "{msg}");
    assert!(
        msg.contains("certificate is not valid for \"127.0.0.2\""),
        "{msg}"
    );
    // The names it is valid for (from rustls), so the user sees the mismatch.
    assert!(msg.contains("127.0.0.1"), "{msg}");
    assert!(msg.contains("localhost"), "{msg}");
    // By a name it covers, the same CA works.
    assert!(session_is_tls(&db.url_on(
        "localhost",
        &format!("sslmode=require&sslrootcert={}", good_ca())
    )));
}

#[test]
fn a_missing_root_certificate_file_is_named() {
    let db = Db::fresh();
    let msg = open_error(&db.url("sslmode=require&sslrootcert=/nonexistent/ca.pem"));
    assert!(msg.contains("sslrootcert"), "{msg}");
    assert!(msg.contains("/nonexistent/ca.pem"), "{msg}");
    assert!(msg.contains("No such file"), "{msg}");
}

#[test]
fn a_server_ingests_over_tls() {
    let db = Db::fresh();
    let url = db.url(&format!("sslmode=require&sslrootcert={}", good_ca()));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(dir.path());
    config.database_url = Some(url.clone());
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.key_cache_ttl = Duration::from_millis(0);
    let server = ServerThread::start(config);
    let team = server.store.create_team("t", "T", None).expect("team");
    let project = server
        .store
        .create_project(team.id, "p", "P", None)
        .expect("project");
    let key = server.store.create_key(project.id, "Default").expect("key");

    let id = new_id();
    let auth = format!("Sentry sentry_key={}, sentry_version=7", key.public_key);
    let body = envelope(
        &format!(r#"{{"event_id":"{id}"}}"#),
        r#"{"message":"over TLS","level":"error"}"#,
    );
    let r = request(
        server.addr,
        "POST",
        &format!("/api/{}/envelope/", project.id),
        &[("X-Sentry-Auth", &auth)],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // Acknowledged means committed: another store over TLS sees it at once.
    let reader = PgStore::open(&url).expect("open over TLS");
    assert_eq!(reader.count_events().expect("count"), 1);
    let (tls, all) = db.sessions();
    assert!(all >= 2, "server and reader hold {all} sessions");
    assert_eq!(tls, all, "{tls} of {all} sessions on TLS");
}

#[test]
fn prefer_uses_tls_when_the_certificate_checks_out_and_connects_plain_otherwise() {
    let db = Db::fresh();
    // The CA given, no sslmode: TLS.
    assert!(session_is_tls(
        &db.url(&format!("sslrootcert={}", good_ca()))
    ));
    // Nothing given: the server offers TLS, its certificate is not from a webpki root, so
    // the session is plain, like libpq's `prefer`; the store works.
    assert!(!session_is_tls(&db.base));
    let store = PgStore::open(&db.base).expect("open without sslmode");
    store.create_team("t", "T", None).expect("a write");
    assert!(!session_is_tls(&db.url("sslmode=prefer")));
    // `require` never falls back.
    let e = open_error(&db.url("sslmode=require"));
    assert!(e.contains("TLS") && e.contains("not trusted"), "{e}");
}
