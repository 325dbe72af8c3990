//! Scripting commands for accounts: users, team members and owners, project visibility
//! and owners, project keys. Whoever runs them holds the database, i.e. acts as the
//! server's operator ([`crate::policy::Actor::Operator`]): each command calls the same
//! [`crate::app`] operation as the API and the web pages, which asks the policy and
//! writes the audit log (no actor id, details starting with `cli`). Superusers are made
//! only by `createsuperuser`.

use std::io::BufRead;

use anyhow::Context;
use serde_json::json;

use super::output::Operator;
use crate::app::keys::KeyChanges;
use crate::app::projects::{ProjectChanges, ProjectName};
use crate::app::teams::TeamChanges;
use crate::app::users::NewUser;
use crate::app::{keys, members, projects, teams, users, AppError};
use crate::policy::Role;
use crate::store::accounts::ProjectUpdate;
use crate::store::{ProjectKey, RateLimit};

/// The error of an operation on the project or team `what` given on the command line.
pub(super) fn named(what: String) -> impl FnOnce(AppError) -> anyhow::Error {
    move |e| match e {
        AppError::NotFound => anyhow::anyhow!("no {what}"),
        e => e.into(),
    }
}

/// The error of an operation on the team `slug`.
fn team(slug: &str) -> impl FnOnce(AppError) -> anyhow::Error {
    named(format!("team {slug:?}"))
}

fn project(slug: &str) -> (ProjectName<'_>, impl FnOnce(AppError) -> anyhow::Error) {
    (ProjectName::slug(slug), named(format!("project {slug:?}")))
}

/// Reads a password from the first line of stdin.
pub(super) fn read_password_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// `user create --email E [--password-stdin]`: a normal (never super) user.
pub(super) fn create_user(op: &Operator, email: &str, password_stdin: bool) -> anyhow::Result<()> {
    let password = password_stdin.then(read_password_stdin).transpose()?;
    let new = NewUser {
        email,
        password,
        team: None,
        role: Role::Member,
    };
    let created = users::create(op.store(), op.who(), new)?;
    let u = created.user;
    let mut text = format!("Created user {} (id {}).", u.email, u.id);
    if let Some(p) = &created.generated_password {
        text.push_str(&format!("\nPassword: {p}"));
    }
    op.done(
        &text,
        &json!({ "id": u.id, "email": u.email, "superuser": false,
                 "password": created.generated_password }),
    )
}

/// `user set-active --email E true|false`.
pub(super) fn set_user_active(op: &Operator, email: &str, active: bool) -> anyhow::Result<()> {
    let u = users::set_active(op.store(), op.who(), email, active)?;
    op.done(
        &format!(
            "User {} is now {}.",
            u.email,
            if u.is_active { "active" } else { "inactive" }
        ),
        &json!({ "email": u.email, "active": u.is_active }),
    )
}

/// `team add-member --team T --email E --role R` (also changes an existing role).
pub(super) fn add_member(
    op: &Operator,
    team_slug: &str,
    email: &str,
    role: Role,
) -> anyhow::Result<()> {
    let (t, u) =
        members::set_role(op.store(), op.who(), team_slug, email, role).map_err(team(team_slug))?;
    op.done(
        &format!("{} is now {role} of team {}.", u.email, t.slug),
        &json!({ "team": t.slug, "email": u.email, "role": role }),
    )
}

/// `team remove-member --team T --email E`.
pub(super) fn remove_member(op: &Operator, team_slug: &str, email: &str) -> anyhow::Result<()> {
    let (t, u) =
        members::remove(op.store(), op.who(), team_slug, email).map_err(team(team_slug))?;
    op.done(
        &format!("Removed {} from team {}.", u.email, t.slug),
        &json!({ "team": t.slug, "email": u.email, "removed": true }),
    )
}

