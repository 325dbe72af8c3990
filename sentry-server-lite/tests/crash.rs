//! Durability: the built binary is loaded by concurrent senders and killed with SIGKILL
//! mid-load; after a restart every event that was answered 200 is in the database.
//! Also: the CLI setup commands, and a clean SIGTERM shutdown.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{db_env, open_store, spawn_serve};
use common::{envelope, new_id, try_request};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_sentry-server-lite");

fn cli(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args(args)
        .args(["--json", "--data-dir"])
        .arg(dir)
        .envs(db_env(dir))
        .output()
        .expect("run the binary");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().next().unwrap_or("")).expect("one JSON line")
}

#[test]
fn acknowledged_events_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup = cli(
        dir.path(),
        &["quickstart", "--no-serve", "--bind", "127.0.0.1:0"],
    );
    assert_eq!(setup["first_run"], true);
    assert_eq!(setup["password"].as_str().map(str::len), Some(20));
    let dsn = setup["dsn"].as_str().expect("dsn").to_owned();
    let key = dsn[7..].split('@').next().expect("key").to_owned();
    let project_id = setup["project_id"].as_i64().expect("project id");
    assert_eq!(key.len(), 32);
    // Re-running prints the same setup again, password included.
    let again = cli(
        dir.path(),
        &["quickstart", "--no-serve", "--bind", "127.0.0.1:0"],
    );
    assert_eq!(
        (again["first_run"].as_bool(), again["password"].as_str()),
        (Some(false), setup["password"].as_str())
    );
    assert_eq!(again["dsn"].as_str().map(|d| d.contains(&key)), Some(true));
    let token = cli(
        dir.path(),
        &["token", "create", "--email", "admin@example.com"],
    )["token"]
        .as_str()
        .expect("token")
        .to_owned();

    let (mut child, addr) = spawn_serve(dir.path(), db_env(dir.path()));
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let auth = format!("Sentry sentry_key={key}, sentry_version=7");
    let path = format!("/api/{project_id}/envelope/");
    let senders: Vec<_> = (0..8)
        .map(|t| {
            let (acked, stop, auth, path) = (acked.clone(), stop.clone(), auth.clone(), path.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = new_id();
                    let event = format!(
                        r#"{{"event_id":"{id}","message":"load {t} {n}","exception":[{{"type":"E{}","value":"v"}}]}}"#,
                        n % 7
                    );
                    let body = envelope(&format!(r#"{{"event_id":"{id}"}}"#), &event);
                    match try_request(addr, "POST", &path, &[("X-Sentry-Auth", &auth)], &body) {
                        Ok(r) if r.status == 200 => acked.lock().expect("lock").push(id),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                    n += 1;
                }
            })
        })
        .collect();
    let start = Instant::now();
    while acked.lock().expect("lock").len() < 500 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        let _ = s.join();
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= 100,
        "the load should have had time to run: {} acked",
        acked.len()
    );

    // Restart, then check every acknowledged id.
    let (mut child, addr) = spawn_serve(dir.path(), db_env(dir.path()));
    let store = open_store(dir.path());
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| store.event(project_id, id).expect("read").is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    // And through the API of the restarted server.
    for id in acked.iter().take(20) {
        let r = try_request(
            addr,
            "GET",
            &format!("/api/0/projects/default/my-project/events/{id}/"),
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )
        .expect("api");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["eventID"], id.as_str());
    }
    // SIGTERM: a clean, successful exit.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "exit status {exit:?}");
}

#[test]
fn cli_admin_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let user = cli(
        dir.path(),
        &["createsuperuser", "--email", "Root@Example.com"],
    );
    assert_eq!(user["superuser"], true);
    assert_eq!(user["password"].as_str().map(str::len), Some(20));
    let team = cli(
        dir.path(),
        &["team", "create", "backend", "--owner", "root@example.com"],
    );
    assert_eq!(team["slug"], "backend");
    let project = cli(
        dir.path(),
        &["project", "create", "--team", "backend", "api"],
    );
    let dsn = project["dsn"].as_str().expect("dsn");
    assert!(
        dsn.starts_with("http://") && dsn.ends_with(&format!("/{}", project["id"])),
        "{dsn}"
    );
    let dsns = cli(
        dir.path(),
        &[
            "project",
            "dsn",
            "api",
            "--public-url",
            "https://errors.example.com",
        ],
    );
    assert_eq!(
        dsns["dsns"][0].as_str(),
        Some(
            format!(
                "https://{}@errors.example.com/{}",
                project["public_key"].as_str().expect("key"),
                project["id"]
            )
            .as_str()
        )
    );
    let token = cli(
        dir.path(),
        &["token", "create", "--email", "root@example.com"],
    );
    assert_eq!(token["token"].as_str().map(str::len), Some(64));
    // Errors are reported with a non-zero exit and a message.
    let out = Command::new(BIN)
        .args(["project", "create", "--team", "nope", "x", "--data-dir"])
        .arg(dir.path())
        .envs(db_env(dir.path()))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no team \"nope\""));
}
