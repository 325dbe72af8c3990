//! Several instances, one server: two servers on one PostgreSQL database.
//!
//! - the same new error sent to both at once from many threads is one issue with the
//!   exact count;
//! - an invitation accepted on both at once is used once; failed logins are counted for
//!   the pair (the sixth attempt is refused on either);
//! - a load split over both, across 300 groups, stores every acknowledged event exactly
//!   once, one issue per group, each readable through the other instance;
//! - a key revoked through one instance is refused by the other at once, though its key
//!   cache would keep the key for a minute (each instance listens for key changes);
//! - a key's rate limit holds for the pair; a web login on one works on the other (and a
//!   logout on the other ends it everywhere); API tokens work on both;
//! - `kill -9` of one real `serve` process mid-load loses none of its acknowledged events
//!   while the other (one async worker and one writer thread, as an instance sharing its
//!   machine runs) carries on.
//!
//! Needs PostgreSQL: fails (never skips) when `SENTRY_TEST_POSTGRES_URL` is not set
//! (`scripts/test` starts a throwaway cluster).

mod common;
#[path = "support/web.rs"]
mod web;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::{
    envelope, fresh_postgres_database, new_id, request, spawn_serve, try_request, Response,
    ServerThread,
};
use sentry_server_lite::config::ServerConfig;
use sentry_server_lite::secrets;
use sentry_server_lite::store::{DbTarget, Project, ProjectKey, RateLimit, Store};
use serde_json::Value;
use web::csrf_of;

/// One in-process server on the shared database.
struct Instance {
    addr: SocketAddr,
    store: Arc<dyn Store>,
    _server: ServerThread,
    _dir: tempfile::TempDir,
}

impl Instance {
    fn start(url: &str) -> Instance {
        Instance::start_with_key_ttl(url, Duration::from_millis(0))
    }

    fn start_with_key_ttl(url: &str, key_cache_ttl: Duration) -> Instance {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServerConfig::new(dir.path());
        config.database_url = Some(url.to_owned());
        config.bind = "127.0.0.1:0".parse().expect("addr");
        config.key_cache_ttl = key_cache_ttl;
        let server = ServerThread::start(config);
        Instance {
            addr: server.addr,
            store: server.store.clone(),
            _server: server,
            _dir: dir,
        }
    }
}

/// Two instances on a fresh database with a team, a project, a key and a superuser.
struct Pair {
    a: Instance,
    b: Instance,
    project: Project,
    key: ProjectKey,
    token: String,
    url: String,
}

fn pair() -> Pair {
    let url = fresh_postgres_database();
    let a = Instance::start(&url);
    let b = Instance::start(&url);
    let team = a.store.create_team("team", "Team", None).expect("team");
    let project = a
        .store
        .create_project(team.id, "proj", "Proj", None)
        .expect("project");
    let key = a.store.create_key(project.id, "Default").expect("key");
    let user = a
        .store
        .create_user(
            "admin@example.com",
            &secrets::hash_password("password1").expect("hash"),
            true,
        )
        .expect("user");
    let (token, digest) = secrets::new_api_token();
    a.store.create_token(user.id, &digest, "t").expect("token");
    Pair {
        a,
        b,
        project,
        key,
        token,
        url,
    }
}

