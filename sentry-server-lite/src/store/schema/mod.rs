//! The schemas of the two backends side by side: the same tables and columns, in each
//! dialect's types, each with its list of migrations.

pub mod alerts;
pub mod feedback;
pub mod health;
pub mod logs;
pub mod postgres;
pub mod sqlite;
