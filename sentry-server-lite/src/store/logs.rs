//! Structured logs (issue #20): the rows, their statements (written once for both
//! backends) and their retention.
//!
//! Logs are written by the ingest batch ([`insert`], through
//! [`SideRecord::Logs`](super::SideRecord::Logs)) in the batch's transaction, many rows
//! per statement. A project's logs are read newest first with a keyset cursor
//! (`timestamp, id`), filtered by level, trace, time range, free text in the body and
//! `key:value` on the attributes or the release / environment columns ([`search`]); a
//! trace's logs in time order ([`of_trace`]). Both reads walk an index
//! (`logs_project_time`, `logs_project_trace`), so a project's first page and a trace
//! cost the same with a thousand or a million logs. Retention ([`delete_expired`])
//! drops logs past their age and beyond the per-project cap.

use super::sql::{clamp, read, Arg, Conn, Database, Dialect, SqlRow};
use super::{RetentionPolicy, StoreResult};

/// A log ready to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct NewLog {
    /// Its project.
    pub project_id: i64,
    /// When it happened (ms since the epoch).
    pub timestamp_ms: i64,
    /// When the server received it (ms; retention by age counts from here).
    pub received_ms: i64,
    /// `trace` … `fatal`.
    pub level: String,
    /// The OpenTelemetry severity number (1–24).
    pub severity: i64,
    /// The message.
    pub body: String,
    /// 32 hex digits.
    pub trace_id: Option<String>,
    /// 16 hex digits.
    pub span_id: Option<String>,
    /// From the `sentry.release` attribute.
    pub release: Option<String>,
    /// From the `sentry.environment` attribute.
    pub environment: Option<String>,
    /// Every attribute, a JSON object of plain values.
    pub attributes: String,
}

/// A stored log.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredLog {
    /// Row id.
    pub id: i64,
    /// Its project.
    pub project_id: i64,
    /// When it happened (ms).
    pub timestamp_ms: i64,
    /// `trace` … `fatal`.
    pub level: String,
    /// Severity number.
    pub severity: i64,
    /// The message.
    pub body: String,
    /// Trace id.
    pub trace_id: Option<String>,
    /// Span id.
    pub span_id: Option<String>,
    /// Release.
    pub release: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// The attributes (JSON object text).
    pub attributes: String,
}

const COLS: &str = "id, project_id, timestamp, level, severity, body, trace_id, span_id, \
                    release, environment, attributes";

/// The row mapping of [`COLS`].
pub fn row(r: &dyn SqlRow) -> StoreResult<StoredLog> {
    Ok(StoredLog {
        id: r.int(0)?,
        project_id: r.int(1)?,
        timestamp_ms: r.int(2)?,
        level: r.text(3)?,
        severity: r.int(4)?,
        body: r.text(5)?,
        trace_id: r.opt_text(6)?,
        span_id: r.opt_text(7)?,
        release: r.opt_text(8)?,
        environment: r.opt_text(9)?,
        attributes: r.text(10)?,
    })
}

/// Rows per `INSERT` statement (11 parameters each).
const ROWS_PER_INSERT: usize = 64;

/// Writes logs inside the caller's transaction, [`ROWS_PER_INSERT`] rows per statement.
pub fn insert(c: &mut dyn Conn, logs: &[NewLog]) -> StoreResult<()> {
    for chunk in logs.chunks(ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO logs (project_id, timestamp, received, level, severity, body, \
             trace_id, span_id, release, environment, attributes) VALUES ",
        );
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 11);
        for (i, l) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * 11;
            let marks: Vec<String> = (1..=11).map(|k| format!("${}", n + k)).collect();
            sql.push('(');
            sql.push_str(&marks.join(", "));
            sql.push(')');
            args.extend([
                Arg::Int(l.project_id),
                Arg::Int(l.timestamp_ms),
                Arg::Int(l.received_ms),
                Arg::Text(&l.level),
                Arg::Int(l.severity),
                Arg::Text(&l.body),
                Arg::OptText(l.trace_id.as_deref()),
                Arg::OptText(l.span_id.as_deref()),
                Arg::OptText(l.release.as_deref()),
                Arg::OptText(l.environment.as_deref()),
                Arg::Text(&l.attributes),
            ]);
        }
        c.exec(&sql, &args)?;
    }
    Ok(())
}

