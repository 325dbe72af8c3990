//! The rows and values that cross the [`super::Store`] interface.

use serde::{Deserialize, Serialize};

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// E-mail as entered.
    pub email: String,
    /// The argon2id PHC string (never serialized).
    #[serde(skip)]
    pub password_hash: String,
    /// Superusers may do everything.
    pub is_superuser: bool,
    /// Inactive users cannot log in or use tokens.
    pub is_active: bool,
}

/// A team; projects belong to exactly one team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Team {
    /// Row id.
    pub id: i64,
    /// URL slug, unique.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The owning user.
    pub owner_id: Option<i64>,
}

/// A project: what events are sent to (its id is the DSN's project id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Project {
    /// Row id, also the DSN project id (a positive integer, as official SDKs require).
    pub id: i64,
    /// The team it belongs to.
    pub team_id: i64,
    /// The team's slug.
    pub team_slug: String,
    /// URL slug, unique across the server.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The owning user.
    pub owner_id: Option<i64>,
    /// Readable anonymously (enforced by the accounts layer).
    pub is_public: bool,
    /// Allowed browser origins; `*` allows all.
    pub allowed_origins: Vec<String>,
    /// Data scrubbing at ingest (see `ingest::scrub`).
    pub scrubbing: ScrubSettings,
    /// Store the attachments sent with events (default on; off: they are dropped and
    /// counted).
    pub store_attachments: bool,
}

/// A project's data-scrubbing settings, applied at ingest before an event is stored
/// (`ingest::scrub`). Serialized with the names of Sentry's project API; stored as that
/// JSON in `projects.scrubbing` (empty: the defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ScrubSettings {
    /// Scrub the default sensitive keys and card numbers. Default on.
    pub data_scrubber: bool,
    /// More key names (matched case-insensitively, as parts of a key) whose values are
    /// scrubbed.
    pub sensitive_fields: Vec<String>,
    /// Key names (matched case-insensitively, whole) never scrubbed.
    pub safe_fields: Vec<String>,
    /// Scrub IP addresses: `user.ip_address`, `REMOTE_ADDR` in the request env and
    /// forwarding headers. Default off, as in Sentry.
    #[serde(rename = "scrubIPAddresses")]
    pub scrub_ip_addresses: bool,
}

impl Default for ScrubSettings {
    fn default() -> Self {
        ScrubSettings {
            data_scrubber: true,
            sensitive_fields: Vec::new(),
            safe_fields: Vec::new(),
            scrub_ip_addresses: false,
        }
    }
}

impl ScrubSettings {
    /// Most entries of `sensitiveFields` and of `safeFields`.
    pub const MAX_FIELDS: usize = 100;
    /// Most characters of one entry.
    pub const MAX_FIELD_CHARS: usize = 200;

    /// The settings of a stored `projects.scrubbing` value (the defaults when it is
    /// empty or unreadable).
    pub fn from_stored(text: &str) -> ScrubSettings {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// Checks the field lists: at most [`Self::MAX_FIELDS`] each, entries of 1 to
    /// [`Self::MAX_FIELD_CHARS`] characters without control characters; what is
    /// wrong otherwise.
    pub fn check(&self) -> Result<(), String> {
        for (name, list) in [
            ("sensitiveFields", &self.sensitive_fields),
            ("safeFields", &self.safe_fields),
        ] {
            if list.len() > Self::MAX_FIELDS {
                return Err(format!("{name}: at most {} entries", Self::MAX_FIELDS));
            }
            if let Some(bad) = list.iter().find(|f| {
                f.trim().is_empty()
                    || f.chars().count() > Self::MAX_FIELD_CHARS
                    || f.chars().any(char::is_control)
            }) {
                return Err(format!(
                    "{name}: {bad:?} is not a field name (1 to {} characters)",
                    Self::MAX_FIELD_CHARS
                ));
            }
        }
        Ok(())
    }
}

/// A per-key rate limit: at most `count` events per `window_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    /// Events allowed per window.
    pub count: u64,
    /// Window length in seconds.
    pub window_secs: u64,
}

