//! Reading attachments: an event's list and one file's bytes, for whoever may read the
//! event. Through the project (the JSON API: the policy's `ViewIssues` on the project,
//! the check of the event detail endpoint) or through an issue (the issue page: the
//! check of that page); an attachment is only found under the event it belongs to.

use super::issues;
use super::projects::{self, ProjectName};
use super::{AppError, Caller};
use crate::policy::Action;
use crate::store::attachments::{self, StoredAttachment};
use crate::store::{Project, Store};

/// An event id as given in an address: dashes removed, lowercase.
pub fn event_id_of(given: &str) -> String {
    given
        .chars()
        .filter(|c| *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The project's stored event `event_id` (404 when there is none).
fn event_in(store: &dyn Store, project: &Project, event_id: &str) -> Result<(), AppError> {
    store
        .event(project.id, event_id)?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

/// The attachments of an event of the project `name`.
pub fn list(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    event_id: &str,
) -> Result<Vec<StoredAttachment>, AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ViewIssues)?;
    let event_id = event_id_of(event_id);
    event_in(store, &p, &event_id)?;
    Ok(attachments::list_for_event(store, p.id, &event_id)?)
}

/// One attachment of an event of the project `name`, with its bytes.
pub fn download(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    event_id: &str,
    id: &str,
) -> Result<(StoredAttachment, Vec<u8>), AppError> {
    let (p, _) = projects::checked(store, caller, name, Action::ViewIssues)?;
    let event_id = event_id_of(event_id);
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    attachments::get(store, p.id, id)?
        .filter(|(a, _)| a.event_id == event_id)
        .ok_or(AppError::NotFound)
}

/// One attachment of an event of the issue `issue_id` (as the issue page shows it), with
/// its bytes.
pub fn download_in_issue(
    store: &dyn Store,
    caller: &Caller,
    issue_id: &str,
    id: &str,
) -> Result<(StoredAttachment, Vec<u8>), AppError> {
    let (issue, project, _) = issues::view(store, caller, issue_id)?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let (a, bytes) = attachments::get(store, project.id, id)?.ok_or(AppError::NotFound)?;
    let event = store
        .event(project.id, &a.event_id)?
        .ok_or(AppError::NotFound)?;
    if event.issue_id != Some(issue.id) {
        return Err(AppError::NotFound);
    }
    Ok((a, bytes))
}
