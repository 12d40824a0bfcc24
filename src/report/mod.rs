//! The output layer: everything infragen prints, in each format. Commands
//! (`crate::commands`) decide what happened; this module says it, to `out` (the report)
//! and `err` (problems), as humans read it (`human`), as one JSON document (`json`), or
//! as GitHub Actions workflow annotations followed by the human report (`github`).
//! Every function returns the write's `io::Result`: a report that cannot be written is
//! an error, not a silent success.

pub mod github;
pub mod human;
pub mod impact;
pub mod json;
pub mod safe;
pub mod verify;

use crate::error::Error;
use crate::impact::Impact;
use crate::model::Model;
use crate::sync::Plan;
use safe::Safe;
use std::io::{self, Write};

/// How `check` and `validate` report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Status list, unified diffs, located errors with snippets.
    #[default]
    Human,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow annotations (`::error file=...,line=...::`), then the human report.
    Github,
}

/// `out` joined with a generated path, as every report shows it: `generated/x.tf`, and
/// `x.tf` for `--out .`.
pub use crate::paths::join;

/// A command's error, in `format`: the human report on `err`; JSON on `out`; GitHub
/// annotations on `out` and the human report on `err`.
pub fn error(e: &Error, format: Format, out: &mut Safe, err: &mut Safe) -> io::Result<()> {
    match format {
        Format::Human => human::error(e, err),
        Format::Json => json::error(e, out),
        Format::Github => {
            github::error(e, out)?;
            human::error(e, err)
        }
    }
}

/// A valid blueprint, for `validate`.
pub fn valid(model: &Model, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => json::valid(model, out),
        _ => human::valid(model, out),
    }
}

/// `check`'s report on the plan: clean, or the drift with what it will do when applied
/// (`impact`) and the command that fixes it.
pub fn check(
    plan: &Plan,
    impact: Option<&Impact>,
    out_dir: &str,
    blueprint: &str,
    format: Format,
    out: &mut Safe,
) -> io::Result<()> {
    let fix = format!("infragen gen --blueprint {blueprint} --out {out_dir}");
    match format {
        Format::Json => json::check(plan, impact, out_dir, blueprint, &fix, out),
        Format::Github => {
            github::check(plan, out_dir, &fix, out)?;
            human::check(plan, impact, out_dir, blueprint, &fix, out)
        }
        Format::Human => human::check(plan, impact, out_dir, blueprint, &fix, out),
    }
}

/// Where the report says the recorded values are.
pub fn values_path(out_dir: &str) -> String {
    join(out_dir, crate::render::values::FILE)
}
