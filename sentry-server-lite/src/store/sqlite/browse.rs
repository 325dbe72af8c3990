//! The web UI's reads ([`crate::store::browse`]) on a SQLite file: their tests.

#[cfg(test)]
mod tests;
