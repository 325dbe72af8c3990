//! [`AccountStore`](super::AccountStore)'s methods written once over the shared SQL layer
//! ([`super::sql`]) for both backends; the trait's default methods call these.

use super::accounts::{AuditEntry, AuditRecord, Member, ProjectUpdate, SessionInfo};
use super::rows::{self, ISSUE_COLS, KEY_COLS, TEAM_COLS, USER_COLS};
use super::sql::{args, clamp, conflict, read, write, Arg, Database};
use super::{core, Issue, Project, ProjectKey, StoreError, StoreResult, Team, User};
use crate::policy::Role;
use crate::secrets;

fn now_ms() -> i64 {
    crate::clock::now_ms()
}

fn role(s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown role {s:?}")))
}

/// Runs one `UPDATE` of one row: [`StoreError::NotFound`] naming `what` when no row
/// matched, [`StoreError::Conflict`] when a constraint refused it.
fn update_one<D: Database + ?Sized>(
    db: &D,
    sql: &str,
    args: &[Arg<'_>],
    conflict_what: &str,
    what: impl FnOnce() -> String,
) -> StoreResult<()> {
    let n = write(db, |c| {
        c.exec(sql, args).map_err(|e| conflict(e, conflict_what))
    })?;
    if n == 0 {
        return Err(StoreError::NotFound(what()));
    }
    Ok(())
}

/// The user of an API token (active or not: the caller checks).
pub fn token_user<D: Database + ?Sized>(db: &D, token_hash: &str) -> StoreResult<Option<User>> {
    read(db, |c| {
        c.opt(
            "SELECT u.id, u.email, u.password_hash, u.is_superuser, u.is_active \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
            args![token_hash],
            rows::user,
        )
    })
}

/// A user by id.
pub fn user_by_id<D: Database + ?Sized>(db: &D, id: i64) -> StoreResult<Option<User>> {
    read(db, |c| {
        c.opt(
            &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
            args![id],
            rows::user,
        )
    })
}

/// Every user.
pub fn list_users<D: Database + ?Sized>(db: &D) -> StoreResult<Vec<User>> {
    read(db, |c| {
        c.all(
            &format!("SELECT {USER_COLS} FROM users ORDER BY id"),
            &[],
            rows::user,
        )
    })
}

/// Activates or deactivates a user.
pub fn set_user_active<D: Database + ?Sized>(
    db: &D,
    user_id: i64,
    active: bool,
) -> StoreResult<()> {
    update_one(
        db,
        "UPDATE users SET is_active = $1 WHERE id = $2",
        args![active, user_id],
        "user",
        || format!("user {user_id}"),
    )
}

/// A user's teams and roles.
pub fn memberships_of<D: Database + ?Sized>(db: &D, user_id: i64) -> StoreResult<Vec<(i64, Role)>> {
    read(db, |c| {
        c.all(
            "SELECT team_id, role FROM memberships WHERE user_id = $1",
            args![user_id],
            |r| Ok((r.int(0)?, role(&r.text(1)?)?)),
        )
    })
}

/// A team's members.
pub fn team_members<D: Database + ?Sized>(db: &D, team_id: i64) -> StoreResult<Vec<Member>> {
    read(db, |c| {
        c.all(
            "SELECT u.id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.team_id = $1 ORDER BY u.id",
            args![team_id],
            |r| {
                Ok(Member {
                    user_id: r.int(0)?,
                    email: r.text(1)?,
                    role: role(&r.text(2)?)?,
                })
            },
        )
    })
}

/// Adds a member or changes their role.
pub fn set_membership<D: Database + ?Sized>(
    db: &D,
    team_id: i64,
    user_id: i64,
    role: Role,
) -> StoreResult<()> {
    write(db, |c| {
        c.exec(
            "INSERT INTO memberships (team_id, user_id, role, created_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
            args![team_id, user_id, role.as_str(), now_ms()],
        )
        .map_err(|e| conflict(e, "membership"))
    })
    .map(drop)
}

/// Removes a member; whether they were one.
pub fn remove_membership<D: Database + ?Sized>(
    db: &D,
    team_id: i64,
    user_id: i64,
) -> StoreResult<bool> {
    write(db, |c| {
        c.exec(
            "DELETE FROM memberships WHERE team_id = $1 AND user_id = $2",
            args![team_id, user_id],
        )
    })
    .map(|n| n > 0)
}

/// A team by id.
pub fn team_by_id<D: Database + ?Sized>(db: &D, id: i64) -> StoreResult<Option<Team>> {
    read(db, |c| {
        c.opt(
            &format!("SELECT {TEAM_COLS} FROM teams WHERE id = $1"),
            args![id],
            rows::team,
        )
    })
}

/// Every team.
pub fn list_teams<D: Database + ?Sized>(db: &D) -> StoreResult<Vec<Team>> {
    read(db, |c| {
        c.all(
            &format!("SELECT {TEAM_COLS} FROM teams ORDER BY id"),
            &[],
            rows::team,
        )
    })
}

/// Renames a team.
pub fn rename_team<D: Database + ?Sized>(db: &D, team_id: i64, name: &str) -> StoreResult<()> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("empty team name".into()));
    }
    update_one(
        db,
        "UPDATE teams SET name = $1 WHERE id = $2",
        args![name, team_id],
        "team",
        || format!("team {team_id}"),
    )
}

