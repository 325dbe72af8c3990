//! The release-health and cron-monitor tables of both dialects (issue #21), side by
//! side, with their migration numbers (so that renumbering at a merge is a one-line
//! change).
//!
//! - `health_sessions`: per project, release, environment and hour (`bucket`, Unix ms of
//!   the hour's start) the counts of sessions, errored (errors, crashes included),
//!   crashed and abnormal sessions, and the first and last time one was seen;
//! - `health_session_states`: each individual session (`sid`) seen, with what of it was
//!   counted already (errored, its final status), so that its several updates (`init`,
//!   then the final one, or an SDK's retry) count it once;
//! - `health_users`: the distinct users (`did`) per release, environment and hour, and
//!   whether one of their sessions crashed (crash-free users);
//! - `monitors`: one per project and slug, with its schedule, thresholds, status, the next
//!   expected check-in, the run of consecutive failures / successes and the issue it has
//!   open; `monitor_checkins`: each run (an `in_progress` and the `ok`/`error` that ends
//!   it share a row), plus the `missed` and `timeout` ones the scheduler records.

/// The SQLite migration number of [`SQLITE`].
pub const SQLITE_VERSION: i64 = 8;
/// The PostgreSQL migration number of [`POSTGRES`].
pub const POSTGRES_VERSION: i64 = 9;

/// The SQLite tables.
pub const SQLITE: &str = r#"
CREATE TABLE health_sessions (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    release     TEXT NOT NULL,
    environment TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    sessions    INTEGER NOT NULL DEFAULT 0,
    errored     INTEGER NOT NULL DEFAULT 0,
    crashed     INTEGER NOT NULL DEFAULT 0,
    abnormal    INTEGER NOT NULL DEFAULT 0,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (project_id, release, environment, bucket)
) WITHOUT ROWID;

CREATE TABLE health_session_states (
    project_id INTEGER NOT NULL,
    sid        TEXT NOT NULL,
    errored    INTEGER NOT NULL DEFAULT 0,
    outcome    TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, sid)
) WITHOUT ROWID;
CREATE INDEX health_session_states_updated ON health_session_states(updated_at);

CREATE TABLE health_users (
    project_id  INTEGER NOT NULL,
    release     TEXT NOT NULL,
    environment TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    did         TEXT NOT NULL,
    crashed     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, release, environment, bucket, did)
) WITHOUT ROWID;

CREATE TABLE monitors (
    id                 INTEGER PRIMARY KEY,
    project_id         INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slug               TEXT NOT NULL,
    schedule_type      TEXT NOT NULL DEFAULT '',
    schedule_value     TEXT NOT NULL DEFAULT '',
    schedule_unit      TEXT NOT NULL DEFAULT '',
    timezone           TEXT NOT NULL DEFAULT 'UTC',
    checkin_margin     INTEGER NOT NULL DEFAULT 1,
    max_runtime        INTEGER NOT NULL DEFAULT 30,
    failure_threshold  INTEGER NOT NULL DEFAULT 1,
    recovery_threshold INTEGER NOT NULL DEFAULT 1,
    status             TEXT NOT NULL DEFAULT 'active',
    environment        TEXT,
    last_checkin       INTEGER,
    next_expected      INTEGER,
    failures           INTEGER NOT NULL DEFAULT 0,
    reported_failures  INTEGER NOT NULL DEFAULT 0,
    oks                INTEGER NOT NULL DEFAULT 0,
    issue_id           INTEGER,
    created_at         INTEGER NOT NULL,
    UNIQUE (project_id, slug)
);
CREATE INDEX monitors_due ON monitors(next_expected);

CREATE TABLE monitor_checkins (
    id          INTEGER PRIMARY KEY,
    monitor_id  INTEGER NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    check_in_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    environment TEXT,
    duration_ms INTEGER,
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (monitor_id, check_in_id)
);
CREATE INDEX monitor_checkins_recent ON monitor_checkins(monitor_id, id DESC);
CREATE INDEX monitor_checkins_running ON monitor_checkins(status, started_at);
"#;

/// The PostgreSQL tables: the same, with PostgreSQL types.
pub const POSTGRES: &str = r#"
CREATE TABLE health_sessions (
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    release     TEXT NOT NULL,
    environment TEXT NOT NULL,
    bucket      BIGINT NOT NULL,
    sessions    BIGINT NOT NULL DEFAULT 0,
    errored     BIGINT NOT NULL DEFAULT 0,
    crashed     BIGINT NOT NULL DEFAULT 0,
    abnormal    BIGINT NOT NULL DEFAULT 0,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (project_id, release, environment, bucket)
);

CREATE TABLE health_session_states (
    project_id BIGINT NOT NULL,
    sid        TEXT NOT NULL,
    errored    BIGINT NOT NULL DEFAULT 0,
    outcome    TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, sid)
);
CREATE INDEX health_session_states_updated ON health_session_states(updated_at);

CREATE TABLE health_users (
    project_id  BIGINT NOT NULL,
    release     TEXT NOT NULL,
    environment TEXT NOT NULL,
    bucket      BIGINT NOT NULL,
    did         TEXT NOT NULL,
    crashed     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, release, environment, bucket, did)
);

CREATE TABLE monitors (
    id                 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    project_id         BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    slug               TEXT NOT NULL,
    schedule_type      TEXT NOT NULL DEFAULT '',
    schedule_value     TEXT NOT NULL DEFAULT '',
    schedule_unit      TEXT NOT NULL DEFAULT '',
    timezone           TEXT NOT NULL DEFAULT 'UTC',
    checkin_margin     BIGINT NOT NULL DEFAULT 1,
    max_runtime        BIGINT NOT NULL DEFAULT 30,
    failure_threshold  BIGINT NOT NULL DEFAULT 1,
    recovery_threshold BIGINT NOT NULL DEFAULT 1,
    status             TEXT NOT NULL DEFAULT 'active',
    environment        TEXT,
    last_checkin       BIGINT,
    next_expected      BIGINT,
    failures           BIGINT NOT NULL DEFAULT 0,
    reported_failures  BIGINT NOT NULL DEFAULT 0,
    oks                BIGINT NOT NULL DEFAULT 0,
    issue_id           BIGINT,
    created_at         BIGINT NOT NULL,
    UNIQUE (project_id, slug)
);
CREATE INDEX monitors_due ON monitors(next_expected);

CREATE TABLE monitor_checkins (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    monitor_id  BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    check_in_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    environment TEXT,
    duration_ms BIGINT,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (monitor_id, check_in_id)
);
CREATE INDEX monitor_checkins_recent ON monitor_checkins(monitor_id, id DESC);
CREATE INDEX monitor_checkins_running ON monitor_checkins(status, started_at);
"#;
