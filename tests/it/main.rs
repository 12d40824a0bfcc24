//! The integration tests: one binary, one module per topic.

mod apply;
mod cli;
mod common;
mod determinism;
mod diagnostics;
mod engine_switch;
mod host;
mod hostile;
mod hostile_output;
mod impact;
mod live;
mod parse_back;
mod plan;
mod property;
mod real_tools;
mod snapshots;
mod structure;
mod support;
mod upgrade;
mod uptodate;
mod verify;
