//! The permission policy: one function, [`authorize`], decides every cell of the
//! permission table in `docs/permissions.md` from `(actor, action, resource)`.
//! The application layer ([`crate::app`]) asks it for every operation of the JSON API,
//! the web pages and the command line; nothing else checks roles.
//!
//! How the table is read:
//! - **Standing.** An actor's standing towards a resource is the strongest of: superuser;
//!   owner (the team's owner for team rows; the project's owner *or* its team's owner for
//!   project and issue rows); their role in the resource's team (`admin`, `member`,
//!   `agent`); otherwise *outsider* (logged in, no role there) or *anonymous*. Roles are
//!   per team only. An inactive user is anonymous everywhere. The command line acts as
//!   [`Actor::Operator`], whose standing is superuser everywhere.
//! - **Visibility.** Superusers, owners and team members see a team's projects. Outsiders
//!   and anonymous requests see a project only when it is public, and an issue when its
//!   project is public or the issue is public and opened through its share link. Team
//!   settings are never visible to outsiders.
//! - **Refusals.** A refused action on something the actor may not even see is
//!   [`Denied::NotFound`] (existence would leak). On something visible, anonymous actors
//!   get [`Denied::Unauthenticated`] (logging in may help), others [`Denied::Forbidden`].
//!
//! ```
//! use sentry_server_lite::policy::*;
//!
//! let team = TeamRef { id: 1, owner_id: Some(10) };
//! let project = ProjectRef { id: 5, team, owner_id: None, is_public: false };
//! let agent = Actor::user(20, false, true, [(1, Role::Agent)]);
//! let issue = Resource::Issue { project, is_public: false, by_share_link: false };
//! assert_eq!(authorize(&agent, Action::ViewIssues, &issue), Ok(()));
//! assert_eq!(authorize(&agent, Action::ResolveIssue, &issue), Err(Denied::Forbidden));
//! assert_eq!(authorize(&Actor::Anonymous, Action::ViewIssues, &issue), Err(Denied::NotFound));
//! ```

use std::collections::HashMap;
use std::fmt;

/// A user's role in one team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages the team's members and projects' settings.
    Admin,
    /// Works on issues.
    Member,
    /// Watches: sees issues, bookmarks, may hide or remove them, never resolves.
    Agent,
}

impl Role {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Agent => "agent",
        }
    }

    /// Parses the stored and API name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// No (valid) credentials.
    Anonymous,
    /// A logged-in user.
    User(UserActor),
    /// The server's operator at the command line (whoever holds the database): a
    /// superuser everywhere. The audit log names it `cli`.
    Operator,
}

/// A logged-in user with their roles, one per team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserActor {
    /// User id.
    pub id: i64,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Inactive users are treated as anonymous.
    pub is_active: bool,
    /// Role per team id.
    pub roles: HashMap<i64, Role>,
}

impl Actor {
    /// A user actor from its flags and `(team_id, role)` memberships.
    pub fn user(
        id: i64,
        is_superuser: bool,
        is_active: bool,
        roles: impl IntoIterator<Item = (i64, Role)>,
    ) -> Actor {
        Actor::User(UserActor {
            id,
            is_superuser,
            is_active,
            roles: roles.into_iter().collect(),
        })
    }

    /// The active user behind this actor (`None` for anonymous and inactive users).
    pub fn active_user(&self) -> Option<&UserActor> {
        match self {
            Actor::User(u) if u.is_active => Some(u),
            _ => None,
        }
    }

    /// The user id for audit records (also for inactive users), if any.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User(u) => Some(u.id),
            Actor::Anonymous | Actor::Operator => None,
        }
    }
}

