//! Test harness: a real server on 127.0.0.1:0 with a temp data dir, a tiny blocking
//! HTTP client (so tests control every byte), and API helpers.
//!
//! Backends: SQLite by default; with `SENTRY_TEST_BACKEND=postgres` every server (and
//! every data dir the binary is run on, through [`db_env`]) gets a fresh database in the
//! PostgreSQL at `SENTRY_TEST_POSTGRES_URL` (`scripts/test` starts a throwaway one).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry_server_lite::config::ServerConfig;
use sentry_server_lite::ingest::Ingestor;
use sentry_server_lite::secrets;
use sentry_server_lite::server::Server;
use sentry_server_lite::store::{self as store, DbTarget, Project, ProjectKey, Store, Synchronous};
use serde_json::Value;

/// A running server with one team, one project (with a key) and an API token.
pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub udp_addr: Option<SocketAddr>,
    pub store: Arc<dyn Store>,
    pub ingestor: Arc<Ingestor>,
    pub project: Project,
    pub key: ProjectKey,
    pub token: String,
    server: ServerThread,
    /// The PostgreSQL database of this server (dropped with it).
    pg_database: Option<String>,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    pub fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServerConfig::new(dir.path());
        config.database_url = database_url(dir.path());
        let pg_database = postgres_backend().then(|| database_name(dir.path()));
        config.bind = "127.0.0.1:0".parse().expect("addr");
        config.key_cache_ttl = Duration::from_millis(0);
        configure(&mut config);
        let server = ServerThread::start(config);
        let (addr, udp_addr) = (server.addr, server.udp_addr);
        let (store, ingestor) = (server.store.clone(), server.ingestor.clone());
        let team = store.create_team("team", "Team", None).expect("team");
        let project = store
            .create_project(team.id, "proj", "Proj", None)
            .expect("project");
        let key = store.create_key(project.id, "Default").expect("key");
        let user = store
            .create_user(
                "admin@example.com",
                &secrets::hash_password("password1").expect("hash"),
                true,
            )
            .expect("user");
        let (token, digest) = secrets::new_api_token();
        store.create_token(user.id, &digest, "test").expect("token");
        TestServer {
            dir,
            addr,
            udp_addr,
            store,
            ingestor,
            project,
            key,
            token,
            server,
            pg_database,
        }
    }

    pub fn dsn(&self) -> String {
        dsn(&self.key, self.project.id, self.addr)
    }

    pub fn envelope_path(&self) -> String {
        format!("/api/{}/envelope/", self.project.id)
    }

    pub fn auth_header(&self) -> String {
        format!(
            "Sentry sentry_key={}, sentry_version=7, sentry_client=test/1",
            self.key.public_key
        )
    }

    /// POSTs an envelope with the project's key in `X-Sentry-Auth`.
    pub fn post_envelope(&self, body: &[u8]) -> Response {
        let auth = self.auth_header();
        request(
            self.addr,
            "POST",
            &self.envelope_path(),
            &[("X-Sentry-Auth", &auth)],
            body,
        )
    }

    /// GETs an API path with the token, expecting 200 and JSON.
    pub fn api(&self, path: &str) -> Value {
        let r = self.api_raw("GET", path, b"");
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    pub fn api_raw(&self, method: &str, path: &str, body: &[u8]) -> Response {
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![("Authorization", auth.as_str())];
        if !body.is_empty() {
            headers.push(("Content-Type", "application/json"));
        }
        request(self.addr, method, path, &headers, body)
    }

    /// All issues of the project (any status).
    pub fn issues(&self) -> Vec<Value> {
        let v = self.api(&format!(
            "/api/0/projects/team/{}/issues/?query=&limit=100",
            self.project.slug
        ));
        v.as_array().expect("array").clone()
    }

    pub fn issue_by_title(&self, title: &str) -> Value {
        let issues = self.issues();
        issues
            .iter()
            .find(|i| i["title"] == title)
            .cloned()
            .unwrap_or_else(|| panic!("no issue titled {title:?} in {issues:#?}"))
    }

    pub fn event_count(&self) -> u64 {
        self.store.count_events().expect("count")
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.server.stop();
        // Keep the throwaway cluster small: each test's database goes with its server.
        if let Some(name) = self.pg_database.take() {
            drop_postgres_database(&name);
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The Python of the test venv (with the official `sentry-sdk` and `aiosmtpd`); fails,
/// never skips, when it is not configured.
pub fn python() -> String {
    std::env::var("SENTRY_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "SENTRY_TEST_PYTHON is not set. Run ./scripts/test, or create the venv by hand: \
             python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-test.txt \
             && export SENTRY_TEST_PYTHON=$PWD/.venv/bin/python"
        )
    })
}

/// Whether the tests run on PostgreSQL (`SENTRY_TEST_BACKEND=postgres`).
pub fn postgres_backend() -> bool {
    match std::env::var("SENTRY_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("SENTRY_TEST_BACKEND={other:?}: use sqlite or postgres"),
    }
}

/// The PostgreSQL server the tests may create databases in; fails (never skips) when
/// it is not configured.
pub fn postgres_admin_url() -> String {
    std::env::var("SENTRY_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "SENTRY_TEST_POSTGRES_URL is not set. Run ./scripts/test (it starts a throwaway \
             PostgreSQL), or point it at a server where the user may create databases: \
             export SENTRY_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres"
        )
    })
}

