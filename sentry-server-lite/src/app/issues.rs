//! Issues: the search syntax of issue lists, viewing one (also through its share link),
//! resolving, bookmarking, sharing and deleting issues, one at a time or in bulk on a
//! project's list. Every action a request implies is checked on every issue before
//! anything changes; ids of other projects answer 404 like missing ones.

use super::audit::{self, Target};
use super::projects::{self, ProjectName};
use super::refs::{issue_resource, project_ref};
use super::{AppError, Caller};
use crate::policy::{Action, ProjectRef, Resource};
use crate::store::{Issue, IssueFilter, IssueStatus, Project, Store};

/// What a change asks for (`None` leaves it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IssueChanges {
    /// Resolve / unresolve.
    pub status: Option<IssueStatus>,
    /// The caller's own bookmark.
    pub bookmarked: Option<bool>,
    /// Shared publicly.
    pub public: Option<bool>,
}

impl IssueChanges {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        *self == IssueChanges::default()
    }

    /// The policy's actions the change needs.
    pub fn actions(&self) -> Vec<Action> {
        let mut out = Vec::new();
        if self.status.is_some() {
            out.push(Action::ResolveIssue);
        }
        if self.bookmarked.is_some() {
            out.push(Action::Bookmark);
        }
        match self.public {
            Some(true) => out.push(Action::MakeIssuePublic),
            Some(false) => out.push(Action::MakeIssuePrivate),
            None => {}
        }
        out
    }
}

/// The most `key:value` filters one search may have (each is a condition of the query;
/// SQLite refuses past ~1,000 of them).
pub const MAX_SEARCH_FILTERS: usize = 32;

/// The largest row offset a page of a list may start at (pages past it are refused with
/// 400, never wrapped).
pub const MAX_OFFSET: u64 = 1_000_000_000;

/// Parses Sentry-style search: `is:resolved`, `key:value` tag filters (values may be
/// quoted; at most [`MAX_SEARCH_FILTERS`]) and free text matched against title and
/// culprit.
pub fn parse_query(query: &str) -> Result<IssueFilter, String> {
    let mut filter = IssueFilter::default();
    let mut text = Vec::new();
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    for token in tokens {
        match token.split_once(':') {
            Some(("is", v)) => {
                filter.status = Some(
                    IssueStatus::parse(v).ok_or_else(|| format!("unknown status {v:?} in is:"))?,
                )
            }
            Some((k, v)) if !k.is_empty() && !v.is_empty() && !k.contains('/') => {
                filter.tags.push((k.to_owned(), v.to_owned()))
            }
            _ => text.push(token),
        }
    }
    if filter.tags.len() > MAX_SEARCH_FILTERS {
        return Err(format!(
            "too many filters: {} key:value filters, at most {MAX_SEARCH_FILTERS}",
            filter.tags.len()
        ));
    }
    if !text.is_empty() {
        filter.text = Some(text.join(" "));
    }
    Ok(filter)
}

/// An issue with its project, by id as given in an address (404 when there is none).
pub fn find(store: &dyn Store, id: &str) -> Result<(Issue, Project, ProjectRef), AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let issue = store.issue(id)?.ok_or(AppError::NotFound)?;
    let project = store
        .project_by_id(issue.project_id)?
        .ok_or(AppError::NotFound)?;
    let pref = project_ref(store, &project)?;
    Ok((issue, project, pref))
}

/// An issue the caller may view (404 when missing or invisible).
pub fn view(
    store: &dyn Store,
    caller: &Caller,
    id: &str,
) -> Result<(Issue, Project, ProjectRef), AppError> {
    let (issue, project, pref) = find(store, id)?;
    audit::authorize(
        store,
        caller,
        Action::ViewIssues,
        &issue_resource(pref, &issue, false),
        Target::issue(issue.id),
    )?;
    Ok((issue, project, pref))
}

/// A public issue by its share id, for anyone with the link.
pub fn view_shared(
    store: &dyn Store,
    caller: &Caller,
    share_id: &str,
) -> Result<(Issue, Project), AppError> {
    let issue = store
        .issue_by_share_id(share_id)?
        .ok_or(AppError::NotFound)?;
    let project = store
        .project_by_id(issue.project_id)?
        .ok_or(AppError::NotFound)?;
    let r = issue_resource(project_ref(store, &project)?, &issue, true);
    audit::authorize(
        store,
        caller,
        Action::ViewIssues,
        &r,
        Target::issue(issue.id),
    )?;
    Ok((issue, project))
}

