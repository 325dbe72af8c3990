//! Scripting commands for accounts: users, team members and owners, project visibility
//! and owners, project keys. Whoever runs them holds the database file, i.e. acts as the
//! server's operator; every change is still written to the audit log (actor: none,
//! details say `cli`). Superusers are made only by `createsuperuser`.

use std::io::BufRead;

use anyhow::{bail, Context};
use serde_json::json;

use super::admin::open_store;
use super::output::Output;
use super::Db;
use crate::policy::{Action, Role};
use crate::secrets;
use crate::store::accounts::{AuditEntry, ProjectUpdate};
use crate::store::{Project, ProjectKey, RateLimit, Store, Team, User};

fn audit(store: &dyn Store, action: Action, target: String, details: String) -> anyhow::Result<()> {
    store.audit(&AuditEntry {
        actor_id: None,
        action: action.name().to_owned(),
        target,
        outcome: "ok".to_owned(),
        details: format!("cli {details}").trim_end().to_owned(),
    })?;
    Ok(())
}

fn user(store: &dyn Store, email: &str) -> anyhow::Result<User> {
    store
        .user_by_email(email)?
        .with_context(|| format!("no user with e-mail {email}"))
}

fn team(store: &dyn Store, slug: &str) -> anyhow::Result<Team> {
    store
        .team_by_slug(slug)?
        .with_context(|| format!("no team {slug:?}"))
}

fn project(store: &dyn Store, slug: &str) -> anyhow::Result<Project> {
    store
        .project_by_slug(slug)?
        .with_context(|| format!("no project {slug:?}"))
}

/// `user create --email E [--password-stdin]`: a normal (never super) user.
pub(super) fn create_user(
    db: &Db,
    email: &str,
    password_stdin: bool,
    out: &Output,
) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let p = line.trim_end_matches(['\n', '\r']).to_owned();
        if p.chars().count() < 8 {
            bail!("the password must have at least 8 characters");
        }
        (p, false)
    } else {
        (secrets::generate_password(), true)
    };
    let u = store.create_user(email, &secrets::hash_password(&password)?, false)?;
    audit(
        store,
        Action::CreateUser,
        format!("user:{}", u.id),
        String::new(),
    )?;
    let mut text = format!("Created user {} (id {}).", u.email, u.id);
    if generated {
        text.push_str(&format!("\nPassword: {password}"));
    }
    out.print(
        &text,
        &json!({ "id": u.id, "email": u.email, "superuser": false,
                 "password": generated.then_some(password) }),
    );
    Ok(())
}

/// `team add-member --team T --email E --role R` (also changes an existing role).
pub(super) fn add_member(
    db: &Db,
    team_slug: &str,
    email: &str,
    role: Role,
    out: &Output,
) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let t = team(store, team_slug)?;
    let u = user(store, email)?;
    store.set_membership(t.id, u.id, role)?;
    audit(
        store,
        Action::ManageMembers,
        format!("team:{}", t.id),
        format!("user:{} role={role}", u.id),
    )?;
    out.print(
        &format!("{} is now {role} of team {}.", u.email, t.slug),
        &json!({ "team": t.slug, "email": u.email, "role": role }),
    );
    Ok(())
}

/// `team remove-member --team T --email E`.
pub(super) fn remove_member(
    db: &Db,
    team_slug: &str,
    email: &str,
    out: &Output,
) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let t = team(store, team_slug)?;
    let u = user(store, email)?;
    if !store.remove_membership(t.id, u.id)? {
        bail!("{} is not a member of team {}", u.email, t.slug);
    }
    audit(
        store,
        Action::ManageMembers,
        format!("team:{}", t.id),
        format!("user:{} removed", u.id),
    )?;
    out.print(
        &format!("Removed {} from team {}.", u.email, t.slug),
        &json!({ "team": t.slug, "email": u.email, "removed": true }),
    );
    Ok(())
}

/// `team set-owner --team T --email E`.
pub(super) fn set_team_owner(
    db: &Db,
    team_slug: &str,
    email: &str,
    out: &Output,
) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let t = team(store, team_slug)?;
    let u = user(store, email)?;
    store.set_team_owner(t.id, u.id)?;
    audit(
        store,
        Action::ChangeTeamOwner,
        format!("team:{}", t.id),
        format!("owner=user:{}", u.id),
    )?;
    out.print(
        &format!("{} now owns team {}.", u.email, t.slug),
        &json!({ "team": t.slug, "owner": u.email }),
    );
    Ok(())
}

