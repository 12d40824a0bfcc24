//! The harnesses of the `#[ignore]`d tests that run real Terraform, a local AWS and
//! booted hosts (the harness every module uses is `common.rs`):
//!
//! - `infra_repo`: the example infra repo, generated into and wired, the Terraform CLI,
//!   and plan JSON accessors (plan, apply and host tests);
//! - `plan_checks`: what a plan must contain (plan tests);
//! - `moto`: a local AWS endpoint (moto_server), stopped by PID, and calls of it (apply
//!   and host tests);
//! - `host`: a booted Debian host, stopped by PID, and converges of the generated
//!   playbook on it (host tests);
//! - `consumer`: the consumer stand-in, a Lambda-like client that counts what a change
//!   to the running cache costs it (live-change tests).

pub mod consumer;
pub mod host;
pub mod infra_repo;
pub mod moto;
pub mod plan_checks;
