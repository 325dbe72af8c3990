//! The neutral SQL layer both backends run: statements are written once, with `$1..$n`
//! placeholders, and executed through [`Conn`] (a connection or transaction of either
//! driver) with [`Arg`] parameters; rows are read through [`SqlRow`], so each row
//! mapping is written once too. [`Database`] is what a backend provides: a connection
//! for reading and a transaction for writing.
//!
//! SQLite gets the placeholders as `?N` (bound by number, so a statement may use them in
//! any order); PostgreSQL gets them as they are. What really differs between the dialects
//! (schema DDL, advisory locks, LISTEN, COPY, the WAL checkpointer, the pool, the ingest
//! statements) stays in the backends.

use super::{StoreError, StoreResult};

/// One statement parameter.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    /// A 64-bit integer.
    Int(i64),
    /// An integer or NULL.
    OptInt(Option<i64>),
    /// Text.
    Text(&'a str),
    /// Text or NULL.
    OptText(Option<&'a str>),
    /// A flag (`BOOLEAN` on PostgreSQL, 0/1 on SQLite).
    Flag(bool),
    /// A flag or NULL.
    OptFlag(Option<bool>),
    /// Bytes.
    Blob(&'a [u8]),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}
impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Flag(v)
    }
}
impl From<Option<bool>> for Arg<'_> {
    fn from(v: Option<bool>) -> Self {
        Arg::OptFlag(v)
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(v: &'a [u8]) -> Self {
        Arg::Blob(v)
    }
}

/// `args![a, b]`: statement parameters from values [`Arg`] converts from.
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$($crate::store::sql::Arg::from($a)),*][..] };
}
pub(crate) use args;

/// A result row of either driver, read by column index.
pub trait SqlRow {
    /// An integer column.
    fn int(&self, i: usize) -> StoreResult<i64>;
    /// An integer column that may be NULL.
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
    /// A text column.
    fn text(&self, i: usize) -> StoreResult<String>;
    /// A text column that may be NULL.
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    /// A flag column.
    fn flag(&self, i: usize) -> StoreResult<bool>;
    /// A bytes column.
    fn blob(&self, i: usize) -> StoreResult<Vec<u8>>;

    /// A count (never negative).
    fn count(&self, i: usize) -> StoreResult<u64> {
        Ok(self.int(i)?.max(0) as u64)
    }
}

/// `impl SqlRow for $row`, each column read by the driver's `$row::$get(index)`.
macro_rules! sql_row_by {
    ($row:ty, $get:ident) => {
        impl $crate::store::sql::SqlRow for $row {
            fn int(&self, i: usize) -> $crate::store::StoreResult<i64> {
                Ok(self.$get(i)?)
            }
            fn opt_int(&self, i: usize) -> $crate::store::StoreResult<Option<i64>> {
                Ok(self.$get(i)?)
            }
            fn text(&self, i: usize) -> $crate::store::StoreResult<String> {
                Ok(self.$get(i)?)
            }
            fn opt_text(&self, i: usize) -> $crate::store::StoreResult<Option<String>> {
                Ok(self.$get(i)?)
            }
            fn flag(&self, i: usize) -> $crate::store::StoreResult<bool> {
                Ok(self.$get(i)?)
            }
            fn blob(&self, i: usize) -> $crate::store::StoreResult<Vec<u8>> {
                Ok(self.$get(i)?)
            }
        }
    };
}
pub(crate) use sql_row_by;

/// What [`Conn::each`] calls on each row.
pub type EachRow<'a> = &'a mut dyn FnMut(&dyn SqlRow) -> StoreResult<()>;

/// What [`Database::run`] runs on a connection.
pub type Job<'a> = &'a mut (dyn FnMut(&mut dyn Conn) -> StoreResult<()> + Send);

