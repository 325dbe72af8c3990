//! [`Store`](super::Store)'s methods on users, teams, projects, keys, tokens, settings,
//! issues and events, written once over the shared SQL layer ([`super::sql`]) for both
//! backends. The trait's default methods call these.

use super::rows::{self, EVENT_COLS, ISSUE_COLS, KEY_COLS, PROJECT_COLS, TEAM_COLS, USER_COLS};
use super::sql::{args, clamp, conflict, read, write, Conn, Database};
use super::{
    Issue, IssueStatus, Page, Project, ProjectKey, RateLimit, StoreError, StoreResult, StoredEvent,
    TagCount, Team, User,
};
use crate::secrets;

fn now_ms() -> i64 {
    crate::clock::now_ms()
}

fn found(n: u64, what: impl FnOnce() -> String) -> StoreResult<()> {
    if n == 0 {
        return Err(StoreError::NotFound(what()));
    }
    Ok(())
}

/// See [`Store::create_user`](super::Store::create_user).
pub fn create_user<D: Database + ?Sized>(
    db: &D,
    email: &str,
    password_hash: &str,
    superuser: bool,
) -> StoreResult<User> {
    let email = email.trim();
    if email.is_empty() || !email.contains('@') {
        return Err(StoreError::Invalid(format!("e-mail {email:?}")));
    }
    let lower = email.to_lowercase();
    let id = write(db, |c| {
        c.int(
            "INSERT INTO users (email, email_lower, password_hash, is_superuser, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![email, lower.as_str(), password_hash, superuser, now_ms()],
            "user",
        )
        .map_err(|e| conflict(e, &format!("user {email}")))
    })?;
    Ok(User {
        id,
        email: email.to_owned(),
        password_hash: password_hash.to_owned(),
        is_superuser: superuser,
        is_active: true,
    })
}

/// See [`Store::user_by_email`](super::Store::user_by_email).
pub fn user_by_email<D: Database + ?Sized>(db: &D, email: &str) -> StoreResult<Option<User>> {
    let lower = email.trim().to_lowercase();
    read(db, |c| {
        c.opt(
            &format!("SELECT {USER_COLS} FROM users WHERE email_lower = $1"),
            args![lower.as_str()],
            rows::user,
        )
    })
}

/// See [`Store::update_user`](super::Store::update_user).
pub fn update_user<D: Database + ?Sized>(
    db: &D,
    user_id: i64,
    password_hash: &str,
    superuser: bool,
) -> StoreResult<()> {
    let n = write(db, |c| {
        c.exec(
            "UPDATE users SET password_hash = $1, is_superuser = $2 WHERE id = $3",
            args![password_hash, superuser, user_id],
        )
    })?;
    found(n, || format!("user {user_id}"))
}

/// See [`Store::create_team`](super::Store::create_team).
pub fn create_team<D: Database + ?Sized>(
    db: &D,
    slug: &str,
    name: &str,
    owner_id: Option<i64>,
) -> StoreResult<Team> {
    crate::slug::validate(slug).map_err(StoreError::Invalid)?;
    let id = write(db, |c| {
        let id = c
            .int(
                "INSERT INTO teams (slug, name, owner_id, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
                args![slug, name, owner_id, now_ms()],
                "team",
            )
            .map_err(|e| conflict(e, &format!("team {slug}")))?;
        if let Some(owner) = owner_id {
            c.exec(
                "INSERT INTO memberships (team_id, user_id, role, created_at) \
                 VALUES ($1, $2, 'admin', $3)",
                args![id, owner, now_ms()],
            )
            .map_err(|e| conflict(e, "owner"))?;
        }
        Ok(id)
    })?;
    Ok(Team {
        id,
        slug: slug.to_owned(),
        name: name.to_owned(),
        owner_id,
    })
}

/// See [`Store::team_by_slug`](super::Store::team_by_slug).
pub fn team_by_slug<D: Database + ?Sized>(db: &D, slug: &str) -> StoreResult<Option<Team>> {
    read(db, |c| {
        c.opt(
            &format!("SELECT {TEAM_COLS} FROM teams WHERE slug = $1"),
            args![slug],
            rows::team,
        )
    })
}

