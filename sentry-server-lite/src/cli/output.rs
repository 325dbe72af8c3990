//! Printing command results (plain text for people, one JSON object for scripts) and
//! [`Operator`], what every command that works on the database is given.

use std::io::Write;
use std::sync::Arc;

use serde_json::Value;

use super::admin::open_store;
use super::Db;
use crate::app::Caller;
use crate::store::Store;

/// Where and how a command prints.
pub struct Output {
    /// JSON instead of text.
    pub json: bool,
}

impl Output {
    /// Prints `text` or, with `--json`, `value` as one line; flushes at once so that a
    /// parent process reading the pipe sees it before the server starts serving.
    pub fn print(&self, text: &str, value: &Value) {
        let mut stdout = std::io::stdout().lock();
        let _ = if self.json {
            writeln!(stdout, "{value}")
        } else {
            writeln!(stdout, "{text}")
        };
        let _ = stdout.flush();
    }
}

/// A command run by whoever holds the database: the opened store, the operator
/// ([`Caller::operator`], a superuser everywhere, `cli` in the audit log) and where the
/// command prints its result.
pub struct Operator<'a> {
    store: Arc<dyn Store>,
    who: Caller,
    out: &'a Output,
}

impl<'a> Operator<'a> {
    /// Opens the database of `db` for a command printing to `out`.
    pub fn open(db: &Db, out: &'a Output) -> anyhow::Result<Operator<'a>> {
        Ok(Operator {
            store: open_store(db)?,
            who: Caller::operator(),
            out,
        })
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The operator, as the application layer's caller.
    pub fn who(&self) -> &Caller {
        &self.who
    }

    /// Prints the command's result (see [`Output::print`]); the command is done.
    pub fn done(&self, text: &str, value: &Value) -> anyhow::Result<()> {
        self.out.print(text, value);
        Ok(())
    }
}
