//! The accounts commands of the CLI, run as the real binary against a data directory,
//! with their effect read back from the database.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use sentry_server_lite::policy::Role;
use sentry_server_lite::secrets;
use sentry_server_lite::store::RateLimit;
use serde_json::Value;

fn run(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentry-server-lite"))
        .arg("--data-dir")
        .arg(dir)
        .envs(common::db_env(dir))
        .arg("--json")
        .args(args)
        .env_remove("SENTRY_LITE_ALLOW_SIGNUP")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn fails(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sentry-server-lite"))
        .arg("--data-dir")
        .arg(dir)
        .envs(common::db_env(dir))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn accounts_commands_change_the_database_and_the_audit_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let u = run(
        d,
        &[
            "user",
            "create",
            "--email",
            "Dev@Example.com",
            "--password-stdin",
        ],
        Some("correct horse\n"),
    );
    assert_eq!(u["superuser"], Value::Bool(false));
    assert!(u["password"].is_null(), "a given password is not printed");
    let gen = run(d, &["user", "create", "--email", "ops@example.com"], None);
    let generated = gen["password"].as_str().expect("generated").to_owned();
    run(d, &["user", "create", "--email", "boss@example.com"], None);
    run(d, &["team", "create", "backend"], None);
    run(
        d,
        &[
            "team",
            "add-member",
            "--team",
            "backend",
            "--email",
            "dev@example.com",
            "--role",
            "member",
        ],
        None,
    );
    run(
        d,
        &[
            "team",
            "add-member",
            "--team",
            "backend",
            "--email",
            "ops@example.com",
            "--role",
            "agent",
        ],
        None,
    );
    run(
        d,
        &[
            "team",
            "set-owner",
            "--team",
            "backend",
            "--email",
            "boss@example.com",
        ],
        None,
    );
    run(d, &["project", "create", "--team", "backend", "api"], None);
    run(d, &["project", "set-public", "api", "true"], None);
    run(
        d,
        &["project", "set-owner", "api", "--email", "dev@example.com"],
        None,
    );
    let key = run(
        d,
        &["key", "create", "--project", "api", "--label", "ci"],
        None,
    );
    let key_id = key["id"].as_i64().expect("id").to_string();
    run(
        d,
        &[
            "key",
            "set-rate-limit",
            "--project",
            "api",
            "--key",
            &key_id,
            "--count",
            "10",
            "--window",
            "60",
        ],
        None,
    );
    let public = key["public_key"].as_str().expect("public").to_owned();
    run(
        d,
        &["key", "revoke", "--project", "api", "--key", &public],
        None,
    );
    let list = run(d, &["key", "list", "--project", "api"], None);
    assert_eq!(list.as_array().expect("keys").len(), 2);

    assert!(fails(
        d,
        &[
            "team",
            "add-member",
            "--team",
            "backend",
            "--email",
            "dev@example.com",
            "--role",
            "boss"
        ]
    )
    .contains("unknown role"));
    assert!(fails(d, &["user", "create", "--email", "dev@example.com"]).contains("already exists"));

    let store = common::open_store(d);
    let dev = store
        .user_by_email("dev@example.com")
        .expect("r")
        .expect("dev");
    assert!(!dev.is_superuser);
    assert!(secrets::verify_password(
        "correct horse",
        &dev.password_hash
    ));
    let ops = store
        .user_by_email("ops@example.com")
        .expect("r")
        .expect("ops");
    assert!(secrets::verify_password(&generated, &ops.password_hash));
    let boss = store
        .user_by_email("boss@example.com")
        .expect("r")
        .expect("boss");
    let team = store.team_by_slug("backend").expect("r").expect("team");
    assert_eq!(team.owner_id, Some(boss.id));
    let roles: Vec<(String, Role)> = store
        .team_members(team.id)
        .expect("members")
        .into_iter()
        .map(|m| (m.email, m.role))
        .collect();
    assert!(roles.contains(&("Dev@Example.com".to_owned(), Role::Member)));
    assert!(roles.contains(&("ops@example.com".to_owned(), Role::Agent)));
    let project = store.project_by_slug("api").expect("r").expect("api");
    assert!(project.is_public);
    assert_eq!(project.owner_id, Some(dev.id));
    let k = store.key_by_public(&public).expect("r").expect("key");
    assert!(!k.is_active);
    assert_eq!(
        k.rate_limit,
        Some(RateLimit {
            count: 10,
            window_secs: 60
        })
    );
    let log = store.audit_log(100).expect("audit");
    for action in [
        "user.create",
        "team.manage_members",
        "team.change_owner",
        "project.edit",
        "project.change_owner",
        "project.manage_keys",
    ] {
        assert!(
            log.iter()
                .any(|e| e.action == action && e.details.starts_with("cli")),
            "{action} audited"
        );
    }
    for e in &log {
        assert!(
            !format!("{e:?}").contains(&generated),
            "no password in the audit log"
        );
    }
}

/// The command line is the operator: its changes go through the application layer, which
/// asks the policy and writes the audit log with the CLI as the actor (no user id,
/// details starting with `cli`), like the API's and the web pages' changes.
#[test]
fn cli_changes_are_audited_with_the_cli_as_actor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    run(d, &["user", "create", "--email", "dev@example.com"], None);
    run(d, &["team", "create", "backend"], None);
    run(d, &["project", "create", "--team", "backend", "api"], None);
    run(
        d,
        &[
            "team",
            "add-member",
            "--team",
            "backend",
            "--email",
            "dev@example.com",
            "--role",
            "admin",
        ],
        None,
    );
    let off = run(
        d,
        &["user", "set-active", "--email", "dev@example.com", "false"],
        None,
    );
    assert_eq!(off["active"], Value::Bool(false));
    assert!(fails(
        d,
        &[
            "team",
            "add-member",
            "--team",
            "nope",
            "--email",
            "dev@example.com",
            "--role",
            "admin"
        ]
    )
    .contains("no team \"nope\""));

    let store = common::open_store(d);
    let dev = store
        .user_by_email("dev@example.com")
        .expect("r")
        .expect("dev");
    assert!(!dev.is_active, "set-active false deactivated the user");
    let team = store.team_by_slug("backend").expect("r").expect("team");
    let project = store.project_by_slug("api").expect("r").expect("api");
    let log = store.audit_log(100).expect("audit");
    let by_cli = |action: &str, target: String, details: &str| {
        log.iter().any(|e| {
            e.action == action
                && e.target == target
                && e.outcome == "ok"
                && e.actor_id.is_none()
                && e.details == details
        })
    };
    assert!(
        by_cli(
            "team.manage_members",
            format!("team:{}", team.id),
            &format!("cli user:{} role=admin", dev.id)
        ),
        "team add-member audited as the CLI: {log:#?}"
    );
    assert!(by_cli("user.create", format!("user:{}", dev.id), "cli"));
    assert!(by_cli(
        "team.create",
        format!("team:{}", team.id),
        "cli slug=backend"
    ));
    assert!(by_cli(
        "project.create",
        format!("project:{}", project.id),
        "cli team=backend slug=api"
    ));
    assert!(by_cli(
        "user.set_active",
        format!("user:{}", dev.id),
        "cli active=false"
    ));
    assert!(
        log.iter().all(|e| e.outcome == "ok"),
        "the operator is refused nothing"
    );
}
