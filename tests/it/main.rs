//! The integration tests: one binary, one module per topic.

mod cli;
mod common;
mod determinism;
mod real_tools;
mod snapshots;
mod uptodate;