/// See [`Store::create_project`](super::Store::create_project).
pub fn create_project<D: Database + ?Sized>(
    db: &D,
    team_id: i64,
    slug: &str,
    name: &str,
    owner_id: Option<i64>,
) -> StoreResult<Project> {
    crate::slug::validate(slug).map_err(StoreError::Invalid)?;
    write(db, |c| {
        let id = c
            .int(
                "INSERT INTO projects (team_id, slug, name, owner_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                args![team_id, slug, name, owner_id, now_ms()],
                "project",
            )
            .map_err(|e| conflict(e, &format!("project {slug}")))?;
        project_where(c, "p.id = $1", id.into())?
            .ok_or_else(|| StoreError::NotFound(format!("project {id}")))
    })
}

fn project_where(
    c: &mut dyn Conn,
    condition: &str,
    value: super::sql::Arg<'_>,
) -> StoreResult<Option<Project>> {
    c.opt(
        &format!(
            "SELECT {PROJECT_COLS} FROM projects p JOIN teams t ON t.id = p.team_id \
             WHERE {condition}"
        ),
        &[value],
        rows::project,
    )
}

/// See [`Store::project_by_slug`](super::Store::project_by_slug).
pub fn project_by_slug<D: Database + ?Sized>(db: &D, slug: &str) -> StoreResult<Option<Project>> {
    read(db, |c| project_where(c, "p.slug = $1", slug.into()))
}

/// See [`Store::project_by_id`](super::Store::project_by_id).
pub fn project_by_id<D: Database + ?Sized>(db: &D, id: i64) -> StoreResult<Option<Project>> {
    read(db, |c| project_where(c, "p.id = $1", id.into()))
}

/// See [`Store::list_projects`](super::Store::list_projects).
pub fn list_projects<D: Database + ?Sized>(db: &D) -> StoreResult<Vec<Project>> {
    read(db, |c| {
        c.all(
            &format!(
                "SELECT {PROJECT_COLS} FROM projects p JOIN teams t ON t.id = p.team_id \
                 ORDER BY p.id"
            ),
            &[],
            rows::project,
        )
    })
}

/// See [`Store::create_key`](super::Store::create_key).
pub fn create_key<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    label: &str,
) -> StoreResult<ProjectKey> {
    let public_key = secrets::random_hex(16);
    let secret_key = secrets::random_hex(16);
    let id = write(db, |c| {
        c.int(
            "INSERT INTO project_keys (project_id, public_key, secret_key, label, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![project_id, &public_key, &secret_key, label, now_ms()],
            "key",
        )
        .map_err(|e| conflict(e, "project key"))
    })?;
    Ok(ProjectKey {
        id,
        project_id,
        public_key,
        secret_key,
        label: label.to_owned(),
        is_active: true,
        rate_limit: None,
    })
}

/// See [`Store::list_keys`](super::Store::list_keys).
pub fn list_keys<D: Database + ?Sized>(db: &D, project_id: i64) -> StoreResult<Vec<ProjectKey>> {
    read(db, |c| {
        c.all(
            &format!("SELECT {KEY_COLS} FROM project_keys WHERE project_id = $1 ORDER BY id"),
            args![project_id],
            rows::key,
        )
    })
}

/// See [`Store::key_by_public`](super::Store::key_by_public).
pub fn key_by_public<D: Database + ?Sized>(
    db: &D,
    public_key: &str,
) -> StoreResult<Option<ProjectKey>> {
    read(db, |c| {
        c.opt(
            &format!("SELECT {KEY_COLS} FROM project_keys WHERE public_key = $1"),
            args![public_key],
            rows::key,
        )
    })
}

/// See [`Store::set_key_active`](super::Store::set_key_active).
pub fn set_key_active<D: Database + ?Sized>(db: &D, key_id: i64, active: bool) -> StoreResult<()> {
    let n = write(db, |c| {
        c.exec(
            "UPDATE project_keys SET is_active = $1 WHERE id = $2",
            args![active, key_id],
        )
    })?;
    found(n, || format!("key {key_id}"))
}

/// See [`Store::set_key_rate_limit`](super::Store::set_key_rate_limit).
pub fn set_key_rate_limit<D: Database + ?Sized>(
    db: &D,
    key_id: i64,
    limit: Option<RateLimit>,
) -> StoreResult<()> {
    let n = write(db, |c| {
        c.exec(
            "UPDATE project_keys SET rate_limit_count = $1, rate_limit_window = $2 WHERE id = $3",
            args![
                limit.map(|l| clamp(l.count)),
                limit.map(|l| clamp(l.window_secs)),
                key_id
            ],
        )
    })?;
    found(n, || format!("key {key_id}"))
}