/// What a project's logs are filtered by.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogFilter {
    /// Only these levels (any of them); empty: all.
    pub levels: Vec<String>,
    /// Only this trace (32 hex).
    pub trace_id: Option<String>,
    /// Only logs at or after this time (ms).
    pub since_ms: Option<i64>,
    /// Only logs before this time (ms).
    pub until_ms: Option<i64>,
    /// Words the body must contain (case-insensitive), all of them.
    pub text: Vec<String>,
    /// `key:value` pairs: `release`, `environment` name the columns, any other key an
    /// attribute whose value (as text; booleans `true`/`false`) must equal the value.
    pub pairs: Vec<(String, String)>,
    /// Keyset cursor: only logs older than `(timestamp, id)`.
    pub before: Option<(i64, i64)>,
}

/// A statement being built: `?` in each piece becomes the next numbered placeholder.
struct Query {
    sql: String,
    args: Vec<Owned>,
}

/// Owned parameter values (the filter's strings are borrowed for the statement's life).
enum Owned {
    Int(i64),
    Text(String),
}

impl Query {
    fn push(&mut self, text: &str, values: Vec<Owned>) {
        let mut values = values.into_iter();
        let mut parts = text.split('?');
        if let Some(first) = parts.next() {
            self.sql.push_str(first);
        }
        for part in parts {
            if let Some(v) = values.next() {
                self.args.push(v);
            }
            self.sql.push_str(&format!("${}", self.args.len()));
            self.sql.push_str(part);
        }
    }

    fn args(&self) -> Vec<Arg<'_>> {
        self.args
            .iter()
            .map(|a| match a {
                Owned::Int(i) => Arg::Int(*i),
                Owned::Text(s) => Arg::Text(s),
            })
            .collect()
    }
}

fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// An attribute's value as text, in the dialect (the parameter is the key).
fn attribute_text(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "(CASE json_type(attributes, '$.\"' || ? || '\"') \
             WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
             ELSE CAST(json_extract(attributes, '$.\"' || ? || '\"') AS TEXT) END)"
        }
        Dialect::Postgres => "(attributes::jsonb ->> ?)",
    }
}

fn conditions(dialect: Dialect, project_id: i64, f: &LogFilter) -> Query {
    let mut q = Query {
        sql: String::new(),
        args: Vec::new(),
    };
    q.push("project_id = ?", vec![Owned::Int(project_id)]);
    if let Some(t) = &f.trace_id {
        q.push(" AND trace_id = ?", vec![Owned::Text(t.clone())]);
    }
    if !f.levels.is_empty() {
        let marks = vec!["?"; f.levels.len()].join(", ");
        let values = f.levels.iter().map(|l| Owned::Text(l.clone())).collect();
        q.push(&format!(" AND level IN ({marks})"), values);
    }
    if let Some(s) = f.since_ms {
        q.push(" AND timestamp >= ?", vec![Owned::Int(s)]);
    }
    if let Some(u) = f.until_ms {
        q.push(" AND timestamp < ?", vec![Owned::Int(u)]);
    }
    for word in &f.text {
        q.push(
            &format!(" AND body {} ? ESCAPE '\\'", dialect.ilike()),
            vec![Owned::Text(like_pattern(word))],
        );
    }
    for (k, v) in &f.pairs {
        match k.as_str() {
            "release" | "environment" => {
                q.push(&format!(" AND {k} = ?"), vec![Owned::Text(v.clone())]);
            }
            _ => {
                let keys = match dialect {
                    Dialect::Sqlite => vec![Owned::Text(k.clone()), Owned::Text(k.clone())],
                    Dialect::Postgres => vec![Owned::Text(k.clone())],
                };
                let mut values = keys;
                values.push(Owned::Text(v.clone()));
                q.push(&format!(" AND {} = ?", attribute_text(dialect)), values);
            }
        }
    }
    if let Some((ts, id)) = f.before {
        q.push(
            " AND (timestamp < ? OR (timestamp = ? AND id < ?))",
            vec![Owned::Int(ts), Owned::Int(ts), Owned::Int(id)],
        );
    }
    q
}