/// A project key (the credentials in a DSN).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProjectKey {
    /// Row id.
    pub id: i64,
    /// The project it authenticates for.
    pub project_id: i64,
    /// Public key, 32 lowercase hex characters.
    pub public_key: String,
    /// Legacy secret key, 32 lowercase hex characters.
    pub secret_key: String,
    /// Label.
    pub label: String,
    /// Revoked keys are refused.
    pub is_active: bool,
    /// Optional rate limit.
    pub rate_limit: Option<RateLimit>,
}

/// An event ready to be written: normalized, grouped and with its body compressed.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// Project id.
    pub project_id: i64,
    /// 32 lowercase hex characters.
    pub event_id: String,
    /// When the event happened (Unix ms, clamped to the receive time when absurd).
    pub timestamp_ms: i64,
    /// When the server received it (Unix ms).
    pub received_ms: i64,
    /// `fatal`, `error`, `warning`, `info` or `debug`.
    pub level: String,
    /// Platform (`other` when not sent).
    pub platform: String,
    /// Release, if any.
    pub release: Option<String>,
    /// Environment, if any.
    pub environment: Option<String>,
    /// Issue title derived from the event.
    pub title: String,
    /// Culprit (transaction or location).
    pub culprit: String,
    /// Searchable message text.
    pub message: String,
    /// Issue type: `error` (has an exception) or `default`.
    pub issue_type: String,
    /// Issue metadata (JSON object text: type, value, function, ...).
    pub metadata: String,
    /// Grouping algorithm version, e.g. `g1`.
    pub grouping_version: String,
    /// Hex sha256 grouping hash.
    pub grouping_hash: String,
    /// Tags (already trimmed and deduplicated).
    pub tags: Vec<(String, String)>,
    /// The event JSON as received, zstd-compressed.
    pub body_zstd: Vec<u8>,
    /// Uncompressed body size.
    pub body_size: usize,
}

/// What happened to an event in the writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Stored and counted in its issue.
    Stored {
        /// The issue it was grouped into.
        issue_id: i64,
        /// Whether the issue was created by this event.
        new_issue: bool,
        /// Whether a resolved issue was reopened by this event.
        regression: bool,
    },
    /// The project already had an event with this id (an SDK retry); nothing changed.
    Duplicate,
}

/// Issue status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueStatus {
    /// Open.
    Unresolved,
    /// Fixed; a new event reopens it as a regression.
    Resolved,
    /// Muted.
    Ignored,
}

impl IssueStatus {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueStatus::Unresolved => "unresolved",
            IssueStatus::Resolved => "resolved",
            IssueStatus::Ignored => "ignored",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unresolved" => Some(IssueStatus::Unresolved),
            "resolved" => Some(IssueStatus::Resolved),
            "ignored" | "muted" => Some(IssueStatus::Ignored),
            _ => None,
        }
    }
}

/// An issue: a group of events with the same grouping hash.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    /// Row id.
    pub id: i64,
    /// Project id.
    pub project_id: i64,
    /// Grouping algorithm version.
    pub grouping_version: String,
    /// Grouping hash.
    pub grouping_hash: String,
    /// Title.
    pub title: String,
    /// Culprit.
    pub culprit: String,
    /// Level of the latest event.
    pub level: String,
    /// Platform.
    pub platform: String,
    /// `error` or `default`.
    pub issue_type: String,
    /// Metadata JSON text.
    pub metadata: String,
    /// Status.
    pub status: IssueStatus,
    /// `new`, `ongoing` or `regressed`.
    pub substatus: String,
    /// First event (Unix ms).
    pub first_seen_ms: i64,
    /// Latest event (Unix ms).
    pub last_seen_ms: i64,
    /// Number of events ever grouped here (retention does not lower it).
    pub times_seen: u64,
    /// When it was last resolved (Unix ms).
    pub resolved_at_ms: Option<i64>,
    /// Shared publicly (accounts layer).
    pub is_public: bool,
}