/// See [`Store::create_token`](super::Store::create_token).
pub fn create_token<D: Database + ?Sized>(
    db: &D,
    user_id: i64,
    token_hash: &str,
    label: &str,
) -> StoreResult<i64> {
    write(db, |c| {
        c.int(
            "INSERT INTO api_tokens (user_id, token_hash, label, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
            args![user_id, token_hash, label, now_ms()],
            "token",
        )
        .map_err(|e| conflict(e, "token"))
    })
}

/// See [`Store::get_setting`](super::Store::get_setting).
pub fn get_setting<D: Database + ?Sized>(db: &D, key: &str) -> StoreResult<Option<String>> {
    read(db, |c| {
        c.opt(
            "SELECT value FROM settings WHERE key = $1",
            args![key],
            |r| r.text(0),
        )
    })
}

/// See [`Store::set_setting`](super::Store::set_setting).
pub fn set_setting<D: Database + ?Sized>(db: &D, key: &str, value: &str) -> StoreResult<()> {
    write(db, |c| {
        c.exec(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            args![key, value],
        )
    })
    .map(drop)
}

/// See [`Store::issue`](super::Store::issue).
pub fn issue<D: Database + ?Sized>(db: &D, issue_id: i64) -> StoreResult<Option<Issue>> {
    read(db, |c| {
        c.opt(
            &format!("SELECT {ISSUE_COLS} FROM issues WHERE id = $1"),
            args![issue_id],
            rows::issue,
        )
    })
}

/// See [`Store::set_issue_status`](super::Store::set_issue_status).
pub fn set_issue_status<D: Database + ?Sized>(
    db: &D,
    issue_id: i64,
    status: IssueStatus,
) -> StoreResult<Option<Issue>> {
    write(db, |c| {
        c.opt(
            &format!(
                "UPDATE issues SET status = $1, \
                   resolved_at = CASE WHEN $1 = 'resolved' THEN CAST($2 AS BIGINT) ELSE NULL END, \
                   substatus = CASE WHEN $1 = 'unresolved' AND status <> 'unresolved' \
                                    THEN 'ongoing' ELSE substatus END \
                 WHERE id = $3 RETURNING {ISSUE_COLS}"
            ),
            args![status.as_str(), now_ms(), issue_id],
            rows::issue,
        )
    })
}

/// See [`Store::list_events`](super::Store::list_events).
pub fn list_events<D: Database + ?Sized>(
    db: &D,
    issue_id: i64,
    page: Page,
) -> StoreResult<Vec<StoredEvent>> {
    read(db, |c| {
        c.all(
            &format!(
                "SELECT {EVENT_COLS} FROM events WHERE issue_id = $1 ORDER BY id DESC \
                 LIMIT $2 OFFSET $3"
            ),
            args![issue_id, clamp(page.limit), clamp(page.offset)],
            rows::event,
        )
    })
}

/// See [`Store::event`](super::Store::event).
pub fn event<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    event_id: &str,
) -> StoreResult<Option<StoredEvent>> {
    read(db, |c| {
        c.opt(
            &format!("SELECT {EVENT_COLS} FROM events WHERE project_id = $1 AND event_id = $2"),
            args![project_id, event_id],
            rows::event,
        )
    })
}

/// See [`Store::issue_tags`](super::Store::issue_tags): from `issue_tags_live` (on
/// PostgreSQL the folded counts plus the queue; on SQLite `issue_tags` itself).
pub fn issue_tags<D: Database + ?Sized>(db: &D, issue_id: i64) -> StoreResult<Vec<TagCount>> {
    read(db, |c| {
        c.all(
            "SELECT key, value, CAST(SUM(times_seen) AS BIGINT) AS n FROM issue_tags_live \
             WHERE issue_id = $1 GROUP BY key, value ORDER BY key, n DESC, value LIMIT 1000",
            args![issue_id],
            |r| {
                Ok(TagCount {
                    key: r.text(0)?,
                    value: r.text(1)?,
                    count: r.count(2)?,
                })
            },
        )
    })
}

/// See [`Store::count_events`](super::Store::count_events).
pub fn count_events<D: Database + ?Sized>(db: &D) -> StoreResult<u64> {
    read(db, |c| {
        Ok(c.int("SELECT COUNT(*) FROM events", &[], "count")?.max(0) as u64)
    })
}