/// `team set-owner --team T --email E`.
pub(super) fn set_team_owner(op: &Operator, team_slug: &str, email: &str) -> anyhow::Result<()> {
    let changes = TeamChanges {
        owner_email: Some(email),
        ..TeamChanges::default()
    };
    let t = teams::update(op.store(), op.who(), team_slug, changes).map_err(team(team_slug))?;
    let owner = users::named(op.store(), email)?;
    op.done(
        &format!("{} now owns team {}.", owner.email, t.slug),
        &json!({ "team": t.slug, "owner": owner.email }),
    )
}

/// `project set-public SLUG true|false`.
pub(super) fn set_public(op: &Operator, slug: &str, public: bool) -> anyhow::Result<()> {
    let (name, missing) = project(slug);
    let changes = ProjectChanges {
        settings: ProjectUpdate {
            is_public: Some(public),
            ..Default::default()
        },
        ..ProjectChanges::default()
    };
    let p = projects::update(op.store(), op.who(), name, changes).map_err(missing)?;
    op.done(
        &format!(
            "Project {} is now {}.",
            p.slug,
            if public { "public" } else { "private" }
        ),
        &json!({ "project": p.slug, "isPublic": public }),
    )
}

/// `project set-owner SLUG --email E`.
pub(super) fn set_project_owner(op: &Operator, slug: &str, email: &str) -> anyhow::Result<()> {
    let (name, missing) = project(slug);
    let changes = ProjectChanges {
        owner_email: Some(email),
        ..ProjectChanges::default()
    };
    let p = projects::update(op.store(), op.who(), name, changes).map_err(missing)?;
    let owner = users::named(op.store(), email)?;
    op.done(
        &format!("{} now owns project {}.", owner.email, p.slug),
        &json!({ "project": p.slug, "owner": owner.email }),
    )
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

/// `key create --project SLUG [--label L]`.
pub(super) fn create_key(op: &Operator, slug: &str, label: &str) -> anyhow::Result<()> {
    let (name, missing) = project(slug);
    let (p, k) = keys::create(op.store(), op.who(), name, label).map_err(missing)?;
    op.done(
        &format!(
            "Created key {} ({}) for project {}.",
            k.id, k.public_key, p.slug
        ),
        &key_json(&k),
    )
}

/// `key revoke --project SLUG --key ID|PUBLIC`.
pub(super) fn revoke_key(op: &Operator, slug: &str, key: &str) -> anyhow::Result<()> {
    let (name, missing) = project(slug);
    let changes = KeyChanges {
        active: Some(false),
        rate_limit: None,
    };
    let (_, k) = keys::update(op.store(), op.who(), name, key, changes).map_err(missing)?;
    op.done(
        &format!("Revoked key {} ({}).", k.id, k.public_key),
        &json!({ "id": k.id, "public_key": k.public_key, "active": false }),
    )
}

/// `key set-rate-limit --project SLUG --key K (--count N --window S | --none)`.
pub(super) fn set_rate_limit(
    op: &Operator,
    slug: &str,
    key: &str,
    limit: Option<RateLimit>,
) -> anyhow::Result<()> {
    let (name, missing) = project(slug);
    let changes = KeyChanges {
        active: None,
        rate_limit: Some(limit),
    };
    let (_, k) = keys::update(op.store(), op.who(), name, key, changes).map_err(missing)?;
    let text = match limit {
        Some(l) => format!(
            "Key {}: at most {} events per {} s.",
            k.id, l.count, l.window_secs
        ),
        None => format!("Key {}: no rate limit.", k.id),
    };
    op.done(
        &text,
        &json!({ "id": k.id, "rate_limit": limit.map(|l| json!({"count": l.count, "window_secs": l.window_secs})) }),
    )
}

/// `key list --project SLUG` (with secrets: the operator holds the database anyway).
pub(super) fn list_keys(op: &Operator, slug: &str) -> anyhow::Result<()> {
    let (name, missing) = project(slug);
    let keys = keys::list(op.store(), op.who(), name)
        .map_err(missing)?
        .keys;
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
    op.done(&text, &json!(keys.iter().map(key_json).collect::<Vec<_>>()))
}
