//! The SQLite schema and its migrations, applied in order at open time.
//!
//! Each entry is applied once, in its own transaction, and recorded in
//! `schema_migrations`. Never edit a released migration: append a new one. The
//! PostgreSQL schema ([`super::postgres`]) has the same tables and columns.

/// `(version, name, sql)`, in order.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", INITIAL),
    (2, "accounts", ACCOUNTS),
    (3, "event_tags", EVENT_TAGS),
    (4, "issue_tags_live", ISSUE_TAGS_LIVE),
    (5, "project_scrubbing", PROJECT_SCRUBBING),
    (
        super::alerts::SQLITE_VERSION,
        "alerts",
        super::alerts::SQLITE,
    ),
    (super::logs::SQLITE_VERSION, "logs", super::logs::SQLITE),
    (
        super::health::SQLITE_VERSION,
        "health",
        super::health::SQLITE,
    ),
    (
        super::feedback::SQLITE_VERSION,
        "feedback_attachments",
        super::feedback::SQLITE,
    ),
];

/// Each project's data-scrubbing settings (JSON, see `ScrubSettings`; empty: defaults).
const PROJECT_SCRUBBING: &str =
    "ALTER TABLE projects ADD COLUMN scrubbing TEXT NOT NULL DEFAULT '';";

const INITIAL: &str = r#"
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL,
    email_lower   TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    is_superuser  INTEGER NOT NULL DEFAULT 0,
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    owner_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);

-- A user's role in a team: admin, member or agent (the accounts issue enforces them).
CREATE TABLE memberships (
    team_id    INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'agent')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE projects (
    id              INTEGER PRIMARY KEY,
    team_id         INTEGER NOT NULL REFERENCES teams(id),
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    owner_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    is_public       INTEGER NOT NULL DEFAULT 0,
    allowed_origins TEXT NOT NULL DEFAULT '*',
    created_at      INTEGER NOT NULL
);

CREATE TABLE project_keys (
    id                INTEGER PRIMARY KEY,
    project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    public_key        TEXT NOT NULL UNIQUE,
    secret_key        TEXT NOT NULL,
    label             TEXT NOT NULL DEFAULT 'Default',
    is_active         INTEGER NOT NULL DEFAULT 1,
    rate_limit_count  INTEGER,
    rate_limit_window INTEGER,
    created_at        INTEGER NOT NULL
);
CREATE INDEX project_keys_project ON project_keys(project_id);

-- API tokens are random 32-byte secrets; only their sha256 is kept.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per group of events. The unique key makes grouping a single upsert.
CREATE TABLE issues (
    id               INTEGER PRIMARY KEY,
    project_id       INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    grouping_version TEXT NOT NULL,
    grouping_hash    TEXT NOT NULL,
    title            TEXT NOT NULL,
    culprit          TEXT NOT NULL,
    level            TEXT NOT NULL,
    platform         TEXT NOT NULL,
    issue_type       TEXT NOT NULL,
    metadata         TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'unresolved',
    substatus        TEXT NOT NULL DEFAULT 'new',
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    times_seen       INTEGER NOT NULL DEFAULT 1,
    resolved_at      INTEGER,
    regressed_by     TEXT,  -- event id that reopened it last (tells the writer it regressed)
    is_public        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, grouping_version, grouping_hash)
);
CREATE INDEX issues_list ON issues(project_id, last_seen DESC);
CREATE INDEX issues_status ON issues(project_id, status, last_seen DESC);

-- Events: indexed columns plus the body as received, zstd-compressed.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    issue_id    INTEGER,
    timestamp   INTEGER NOT NULL,
    received    INTEGER NOT NULL,
    level       TEXT NOT NULL,
    platform    TEXT NOT NULL,
    release     TEXT,
    environment TEXT,
    title       TEXT NOT NULL,
    culprit     TEXT NOT NULL,
    message     TEXT NOT NULL,
    body        BLOB NOT NULL,
    body_size   INTEGER NOT NULL,
    UNIQUE (project_id, event_id)
);
CREATE INDEX events_issue ON events(issue_id, id DESC);
CREATE INDEX events_received ON events(received);

-- Tag values seen per issue, for filtering and the tag summary.
CREATE TABLE issue_tags (
    issue_id   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    times_seen INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (issue_id, key, value)
) WITHOUT ROWID;
CREATE INDEX issue_tags_lookup ON issue_tags(key, value, issue_id);
"#;

/// Accounts: roles, sessions, audit log (migration 2).
const ACCOUNTS: &str = r#"
-- Per-user bookmarks of issues.
CREATE TABLE bookmarks (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issue_id   INTEGER NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, issue_id)
) WITHOUT ROWID;
CREATE INDEX bookmarks_issue ON bookmarks(issue_id);

-- A public issue's share link: a random id, set while the issue is public.
ALTER TABLE issues ADD COLUMN share_id TEXT;
CREATE UNIQUE INDEX issues_share ON issues(share_id) WHERE share_id IS NOT NULL;

-- Web sessions: only the sha256 of the session token is kept.
CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Every permission-relevant change, and every refusal. Never holds secrets.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor_id INTEGER,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    details  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);
"#;

/// Each event's tags as stored at ingest (a JSON array of `[key, value]` pairs); NULL on
/// events stored before this migration (migration 3).
const EVENT_TAGS: &str = "ALTER TABLE events ADD COLUMN tags TEXT;";

/// What readers of tag counts select from, on both backends (PostgreSQL's view adds the
/// queued counts not folded yet; SQLite counts in place), so that the statement reading
/// them is the same (migration 4).
const ISSUE_TAGS_LIVE: &str = "CREATE VIEW issue_tags_live AS \
    SELECT issue_id, key, value, times_seen FROM issue_tags;";