fn send(addr: SocketAddr, p: &Pair, id: &str, event: &str) -> Option<u16> {
    let auth = format!("Sentry sentry_key={}, sentry_version=7", p.key.public_key);
    let body = envelope(&format!(r#"{{"event_id":"{id}"}}"#), event);
    try_request(
        addr,
        "POST",
        &format!("/api/{}/envelope/", p.project.id),
        &[("X-Sentry-Auth", &auth)],
        &body,
    )
    .ok()
    .map(|r| r.status)
}

fn api(addr: SocketAddr, token: &str, path: &str) -> Value {
    let r = request(
        addr,
        "GET",
        path,
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(r.status, 200, "GET {path} on {addr}: {}", r.text());
    r.json()
}

fn all_issues(p: &Pair, addr: SocketAddr) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = 0;
    loop {
        let page = api(
            addr,
            &p.token,
            &format!("/api/0/projects/team/proj/issues/?query=&limit=100&cursor=0:{cursor}:0"),
        );
        let items = page.as_array().expect("array").clone();
        let n = items.len();
        out.extend(items);
        if n < 100 {
            return out;
        }
        cursor += 100;
    }
}

#[test]
fn same_new_error_at_both_instances_is_one_issue_with_the_exact_count() {
    let p = Arc::new(pair());
    let threads = 16;
    let per_thread = 25;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (p, barrier) = (p.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut acked = 0u64;
                for i in 0..per_thread {
                    let addr = if (t + i) % 2 == 0 { p.a.addr } else { p.b.addr };
                    let id = new_id();
                    let event = format!(
                        r#"{{"event_id":"{id}","exception":[{{"type":"RaceError","value":"same {t} {i}","stacktrace":{{"frames":[{{"function":"race","module":"app"}}]}}}}]}}"#
                    );
                    if send(addr, &p, &id, &event) == Some(200) {
                        acked += 1;
                    }
                }
                acked
            })
        })
        .collect();
    let acked: u64 = handles.into_iter().map(|h| h.join().expect("sender")).sum();
    assert_eq!(
        acked,
        (threads * per_thread) as u64,
        "every event acknowledged"
    );
    for addr in [p.a.addr, p.b.addr] {
        let issues = all_issues(&p, addr);
        assert_eq!(issues.len(), 1, "one issue, seen from {addr}: {issues:#?}");
        assert_eq!(issues[0]["count"], acked.to_string(), "exact count");
    }
    assert_eq!(p.a.store.count_events().expect("count"), acked);
}

