//! Storage for accounts and permissions: memberships, team and project administration,
//! issue sharing and bookmarks, sessions and the audit log. A supertrait of
//! [`super::Store`], so every backend provides it.

use serde::Serialize;

use super::{Issue, Project, ProjectKey, StoreResult, Team, User};
use crate::policy::Role;

/// A team member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// User id.
    pub user_id: i64,
    /// E-mail.
    pub email: String,
    /// Role in the team.
    pub role: Role,
}

/// Changes to a project's settings (`None` leaves a field as it is).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New public flag.
    pub is_public: Option<bool>,
    /// New allowed origins.
    pub allowed_origins: Option<Vec<String>>,
    /// New data-scrubbing settings (all of them).
    pub scrubbing: Option<super::types::ScrubSettings>,
    /// Whether attachments are stored.
    pub store_attachments: Option<bool>,
}

/// A new audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Who (user id; `None` for anonymous or the command line without a user).
    pub actor_id: Option<i64>,
    /// What, e.g. `team.rename` (see [`crate::policy::Action::name`]).
    pub action: String,
    /// On what, e.g. `team:3`.
    pub target: String,
    /// `ok`, or the refusal (`forbidden`, `not_found`, `unauthenticated`).
    pub outcome: String,
    /// Non-secret details (new values).
    pub details: String,
}

/// A stored audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Row id.
    pub id: i64,
    /// When (Unix ms).
    pub at_ms: i64,
    /// Who.
    pub actor_id: Option<i64>,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// Outcome.
    pub outcome: String,
    /// Details.
    pub details: String,
}

/// A live web session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The user (active users only).
    pub user: User,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// Expiry (Unix ms).
    pub expires_at_ms: i64,
}

/// Accounts storage; see the module documentation.
pub trait AccountStore: super::sql::Database {
    /// The user an API token (by hash) belongs to, active or not (an inactive user's
    /// requests are then treated as anonymous by the policy).
    fn token_user(&self, token_hash: &str) -> StoreResult<Option<User>> {
        super::account_ops::token_user(self, token_hash)
    }
    /// A user by id.
    fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        super::account_ops::user_by_id(self, id)
    }
    /// All users, by id.
    fn list_users(&self) -> StoreResult<Vec<User>> {
        super::account_ops::list_users(self)
    }
    /// Activates or deactivates a user.
    fn set_user_active(&self, user_id: i64, active: bool) -> StoreResult<()> {
        super::account_ops::set_user_active(self, user_id, active)
    }
    /// A user's `(team_id, role)` memberships.
    fn memberships_of(&self, user_id: i64) -> StoreResult<Vec<(i64, Role)>> {
        super::account_ops::memberships_of(self, user_id)
    }
    /// A team's members.
    fn team_members(&self, team_id: i64) -> StoreResult<Vec<Member>> {
        super::account_ops::team_members(self, team_id)
    }
    /// Adds a member or changes their role.
    fn set_membership(&self, team_id: i64, user_id: i64, role: Role) -> StoreResult<()> {
        super::account_ops::set_membership(self, team_id, user_id, role)
    }
    /// Removes a member; whether they were one.
    fn remove_membership(&self, team_id: i64, user_id: i64) -> StoreResult<bool> {
        super::account_ops::remove_membership(self, team_id, user_id)
    }
    /// A team by id.
    fn team_by_id(&self, id: i64) -> StoreResult<Option<Team>> {
        super::account_ops::team_by_id(self, id)
    }
    /// All teams.
    fn list_teams(&self) -> StoreResult<Vec<Team>> {
        super::account_ops::list_teams(self)
    }
    /// Renames a team.
    fn rename_team(&self, team_id: i64, name: &str) -> StoreResult<()> {
        super::account_ops::rename_team(self, team_id, name)
    }
    /// Sets a team's owner.
    fn set_team_owner(&self, team_id: i64, owner_id: i64) -> StoreResult<()> {
        super::account_ops::set_team_owner(self, team_id, owner_id)
    }
    /// Updates a project's settings and returns it.
    fn update_project(&self, project_id: i64, update: &ProjectUpdate) -> StoreResult<Project> {
        super::account_ops::update_project(self, project_id, update)
    }
    /// Sets a project's owner.
    fn set_project_owner(&self, project_id: i64, owner_id: i64) -> StoreResult<()> {
        super::account_ops::set_project_owner(self, project_id, owner_id)
    }
    /// Moves a project to another team (nothing else changes).
    fn move_project(&self, project_id: i64, team_id: i64) -> StoreResult<()> {
        super::account_ops::move_project(self, project_id, team_id)
    }
    /// Deletes a project with its keys, issues and events; whether it existed.
    fn delete_project(&self, project_id: i64) -> StoreResult<bool> {
        super::account_ops::delete_project(self, project_id)
    }
    /// A key by id.
    fn key_by_id(&self, key_id: i64) -> StoreResult<Option<ProjectKey>> {
        super::account_ops::key_by_id(self, key_id)
    }
    /// Makes an issue public (returning its new share id) or private (`None`).
    fn set_issue_public(&self, issue_id: i64, public: bool) -> StoreResult<Option<String>> {
        super::account_ops::set_issue_public(self, issue_id, public)
    }
    /// The share id of a public issue.
    fn issue_share_id(&self, issue_id: i64) -> StoreResult<Option<String>> {
        super::account_ops::issue_share_id(self, issue_id)
    }
    /// A public issue by its share id.
    fn issue_by_share_id(&self, share_id: &str) -> StoreResult<Option<Issue>> {
        super::account_ops::issue_by_share_id(self, share_id)
    }
    /// Sets or clears a user's bookmark on an issue.
    fn set_bookmark(&self, user_id: i64, issue_id: i64, on: bool) -> StoreResult<()> {
        super::account_ops::set_bookmark(self, user_id, issue_id, on)
    }
    /// Which of `issue_ids` the user bookmarked.
    fn bookmarked(&self, user_id: i64, issue_ids: &[i64]) -> StoreResult<Vec<i64>> {
        super::account_ops::bookmarked(self, user_id, issue_ids)
    }
    /// Deletes an issue with its events, tags and bookmarks; whether it existed.
    fn delete_issue(&self, issue_id: i64) -> StoreResult<bool> {
        super::account_ops::delete_issue(self, issue_id)
    }
    /// Stores a session by the hash of its token.
    fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        super::account_ops::create_session(self, token_hash, user_id, csrf_token, expires_at_ms)
    }
    /// The live session of a token hash (expired sessions and inactive users: `None`).
    fn session(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<SessionInfo>> {
        super::account_ops::session(self, token_hash, now_ms)
    }
    /// Ends a session; whether it existed. Of two instances deleting the same session at
    /// once, exactly one sees `true` (an invitation is used once across the cluster).
    fn delete_session(&self, token_hash: &str) -> StoreResult<bool> {
        super::account_ops::delete_session(self, token_hash)
    }
    /// Ends every session of a user (logins and pending invitations) except the one whose
    /// token hash is `keep`; how many ended.
    fn delete_user_sessions(&self, user_id: i64, keep: Option<&str>) -> StoreResult<u64> {
        super::account_ops::delete_user_sessions(self, user_id, keep)
    }
    /// Appends to the audit log.
    fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        super::account_ops::audit(self, entry)
    }
    /// The newest audit records, newest first.
    fn audit_log(&self, limit: u64) -> StoreResult<Vec<AuditRecord>> {
        super::account_ops::audit_log(self, limit)
    }
}