/// Every row of the permission table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create a user / invite one (into a team: resource [`Resource::Team`]; sign-up or a
    /// plain account: [`Resource::Server`]).
    CreateUser,
    /// Create a team.
    CreateTeam,
    /// Create a project.
    CreateProject,
    /// See a team's settings pages (members, projects).
    ViewTeamSettings,
    /// Add/remove team members, set roles.
    ManageMembers,
    /// Rename the team.
    RenameTeam,
    /// Change the team's owner.
    ChangeTeamOwner,
    /// Edit project settings: name, public flag, allowed origins.
    EditProject,
    /// Manage project keys (create, revoke, rate limit), see secret keys.
    ManageKeys,
    /// Change the project's owner.
    ChangeProjectOwner,
    /// Move a project to another team.
    MoveProject,
    /// Delete a project.
    DeleteProject,
    /// View issues and events.
    ViewIssues,
    /// Resolve / unresolve an issue.
    ResolveIssue,
    /// Bookmark / unbookmark (own bookmark).
    Bookmark,
    /// Make an issue public.
    MakeIssuePublic,
    /// Make an issue private.
    MakeIssuePrivate,
    /// Remove (delete) an issue and its events.
    DeleteIssue,
    /// See a project's alert rules and their deliveries.
    ViewAlertRules,
    /// Create, edit and delete alert rules, send a test notification.
    ManageAlertRules,
}

impl Action {
    /// Every action, in table order.
    pub const ALL: [Action; 20] = [
        Action::CreateUser,
        Action::CreateTeam,
        Action::CreateProject,
        Action::ViewTeamSettings,
        Action::ManageMembers,
        Action::RenameTeam,
        Action::ChangeTeamOwner,
        Action::EditProject,
        Action::ManageKeys,
        Action::ChangeProjectOwner,
        Action::MoveProject,
        Action::DeleteProject,
        Action::ViewIssues,
        Action::ResolveIssue,
        Action::Bookmark,
        Action::MakeIssuePublic,
        Action::MakeIssuePrivate,
        Action::DeleteIssue,
        Action::ViewAlertRules,
        Action::ManageAlertRules,
    ];

    /// A stable name for logs and the audit trail.
    pub fn name(self) -> &'static str {
        match self {
            Action::CreateUser => "user.create",
            Action::CreateTeam => "team.create",
            Action::CreateProject => "project.create",
            Action::ViewTeamSettings => "team.view_settings",
            Action::ManageMembers => "team.manage_members",
            Action::RenameTeam => "team.rename",
            Action::ChangeTeamOwner => "team.change_owner",
            Action::EditProject => "project.edit",
            Action::ManageKeys => "project.manage_keys",
            Action::ChangeProjectOwner => "project.change_owner",
            Action::MoveProject => "project.move",
            Action::DeleteProject => "project.delete",
            Action::ViewIssues => "issue.view",
            Action::ResolveIssue => "issue.resolve",
            Action::Bookmark => "issue.bookmark",
            Action::MakeIssuePublic => "issue.make_public",
            Action::MakeIssuePrivate => "issue.make_private",
            Action::DeleteIssue => "issue.delete",
            Action::ViewAlertRules => "alert.view",
            Action::ManageAlertRules => "alert.manage",
        }
    }
}

/// A team as the policy needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TeamRef {
    /// Team id.
    pub id: i64,
    /// Owner user id.
    pub owner_id: Option<i64>,
}

/// A project as the policy needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectRef {
    /// Project id.
    pub id: i64,
    /// Its team.
    pub team: TeamRef,
    /// Owner user id.
    pub owner_id: Option<i64>,
    /// Readable anonymously.
    pub is_public: bool,
}

/// What an action is applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The server as a whole (creating teams and projects, sign-up).
    Server {
        /// Whether anonymous sign-up is enabled.
        signup_enabled: bool,
    },
    /// A team (its settings, members, owner; inviting users into it).
    Team(TeamRef),
    /// A project (its settings, keys, owner; its issues in bulk).
    Project(ProjectRef),
    /// One issue.
    Issue {
        /// Its project.
        project: ProjectRef,
        /// Shared publicly.
        is_public: bool,
        /// Opened through its share link (the only way a public issue of a private
        /// project is visible to outsiders).
        by_share_link: bool,
    },
}

/// Why an action was refused; maps to an HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// Not logged in (401).
    #[error("authentication required")]
    Unauthenticated,
    /// Logged in, not allowed (403).
    #[error("you do not have permission to perform this action")]
    Forbidden,
    /// Not visible to this actor: answer as if it did not exist (404).
    #[error("the requested resource does not exist")]
    NotFound,
}

impl Denied {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            Denied::Unauthenticated => 401,
            Denied::Forbidden => 403,
            Denied::NotFound => 404,
        }
    }
}

