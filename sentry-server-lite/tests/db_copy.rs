//! `db copy`: a SQLite data dir filled through the real server is copied to an empty
//! PostgreSQL database and served from there (same issues and counts, the old DSN's key
//! and the old API token still work), then copied back to a new data dir; a non-empty
//! target is refused, `--replace` overwrites it, and an interrupted copy resumes.
//!
//! Needs PostgreSQL: fails (never skips) when `SENTRY_TEST_POSTGRES_URL` is not set.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{envelope, fresh_postgres_database, new_id, request, ServerThread};
use sentry_server_lite::config::ServerConfig;
use sentry_server_lite::secrets;
use sentry_server_lite::store::{PgStore, Store};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sentry-server-lite");

struct Running {
    addr: SocketAddr,
    store: Arc<dyn Store>,
    server: ServerThread,
}

impl Running {
    fn start(data_dir: &Path, url: Option<&str>) -> Running {
        let mut config = ServerConfig::new(data_dir);
        config.database_url = url.map(str::to_owned);
        config.bind = "127.0.0.1:0".parse().expect("addr");
        config.key_cache_ttl = Duration::from_millis(0);
        let server = ServerThread::start(config);
        Running {
            addr: server.addr,
            store: server.store.clone(),
            server,
        }
    }

    fn stop(mut self) {
        self.server.stop();
    }

