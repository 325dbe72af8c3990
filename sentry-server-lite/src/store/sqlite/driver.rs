//! The SQLite driver of the shared SQL layer ([`crate::store::sql`]): rusqlite
//! connections as [`Conn`], their rows as [`SqlRow`](crate::store::sql::SqlRow)(crate::store::sql::SqlRow), and the store's reader pool and
//! writer as [`Database`].

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, Row};

use crate::store::sql::{
    sql_row_by, sqlite_placeholders, Access, Arg, Conn, Database, Dialect, EachRow, Job,
};
use crate::store::{AccountStore, SqliteStore, StoreError, StoreResult};

/// Every method is the shared one ([`crate::store::account_ops`]).
impl AccountStore for SqliteStore {}

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Arg::Int(v) => ToSqlOutput::Owned(Value::Integer(v)),
            Arg::OptInt(v) => v.map_or(ToSqlOutput::Owned(Value::Null), |v| {
                ToSqlOutput::Owned(Value::Integer(v))
            }),
            Arg::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Arg::OptText(v) => v.map_or(ToSqlOutput::Owned(Value::Null), |v| {
                ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes()))
            }),
            Arg::Flag(v) => ToSqlOutput::Owned(Value::Integer(i64::from(v))),
            Arg::OptFlag(v) => {
                ToSqlOutput::Owned(v.map_or(Value::Null, |v| Value::Integer(v.into())))
            }
            Arg::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

sql_row_by!(Row<'_>, get);

impl Conn for &Connection {
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let mut stmt = self.prepare_cached(&sqlite_placeholders(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(args))? as u64)
    }

    fn each(&mut self, sql: &str, args: &[Arg<'_>], f: EachRow<'_>) -> StoreResult<()> {
        let mut stmt = self.prepare_cached(&sqlite_placeholders(sql))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        while let Some(row) = rows.next()? {
            f(row)?;
        }
        Ok(())
    }
}

impl Database for SqliteStore {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn run(&self, access: Access, f: Job<'_>) -> StoreResult<()> {
        match access {
            Access::Read => self.with_reader(|c| f(&mut { c })),
            Access::Write => self.write(|c| {
                let tx = c.unchecked_transaction()?;
                f(&mut { &*tx })?;
                tx.commit().map_err(StoreError::from)
            }),
        }
    }
}