/// `url` with another database name.
pub fn url_with_dbname(url: &str, dbname: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").expect("a postgres:// URL");
    let authority = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(q) => format!("{scheme}://{authority}/{dbname}?{q}"),
        None => format!("{scheme}://{authority}/{dbname}"),
    }
}

/// Creates the database `name` unless it exists; returns its URL.
pub fn create_postgres_database(name: &str) -> String {
    let admin = postgres_admin_url();
    let target = DbTarget::parse(&admin).expect("SENTRY_TEST_POSTGRES_URL");
    let mut client = target.connect().expect("connect to the test PostgreSQL");
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .expect("query")
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create database");
    }
    url_with_dbname(&admin, name)
}

/// Drops a test database (its open connections too).
pub fn drop_postgres_database(name: &str) {
    let target = DbTarget::parse(&postgres_admin_url()).expect("SENTRY_TEST_POSTGRES_URL");
    if let Ok(mut client) = target.connect() {
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
}

/// The name of the PostgreSQL database of a data dir.
pub fn database_name(dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    format!("d_{:016x}", h.finish())
}

/// A fresh, empty PostgreSQL database; returns its URL.
pub fn fresh_postgres_database() -> String {
    create_postgres_database(&format!("t_{}", new_id()))
}

/// The PostgreSQL database belonging to a data dir on the PostgreSQL backend (created on
/// first use), `None` on SQLite.
pub fn database_url(dir: &Path) -> Option<String> {
    if !postgres_backend() {
        return None;
    }
    Some(create_postgres_database(&database_name(dir)))
}

/// Environment for running the binary on a data dir: its database on PostgreSQL.
pub fn db_env(dir: &Path) -> Vec<(String, String)> {
    database_url(dir)
        .map(|u| vec![("SENTRY_LITE_DATABASE_URL".to_owned(), u)])
        .unwrap_or_default()
}

/// Starts the real `serve` binary for `dir` on a free loopback port, with `envs` added to
/// its environment (e.g. [`db_env`]); the child and the address its first line names.
pub fn spawn_serve(dir: &Path, envs: Vec<(String, String)>) -> (std::process::Child, SocketAddr) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentry-server-lite"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .envs(envs)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|u| u.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    (child, addr.parse().expect("address"))
}

/// The store of a data dir as the binary sees it (its SQLite file or its database).
pub fn open_store(dir: &Path) -> Arc<dyn Store> {
    store::open(
        database_url(dir).as_deref(),
        &sentry_server_lite::config::database_path(dir),
        Synchronous::Full,
    )
    .expect("open the store")
}

pub fn dsn(key: &ProjectKey, project_id: i64, addr: SocketAddr) -> String {
    format!("http://{}@{}/{}", key.public_key, addr, project_id)
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn detail(&self) -> String {
        self.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(req.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// An envelope with one event item.
pub fn envelope(header: &str, event_json: &str) -> Vec<u8> {
    format!(
        "{header}\n{{\"type\":\"event\",\"length\":{}}}\n{event_json}\n",
        event_json.len()
    )
    .into_bytes()
}

/// A fresh 32-hex event id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server running in process on its own runtime thread until [`ServerThread::stop`] or
/// drop (the tests that need several servers, or no seeded team/project, use it directly).
pub struct ServerThread {
    pub addr: SocketAddr,
    pub udp_addr: Option<SocketAddr>,
    pub store: Arc<dyn Store>,
    pub ingestor: Arc<Ingestor>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Binds `config` (its `bind` should be `127.0.0.1:0`) and serves until stopped.
    pub fn start(config: ServerConfig) -> ServerThread {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(Server::bind(config)).expect("bind");
        let (addr, udp_addr) = (server.http_addr(), server.udp_addr());
        let (store, ingestor) = (server.store(), server.ingestor());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            rt.block_on(server.run(async {
                let _ = stopped.await;
            }))
            .expect("run");
        });
        ServerThread {
            addr,
            udp_addr,
            store,
            ingestor,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Shuts the server down (draining what it acknowledged) and waits for it.
    pub fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.stop();
    }
}
