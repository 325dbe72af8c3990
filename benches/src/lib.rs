//! Benchmarks live as `[[bench]]` targets; shared helpers go here.