/// Filter for issue lists.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IssueFilter {
    /// Only this status.
    pub status: Option<IssueStatus>,
    /// Every tag `key = value` must have been seen on the issue.
    pub tags: Vec<(String, String)>,
    /// Case-insensitive substring of title or culprit.
    pub text: Option<String>,
}

/// Offset pagination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

/// A stored event.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Row id.
    pub id: i64,
    /// Project id.
    pub project_id: i64,
    /// 32 hex.
    pub event_id: String,
    /// Issue id.
    pub issue_id: Option<i64>,
    /// Event time (Unix ms).
    pub timestamp_ms: i64,
    /// Receive time (Unix ms).
    pub received_ms: i64,
    /// Level.
    pub level: String,
    /// Platform.
    pub platform: String,
    /// Title.
    pub title: String,
    /// Culprit.
    pub culprit: String,
    /// Message text.
    pub message: String,
    /// The event JSON as received (decompressed).
    pub body: Vec<u8>,
    /// The event's tags as computed at ingest, in order; empty for events stored before
    /// tags were kept per event (readers then derive them from the body).
    pub tags: Vec<(String, String)>,
}

/// A tag value of an issue and how often it was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagCount {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
    /// Events with this value.
    pub count: u64,
}

/// What retention removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Events older than this many days (by receive time) are deleted; 0 keeps all.
    pub max_age_days: u64,
    /// Only the newest this-many events of each issue are kept; 0 keeps all.
    pub max_events_per_issue: u64,
    /// Upper bound of rows deleted per call, so one pass never stalls ingestion long.
    pub max_deletions: u64,
    /// Audit-log rows older than this many days are deleted (at most `max_deletions`
    /// per pass); 0 keeps all.
    pub audit_max_age_days: u64,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            max_age_days: 90,
            max_events_per_issue: 1000,
            max_deletions: 20_000,
            audit_max_age_days: 90,
        }
    }
}

/// Order of an issue list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IssueSort {
    /// Most recently seen first.
    #[default]
    LastSeen,
    /// Most recently created first.
    FirstSeen,
    /// Most events first.
    Events,
}

impl IssueSort {
    /// The URL name (`date`, `new`, `freq`, as Sentry's `sort=`).
    pub fn as_str(self) -> &'static str {
        match self {
            IssueSort::LastSeen => "date",
            IssueSort::FirstSeen => "new",
            IssueSort::Events => "freq",
        }
    }

    /// Parses the URL name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "date" => Some(IssueSort::LastSeen),
            "new" => Some(IssueSort::FirstSeen),
            "freq" => Some(IssueSort::Events),
            _ => None,
        }
    }
}

/// A query over a project's issues: a filter, an order and, optionally, only the issues
/// one user bookmarked. Free text (`filter.text`) matches title, culprit and the issue's
/// metadata (exception type and value, message).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IssueQuery {
    /// Status, tags and text.
    pub filter: IssueFilter,
    /// Order.
    pub sort: IssueSort,
    /// Only issues bookmarked by this user.
    pub bookmarked_by: Option<i64>,
}

/// One page of an issue list and how many issues match in all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IssuePage {
    /// The page.
    pub issues: Vec<Issue>,
    /// Matching issues in all pages.
    pub total: u64,
}

/// Which events a histogram counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventScope {
    /// The stored events of a project.
    Project(i64),
    /// The stored events of an issue.
    Issue(i64),
}

/// An event's neighbours in its issue, by arrival order, as event ids (32 hex).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventNeighbors {
    /// The oldest stored event.
    pub oldest: Option<String>,
    /// The one received just before.
    pub previous: Option<String>,
    /// The one received just after.
    pub next: Option<String>,
    /// The newest stored event.
    pub latest: Option<String>,
}

/// An API token as its owner may see it (never the secret, which is not stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiTokenInfo {
    /// Row id.
    pub id: i64,
    /// Label.
    pub label: String,
    /// Created (Unix ms).
    pub created_at_ms: i64,
    /// Last used (Unix ms), when recorded.
    pub last_used_at_ms: Option<i64>,
}