    fn send(&self, key: &str, project_id: i64, event: &str) -> u16 {
        let id = new_id();
        let body = envelope(
            &format!(r#"{{"event_id":"{id}"}}"#),
            &event.replace("ID", &id),
        );
        request(
            self.addr,
            "POST",
            &format!("/api/{project_id}/envelope/"),
            &[(
                "X-Sentry-Auth",
                &format!("Sentry sentry_key={key}, sentry_version=7"),
            )],
            &body,
        )
        .status
    }

    /// `(title, count)` of every issue, sorted.
    fn issues(&self, token: &str) -> Vec<(String, String)> {
        let r = request(
            self.addr,
            "GET",
            "/api/0/projects/team/proj/issues/?query=&limit=100",
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let mut out: Vec<(String, String)> = r
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(|i| {
                (
                    i["title"].as_str().unwrap_or("").to_owned(),
                    i["count"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    }
}

fn db_copy(from: &str, to: &str, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["db", "copy", "--json", "--from", from, "--to", to])
        .args(extra)
        .env_remove("SENTRY_LITE_DATABASE_URL")
        .output()
        .expect("run db copy")
}

fn ok(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "db copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn sqlite_to_postgres_and_back_keeps_issues_keys_and_tokens() {
    // Fill a SQLite data dir through the real server.
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Running::start(dir.path(), None);
    let user = s
        .store
        .create_user(
            "owner@example.com",
            &secrets::hash_password("password1").expect("hash"),
            true,
        )
        .expect("user");
    let team = s
        .store
        .create_team("team", "Team", Some(user.id))
        .expect("team");
    let project = s
        .store
        .create_project(team.id, "proj", "Proj", Some(user.id))
        .expect("project");
    let key = s.store.create_key(project.id, "Default").expect("key");
    let (token, digest) = secrets::new_api_token();
    s.store
        .create_token(user.id, &digest, "old")
        .expect("token");
    for (ty, n) in [("KeyError", 3), ("ValueError", 5), ("TimeoutError", 1)] {
        for i in 0..n {
            let event = format!(
                r#"{{"event_id":"ID","tags":{{"n":"{i}"}},"exception":[{{"type":"{ty}","value":"boom"}}]}}"#
            );
            assert_eq!(s.send(&key.public_key, project.id, &event), 200);
        }
    }
    let issues_before = s.issues(&token);
    assert_eq!(issues_before.len(), 3);
    let first_issue = s
        .store
        .search_issues(
            project.id,
            &sentry_server_lite::store::IssueQuery::default(),
            sentry_server_lite::store::Page {
                offset: 0,
                limit: 1,
            },
        )
        .map(|p| p.issues)
        .expect("issues")[0]
        .id;
    s.store
        .set_bookmark(user.id, first_issue, true)
        .expect("bookmark");
    let events_before = s.store.count_events().expect("count");
    s.stop();

    // Copy to an empty PostgreSQL database.
    let url = fresh_postgres_database();
    let out = db_copy(dir.path().to_str().expect("utf-8"), &url, &[]);
    let report = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("db copy: events: 9/9"),
        "progress: {stderr}"
    );
    assert_eq!(report["resumed"], false);
    // A non-empty target is refused.
    let again = db_copy(dir.path().to_str().expect("utf-8"), &url, &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // Served from PostgreSQL: same issues and counts, old key and token accepted.
    let pg_dir = tempfile::tempdir().expect("tempdir");
    let p = Running::start(pg_dir.path(), Some(&url));
    assert_eq!(p.issues(&token), issues_before);
    assert_eq!(p.store.count_events().expect("count"), events_before);
    assert_eq!(
        p.store
            .bookmarked(user.id, &[first_issue])
            .expect("bookmarks"),
        vec![first_issue]
    );
    let event = r#"{"event_id":"ID","exception":[{"type":"KeyError","value":"boom"}]}"#;
    assert_eq!(p.send(&key.public_key, project.id, event), 200);
    // New rows get fresh ids after the copied ones.
    let (_, digest2) = secrets::new_api_token();
    p.store
        .create_token(user.id, &digest2, "new")
        .expect("a new token");
    let after = p.issues(&token);
    assert!(
        after.contains(&("KeyError: boom".to_owned(), "4".to_owned())),
        "{after:?}"
    );
    // Tag counts per issue, read now: the last event's may still be queued on PostgreSQL
    // (folded in the background); the copy back must carry them folded.
    let tags_of = |store: &dyn sentry_server_lite::store::Store| {
        let mut all: Vec<(String, String, String, u64)> = Vec::new();
        for i in store
            .search_issues(
                project.id,
                &sentry_server_lite::store::IssueQuery::default(),
                sentry_server_lite::store::Page {
                    offset: 0,
                    limit: 100,
                },
            )
            .map(|p| p.issues)
            .expect("issues")
        {
            for t in store.issue_tags(i.id).expect("tags") {
                all.push((i.title.clone(), t.key, t.value, t.count));
            }
        }
        all.sort();
        all
    };
    let tags_on_pg = tags_of(p.store.as_ref());
    assert!(
        tags_on_pg
            .iter()
            .any(|t| t.0 == "KeyError: boom" && t.1 == "level" && t.3 == 4),
        "{tags_on_pg:?}"
    );
    p.stop();

    // And back to a new SQLite data dir.
    let back = tempfile::tempdir().expect("tempdir");
    ok(&db_copy(&url, back.path().to_str().expect("utf-8"), &[]));
    let b = Running::start(back.path(), None);
    assert_eq!(b.issues(&token), after);
    assert_eq!(tags_of(b.store.as_ref()), tags_on_pg);
    assert_eq!(b.store.count_events().expect("count"), events_before + 1);
    b.stop();

    // --replace overwrites a non-empty target.
    ok(&db_copy(
        dir.path().to_str().expect("utf-8"),
        back.path().to_str().expect("utf-8"),
        &["--replace"],
    ));
    let b = Running::start(back.path(), None);
    assert_eq!(b.issues(&token), issues_before);
    b.stop();
}

#[test]
fn an_interrupted_copy_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Running::start(dir.path(), None);
    let team = s.store.create_team("team", "Team", None).expect("team");
    let project = s
        .store
        .create_project(team.id, "proj", "Proj", None)
        .expect("project");
    let key = s.store.create_key(project.id, "Default").expect("key");
    for i in 0..1200 {
        let event = format!(r#"{{"event_id":"ID","message":"m{}"}}"#, i % 7);
        assert_eq!(s.send(&key.public_key, project.id, &event), 200);
    }
    s.stop();
    let src = dir.path().to_str().expect("utf-8");
    let url = fresh_postgres_database();
    ok(&db_copy(src, &url, &[]));
    // Simulate an interruption: the marker is back and the last rows are missing.
    let target = PgStore::open(&url).expect("open");
    let source_name = sentry_server_lite::store::copy::Endpoint::parse(src).describe();
    target
        .set_setting(sentry_server_lite::store::copy::MARKER, &source_name)
        .expect("marker");
    let mut client = sentry_server_lite::store::DbTarget::parse(&url)
        .expect("url")
        .connect()
        .expect("connect");
    client
        .execute("DELETE FROM events WHERE id > 700", &[])
        .expect("delete");
    assert_eq!(target.count_events().expect("count"), 700);
    // Another source may not take over an unfinished copy.
    let other = tempfile::tempdir().expect("tempdir");
    drop(
        sentry_server_lite::store::SqliteStore::open(
            &other.path().join("sentry.db"),
            sentry_server_lite::store::Synchronous::Full,
        )
        .expect("another source"),
    );
    let refused = db_copy(other.path().to_str().expect("utf-8"), &url, &[]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unfinished copy"));
    // The same copy again completes it, starting after the rows already there (ids up to
    // 700), not from the first row.
    use sentry_server_lite::store::copy::{copy, Endpoint};
    let mut events_progress: Vec<(u64, u64)> = Vec::new();
    let report = copy(
        &Endpoint::parse(src),
        &Endpoint::parse(&url),
        false,
        &mut |table: &str, done: u64, total: u64| {
            if table == "events" {
                events_progress.push((done, total));
            }
        },
    )
    .expect("resumed copy");
    assert!(report.resumed);
    // One chunk (500 rows) took it from 700 to 1200.
    assert_eq!(events_progress, vec![(700, 1200), (1200, 1200)]);
    assert_eq!(target.count_events().expect("count"), 1200);
    assert_eq!(
        target
            .get_setting(sentry_server_lite::store::copy::MARKER)
            .expect("get"),
        None
    );
    // A data dir without a database is not a source (nothing is created there).
    let nowhere = other.path().join("nowhere");
    let missing = db_copy(nowhere.to_str().expect("utf-8"), &url, &["--replace"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    assert!(!nowhere.exists());
}