/// A connection or a transaction of either driver.
pub trait Conn {
    /// Runs a statement; the number of rows it changed.
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64>;
    /// Runs a query and calls `f` on each row, in order.
    fn each(&mut self, sql: &str, args: &[Arg<'_>], f: EachRow<'_>) -> StoreResult<()>;
}

impl dyn Conn + '_ {
    /// Every row, mapped.
    pub fn all<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl Fn(&dyn SqlRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, args, &mut |r| {
            out.push(map(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped, if there is one.
    pub fn opt<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl Fn(&dyn SqlRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let mut out = None;
        self.each(sql, args, &mut |r| {
            if out.is_none() {
                out = Some(map(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row, mapped; [`StoreError::NotFound`] (naming `what`) without one.
    pub fn one<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        what: &str,
        map: impl Fn(&dyn SqlRow) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.opt(sql, args, map)?
            .ok_or_else(|| StoreError::NotFound(what.to_owned()))
    }

    /// The integer the first row's first column holds (`RETURNING id`, `COUNT(*)`).
    pub fn int(&mut self, sql: &str, args: &[Arg<'_>], what: &str) -> StoreResult<i64> {
        self.one(sql, args, what, |r| r.int(0))
    }
}

/// The connections a backend lends the shared code: one for reading, and one in a
/// transaction for writing (committed when the closure succeeds, rolled back else).
pub trait Database: Send + Sync {
    /// Runs `f` on a connection that reads committed data ([`Access::Read`]) or in a
    /// write transaction ([`Access::Write`]).
    fn run(&self, access: Access, f: Job<'_>) -> StoreResult<()>;
    /// Which SQL dialect the connections speak, for the few words that differ.
    fn dialect(&self) -> Dialect;
    /// Tables holding tag counts of an issue besides `issue_tags` (PostgreSQL's
    /// `tag_queue` of counts not folded yet), emptied first when an issue goes.
    fn queued_tag_tables(&self) -> &'static [&'static str] {
        &[]
    }
}

/// What a [`Database::run`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads committed data.
    Read,
    /// Writes, in a transaction.
    Write,
}

/// The two SQL dialects, for the few words a shared statement spells differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// Case-insensitive `LIKE` (SQLite's `LIKE` already is, for ASCII).
    pub fn ilike(self) -> &'static str {
        match self {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        }
    }

    /// `column` written so that the planner does not pick an index on it (SQLite's unary
    /// `+`; PostgreSQL's planner needs no hint).
    pub fn unindexed(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("+{column}"),
            Dialect::Postgres => column.to_owned(),
        }
    }
}

/// Runs `f` on a reading connection of `db`.
pub fn read<D: Database + ?Sized, T: Send>(
    db: &D,
    f: impl FnOnce(&mut dyn Conn) -> StoreResult<T> + Send,
) -> StoreResult<T> {
    let mut f = Some(f);
    let mut out = None;
    db.run(Access::Read, &mut |c| {
        if let Some(f) = f.take() {
            out = Some(f(c)?);
        }
        Ok(())
    })?;
    out.ok_or_else(|| StoreError::Corrupt("a read ran no statement".into()))
}

/// Runs `f` in a write transaction of `db`.
pub fn write<D: Database + ?Sized, T: Send>(
    db: &D,
    f: impl FnOnce(&mut dyn Conn) -> StoreResult<T> + Send,
) -> StoreResult<T> {
    let mut f = Some(f);
    let mut out = None;
    db.run(Access::Write, &mut |c| {
        if let Some(f) = f.take() {
            out = Some(f(c)?);
        }
        Ok(())
    })?;
    out.ok_or_else(|| StoreError::Corrupt("a write ran no statement".into()))
}

/// Unique and foreign-key violations (of either driver) become
/// [`StoreError::Conflict`] naming `what`; other errors pass.
pub fn conflict(e: StoreError, what: &str) -> StoreError {
    let violation = match &e {
        StoreError::Database(rusqlite::Error::SqliteFailure(f, _)) => {
            f.code == rusqlite::ErrorCode::ConstraintViolation
        }
        StoreError::Postgres(p) => p.code().is_some_and(|c| c.code().starts_with("23")),
        _ => false,
    };
    if violation {
        StoreError::Conflict(what.to_owned())
    } else {
        e
    }
}

/// `sql` with `$N` placeholders written as SQLite's `?N`.
pub fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// Clamps a count for a `BIGINT`/`INTEGER` parameter.
pub fn clamp(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_question_marks() {
        assert_eq!(
            sqlite_placeholders("SELECT $1, $12 WHERE a = $2 AND b = 'x$'"),
            "SELECT ?1, ?12 WHERE a = ?2 AND b = 'x$'"
        );
    }
}
