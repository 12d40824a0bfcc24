//! The process floor for the benchmark: a release-built Rust binary that does nothing.
fn main() {}