/// Changes a team's owner.
pub fn set_team_owner<D: Database + ?Sized>(
    db: &D,
    team_id: i64,
    owner_id: i64,
) -> StoreResult<()> {
    update_one(
        db,
        "UPDATE teams SET owner_id = $1 WHERE id = $2",
        args![owner_id, team_id],
        "owner",
        || format!("team {team_id}"),
    )
}

/// Changes a project's settings; the project as it is then.
pub fn update_project<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    update: &ProjectUpdate,
) -> StoreResult<Project> {
    if let Some(name) = &update.name {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("empty project name".into()));
        }
    }
    if let Some(origins) = &update.allowed_origins {
        if let Some(bad) = origins
            .iter()
            .find(|o| o.is_empty() || o.chars().any(|c| c.is_whitespace() || c == ','))
        {
            return Err(StoreError::Invalid(format!("allowed origin {bad:?}")));
        }
    }
    if let Some(scrubbing) = &update.scrubbing {
        scrubbing.check().map_err(StoreError::Invalid)?;
    }
    let origins = update.allowed_origins.as_ref().map(|o| o.join(" "));
    let scrubbing = update
        .scrubbing
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    update_one(
        db,
        "UPDATE projects SET name = COALESCE($1, name), \
           is_public = COALESCE($2, is_public), \
           allowed_origins = COALESCE($3, allowed_origins), \
           scrubbing = COALESCE($5, scrubbing), \
           store_attachments = COALESCE($6, store_attachments) \
         WHERE id = $4",
        args![
            update.name.as_deref().map(str::trim),
            update.is_public,
            origins.as_deref(),
            project_id,
            scrubbing.as_deref(),
            update.store_attachments
        ],
        "project",
        || format!("project {project_id}"),
    )?;
    core::project_by_id(db, project_id)?
        .ok_or_else(|| StoreError::NotFound(format!("project {project_id}")))
}

/// Changes a project's owner.
pub fn set_project_owner<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    owner_id: i64,
) -> StoreResult<()> {
    update_one(
        db,
        "UPDATE projects SET owner_id = $1 WHERE id = $2",
        args![owner_id, project_id],
        "owner",
        || format!("project {project_id}"),
    )
}

/// Moves a project to another team.
pub fn move_project<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    team_id: i64,
) -> StoreResult<()> {
    update_one(
        db,
        "UPDATE projects SET team_id = $1 WHERE id = $2",
        args![team_id, project_id],
        "team",
        || format!("project {project_id}"),
    )
}

