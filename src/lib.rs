//! infragen compiles one typed blueprint into the Terraform, Ansible and redis.conf of a
//! Redis cache self-hosted on an Asterisk EC2 host.
//!
//! The pipeline, one module per stage:
//! [`load`] (YAML with spans) -> [`validate`] (every problem at once) -> [`model`]
//! (resolved per environment) -> [`render`] (pure, in memory) -> [`sync`] (plan, then
//! write atomically; or compare, for `check`). [`cli`] wires them to the command line.

pub mod aws;
pub mod blueprint;
pub mod cli;
pub mod commands;
pub mod cost;
pub mod diag;
pub mod error;
pub mod field;
pub mod impact;
pub mod load;
pub mod model;
pub mod paths;
pub mod pipeline;
pub mod probe;
pub mod render;
pub mod report;
pub mod rules;
pub mod suggest;
pub mod sync;
pub mod validate;
pub mod verify;
