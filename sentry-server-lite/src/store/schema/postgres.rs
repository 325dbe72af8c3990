//! The PostgreSQL schema and its migrations, with the advisory lock keys of the backend.
//!
//! The tables mirror the SQLite schema (same names, same columns, ids preserved by
//! `db copy`), with PostgreSQL types: `BIGINT` identities (`BY DEFAULT`, so copied rows
//! keep their ids), `BOOLEAN` flags and `BYTEA` bodies. Migrations run in one transaction
//! under an advisory lock, so instances starting at the same moment apply them once.
//! Never edit a released migration: append a new one.

use ::postgres::Client;

use crate::store::StoreResult;

/// `(version, name, sql)`, in order.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", INITIAL),
    (2, "tag_queue", TAG_QUEUE),
    (3, "login_attempts", LOGIN_ATTEMPTS),
    (4, "key_changes", KEY_CHANGES),
    (5, "event_tags", EVENT_TAGS),
    (6, "project_scrubbing", PROJECT_SCRUBBING),
    (
        super::alerts::POSTGRES_VERSION,
        "alerts",
        super::alerts::POSTGRES,
    ),
    (super::logs::POSTGRES_VERSION, "logs", super::logs::POSTGRES),
    (
        super::health::POSTGRES_VERSION,
        "health",
        super::health::POSTGRES,
    ),
    (
        super::feedback::POSTGRES_VERSION,
        "feedback_attachments",
        super::feedback::POSTGRES,
    ),
];

/// Each project's data-scrubbing settings (JSON, see `ScrubSettings`; empty: defaults).
const PROJECT_SCRUBBING: &str =
    "ALTER TABLE projects ADD COLUMN scrubbing TEXT NOT NULL DEFAULT '';";

/// Each event's tags as stored at ingest (a JSON array of `[key, value]` pairs); NULL on
/// events stored before this migration. The same column as SQLite's migration 3.
const EVENT_TAGS: &str = "ALTER TABLE events ADD COLUMN tags TEXT;";

/// Every change of a project key, or of a project (its allowed origins, or its deletion),
/// notifies the channel `sentry_lite_keys` at commit, whoever makes it: each instance's
/// listener then empties its key cache.
const KEY_CHANGES: &str = r#"
CREATE FUNCTION sentry_lite_notify_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sentry_lite_keys', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER project_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON project_keys FOR EACH STATEMENT EXECUTE FUNCTION sentry_lite_notify_keys();
CREATE TRIGGER projects_changed AFTER UPDATE OR DELETE OR TRUNCATE
    ON projects FOR EACH STATEMENT EXECUTE FUNCTION sentry_lite_notify_keys();
"#;

/// The web UI's failed-login throttle, shared by every instance: attempts per e-mail in
/// the current window (rows of windows over a day old are removed by retention).
const LOGIN_ATTEMPTS: &str = r#"
CREATE TABLE login_attempts (
    email        TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts     BIGINT NOT NULL
);
"#;

/// Advisory lock keys (one namespace for the whole schema).
pub const LOCK_MIGRATIONS: i64 = 0x5e17_0001;
/// Held (per transaction) by the retention pass: one instance at a time.
pub const LOCK_RETENTION: i64 = 0x5e17_0002;
/// Held (per session) by the instance whose background thread folds queued tag counts
/// every second; the others fold only now and then (see `background::start_folder`).
pub const LOCK_TAG_FOLDER: i64 = 0x5e17_0003;
/// Held (per transaction) by the cron-monitor scheduler's pass: one instance at a time
/// marks missed and timed-out runs and opens or resolves monitor issues.
pub const LOCK_MONITORS: i64 = 0x5e17_0009;

/// Tables in dependency order (parents first), with their identity column if any.
pub const TABLES: &[(&str, bool)] = &[
    ("users", true),
    ("teams", true),
    ("memberships", false),
    ("projects", true),
    ("project_keys", true),
    ("api_tokens", true),
    ("settings", false),
    ("issues", true),
    ("events", true),
    ("issue_tags", false),
    ("bookmarks", false),
    ("sessions", true),
    ("audit_log", true),
    ("alert_rules", true),
    ("alert_deliveries", true),
    ("alert_volume", false),
    ("attachments", true),
    ("user_feedback", true),
    ("logs", true),
    ("health_sessions", false),
    ("health_session_states", false),
    ("health_users", false),
    ("monitors", true),
    ("monitor_checkins", true),
];