/// A project's logs matching `filter`, newest first (ties: newest id), at most `limit`.
pub fn search<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    filter: &LogFilter,
    limit: u64,
) -> StoreResult<Vec<StoredLog>> {
    let mut q = conditions(db.dialect(), project_id, filter);
    let limit = Owned::Int(clamp(limit));
    q.push(" ORDER BY timestamp DESC, id DESC LIMIT ?", vec![limit]);
    let sql = format!("SELECT {COLS} FROM logs WHERE {}", q.sql);
    read(db, move |c| c.all(&sql, &q.args(), row))
}

/// The logs of one trace in a project, oldest first, at most `limit`.
pub fn of_trace<D: Database + ?Sized>(
    db: &D,
    project_id: i64,
    trace_id: &str,
    limit: u64,
) -> StoreResult<Vec<StoredLog>> {
    let sql = format!(
        "SELECT {COLS} FROM logs WHERE project_id = $1 AND trace_id = $2 \
         ORDER BY timestamp, id LIMIT $3"
    );
    let trace_id = trace_id.to_owned();
    read(db, move |c| {
        c.all(
            &sql,
            &[
                Arg::Int(project_id),
                Arg::Text(&trace_id),
                Arg::Int(clamp(limit)),
            ],
            row,
        )
    })
}

/// How many logs a project has.
pub fn count<D: Database + ?Sized>(db: &D, project_id: i64) -> StoreResult<u64> {
    read(db, move |c| {
        c.one(
            "SELECT COUNT(*) FROM logs WHERE project_id = $1",
            &[Arg::Int(project_id)],
            "log count",
            |r| r.count(0),
        )
    })
}

/// Retention of one pass, inside the caller's transaction: logs received before the
/// policy's age, then each project's logs beyond its cap, at most `budget` rows in all;
/// how many went.
pub fn delete_expired(
    c: &mut dyn Conn,
    policy: &RetentionPolicy,
    now_ms: i64,
    budget: i64,
) -> StoreResult<i64> {
    let mut deleted: i64 = 0;
    if policy.log_max_age_days > 0 {
        let cutoff = now_ms - (policy.log_max_age_days.min(1 << 40) as i64) * 86_400_000;
        deleted += c.exec(
            "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE received < $1 LIMIT $2)",
            &[Arg::Int(cutoff), Arg::Int(budget)],
        )? as i64;
    }
    if policy.max_logs_per_project > 0 && deleted < budget {
        let keep = clamp(policy.max_logs_per_project);
        let projects = c.all("SELECT id FROM projects", &[], |r| r.int(0))?;
        for project_id in projects {
            if deleted >= budget {
                break;
            }
            deleted += c.exec(
                "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE project_id = $1 \
                 ORDER BY timestamp DESC, id DESC LIMIT $3 OFFSET $2)",
                &[
                    Arg::Int(project_id),
                    Arg::Int(keep),
                    Arg::Int(budget - deleted),
                ],
            )? as i64;
        }
    }
    Ok(deleted)
}

/// Deletes every log of a project (when the project goes).
pub fn delete_project(c: &mut dyn Conn, project_id: i64) -> StoreResult<u64> {
    c.exec(
        "DELETE FROM logs WHERE project_id = $1",
        &[Arg::Int(project_id)],
    )
}
