//! Reading user feedback: a project's (the policy's `ViewIssues` on the project), and
//! an issue's (for the issue page, which has checked the issue already).

use super::projects::{self, ProjectName};
use super::{AppError, Caller};
use crate::policy::Action;
use crate::store::feedback::{self, StoredFeedback};
use crate::store::{Issue, Page, Project, Store};

/// Feedback shown on an issue's page at most.
pub const ON_ISSUE: i64 = 50;

/// A page of the project's feedback, newest first.
pub fn list(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    page: Page,
) -> Result<(Project, Vec<StoredFeedback>), AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ViewIssues)?;
    let rows = feedback::list_for_project(store, p.id, page)?;
    Ok((p, rows))
}

/// The feedback on an issue the caller was allowed to view, newest first (at most
/// [`ON_ISSUE`]).
pub fn on_issue(store: &dyn Store, issue: &Issue) -> Result<Vec<StoredFeedback>, AppError> {
    Ok(feedback::list_for_issue(store, issue.id, ON_ISSUE)?)
}