/// Deletes a project with its keys, issues, events, tags and bookmarks.
pub fn delete_project<D: Database + ?Sized>(db: &D, project_id: i64) -> StoreResult<bool> {
    let queued = db.queued_tag_tables();
    write(db, |c| {
        // Queued counts first: a fold in progress holds its rows until it commits, and the
        // next statement then sees the counts it moved.
        for table in queued.iter().chain(&["issue_tags"]) {
            c.exec(
                &format!(
                    "DELETE FROM {table} WHERE issue_id IN \
                     (SELECT id FROM issues WHERE project_id = $1)"
                ),
                args![project_id],
            )?;
        }
        c.exec(
            "DELETE FROM events WHERE project_id = $1",
            args![project_id],
        )?;
        super::logs::delete_project(c, project_id)?;
        c.exec(
            "DELETE FROM bookmarks WHERE issue_id IN \
             (SELECT id FROM issues WHERE project_id = $1)",
            args![project_id],
        )?;
        c.exec(
            "DELETE FROM issues WHERE project_id = $1",
            args![project_id],
        )?;
        c.exec(
            "DELETE FROM project_keys WHERE project_id = $1",
            args![project_id],
        )?;
        super::health::delete_project(c, project_id)?;
        Ok(c.exec("DELETE FROM projects WHERE id = $1", args![project_id])? > 0)
    })
}

/// A key by id.
pub fn key_by_id<D: Database + ?Sized>(db: &D, key_id: i64) -> StoreResult<Option<ProjectKey>> {
    read(db, |c| {
        c.opt(
            &format!("SELECT {KEY_COLS} FROM project_keys WHERE id = $1"),
            args![key_id],
            rows::key,
        )
    })
}

/// Makes an issue public (with a share id, kept if it had one) or private.
pub fn set_issue_public<D: Database + ?Sized>(
    db: &D,
    issue_id: i64,
    public: bool,
) -> StoreResult<Option<String>> {
    let share = public.then(|| secrets::random_hex(16));
    write(db, |c| {
        c.one(
            "UPDATE issues SET is_public = $1, \
               share_id = CASE WHEN $1 THEN COALESCE(share_id, $2) ELSE NULL END \
             WHERE id = $3 RETURNING share_id",
            args![public, share.as_deref(), issue_id],
            &format!("issue {issue_id}"),
            |r| r.opt_text(0),
        )
    })
}

/// The share id of a public issue.
pub fn issue_share_id<D: Database + ?Sized>(db: &D, issue_id: i64) -> StoreResult<Option<String>> {
    read(db, |c| {
        c.opt(
            "SELECT share_id FROM issues WHERE id = $1 AND is_public",
            args![issue_id],
            |r| r.opt_text(0),
        )
    })
    .map(Option::flatten)
}

/// A public issue by its share id.
pub fn issue_by_share_id<D: Database + ?Sized>(
    db: &D,
    share_id: &str,
) -> StoreResult<Option<Issue>> {
    read(db, |c| {
        c.opt(
            &format!("SELECT {ISSUE_COLS} FROM issues WHERE share_id = $1 AND is_public"),
            args![share_id],
            rows::issue,
        )
    })
}

/// Bookmarks an issue for a user, or removes the bookmark.
pub fn set_bookmark<D: Database + ?Sized>(
    db: &D,
    user_id: i64,
    issue_id: i64,
    on: bool,
) -> StoreResult<()> {
    write(db, |c| {
        if on {
            c.exec(
                "INSERT INTO bookmarks (user_id, issue_id, created_at) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                args![user_id, issue_id, now_ms()],
            )
            .map_err(|e| conflict(e, "bookmark"))?;
        } else {
            c.exec(
                "DELETE FROM bookmarks WHERE user_id = $1 AND issue_id = $2",
                args![user_id, issue_id],
            )?;
        }
        Ok(())
    })
}