/// The actor's standing towards a resource (strongest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    Superuser,
    Owner,
    Role(Role),
    Outsider,
    Anonymous,
}

fn standing(actor: &Actor, resource: &Resource) -> Standing {
    if *actor == Actor::Operator {
        return Standing::Superuser;
    }
    let Some(user) = actor.active_user() else {
        return Standing::Anonymous;
    };
    if user.is_superuser {
        return Standing::Superuser;
    }
    let owns = |owner: Option<i64>| owner == Some(user.id);
    let (team, project_owner) = match resource {
        Resource::Server { .. } => return Standing::Outsider,
        Resource::Team(team) => (*team, None),
        Resource::Project(p) | Resource::Issue { project: p, .. } => (p.team, p.owner_id),
    };
    if owns(team.owner_id) || owns(project_owner) {
        return Standing::Owner;
    }
    match user.roles.get(&team.id) {
        Some(role) => Standing::Role(*role),
        None => Standing::Outsider,
    }
}

/// Whether the resource is visible to someone with this standing.
fn visible(standing: Standing, resource: &Resource) -> bool {
    match standing {
        Standing::Superuser | Standing::Owner | Standing::Role(_) => true,
        Standing::Outsider | Standing::Anonymous => match resource {
            Resource::Server { .. } => true,
            Resource::Team(_) => false,
            Resource::Project(p) => p.is_public,
            Resource::Issue {
                project,
                is_public,
                by_share_link,
            } => project.is_public || (*is_public && *by_share_link),
        },
    }
}

/// The table itself: whether this standing may do this action (visibility aside).
fn allowed(action: Action, standing: Standing, resource: &Resource) -> bool {
    use Standing::*;
    let on_project = matches!(resource, Resource::Project(_));
    let on_issues = matches!(resource, Resource::Project(_) | Resource::Issue { .. });
    let managers = matches!(standing, Superuser | Owner | Role(self::Role::Admin));
    let workers = managers || standing == Role(self::Role::Member);
    let everyone_inside = workers || standing == Role(self::Role::Agent);
    match action {
        Action::CreateUser => match resource {
            Resource::Server { signup_enabled } => {
                standing == Superuser || (standing == Anonymous && *signup_enabled)
            }
            Resource::Team(_) => managers,
            _ => false,
        },
        Action::CreateTeam | Action::CreateProject => {
            matches!(resource, Resource::Server { .. }) && standing == Superuser
        }
        Action::ViewTeamSettings | Action::ManageMembers | Action::RenameTeam => {
            matches!(resource, Resource::Team(_)) && managers
        }
        Action::ChangeTeamOwner => {
            matches!(resource, Resource::Team(_)) && matches!(standing, Superuser | Owner)
        }
        Action::EditProject | Action::ManageKeys | Action::ManageAlertRules => {
            on_project && managers
        }
        Action::ViewAlertRules => on_project && everyone_inside,
        Action::ChangeProjectOwner | Action::DeleteProject => {
            on_project && matches!(standing, Superuser | Owner)
        }
        Action::MoveProject => on_project && standing == Superuser,
        Action::ViewIssues => {
            on_issues
                && (everyone_inside
                    || (matches!(standing, Outsider | Anonymous) && visible(standing, resource)))
        }
        Action::ResolveIssue | Action::MakeIssuePublic => on_issues && workers,
        Action::Bookmark | Action::MakeIssuePrivate | Action::DeleteIssue => {
            on_issues && everyone_inside
        }
    }
}

/// Decides one cell of the permission table. `Ok(())` means go ahead; a refusal says
/// which HTTP answer to give (see the module documentation).
pub fn authorize(actor: &Actor, action: Action, resource: &Resource) -> Result<(), Denied> {
    let standing = standing(actor, resource);
    if allowed(action, standing, resource) {
        return Ok(());
    }
    if !visible(standing, resource) {
        return Err(Denied::NotFound);
    }
    if standing == Standing::Anonymous {
        return Err(Denied::Unauthenticated);
    }
    Err(Denied::Forbidden)
}

/// Whether [`authorize`] allows it (for showing or hiding buttons).
pub fn can(actor: &Actor, action: Action, resource: &Resource) -> bool {
    authorize(actor, action, resource).is_ok()
}

#[cfg(test)]
mod tests;
