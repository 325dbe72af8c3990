//! Benchmarks live as `[[bench]]` targets; shared helpers go here.

pub mod server_events;