/// Which of `issue_ids` the user bookmarked, in their order.
pub fn bookmarked<D: Database + ?Sized>(
    db: &D,
    user_id: i64,
    issue_ids: &[i64],
) -> StoreResult<Vec<i64>> {
    let mut marked = std::collections::HashSet::new();
    for chunk in issue_ids.chunks(500) {
        let list = (0..chunk.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let mut params = vec![Arg::Int(user_id)];
        params.extend(chunk.iter().map(|&id| Arg::Int(id)));
        let found = read(db, |c| {
            c.all(
                &format!(
                    "SELECT issue_id FROM bookmarks WHERE user_id = $1 AND issue_id IN ({list})"
                ),
                &params,
                |r| r.int(0),
            )
        })?;
        marked.extend(found);
    }
    Ok(issue_ids
        .iter()
        .copied()
        .filter(|id| marked.contains(id))
        .collect())
}

/// Deletes an issue with its events, tags and bookmarks.
pub fn delete_issue<D: Database + ?Sized>(db: &D, issue_id: i64) -> StoreResult<bool> {
    let queued = db.queued_tag_tables();
    write(db, |c| {
        for table in queued.iter().chain(&["issue_tags"]) {
            c.exec(
                &format!("DELETE FROM {table} WHERE issue_id = $1"),
                args![issue_id],
            )?;
        }
        c.exec("DELETE FROM events WHERE issue_id = $1", args![issue_id])?;
        c.exec("DELETE FROM bookmarks WHERE issue_id = $1", args![issue_id])?;
        Ok(c.exec("DELETE FROM issues WHERE id = $1", args![issue_id])? > 0)
    })
}

/// Stores a web session.
pub fn create_session<D: Database + ?Sized>(
    db: &D,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    expires_at_ms: i64,
) -> StoreResult<()> {
    write(db, |c| {
        c.exec(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![token_hash, user_id, csrf_token, now_ms(), expires_at_ms],
        )
        .map_err(|e| conflict(e, "session"))
    })
    .map(drop)
}

/// A live session of an active user.
pub fn session<D: Database + ?Sized>(
    db: &D,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<Option<SessionInfo>> {
    read(db, |c| {
        c.opt(
            "SELECT u.id, u.email, u.password_hash, u.is_superuser, u.is_active, \
                    s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.is_active",
            args![token_hash, now_ms],
            |r| {
                Ok(SessionInfo {
                    user: rows::user(r)?,
                    csrf_token: r.text(5)?,
                    expires_at_ms: r.int(6)?,
                })
            },
        )
    })
}

/// Ends a session; whether it existed.
pub fn delete_session<D: Database + ?Sized>(db: &D, token_hash: &str) -> StoreResult<bool> {
    write(db, |c| {
        c.exec(
            "DELETE FROM sessions WHERE token_hash = $1",
            args![token_hash],
        )
    })
    .map(|n| n > 0)
}

/// Ends a user's sessions but `keep`; how many.
pub fn delete_user_sessions<D: Database + ?Sized>(
    db: &D,
    user_id: i64,
    keep: Option<&str>,
) -> StoreResult<u64> {
    write(db, |c| {
        c.exec(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2",
            args![user_id, keep],
        )
    })
}

/// Appends to the audit log.
pub fn audit<D: Database + ?Sized>(db: &D, entry: &AuditEntry) -> StoreResult<()> {
    write(db, |c| {
        c.exec(
            "INSERT INTO audit_log (at, actor_id, action, target, outcome, details) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                now_ms(),
                entry.actor_id,
                &entry.action,
                &entry.target,
                &entry.outcome,
                &entry.details
            ],
        )
    })
    .map(drop)
}

/// The newest audit records.
pub fn audit_log<D: Database + ?Sized>(db: &D, limit: u64) -> StoreResult<Vec<AuditRecord>> {
    read(db, |c| {
        c.all(
            "SELECT id, at, actor_id, action, target, outcome, details FROM audit_log \
             ORDER BY id DESC LIMIT $1",
            args![clamp(limit)],
            |r| {
                Ok(AuditRecord {
                    id: r.int(0)?,
                    at_ms: r.int(1)?,
                    actor_id: r.opt_int(2)?,
                    action: r.text(3)?,
                    target: r.text(4)?,
                    outcome: r.text(5)?,
                    details: r.text(6)?,
                })
            },
        )
    })
}