#[test]
fn split_load_stores_every_acknowledged_event_once_with_one_issue_per_group() {
    let p = Arc::new(pair());
    let groups = 300;
    let threads = 8;
    let per_thread = 150;
    let acked: Arc<Mutex<Vec<(String, usize, bool)>>> = Arc::default();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (p, acked) = (p.clone(), acked.clone());
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let group = (t * per_thread + i) % groups;
                    let to_a = (t + i) % 2 == 0;
                    let id = new_id();
                    let event = format!(
                        r#"{{"event_id":"{id}","tags":{{"group":"g{group}"}},"exception":[{{"type":"Group{group}Error","value":"v {t} {i}"}}]}}"#
                    );
                    let addr = if to_a { p.a.addr } else { p.b.addr };
                    if send(addr, &p, &id, &event) == Some(200) {
                        acked.lock().expect("lock").push((id, group, to_a));
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("sender");
    }
    let acked = acked.lock().expect("lock").clone();
    assert_eq!(acked.len(), threads * per_thread);
    // Exactly once: the stored count is the acknowledged count, and every id is there.
    assert_eq!(p.b.store.count_events().expect("count"), acked.len() as u64);
    let mut per_group: HashMap<usize, u64> = HashMap::new();
    for (id, group, _) in &acked {
        assert!(
            p.b.store.event(p.project.id, id).expect("read").is_some(),
            "event {id} acknowledged but not stored"
        );
        *per_group.entry(*group).or_default() += 1;
    }
    let issues = all_issues(&p, p.a.addr);
    assert_eq!(issues.len(), groups, "one issue per group");
    let titles: HashSet<&str> = issues.iter().filter_map(|i| i["title"].as_str()).collect();
    assert_eq!(titles.len(), groups);
    for issue in &issues {
        let title = issue["title"].as_str().expect("title");
        let group: usize = title
            .trim_start_matches("Group")
            .split("Error")
            .next()
            .and_then(|g| g.parse().ok())
            .unwrap_or_else(|| panic!("unexpected title {title}"));
        assert_eq!(
            issue["count"],
            per_group[&group].to_string(),
            "count of {title}"
        );
    }
    // Tag counts are exact whether still queued or folded (each instance folds its share
    // of the queue in the background): first as soon as the load is over, then once both
    // folders have emptied the queue.
    let check_tags = |when: &str| {
        for issue in &issues {
            let id: i64 = issue["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("issue id");
            let title = issue["title"].as_str().expect("title");
            let group = &title["Group".len()..title.find("Error").expect("title")];
            let tags = p.b.store.issue_tags(id).expect("tags");
            let counted: Vec<u64> = tags
                .iter()
                .filter(|t| t.key == "group")
                .map(|t| t.count)
                .collect();
            assert_eq!(
                counted,
                vec![per_group[&group.parse::<usize>().expect("group")]],
                "tag counts of {title} ({when})"
            );
        }
    };
    check_tags("right after the load");
    let mut db = DbTarget::parse(&p.url)
        .expect("url")
        .connect()
        .expect("connect");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let queued: i64 = db
            .query_one("SELECT count(*) FROM tag_queue", &[])
            .expect("queue")
            .get(0);
        if queued == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{queued} tag rows still queued after 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    check_tags("folded");

    // Acknowledged by one instance, readable through the other.
    for (id, _, to_a) in acked.iter().take(40) {
        let other = if *to_a { p.b.addr } else { p.a.addr };
        let e = api(
            other,
            &p.token,
            &format!("/api/0/projects/team/proj/events/{id}/"),
        );
        assert_eq!(e["eventID"], id.as_str());
    }
}

fn cookie_of(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| {
            v.split(';')
                .next()
                .and_then(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        })
}

#[test]
fn rate_limits_sessions_and_tokens_hold_across_instances() {
    let p = Arc::new(pair());
    // A key's budget is shared: 10 per minute for the pair, not 10 each.
    p.a.store
        .set_key_rate_limit(
            p.key.id,
            Some(RateLimit {
                count: 10,
                window_secs: 3600,
            }),
        )
        .expect("limit");
    let mut statuses = Vec::new();
    for i in 0..16 {
        let addr = if i % 2 == 0 { p.a.addr } else { p.b.addr };
        let id = new_id();
        let event = format!(r#"{{"event_id":"{id}","message":"limited {i}"}}"#);
        statuses.push(send(addr, &p, &id, &event).expect("answer"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        6,
        "{statuses:?}"
    );

    // The API token works on both.
    for addr in [p.a.addr, p.b.addr] {
        assert_eq!(api(addr, &p.token, "/api/0/projects/")[0]["slug"], "proj");
    }

    // Log in on A, browse on B, log out on B: the session is gone on A too.
    let csrf = "0123456789abcdef0123456789abcdef";
    let login = request(
        p.a.addr,
        "POST",
        "/login",
        &[
            ("Cookie", &format!("sentry_lite_login_csrf={csrf}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!("csrf={csrf}&email=admin%40example.com&password=password1&next=%2F").as_bytes(),
    );
    assert_eq!(login.status, 303, "{}", login.text());
    let session = cookie_of(&login, "sentry_lite_session").expect("session cookie");
    let cookie = format!("sentry_lite_session={session}");
    let home = request(p.b.addr, "GET", "/", &[("Cookie", &cookie)], b"");
    assert_eq!(home.status, 200, "{}", home.text());
    let page = home.text();
    assert!(page.contains("admin@example.com"), "logged in on B");
    let session_csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF field on the page")
        .to_owned();
    let logout = request(
        p.b.addr,
        "POST",
        "/logout",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!("csrf={session_csrf}").as_bytes(),
    );
    assert_eq!(logout.status, 303, "{}", logout.text());
    let after = request(p.a.addr, "GET", "/", &[("Cookie", &cookie)], b"");
    assert!(
        !after.text().contains("admin@example.com"),
        "the session ended on A as well"
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_sentry-server-lite");

#[test]
fn kill_9_of_one_instance_loses_nothing_it_acknowledged() {
    let url = fresh_postgres_database();
    let setup_dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args([
            "quickstart",
            "--no-serve",
            "--json",
            "--bind",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(setup_dir.path())
        .env("SENTRY_LITE_DATABASE_URL", &url)
        .output()
        .expect("quickstart");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let setup: Value = serde_json::from_slice(&out.stdout).expect("json");
    let dsn = setup["dsn"].as_str().expect("dsn");
    let key = dsn[7..].split('@').next().expect("key").to_owned();
    let project_id = setup["project_id"].as_i64().expect("id");

    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let (mut a, addr_a) = spawn_serve(
        dir_a.path(),
        vec![("SENTRY_LITE_DATABASE_URL".into(), url.clone())],
    );
    // The survivor runs as an instance sharing its machine would: one async worker, one
    // writer (`--worker-threads 1 --writer-threads 1`, here through their variables).
    let (mut b, addr_b) = spawn_serve(
        dir_b.path(),
        vec![
            ("SENTRY_LITE_DATABASE_URL".into(), url.clone()),
            ("SENTRY_LITE_WORKER_THREADS".into(), "1".into()),
            ("SENTRY_LITE_WRITER_THREADS".into(), "1".into()),
        ],
    );
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..8)
        .map(|t| {
            let (acked, stop, key) = (acked.clone(), stop.clone(), key.clone());
            std::thread::spawn(move || {
                let auth = format!("Sentry sentry_key={key}, sentry_version=7");
                let path = format!("/api/{project_id}/envelope/");
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let addr = if t % 2 == 0 { addr_a } else { addr_b };
                    let id = new_id();
                    let event = format!(
                        r#"{{"event_id":"{id}","exception":[{{"type":"E{}","value":"load {t} {n}"}}]}}"#,
                        n % 11
                    );
                    let body = envelope(&format!(r#"{{"event_id":"{id}"}}"#), &event);
                    if let Ok(r) =
                        try_request(addr, "POST", &path, &[("X-Sentry-Auth", &auth)], &body)
                    {
                        if r.status == 200 {
                            acked.lock().expect("lock").push(id);
                        }
                    }
                    n += 1;
                }
            })
        })
        .collect();
    let start = Instant::now();
    while acked.lock().expect("lock").len() < 400 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    a.kill().expect("SIGKILL");
    let _ = a.wait();
    let at_kill = acked.lock().expect("lock").len();
    // B carries on.
    while acked.lock().expect("lock").len() < at_kill + 200
        && start.elapsed() < Duration::from_secs(40)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        let _ = s.join();
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= at_kill + 200,
        "B kept acknowledging after A died"
    );
    let store = sentry_server_lite::store::PgStore::open(&url).expect("open");
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| store.event(project_id, id).expect("read").is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost",
        missing.len(),
        acked.len()
    );
    assert!(store.count_events().expect("count") >= acked.len() as u64);
    let _ = b.kill();
    let _ = b.wait();
}

#[test]
fn an_invitation_is_used_once_across_instances() {
    let p = pair();
    let invitee =
        p.a.store
            .create_user("invited@example.com", "!", false)
            .expect("user");
    let path =
        sentry_server_lite::ui::invite::create(p.a.store.as_ref(), invitee.id).expect("invite");
    // The link works on both instances; the form's token is the same.
    let page_a = request(p.a.addr, "GET", &path, &[], b"");
    let page_b = request(p.b.addr, "GET", &path, &[], b"");
    assert_eq!((page_a.status, page_b.status), (200, 200));
    let csrf = csrf_of(&page_a.text());
    assert_eq!(csrf, csrf_of(&page_b.text()));
    // Eight acceptances at once, alternating between the instances: one wins.
    let statuses = web::accept_invitation_concurrently(&[p.a.addr, p.b.addr], &path, &csrf, 8);
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 404),
        "{statuses:?}"
    );
    let hash =
        p.b.store
            .user_by_email("invited@example.com")
            .expect("read")
            .expect("user")
            .password_hash;
    let set = (0..8)
        .filter(|i| secrets::verify_password(&format!("password-{i}"), &hash))
        .count();
    assert_eq!(set, 1, "exactly one password was set");
    assert_eq!(request(p.b.addr, "GET", &path, &[], b"").status, 404);
}

/// One web login attempt at `addr`; the status.
fn try_web_login(addr: SocketAddr, email: &str, password: &str) -> u16 {
    let csrf = "0123456789abcdef0123456789abcdef";
    request(
        addr,
        "POST",
        "/login",
        &[
            ("Cookie", &format!("sentry_lite_login_csrf={csrf}")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!(
            "csrf={csrf}&email={}&password={password}&next=%2F",
            email.replace('@', "%40")
        )
        .as_bytes(),
    )
    .status
}

#[test]
fn failed_logins_are_counted_for_the_pair() {
    let p = pair();
    // A success clears the count (on the other instance too).
    for i in 0..4 {
        let addr = if i % 2 == 0 { p.a.addr } else { p.b.addr };
        assert_eq!(try_web_login(addr, "admin@example.com", "wrong"), 401);
    }
    assert_eq!(
        try_web_login(p.a.addr, "Admin@Example.com", "password1"),
        303
    );
    // Five wrong passwords, alternating: the sixth attempt is refused on both, even with
    // the right password, before any password is checked.
    for i in 0..5 {
        let addr = if i % 2 == 0 { p.a.addr } else { p.b.addr };
        assert_eq!(
            try_web_login(addr, "admin@example.com", "wrong"),
            401,
            "attempt {i}"
        );
    }
    assert_eq!(
        try_web_login(p.a.addr, "admin@example.com", "password1"),
        429
    );
    assert_eq!(
        try_web_login(p.b.addr, "ADMIN@example.com", "password1"),
        429
    );
    // Another e-mail is not affected.
    assert_eq!(try_web_login(p.b.addr, "nobody@example.com", "wrong"), 401);
}

#[test]
fn a_key_revoked_on_one_instance_is_refused_by_the_other_at_once() {
    let url = fresh_postgres_database();
    // Key caches that would keep a key for a minute.
    let a = Instance::start_with_key_ttl(&url, Duration::from_secs(60));
    let b = Instance::start_with_key_ttl(&url, Duration::from_secs(60));
    let team = a.store.create_team("team", "Team", None).expect("team");
    let project = a
        .store
        .create_project(team.id, "proj", "Proj", None)
        .expect("project");
    let key = a.store.create_key(project.id, "Default").expect("key");
    let send_to = |addr: SocketAddr| {
        let id = new_id();
        let auth = format!("Sentry sentry_key={}, sentry_version=7", key.public_key);
        let body = envelope(
            &format!(r#"{{"event_id":"{id}"}}"#),
            &format!(r#"{{"event_id":"{id}","message":"m"}}"#),
        );
        request(
            addr,
            "POST",
            &format!("/api/{}/envelope/", project.id),
            &[("X-Sentry-Auth", &auth)],
            &body,
        )
        .status
    };
    // B has looked the key up and cached it (the listener has connected by now too: its
    // first round makes every earlier entry stale, so wait until B answers from cache).
    assert_eq!(send_to(b.addr), 200);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(send_to(b.addr), 200);
    // Revoked through A's store: B refuses it within moments, not after its 60 s TTL.
    a.store.set_key_active(key.id, false).expect("revoke");
    let revoked_at = Instant::now();
    loop {
        let status = send_to(b.addr);
        if status == 401 || status == 403 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked_at.elapsed() < Duration::from_secs(10),
            "B still accepts the revoked key after 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // And back: re-activated, accepted again.
    a.store.set_key_active(key.id, true).expect("activate");
    let activated_at = Instant::now();
    while send_to(b.addr) != 200 {
        assert!(
            activated_at.elapsed() < Duration::from_secs(10),
            "B still refuses the re-activated key after 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
