//! SQLite's [`AccountStore`]: every method is the shared one
//! ([`crate::store::account_ops`]); its tests run on a SQLite file.

use crate::store::{AccountStore, SqliteStore};

impl AccountStore for SqliteStore {}

#[cfg(test)]
mod tests;
