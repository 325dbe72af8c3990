//! `db copy`: moves everything from one database to another (SQLite ⇄ PostgreSQL, or
//! between two of a kind), table by table in dependency order, ids preserved, so every
//! DSN, API token and session keeps working.
//!
//! - A non-empty target is refused unless `replace` is set (which empties it first).
//! - Rows go in chunks, each committed; inserts skip rows already there, and the target
//!   carries a marker setting (`copy.in_progress`, naming the source) until the copy is
//!   complete. Re-running the same copy after an interruption therefore resumes: the
//!   marker allows the non-empty target, and what is there already is kept. Tables keyed
//!   by `id` are read in id order by index seeks (`WHERE id > last`), so a resumed copy
//!   starts after the target's largest id instead of reading every row again.
//! - Progress is reported per chunk through a callback.
//!
//! Copy from a stopped server (or accept that events arriving during the copy may be
//! missing); the schemas of both backends have the same tables and columns.

use std::path::PathBuf;

use super::postgres::PgStore;
use super::{SqliteStore, StoreError, StoreResult, Synchronous};

/// Rows per chunk (events are a few KB each).
const CHUNK: usize = 500;
/// The marker setting of an unfinished copy.
pub const MARKER: &str = "copy.in_progress";

/// One side of a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Endpoint {
    /// `postgres://...` / `postgresql://...` is PostgreSQL; anything else is a data dir.
    pub fn parse(s: &str) -> Endpoint {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Endpoint::Postgres(s.to_owned())
        } else {
            Endpoint::Sqlite(crate::config::database_path(std::path::Path::new(s)))
        }
    }

    /// For messages (no password).
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Sqlite(p) => p.display().to_string(),
            Endpoint::Postgres(u) => {
                super::postgres::pool::redact(u).unwrap_or_else(|| "postgres".into())
            }
        }
    }
}

mod tables;

use tables::{Kind, Spec, TABLES};
use Kind::{Blob, Bool, Int, Text};

#[derive(Clone, Debug, PartialEq)]
enum Val {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Blob(Vec<u8>),
}

type Rows = Vec<Vec<Val>>;

/// Where the next chunk of a table starts.
#[derive(Clone, Copy, Debug)]
enum Position {
    /// After this `id` (tables keyed by `id`).
    AfterId(i64),
    /// After this many rows in key order (the few tables with a composite key).
    Offset(u64),
}

/// What a copy did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    /// `(table, rows in the source)`, in copy order.
    pub tables: Vec<(String, u64)>,
    /// Whether an unfinished earlier copy was resumed.
    pub resumed: bool,
}

/// Progress of one table: `(table, rows done, rows in all)`.
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<PgStore>),
}

impl Db {
    fn open(e: &Endpoint) -> StoreResult<Db> {
        Ok(match e {
            Endpoint::Sqlite(path) => {
                // Creates the file and applies the migrations, then a plain connection.
                drop(SqliteStore::open(path, Synchronous::Full)?);
                let c = rusqlite::Connection::open(path)?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                Db::Sqlite(c)
            }
            Endpoint::Postgres(url) => Db::Postgres(Box::new(PgStore::open(url)?)),
        })
    }

