//! The row mappings of both backends, written once: each entity's column list (what the
//! shared statements select) and the function that reads a row of it through
//! [`SqlRow`]. Also the stored form of an event's tags.

use super::sql::SqlRow;
use super::{
    Issue, IssueStatus, Project, ProjectKey, RateLimit, StoreError, StoreResult, StoredEvent, Team,
    User,
};

/// Columns of [`user`].
pub const USER_COLS: &str = "id, email, password_hash, is_superuser, is_active";
/// A user row.
pub fn user(r: &dyn SqlRow) -> StoreResult<User> {
    Ok(User {
        id: r.int(0)?,
        email: r.text(1)?,
        password_hash: r.text(2)?,
        is_superuser: r.flag(3)?,
        is_active: r.flag(4)?,
    })
}

/// Columns of [`team`].
pub const TEAM_COLS: &str = "id, slug, name, owner_id";
/// A team row.
pub fn team(r: &dyn SqlRow) -> StoreResult<Team> {
    Ok(Team {
        id: r.int(0)?,
        slug: r.text(1)?,
        name: r.text(2)?,
        owner_id: r.opt_int(3)?,
    })
}

/// Columns of [`project`] (`projects p JOIN teams t`).
pub const PROJECT_COLS: &str =
    "p.id, p.team_id, t.slug, p.slug, p.name, p.owner_id, p.is_public, p.allowed_origins, \
     p.scrubbing, p.store_attachments";
/// A project row.
pub fn project(r: &dyn SqlRow) -> StoreResult<Project> {
    let origins = r.text(7)?;
    Ok(Project {
        id: r.int(0)?,
        team_id: r.int(1)?,
        team_slug: r.text(2)?,
        slug: r.text(3)?,
        name: r.text(4)?,
        owner_id: r.opt_int(5)?,
        is_public: r.flag(6)?,
        allowed_origins: origins
            .split_whitespace()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        scrubbing: super::types::ScrubSettings::from_stored(&r.text(8)?),
        store_attachments: r.flag(9)?,
    })
}

/// Columns of [`key`].
pub const KEY_COLS: &str =
    "id, project_id, public_key, secret_key, label, is_active, rate_limit_count, rate_limit_window";
/// A project key row.
pub fn key(r: &dyn SqlRow) -> StoreResult<ProjectKey> {
    let count = r.opt_int(6)?;
    let window = r.opt_int(7)?;
    Ok(ProjectKey {
        id: r.int(0)?,
        project_id: r.int(1)?,
        public_key: r.text(2)?,
        secret_key: r.text(3)?,
        label: r.text(4)?,
        is_active: r.flag(5)?,
        rate_limit: match (count, window) {
            (Some(c), Some(w)) if c >= 0 && w > 0 => Some(RateLimit {
                count: c as u64,
                window_secs: w as u64,
            }),
            _ => None,
        },
    })
}

/// Columns of [`issue`].
pub const ISSUE_COLS: &str = "id, project_id, grouping_version, grouping_hash, title, \
    culprit, level, platform, issue_type, metadata, status, substatus, first_seen, last_seen, \
    times_seen, resolved_at, is_public";
/// An issue row.
pub fn issue(r: &dyn SqlRow) -> StoreResult<Issue> {
    let status = r.text(10)?;
    Ok(Issue {
        id: r.int(0)?,
        project_id: r.int(1)?,
        grouping_version: r.text(2)?,
        grouping_hash: r.text(3)?,
        title: r.text(4)?,
        culprit: r.text(5)?,
        level: r.text(6)?,
        platform: r.text(7)?,
        issue_type: r.text(8)?,
        metadata: r.text(9)?,
        status: IssueStatus::parse(&status).unwrap_or(IssueStatus::Unresolved),
        substatus: r.text(11)?,
        first_seen_ms: r.int(12)?,
        last_seen_ms: r.int(13)?,
        times_seen: r.count(14)?,
        resolved_at_ms: r.opt_int(15)?,
        is_public: r.flag(16)?,
    })
}

/// Columns of [`event`].
pub const EVENT_COLS: &str = "id, project_id, event_id, issue_id, timestamp, received, level, \
    platform, title, culprit, message, body, tags";
/// An event row: the body decompressed, the tags decoded (none on rows stored before
/// tags were kept per event).
pub fn event(r: &dyn SqlRow) -> StoreResult<StoredEvent> {
    let compressed = r.blob(11)?;
    let body = zstd::stream::decode_all(&compressed[..])
        .map_err(|e| StoreError::Corrupt(format!("event body: {e}")))?;
    Ok(StoredEvent {
        id: r.int(0)?,
        project_id: r.int(1)?,
        event_id: r.text(2)?,
        issue_id: r.opt_int(3)?,
        timestamp_ms: r.int(4)?,
        received_ms: r.int(5)?,
        level: r.text(6)?,
        platform: r.text(7)?,
        title: r.text(8)?,
        culprit: r.text(9)?,
        message: r.text(10)?,
        body,
        tags: decode_tags(r.opt_text(12)?.as_deref())?,
    })
}

/// An event's tags as the `events.tags` column keeps them: a JSON array of
/// `[key, value]` pairs, in the event's order.
pub fn encode_tags(tags: &[(String, String)]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

/// The tags of an `events.tags` value; NULL (an event stored before the column existed)
/// reads as no tags.
pub fn decode_tags(stored: Option<&str>) -> StoreResult<Vec<(String, String)>> {
    match stored {
        None => Ok(Vec::new()),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("event tags: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_null_is_none() {
        let tags = vec![
            ("browser".to_owned(), "Firefox \"x\"".to_owned()),
            ("level".to_owned(), "error".to_owned()),
        ];
        assert_eq!(decode_tags(Some(&encode_tags(&tags))).ok(), Some(tags));
        assert_eq!(decode_tags(None).ok(), Some(Vec::new()));
        assert!(decode_tags(Some("{")).is_err());
    }
}