/// `project set-public SLUG true|false`.
pub(super) fn set_public(db: &Db, slug: &str, public: bool, out: &Output) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let p = project(store, slug)?;
    let update = ProjectUpdate {
        is_public: Some(public),
        ..Default::default()
    };
    store.update_project(p.id, &update)?;
    audit(
        store,
        Action::EditProject,
        format!("project:{}", p.id),
        format!("public={public}"),
    )?;
    out.print(
        &format!(
            "Project {} is now {}.",
            p.slug,
            if public { "public" } else { "private" }
        ),
        &json!({ "project": p.slug, "isPublic": public }),
    );
    Ok(())
}

/// `project set-owner SLUG --email E`.
pub(super) fn set_project_owner(
    db: &Db,
    slug: &str,
    email: &str,
    out: &Output,
) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let p = project(store, slug)?;
    let u = user(store, email)?;
    store.set_project_owner(p.id, u.id)?;
    audit(
        store,
        Action::ChangeProjectOwner,
        format!("project:{}", p.id),
        format!("owner=user:{}", u.id),
    )?;
    out.print(
        &format!("{} now owns project {}.", u.email, p.slug),
        &json!({ "project": p.slug, "owner": u.email }),
    );
    Ok(())
}

fn key_json(k: &ProjectKey) -> serde_json::Value {
    json!({
        "id": k.id,
        "label": k.label,
        "public_key": k.public_key,
        "secret_key": k.secret_key,
        "active": k.is_active,
        "rate_limit": k.rate_limit.map(|l| json!({"count": l.count, "window_secs": l.window_secs})),
    })
}

fn find_key(store: &dyn Store, p: &Project, key: &str) -> anyhow::Result<ProjectKey> {
    let keys = store.list_keys(p.id)?;
    keys.into_iter()
        .find(|k| {
            k.id.to_string() == key
                || secrets::constant_time_eq(k.public_key.as_bytes(), key.as_bytes())
        })
        .with_context(|| {
            format!(
                "project {} has no key {key:?} (give its id or public key)",
                p.slug
            )
        })
}

/// `key create --project SLUG [--label L]`.
pub(super) fn create_key(db: &Db, slug: &str, label: &str, out: &Output) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let p = project(store, slug)?;
    let k = store.create_key(p.id, label)?;
    audit(
        store,
        Action::ManageKeys,
        format!("project:{}", p.id),
        format!("key:{} created", k.id),
    )?;
    out.print(
        &format!(
            "Created key {} ({}) for project {}.",
            k.id, k.public_key, p.slug
        ),
        &key_json(&k),
    );
    Ok(())
}

/// `key revoke --project SLUG --key ID|PUBLIC`.
pub(super) fn revoke_key(db: &Db, slug: &str, key: &str, out: &Output) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let p = project(store, slug)?;
    let k = find_key(store, &p, key)?;
    store.set_key_active(k.id, false)?;
    audit(
        store,
        Action::ManageKeys,
        format!("project:{}", p.id),
        format!("key:{} revoked", k.id),
    )?;
    out.print(
        &format!("Revoked key {} ({}).", k.id, k.public_key),
        &json!({ "id": k.id, "public_key": k.public_key, "active": false }),
    );
    Ok(())
}

/// `key set-rate-limit --project SLUG --key K (--count N --window S | --none)`.
pub(super) fn set_rate_limit(
    db: &Db,
    slug: &str,
    key: &str,
    limit: Option<RateLimit>,
    out: &Output,
) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let p = project(store, slug)?;
    let k = find_key(store, &p, key)?;
    store.set_key_rate_limit(k.id, limit)?;
    audit(
        store,
        Action::ManageKeys,
        format!("project:{}", p.id),
        format!("key:{} rate_limit={limit:?}", k.id),
    )?;
    let text = match limit {
        Some(l) => format!(
            "Key {}: at most {} events per {} s.",
            k.id, l.count, l.window_secs
        ),
        None => format!("Key {}: no rate limit.", k.id),
    };
    out.print(
        &text,
        &json!({ "id": k.id, "rate_limit": limit.map(|l| json!({"count": l.count, "window_secs": l.window_secs})) }),
    );
    Ok(())
}

/// `key list --project SLUG` (with secrets: the operator holds the database anyway).
pub(super) fn list_keys(db: &Db, slug: &str, out: &Output) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let store = &*store;
    let p = project(store, slug)?;
    let keys = store.list_keys(p.id)?;
    let text = keys
        .iter()
        .map(|k| {
            format!(
                "{}\t{}\t{}\t{}\t{}",
                k.id,
                k.public_key,
                if k.is_active { "active" } else { "revoked" },
                k.rate_limit
                    .map(|l| format!("{}/{}s", l.count, l.window_secs))
                    .unwrap_or_else(|| "unlimited".into()),
                k.label
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.print(&text, &json!(keys.iter().map(key_json).collect::<Vec<_>>()));
    Ok(())
}