fn apply(
    store: &dyn Store,
    caller: &Caller,
    issue_id: i64,
    c: IssueChanges,
) -> Result<(), AppError> {
    let target = Target::issue(issue_id);
    if let Some(status) = c.status {
        store.set_issue_status(issue_id, status)?;
        audit::record(
            store,
            caller,
            Action::ResolveIssue,
            target,
            format!("status={}", status.as_str()),
        )?;
    }
    if let (Some(on), Some(user)) = (c.bookmarked, caller.active_user()) {
        // A user's own bookmark: not a permission-relevant change, not audited.
        store.set_bookmark(user.id, issue_id, on)?;
    }
    if let Some(public) = c.public {
        store.set_issue_public(issue_id, public)?;
        let action = if public {
            Action::MakeIssuePublic
        } else {
            Action::MakeIssuePrivate
        };
        audit::record(store, caller, action, target, String::new())?;
    }
    Ok(())
}

fn remove(store: &dyn Store, caller: &Caller, issue_id: i64) -> Result<(), AppError> {
    store.delete_issue(issue_id)?;
    audit::record(
        store,
        caller,
        Action::DeleteIssue,
        Target::issue(issue_id),
        String::new(),
    )
}

/// Changes one issue; answers it as it is now, with its project.
pub fn change(
    store: &dyn Store,
    caller: &Caller,
    id: &str,
    changes: IssueChanges,
) -> Result<(Issue, Project), AppError> {
    let (issue, project, pref) = find(store, id)?;
    let r = issue_resource(pref, &issue, false);
    for action in changes.actions() {
        audit::authorize(store, caller, action, &r, Target::issue(issue.id))?;
    }
    apply(store, caller, issue.id, changes)?;
    let issue = store.issue(issue.id)?.ok_or(AppError::NotFound)?;
    Ok((issue, project))
}

/// Deletes one issue with its events; answers its project.
pub fn delete(store: &dyn Store, caller: &Caller, id: &str) -> Result<Project, AppError> {
    let (issue, project, pref) = find(store, id)?;
    audit::authorize(
        store,
        caller,
        Action::DeleteIssue,
        &issue_resource(pref, &issue, false),
        Target::issue(issue.id),
    )?;
    remove(store, caller, issue.id)?;
    Ok(project)
}

/// Checks every action on the project and on every issue of a bulk request.
fn bulk_targets(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    ids: &[i64],
    actions: &[Action],
) -> Result<(), AppError> {
    let project = projects::find(store, name)?;
    let pref = project_ref(store, &project)?;
    for action in actions {
        audit::authorize(
            store,
            caller,
            *action,
            &Resource::Project(pref),
            Target::project(project.id),
        )?;
    }
    for id in ids {
        let issue = store
            .issue(*id)?
            .filter(|i| i.project_id == project.id)
            .ok_or(AppError::NotFound)?;
        for action in actions {
            audit::authorize(
                store,
                caller,
                *action,
                &issue_resource(pref, &issue, false),
                Target::issue(*id),
            )?;
        }
    }
    Ok(())
}

/// Changes the issues `ids` of a project.
pub fn change_many(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    ids: &[i64],
    changes: IssueChanges,
) -> Result<(), AppError> {
    bulk_targets(store, caller, name, ids, &changes.actions())?;
    for id in ids {
        apply(store, caller, *id, changes)?;
    }
    Ok(())
}

/// Deletes the issues `ids` of a project.
pub fn delete_many(
    store: &dyn Store,
    caller: &Caller,
    name: ProjectName<'_>,
    ids: &[i64],
) -> Result<(), AppError> {
    bulk_targets(store, caller, name, ids, &[Action::DeleteIssue])?;
    for id in ids {
        remove(store, caller, *id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_syntax() {
        let f = parse_query(r#"is:resolved level:error release:"app 1.0" boom  here"#).expect("ok");
        assert_eq!(f.status, Some(IssueStatus::Resolved));
        assert_eq!(
            f.tags,
            vec![
                ("level".to_string(), "error".to_string()),
                ("release".to_string(), "app 1.0".to_string())
            ]
        );
        assert_eq!(f.text.as_deref(), Some("boom here"));
        assert!(parse_query("is:nope").is_err());
        assert_eq!(parse_query("").expect("empty"), IssueFilter::default());
    }
}
