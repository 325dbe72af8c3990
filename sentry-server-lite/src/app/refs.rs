//! The policy's view of stored rows: [`TeamRef`], [`ProjectRef`] and issue resources.

use crate::policy::{ProjectRef, Resource, TeamRef};
use crate::store::{Issue, Project, Store, StoreError, Team};

/// The policy's view of a team.
pub fn team_ref(team: &Team) -> TeamRef {
    TeamRef {
        id: team.id,
        owner_id: team.owner_id,
    }
}

/// The policy's view of a project (looks up its team's owner).
pub fn project_ref(store: &dyn Store, project: &Project) -> Result<ProjectRef, StoreError> {
    let team_owner = store.team_by_id(project.team_id)?.and_then(|t| t.owner_id);
    Ok(ProjectRef {
        id: project.id,
        team: TeamRef {
            id: project.team_id,
            owner_id: team_owner,
        },
        owner_id: project.owner_id,
        is_public: project.is_public,
    })
}

/// An issue as the policy's resource (`by_share_link`: opened through its share link).
pub fn issue_resource(project: ProjectRef, issue: &Issue, by_share_link: bool) -> Resource {
    Resource::Issue {
        project,
        is_public: issue.is_public,
        by_share_link,
    }
}