/// Tag counts of committed batches not yet added to `issue_tags` (see
/// `ingest::fold_tags`): one row per issue per batch, the batch's counts as parallel arrays.
/// Readers add these rows to `issue_tags`, so counts are exact at any moment.
const TAG_QUEUE: &str = r#"
CREATE TABLE tag_queue (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id BIGINT NOT NULL,
    keys     TEXT[] NOT NULL,
    vals     TEXT[] NOT NULL,
    counts   BIGINT[] NOT NULL,
    firsts   BIGINT[] NOT NULL,
    lasts    BIGINT[] NOT NULL
);
CREATE INDEX tag_queue_issue ON tag_queue(issue_id);

-- What readers count: folded rows plus queued ones (sum per key and value).
CREATE VIEW issue_tags_live AS
    SELECT issue_id, key, value, times_seen FROM issue_tags
    UNION ALL
    SELECT q.issue_id, u.key, u.value, u.times_seen
    FROM tag_queue q, unnest(q.keys, q.vals, q.counts) AS u(key, value, times_seen);
"#;

const INITIAL: &str = r#"
CREATE TABLE users (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email         TEXT NOT NULL,
    email_lower   TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    is_superuser  BOOLEAN NOT NULL DEFAULT FALSE,
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE teams (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    owner_id   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    team_id    BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'member', 'agent')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE projects (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    team_id         BIGINT NOT NULL REFERENCES teams(id),
    slug            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    owner_id        BIGINT REFERENCES users(id) ON DELETE SET NULL,
    is_public       BOOLEAN NOT NULL DEFAULT FALSE,
    allowed_origins TEXT NOT NULL DEFAULT '*',
    created_at      BIGINT NOT NULL
);

CREATE TABLE project_keys (
    id                BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    project_id        BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    public_key        TEXT NOT NULL UNIQUE,
    secret_key        TEXT NOT NULL,
    label             TEXT NOT NULL DEFAULT 'Default',
    is_active         BOOLEAN NOT NULL DEFAULT TRUE,
    rate_limit_count  BIGINT,
    rate_limit_window BIGINT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX project_keys_project ON project_keys(project_id);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE issues (
    id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    project_id       BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
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
    first_seen       BIGINT NOT NULL,
    last_seen        BIGINT NOT NULL,
    times_seen       BIGINT NOT NULL DEFAULT 1,
    resolved_at      BIGINT,
    regressed_by     TEXT,
    is_public        BOOLEAN NOT NULL DEFAULT FALSE,
    share_id         TEXT,
    UNIQUE (project_id, grouping_version, grouping_hash)
);
CREATE UNIQUE INDEX issues_share ON issues(share_id) WHERE share_id IS NOT NULL;
CREATE INDEX issues_list ON issues(project_id, last_seen DESC);
CREATE INDEX issues_status ON issues(project_id, status, last_seen DESC);

CREATE TABLE events (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    project_id  BIGINT NOT NULL,
    event_id    TEXT NOT NULL,
    issue_id    BIGINT,
    timestamp   BIGINT NOT NULL,
    received    BIGINT NOT NULL,
    level       TEXT NOT NULL,
    platform    TEXT NOT NULL,
    release     TEXT,
    environment TEXT,
    title       TEXT NOT NULL,
    culprit     TEXT NOT NULL,
    message     TEXT NOT NULL,
    body        BYTEA NOT NULL,
    body_size   BIGINT NOT NULL,
    UNIQUE (project_id, event_id)
);
-- Bodies are zstd already: no second compression attempt by TOAST.
ALTER TABLE events ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE INDEX events_issue ON events(issue_id, id DESC);
CREATE INDEX events_received ON events(received);

CREATE TABLE issue_tags (
    issue_id   BIGINT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    times_seen BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (issue_id, key, value)
);
CREATE INDEX issue_tags_lookup ON issue_tags(key, value, issue_id);

CREATE TABLE bookmarks (
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issue_id   BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, issue_id)
);
CREATE INDEX bookmarks_issue ON bookmarks(issue_id);

CREATE TABLE sessions (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit_log (
    id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor_id BIGINT,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    details  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);

-- Per-key rate-limit windows shared by every instance.
CREATE TABLE rate_limit_windows (
    key_id       BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL,
    PRIMARY KEY (key_id, window_start)
);
"#;

/// Applies pending migrations; returns the versions applied now.
pub fn migrate(client: &mut Client) -> StoreResult<Vec<i64>> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_MIGRATIONS])?;
    let fresh: bool = tx
        .query_one("SELECT to_regclass('schema_migrations') IS NULL", &[])?
        .try_get(0)?;
    if fresh {
        tx.batch_execute(
            "CREATE TABLE schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )?;
    }
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let done = tx
            .query_opt(
                "SELECT version FROM schema_migrations WHERE version = $1",
                &[version],
            )?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[version, name, &crate::clock::now_ms()],
        )?;
        applied.push(*version);
    }
    tx.commit()?;
    Ok(applied)
}
