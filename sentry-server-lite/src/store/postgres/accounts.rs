//! The PostgreSQL implementation of [`AccountStore`].

use super::{
    conflict_or, issue_row, key_row, now_ms, rows, team_row, user_row, PgStore, ISSUE_COLS,
    KEY_COLS, TEAM_COLS, USER_COLS,
};
use crate::policy::Role;
use crate::secrets;
use crate::store::accounts::*;
use crate::store::{Issue, Project, ProjectKey, Store, StoreError, StoreResult, Team, User};

fn not_found(what: String) -> StoreError {
    StoreError::NotFound(what)
}

fn role_of(s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown role {s:?}")))
}

impl PgStore {
    fn update_one(
        &self,
        sql: &str,
        params: &[&(dyn ::postgres::types::ToSql + Sync)],
        what: String,
    ) -> StoreResult<()> {
        let n = self.with(|c| {
            c.client
                .execute(sql, params)
                .map_err(|e| conflict_or(e, &what))
        })?;
        if n == 0 {
            return Err(not_found(what));
        }
        Ok(())
    }
}

impl AccountStore for PgStore {
    fn token_user(&self, token_hash: &str) -> StoreResult<Option<User>> {
        self.query_opt(
            "SELECT u.id, u.email, u.password_hash, u.is_superuser, u.is_active \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
            &[&token_hash],
        )?
        .map(|r| user_row(&r))
        .transpose()
    }

    fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        self.query_opt(
            &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
            &[&id],
        )?
        .map(|r| user_row(&r))
        .transpose()
    }

    fn list_users(&self) -> StoreResult<Vec<User>> {
        rows(
            self.query(&format!("SELECT {USER_COLS} FROM users ORDER BY id"), &[])?,
            user_row,
        )
    }

    fn set_user_active(&self, user_id: i64, active: bool) -> StoreResult<()> {
        self.update_one(
            "UPDATE users SET is_active = $1 WHERE id = $2",
            &[&active, &user_id],
            format!("user {user_id}"),
        )
    }

    fn memberships_of(&self, user_id: i64) -> StoreResult<Vec<(i64, Role)>> {
        rows(
            self.query(
                "SELECT team_id, role FROM memberships WHERE user_id = $1",
                &[&user_id],
            )?,
            |r| Ok((r.try_get(0)?, role_of(r.try_get(1)?)?)),
        )
    }

    fn team_members(&self, team_id: i64) -> StoreResult<Vec<Member>> {
        rows(
            self.query(
                "SELECT u.id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE m.team_id = $1 ORDER BY u.id",
                &[&team_id],
            )?,
            |r| {
                Ok(Member {
                    user_id: r.try_get(0)?,
                    email: r.try_get(1)?,
                    role: role_of(r.try_get(2)?)?,
                })
            },
        )
    }

    fn set_membership(&self, team_id: i64, user_id: i64, role: Role) -> StoreResult<()> {
        self.with(|c| {
            c.client
                .execute(
                    "INSERT INTO memberships (team_id, user_id, role, created_at) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role",
                    &[&team_id, &user_id, &role.as_str(), &now_ms()],
                )
                .map_err(|e| conflict_or(e, "membership"))
        })?;
        Ok(())
    }

    fn remove_membership(&self, team_id: i64, user_id: i64) -> StoreResult<bool> {
        Ok(self.execute(
            "DELETE FROM memberships WHERE team_id = $1 AND user_id = $2",
            &[&team_id, &user_id],
        )? > 0)
    }

    fn team_by_id(&self, id: i64) -> StoreResult<Option<Team>> {
        self.query_opt(
            &format!("SELECT {TEAM_COLS} FROM teams WHERE id = $1"),
            &[&id],
        )?
        .map(|r| team_row(&r))
        .transpose()
    }

    fn list_teams(&self) -> StoreResult<Vec<Team>> {
        rows(
            self.query(&format!("SELECT {TEAM_COLS} FROM teams ORDER BY id"), &[])?,
            team_row,
        )
    }

    fn rename_team(&self, team_id: i64, name: &str) -> StoreResult<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("empty team name".into()));
        }
        self.update_one(
            "UPDATE teams SET name = $1 WHERE id = $2",
            &[&name, &team_id],
            format!("team {team_id}"),
        )
    }

    fn set_team_owner(&self, team_id: i64, owner_id: i64) -> StoreResult<()> {
        let n = self.with(|c| {
            c.client
                .execute(
                    "UPDATE teams SET owner_id = $1 WHERE id = $2",
                    &[&owner_id, &team_id],
                )
                .map_err(|e| conflict_or(e, "owner"))
        })?;
        if n == 0 {
            return Err(not_found(format!("team {team_id}")));
        }
        Ok(())
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
        let n = self.execute(
            "UPDATE projects SET name = COALESCE($1, name), \
               is_public = COALESCE($2, is_public), \
               allowed_origins = COALESCE($3, allowed_origins) \
             WHERE id = $4",
            &[
                &update.name.as_deref().map(str::trim),
                &update.is_public,
                &update.allowed_origins.as_ref().map(|o| o.join(" ")),
                &project_id,
            ],
        )?;
        if n == 0 {
            return Err(not_found(format!("project {project_id}")));
        }
        self.project_by_id(project_id)?
            .ok_or_else(|| not_found(format!("project {project_id}")))
    }

    fn set_project_owner(&self, project_id: i64, owner_id: i64) -> StoreResult<()> {
        let n = self.with(|c| {
            c.client
                .execute(
                    "UPDATE projects SET owner_id = $1 WHERE id = $2",
                    &[&owner_id, &project_id],
                )
                .map_err(|e| conflict_or(e, "owner"))
        })?;
        if n == 0 {
            return Err(not_found(format!("project {project_id}")));
        }
        Ok(())
    }

    fn move_project(&self, project_id: i64, team_id: i64) -> StoreResult<()> {
        let n = self.with(|c| {
            c.client
                .execute(
                    "UPDATE projects SET team_id = $1 WHERE id = $2",
                    &[&team_id, &project_id],
                )
                .map_err(|e| conflict_or(e, "team"))
        })?;
        if n == 0 {
            return Err(not_found(format!("project {project_id}")));
        }
        Ok(())
    }

    fn delete_project(&self, project_id: i64) -> StoreResult<bool> {
        self.with(|c| {
            let mut tx = c.client.transaction()?;
            // The queue first: a fold in progress holds its rows until it commits, and
            // the next statement then sees the counts it moved.
            tx.execute(
                "DELETE FROM tag_queue WHERE issue_id IN \
                 (SELECT id FROM issues WHERE project_id = $1)",
                &[&project_id],
            )?;
            tx.execute(
                "DELETE FROM issue_tags WHERE issue_id IN \
                 (SELECT id FROM issues WHERE project_id = $1)",
                &[&project_id],
            )?;
            tx.execute("DELETE FROM events WHERE project_id = $1", &[&project_id])?;
            tx.execute(
                "DELETE FROM bookmarks WHERE issue_id IN \
                 (SELECT id FROM issues WHERE project_id = $1)",
                &[&project_id],
            )?;
            tx.execute("DELETE FROM issues WHERE project_id = $1", &[&project_id])?;
            tx.execute(
                "DELETE FROM project_keys WHERE project_id = $1",
                &[&project_id],
            )?;
            let n = tx.execute("DELETE FROM projects WHERE id = $1", &[&project_id])?;
            tx.commit()?;
            Ok(n > 0)
        })
    }

    fn key_by_id(&self, key_id: i64) -> StoreResult<Option<ProjectKey>> {
        self.query_opt(
            &format!("SELECT {KEY_COLS} FROM project_keys WHERE id = $1"),
            &[&key_id],
        )?
        .map(|r| key_row(&r))
        .transpose()
    }

    fn set_issue_public(&self, issue_id: i64, public: bool) -> StoreResult<Option<String>> {
        let share = public.then(|| secrets::random_hex(16));
        let row = self.query_opt(
            "UPDATE issues SET is_public = $1, \
               share_id = CASE WHEN $1 THEN COALESCE(share_id, $2) ELSE NULL END \
             WHERE id = $3 RETURNING share_id",
            &[&public, &share, &issue_id],
        )?;
        match row {
            Some(r) => Ok(r.try_get(0)?),
            None => Err(not_found(format!("issue {issue_id}"))),
        }
    }

    fn issue_share_id(&self, issue_id: i64) -> StoreResult<Option<String>> {
        Ok(self
            .query_opt(
                "SELECT share_id FROM issues WHERE id = $1 AND is_public",
                &[&issue_id],
            )?
            .map(|r| r.try_get::<_, Option<String>>(0))
            .transpose()?
            .flatten())
    }

    fn issue_by_share_id(&self, share_id: &str) -> StoreResult<Option<Issue>> {
        self.query_opt(
            &format!("SELECT {ISSUE_COLS} FROM issues WHERE share_id = $1 AND is_public"),
            &[&share_id],
        )?
        .map(|r| issue_row(&r))
        .transpose()
    }

    fn set_bookmark(&self, user_id: i64, issue_id: i64, on: bool) -> StoreResult<()> {
        if on {
            self.with(|c| {
                c.client
                    .execute(
                        "INSERT INTO bookmarks (user_id, issue_id, created_at) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        &[&user_id, &issue_id, &now_ms()],
                    )
                    .map_err(|e| conflict_or(e, "bookmark"))
            })?;
        } else {
            self.execute(
                "DELETE FROM bookmarks WHERE user_id = $1 AND issue_id = $2",
                &[&user_id, &issue_id],
            )?;
        }
        Ok(())
    }

    fn bookmarked(&self, user_id: i64, issue_ids: &[i64]) -> StoreResult<Vec<i64>> {
        let marked: std::collections::HashSet<i64> = self
            .query(
                "SELECT issue_id FROM bookmarks WHERE user_id = $1 AND issue_id = ANY($2)",
                &[&user_id, &issue_ids],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        Ok(issue_ids
            .iter()
            .copied()
            .filter(|id| marked.contains(id))
            .collect())
    }

    fn delete_issue(&self, issue_id: i64) -> StoreResult<bool> {
        self.with(|c| {
            let mut tx = c.client.transaction()?;
            // The queue first (see `delete_project`).
            tx.execute("DELETE FROM tag_queue WHERE issue_id = $1", &[&issue_id])?;
            tx.execute("DELETE FROM issue_tags WHERE issue_id = $1", &[&issue_id])?;
            tx.execute("DELETE FROM events WHERE issue_id = $1", &[&issue_id])?;
            tx.execute("DELETE FROM bookmarks WHERE issue_id = $1", &[&issue_id])?;
            let n = tx.execute("DELETE FROM issues WHERE id = $1", &[&issue_id])?;
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
        self.with(|c| {
            c.client
                .execute(
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &token_hash,
                        &user_id,
                        &csrf_token,
                        &now_ms(),
                        &expires_at_ms,
                    ],
                )
                .map_err(|e| conflict_or(e, "session"))
        })?;
        Ok(())
    }

    fn session(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<SessionInfo>> {
        self.query_opt(
            "SELECT u.id, u.email, u.password_hash, u.is_superuser, u.is_active, \
                    s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.is_active",
            &[&token_hash, &now_ms],
        )?
        .map(|r| {
            Ok(SessionInfo {
                user: user_row(&r)?,
                csrf_token: r.try_get(5)?,
                expires_at_ms: r.try_get(6)?,
            })
        })
        .transpose()
    }

    fn delete_session(&self, token_hash: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])? > 0)
    }

    fn delete_user_sessions(&self, user_id: i64, keep: Option<&str>) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash IS DISTINCT FROM $2",
            &[&user_id, &keep],
        )
    }

    fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.execute(
            "INSERT INTO audit_log (at, actor_id, action, target, outcome, details) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &now_ms(),
                &entry.actor_id,
                &entry.action,
                &entry.target,
                &entry.outcome,
                &entry.details,
            ],
        )?;
        Ok(())
    }

    fn audit_log(&self, limit: u64) -> StoreResult<Vec<AuditRecord>> {
        rows(
            self.query(
                "SELECT id, at, actor_id, action, target, outcome, details FROM audit_log \
                 ORDER BY id DESC LIMIT $1",
                &[&(limit.min(i64::MAX as u64) as i64)],
            )?,
            |r| {
                Ok(AuditRecord {
                    id: r.try_get(0)?,
                    at_ms: r.try_get(1)?,
                    actor_id: r.try_get(2)?,
                    action: r.try_get(3)?,
                    target: r.try_get(4)?,
                    outcome: r.try_get(5)?,
                    details: r.try_get(6)?,
                })
            },
        )
    }
}