    fn count(&mut self, table: &str) -> StoreResult<u64> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = match self {
            Db::Sqlite(c) => c.query_row(&sql, [], |r| r.get(0))?,
            Db::Postgres(s) => {
                s.with(|c| Ok(c.client.query_one(sql.as_str(), &[])?.try_get(0)?))?
            }
        };
        Ok(n.max(0) as u64)
    }

    /// The largest `id` of a table keyed by `id`, if it has rows.
    fn max_id(&mut self, table: &str) -> StoreResult<Option<i64>> {
        let sql = format!("SELECT MAX(id) FROM {table}");
        Ok(match self {
            Db::Sqlite(c) => c.query_row(&sql, [], |r| r.get(0))?,
            Db::Postgres(s) => {
                s.with(|c| Ok(c.client.query_one(sql.as_str(), &[])?.try_get(0)?))?
            }
        })
    }

    fn marker(&mut self) -> StoreResult<Option<String>> {
        match self {
            Db::Sqlite(c) => {
                use rusqlite::OptionalExtension;
                Ok(
                    c.query_row("SELECT value FROM settings WHERE key = ?1", [MARKER], |r| {
                        r.get(0)
                    })
                    .optional()?,
                )
            }
            Db::Postgres(s) => s.with(|c| {
                Ok(c.client
                    .query_opt("SELECT value FROM settings WHERE key = $1", &[&MARKER])?
                    .map(|r| r.try_get(0))
                    .transpose()?)
            }),
        }
    }

    fn exec(&mut self, sql: &str) -> StoreResult<()> {
        match self {
            Db::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Db::Postgres(s) => s.with(|c| Ok(c.client.batch_execute(sql)?)),
        }
    }

    fn set_marker(&mut self, value: Option<&str>) -> StoreResult<()> {
        match (self, value) {
            (Db::Sqlite(c), Some(v)) => {
                c.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [MARKER, v],
                )?;
            }
            (Db::Sqlite(c), None) => {
                c.execute("DELETE FROM settings WHERE key = ?1", [MARKER])?;
            }
            (Db::Postgres(s), v) => s.with(|c| {
                match v {
                    Some(v) => c.client.execute(
                        "INSERT INTO settings (key, value) VALUES ($1, $2) \
                         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                        &[&MARKER, &v],
                    )?,
                    None => c
                        .client
                        .execute("DELETE FROM settings WHERE key = $1", &[&MARKER])?,
                };
                Ok(())
            })?,
        }
        Ok(())
    }

    /// The next chunk of a table: rows with an `id` after `position` for tables keyed by
    /// `id` (an index seek, however far the copy has got), else the rows after the first
    /// `position` in key order.
    fn read(&mut self, spec: &Spec, position: Position) -> StoreResult<Rows> {
        let (table, cols, order) = spec;
        let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let sql = match position {
            Position::AfterId(id) => format!(
                "SELECT {} FROM {table} WHERE id > {id} ORDER BY id LIMIT {CHUNK}",
                names.join(", ")
            ),
            Position::Offset(offset) => format!(
                "SELECT {} FROM {table} ORDER BY {order} LIMIT {CHUNK} OFFSET {offset}",
                names.join(", ")
            ),
        };
        match self {
            Db::Sqlite(c) => {
                use rusqlite::types::ValueRef;
                let mut stmt = c.prepare(&sql)?;
                let rows = stmt.query_map([], |r| {
                    let mut row = Vec::with_capacity(cols.len());
                    for (i, (_, kind)) in cols.iter().enumerate() {
                        row.push(match (r.get_ref(i)?, kind) {
                            (ValueRef::Null, _) => Val::Null,
                            (ValueRef::Integer(n), Bool) => Val::Bool(n != 0),
                            (ValueRef::Integer(n), _) => Val::Int(n),
                            (ValueRef::Real(f), _) => Val::Int(f as i64),
                            (ValueRef::Text(t), _) => {
                                Val::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            (ValueRef::Blob(b), _) => Val::Blob(b.to_vec()),
                        });
                    }
                    Ok(row)
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            }
            Db::Postgres(s) => s.with(|c| {
                let rows = c.client.query(sql.as_str(), &[])?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let mut row = Vec::with_capacity(cols.len());
                    for (i, (_, kind)) in cols.iter().enumerate() {
                        let v = match kind {
                            Int => r.try_get::<_, Option<i64>>(i)?.map(Val::Int),
                            Bool => r.try_get::<_, Option<bool>>(i)?.map(Val::Bool),
                            Text => r.try_get::<_, Option<String>>(i)?.map(Val::Text),
                            Blob => r.try_get::<_, Option<Vec<u8>>>(i)?.map(Val::Blob),
                        };
                        row.push(v.unwrap_or(Val::Null));
                    }
                    out.push(row);
                }
                Ok(out)
            }),
        }
    }

    /// Inserts rows, skipping those already there (by any unique key); one transaction.
    fn write(&mut self, spec: &Spec, rows: &Rows) -> StoreResult<()> {
        let (table, cols, _) = spec;
        let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
        match self {
            Db::Sqlite(c) => {
                use rusqlite::types::Value;
                let tx = c.transaction()?;
                {
                    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                    let mut stmt = tx.prepare(&format!(
                        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
                        names.join(", "),
                        marks.join(", ")
                    ))?;
                    for row in rows {
                        stmt.execute(rusqlite::params_from_iter(row.iter().map(|v| match v {
                            Val::Null => Value::Null,
                            Val::Int(n) => Value::Integer(*n),
                            Val::Bool(b) => Value::Integer(*b as i64),
                            Val::Text(t) => Value::Text(t.clone()),
                            Val::Blob(b) => Value::Blob(b.clone()),
                        })))?;
                    }
                }
                tx.commit()?;
                Ok(())
            }
            Db::Postgres(s) => s.with(|c| {
                use ::postgres::types::ToSql;
                let mut arrays: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
                let mut casts = Vec::new();
                for (i, (_, kind)) in cols.iter().enumerate() {
                    let column = rows.iter().map(|r| r.get(i).unwrap_or(&Val::Null));
                    let (array, cast): (Box<dyn ToSql + Sync + Send>, &str) = match kind {
                        Int => (
                            Box::new(column.map(as_int).collect::<Vec<Option<i64>>>()),
                            "bigint[]",
                        ),
                        Bool => (
                            Box::new(
                                column
                                    .map(|v| match v {
                                        Val::Bool(b) => Some(*b),
                                        other => as_int(other).map(|n| n != 0),
                                    })
                                    .collect::<Vec<Option<bool>>>(),
                            ),
                            "boolean[]",
                        ),
                        Text => (
                            Box::new(
                                column
                                    .map(|v| match v {
                                        Val::Text(t) => Some(t.clone()),
                                        Val::Int(n) => Some(n.to_string()),
                                        _ => None,
                                    })
                                    .collect::<Vec<Option<String>>>(),
                            ),
                            "text[]",
                        ),
                        Blob => (
                            Box::new(
                                column
                                    .map(|v| match v {
                                        Val::Blob(b) => Some(b.clone()),
                                        Val::Text(t) => Some(t.clone().into_bytes()),
                                        _ => None,
                                    })
                                    .collect::<Vec<Option<Vec<u8>>>>(),
                            ),
                            "bytea[]",
                        ),
                    };
                    arrays.push(array);
                    casts.push(format!("${}::{cast}", i + 1));
                }
                let sql = format!(
                    "INSERT INTO {table} ({}) SELECT * FROM unnest({}) ON CONFLICT DO NOTHING",
                    names.join(", "),
                    casts.join(", ")
                );
                let params: Vec<&(dyn ToSql + Sync)> = arrays
                    .iter()
                    .map(|a| a.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                c.client.execute(sql.as_str(), &params)?;
                Ok(())
            }),
        }
    }

    /// Empties every table (children first).
    fn clear(&mut self) -> StoreResult<()> {
        let names: Vec<&str> = TABLES.iter().map(|t| t.0).collect();
        match self {
            Db::Sqlite(_) => {
                let sql: String = names
                    .iter()
                    .rev()
                    .map(|t| format!("DELETE FROM {t};"))
                    .collect();
                self.exec(&format!("BEGIN; {sql} COMMIT;"))
            }
            Db::Postgres(_) => self.exec(&format!(
                "TRUNCATE {}, rate_limit_windows, tag_queue, login_attempts \
                 RESTART IDENTITY CASCADE",
                names.join(", ")
            )),
        }
    }

    /// After a copy into PostgreSQL, new rows get ids after the copied ones.
    fn reset_identities(&mut self) -> StoreResult<()> {
        if let Db::Postgres(_) = self {
            for (table, cols, _) in TABLES {
                if cols.first().map(|c| c.0) == Some("id") {
                    self.exec(&format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                         COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    ))?;
                }
            }
        }
        Ok(())
    }
}

fn as_int(v: &Val) -> Option<i64> {
    match v {
        Val::Int(n) => Some(*n),
        Val::Bool(b) => Some(*b as i64),
        Val::Text(t) => t.parse().ok(),
        _ => None,
    }
}

/// Copies everything from `from` to `to`; see the module documentation.
pub fn copy(
    from: &Endpoint,
    to: &Endpoint,
    replace: bool,
    progress: Progress<'_>,
) -> StoreResult<CopyReport> {
    if from == to {
        return Err(StoreError::Invalid("source and target are the same".into()));
    }
    if let Endpoint::Sqlite(path) = from {
        if !path.exists() {
            return Err(StoreError::NotFound(format!(
                "the database {}",
                path.display()
            )));
        }
    }
    let mut src = Db::open(from)?;
    if let Db::Postgres(store) = &src {
        // Queued tag counts (see `postgres::ingest`) are copied as folded counts.
        store.fold_tags()?;
    }
    let mut dst = Db::open(to)?;
    let source = from.describe();
    let mut report = CopyReport::default();
    let marker = dst.marker()?;
    let mut non_empty = false;
    for (table, _, _) in TABLES {
        if dst.count(table)? > u64::from(*table == "settings" && marker.is_some()) {
            non_empty = true;
            break;
        }
    }
    if replace {
        dst.clear()?;
    } else if non_empty || marker.is_some() {
        match &marker {
            Some(m) if *m == source => report.resumed = true,
            Some(m) => {
                return Err(StoreError::Conflict(format!(
                    "the target {} holds an unfinished copy from {m}; re-run that copy, \
                     or pass --replace",
                    to.describe()
                )))
            }
            None => {
                return Err(StoreError::Conflict(format!(
                    "the target {} is not empty; pass --replace to overwrite it",
                    to.describe()
                )))
            }
        }
    }
    dst.set_marker(Some(&source))?;
    for spec in TABLES {
        let total = src.count(spec.0)?;
        let keyed = spec.2 == "id";
        // Chunks of a table keyed by id go in id order and each is committed, so after an
        // interruption the target's largest id says how far that table got.
        let (mut position, mut done) = match (keyed, report.resumed) {
            (true, true) => match dst.max_id(spec.0)? {
                Some(id) => (Position::AfterId(id), dst.count(spec.0)?.min(total)),
                None => (Position::AfterId(i64::MIN), 0),
            },
            (true, false) => (Position::AfterId(i64::MIN), 0),
            (false, _) => (Position::Offset(0), 0),
        };
        progress(spec.0, done, total);
        loop {
            let rows = src.read(spec, position)?;
            if rows.is_empty() {
                break;
            }
            let read = rows.len();
            position = match position {
                Position::AfterId(_) => Position::AfterId(
                    rows.last()
                        .and_then(|r| r.first())
                        .and_then(as_int)
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!("{}: a row without an id", spec.0))
                        })?,
                ),
                Position::Offset(offset) => Position::Offset(offset + read as u64),
            };
            let rows: Rows = if spec.0 == "settings" {
                rows.into_iter()
                    .filter(|r| r.first() != Some(&Val::Text(MARKER.into())))
                    .collect()
            } else {
                rows
            };
            dst.write(spec, &rows)?;
            done += read as u64;
            progress(spec.0, done.min(total), total);
            if read < CHUNK {
                break;
            }
        }
        report.tables.push((spec.0.to_owned(), total));
    }
    dst.reset_identities()?;
    dst.set_marker(None)?;
    Ok(report)
}
