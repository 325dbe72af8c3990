//! The SQLite implementation of [`AccountStore`].

use rusqlite::{params, OptionalExtension};

use super::{
    conflict_or, issue_row, key_row, now_ms, team_row, user_row, SqliteStore, ISSUE_COLS, KEY_COLS,
    TEAM_COLS, USER_COLS,
};
use crate::policy::Role;
use crate::secrets;
use crate::store::accounts::*;
use crate::store::{Issue, Project, ProjectKey, Store, StoreError, StoreResult, Team, User};

fn not_found(what: String) -> StoreError {
    StoreError::NotFound(what)
}

fn role_of(s: String) -> rusqlite::Result<Role> {
    Role::parse(&s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown role {s:?}").into(),
        )
    })
}

impl AccountStore for SqliteStore {
    fn token_user(&self, token_hash: &str) -> StoreResult<Option<User>> {
        self.read(|c| {
            c.query_row(
                "SELECT u.id, u.email, u.password_hash, u.is_superuser, u.is_active \
                 FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1",
                [token_hash],
                user_row,
            )
            .optional()
        })
    }

    fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        self.write(|c| {
            Ok(c.query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
                [id],
                user_row,
            )
            .optional()?)
        })
    }

    fn list_users(&self) -> StoreResult<Vec<User>> {
        self.write(|c| {
            let mut stmt = c.prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY id"))?;
            let rows = stmt.query_map([], user_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn set_user_active(&self, user_id: i64, active: bool) -> StoreResult<()> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE users SET is_active = ?1 WHERE id = ?2",
                params![active, user_id],
            )?;
            if n == 0 {
                return Err(not_found(format!("user {user_id}")));
            }
            Ok(())
        })
    }

    fn memberships_of(&self, user_id: i64) -> StoreResult<Vec<(i64, Role)>> {
        self.write(|c| {
            let mut stmt =
                c.prepare_cached("SELECT team_id, role FROM memberships WHERE user_id = ?1")?;
            let rows = stmt.query_map([user_id], |r| Ok((r.get(0)?, role_of(r.get(1)?)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn team_members(&self, team_id: i64) -> StoreResult<Vec<Member>> {
        self.write(|c| {
            let mut stmt = c.prepare(
                "SELECT u.id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.team_id = ?1 ORDER BY u.id",
            )?;
            let rows = stmt.query_map([team_id], |r| {
                Ok(Member {
                    user_id: r.get(0)?,
                    email: r.get(1)?,
                    role: role_of(r.get(2)?)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn set_membership(&self, team_id: i64, user_id: i64, role: Role) -> StoreResult<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO memberships (team_id, user_id, role, created_at) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
                params![team_id, user_id, role.as_str(), now_ms()],
            )
            .map_err(|e| conflict_or(e, "membership"))?;
            Ok(())
        })
    }

    fn remove_membership(&self, team_id: i64, user_id: i64) -> StoreResult<bool> {
        self.write(|c| {
            Ok(c.execute(
                "DELETE FROM memberships WHERE team_id = ?1 AND user_id = ?2",
                params![team_id, user_id],
            )? > 0)
        })
    }

    fn team_by_id(&self, id: i64) -> StoreResult<Option<Team>> {
        self.write(|c| {
            Ok(c.query_row(
                &format!("SELECT {TEAM_COLS} FROM teams WHERE id = ?1"),
                [id],
                team_row,
            )
            .optional()?)
        })
    }

    fn list_teams(&self) -> StoreResult<Vec<Team>> {
        self.write(|c| {
            let mut stmt = c.prepare(&format!("SELECT {TEAM_COLS} FROM teams ORDER BY id"))?;
            let rows = stmt.query_map([], team_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn rename_team(&self, team_id: i64, name: &str) -> StoreResult<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("empty team name".into()));
        }
        self.write(|c| {
            let n = c.execute(
                "UPDATE teams SET name = ?1 WHERE id = ?2",
                params![name, team_id],
            )?;
            if n == 0 {
                return Err(not_found(format!("team {team_id}")));
            }
            Ok(())
        })
    }

    fn set_team_owner(&self, team_id: i64, owner_id: i64) -> StoreResult<()> {
        self.write(|c| {
            let n = c
                .execute(
                    "UPDATE teams SET owner_id = ?1 WHERE id = ?2",
                    params![owner_id, team_id],
                )
                .map_err(|e| conflict_or(e, "owner"))?;
            if n == 0 {
                return Err(not_found(format!("team {team_id}")));
            }
            Ok(())
        })
    }

    fn update_project(&self, project_id: i64, update: &ProjectUpdate) -> StoreResult<Project> {
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
        self.write(|c| {
            let tx = c.unchecked_transaction()?;
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM projects WHERE id = ?1", [project_id], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_none() {
                return Err(not_found(format!("project {project_id}")));
            }
            if let Some(name) = &update.name {
                tx.execute(
                    "UPDATE projects SET name = ?1 WHERE id = ?2",
                    params![name.trim(), project_id],
                )?;
            }
            if let Some(public) = update.is_public {
                tx.execute(
                    "UPDATE projects SET is_public = ?1 WHERE id = ?2",
                    params![public, project_id],
                )?;
            }
            if let Some(origins) = &update.allowed_origins {
                tx.execute(
                    "UPDATE projects SET allowed_origins = ?1 WHERE id = ?2",
                    params![origins.join(" "), project_id],
                )?;
            }
            tx.commit()?;
            Ok(())
        })?;
        self.project_by_id(project_id)?
            .ok_or_else(|| not_found(format!("project {project_id}")))
    }

    fn set_project_owner(&self, project_id: i64, owner_id: i64) -> StoreResult<()> {
        self.write(|c| {
            let n = c
                .execute(
                    "UPDATE projects SET owner_id = ?1 WHERE id = ?2",
                    params![owner_id, project_id],
                )
                .map_err(|e| conflict_or(e, "owner"))?;
            if n == 0 {
                return Err(not_found(format!("project {project_id}")));
            }
            Ok(())
        })
    }

    fn move_project(&self, project_id: i64, team_id: i64) -> StoreResult<()> {
        self.write(|c| {
            let n = c
                .execute(
                    "UPDATE projects SET team_id = ?1 WHERE id = ?2",
                    params![team_id, project_id],
                )
                .map_err(|e| conflict_or(e, "team"))?;
            if n == 0 {
                return Err(not_found(format!("project {project_id}")));
            }
            Ok(())
        })
    }

    fn delete_project(&self, project_id: i64) -> StoreResult<bool> {
        self.write(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "DELETE FROM issue_tags WHERE issue_id IN \
                 (SELECT id FROM issues WHERE project_id = ?1)",
                [project_id],
            )?;
            tx.execute("DELETE FROM events WHERE project_id = ?1", [project_id])?;
            tx.execute(
                "DELETE FROM bookmarks WHERE issue_id IN \
                 (SELECT id FROM issues WHERE project_id = ?1)",
                [project_id],
            )?;
            tx.execute("DELETE FROM issues WHERE project_id = ?1", [project_id])?;
            tx.execute(
                "DELETE FROM project_keys WHERE project_id = ?1",
                [project_id],
            )?;
            let n = tx.execute("DELETE FROM projects WHERE id = ?1", [project_id])?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn key_by_id(&self, key_id: i64) -> StoreResult<Option<ProjectKey>> {
        self.write(|c| {
            Ok(c.query_row(
                &format!("SELECT {KEY_COLS} FROM project_keys WHERE id = ?1"),
                [key_id],
                key_row,
            )
            .optional()?)
        })
    }

    fn set_issue_public(&self, issue_id: i64, public: bool) -> StoreResult<Option<String>> {
        let share = public.then(|| secrets::random_hex(16));
        self.write(|c| {
            let n = c.execute(
                "UPDATE issues SET is_public = ?1, \
                   share_id = CASE WHEN ?1 THEN COALESCE(share_id, ?2) ELSE NULL END \
                 WHERE id = ?3",
                params![public, share, issue_id],
            )?;
            if n == 0 {
                return Err(not_found(format!("issue {issue_id}")));
            }
            Ok(c.query_row(
                "SELECT share_id FROM issues WHERE id = ?1",
                [issue_id],
                |r| r.get(0),
            )?)
        })
    }

    fn issue_share_id(&self, issue_id: i64) -> StoreResult<Option<String>> {
        self.write(|c| {
            Ok(c.query_row(
                "SELECT share_id FROM issues WHERE id = ?1 AND is_public = 1",
                [issue_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
        })
    }

    fn issue_by_share_id(&self, share_id: &str) -> StoreResult<Option<Issue>> {
        self.write(|c| {
            Ok(c.query_row(
                &format!("SELECT {ISSUE_COLS} FROM issues WHERE share_id = ?1 AND is_public = 1"),
                [share_id],
                issue_row,
            )
            .optional()?)
        })
    }

    fn set_bookmark(&self, user_id: i64, issue_id: i64, on: bool) -> StoreResult<()> {
        self.write(|c| {
            if on {
                c.execute(
                    "INSERT OR IGNORE INTO bookmarks (user_id, issue_id, created_at) \
                     VALUES (?1, ?2, ?3)",
                    params![user_id, issue_id, now_ms()],
                )
                .map_err(|e| conflict_or(e, "bookmark"))?;
            } else {
                c.execute(
                    "DELETE FROM bookmarks WHERE user_id = ?1 AND issue_id = ?2",
                    params![user_id, issue_id],
                )?;
            }
            Ok(())
        })
    }

    fn bookmarked(&self, user_id: i64, issue_ids: &[i64]) -> StoreResult<Vec<i64>> {
        self.write(|c| {
            let mut stmt =
                c.prepare_cached("SELECT 1 FROM bookmarks WHERE user_id = ?1 AND issue_id = ?2")?;
            let mut out = Vec::new();
            for id in issue_ids {
                if stmt.exists(params![user_id, id])? {
                    out.push(*id);
                }
            }
            Ok(out)
        })
    }

    fn delete_issue(&self, issue_id: i64) -> StoreResult<bool> {
        self.write(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute("DELETE FROM issue_tags WHERE issue_id = ?1", [issue_id])?;
            tx.execute("DELETE FROM events WHERE issue_id = ?1", [issue_id])?;
            tx.execute("DELETE FROM bookmarks WHERE issue_id = ?1", [issue_id])?;
            let n = tx.execute("DELETE FROM issues WHERE id = ?1", [issue_id])?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token_hash, user_id, csrf_token, now_ms(), expires_at_ms],
            )
            .map_err(|e| conflict_or(e, "session"))?;
            Ok(())
        })
    }

    fn session(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<SessionInfo>> {
        self.write(|c| {
            Ok(c.query_row(
                "SELECT u.id, u.email, u.password_hash, u.is_superuser, u.is_active, \
                        s.csrf_token, s.expires_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.is_active = 1",
                params![token_hash, now_ms],
                |r| {
                    Ok(SessionInfo {
                        user: user_row(r)?,
                        csrf_token: r.get(5)?,
                        expires_at_ms: r.get(6)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn delete_session(&self, token_hash: &str) -> StoreResult<bool> {
        self.write(|c| {
            Ok(c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])? > 0)
        })
    }

    fn delete_user_sessions(&self, user_id: i64, keep: Option<&str>) -> StoreResult<u64> {
        self.write(|c| {
            Ok(c.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND token_hash IS NOT ?2",
                params![user_id, keep],
            )? as u64)
        })
    }

    fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO audit_log (at, actor_id, action, target, outcome, details) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    now_ms(),
                    entry.actor_id,
                    entry.action,
                    entry.target,
                    entry.outcome,
                    entry.details
                ],
            )?;
            Ok(())
        })
    }

    fn audit_log(&self, limit: u64) -> StoreResult<Vec<AuditRecord>> {
        self.write(|c| {
            let mut stmt = c.prepare(
                "SELECT id, at, actor_id, action, target, outcome, details FROM audit_log \
                 ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit.min(i64::MAX as u64) as i64], |r| {
                Ok(AuditRecord {
                    id: r.get(0)?,
                    at_ms: r.get(1)?,
                    actor_id: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    outcome: r.get(5)?,
                    details: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

#[cfg(test)]
mod tests;
