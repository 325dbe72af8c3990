//! The PostgreSQL driver of the shared SQL layer ([`crate::store::sql`]): clients and
//! transactions as [`Conn`], their rows as [`SqlRow`], and the pool as [`Database`].

use ::postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use std::collections::HashMap;

use ::postgres::{GenericClient, Row, Statement};
use bytes::BytesMut;

use crate::store::sql::{sql_row_by, Access, Arg, Conn, Database, Dialect, EachRow, Job};
use crate::store::{AccountStore, PgStore, StoreResult};

/// Every method is the shared one ([`crate::store::account_ops`]).
impl AccountStore for PgStore {}

impl ToSql for Arg<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Arg::Int(v) => v.to_sql_checked(ty, out),
            Arg::OptInt(v) => v.to_sql_checked(ty, out),
            Arg::Text(v) => v.to_sql_checked(ty, out),
            Arg::OptText(v) => v.to_sql_checked(ty, out),
            Arg::Flag(v) => v.to_sql_checked(ty, out),
            Arg::OptFlag(v) => v.to_sql_checked(ty, out),
            Arg::Blob(v) => v.to_sql_checked(ty, out),
        }
    }

    /// Checked per value, by the type it holds (see `to_sql`).
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

sql_row_by!(Row, try_get);

/// Statements of the shared layer kept prepared per connection; past it the cache starts
/// over (statements built per call, such as a bookmark lookup's `IN` list, must not grow
/// it without end).
const SHARED_STATEMENTS: usize = 512;

/// A client or a transaction, with its connection's cache of prepared statements: each
/// shared statement is prepared once per connection, then runs in one round trip.
struct Pg<'a, C: GenericClient> {
    client: &'a mut C,
    cache: &'a mut HashMap<String, Statement>,
}

/// The shared layer's [`Conn`] over `client` (the ingest transaction's, when a batch
/// writes alerts), with its connection's statement cache.
pub(super) fn shared_conn<'a, C: GenericClient>(
    client: &'a mut C,
    cache: &'a mut HashMap<String, Statement>,
) -> impl Conn + 'a {
    Pg { client, cache }
}

fn params<'a>(args: &'a [Arg<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> Pg<'_, C> {
    fn prepared(&mut self, sql: &str) -> StoreResult<Statement> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        if self.cache.len() >= SHARED_STATEMENTS {
            self.cache.clear();
        }
        let s = self.client.prepare(sql)?;
        self.cache.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

impl<C: GenericClient> Conn for Pg<'_, C> {
    fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
        let stmt = self.prepared(sql)?;
        Ok(self.client.execute(&stmt, &params(args))?)
    }

    fn each(&mut self, sql: &str, args: &[Arg<'_>], f: EachRow<'_>) -> StoreResult<()> {
        let stmt = self.prepared(sql)?;
        for row in self.client.query(&stmt, &params(args))? {
            f(&row)?;
        }
        Ok(())
    }
}

impl Database for PgStore {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn run(&self, access: Access, f: Job<'_>) -> StoreResult<()> {
        self.with(|c| match access {
            Access::Read => f(&mut Pg {
                client: &mut c.client,
                cache: &mut c.shared,
            }),
            Access::Write => {
                let mut tx = c.client.transaction()?;
                f(&mut Pg {
                    client: &mut tx,
                    cache: &mut c.shared,
                })?;
                Ok(tx.commit()?)
            }
        })
    }

    fn queued_tag_tables(&self) -> &'static [&'static str] {
        &["tag_queue"]
    }
}
