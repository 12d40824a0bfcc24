//! The command line: parses arguments, runs the pipeline, prints, and maps outcomes to
//! exit codes (the diff(1) convention: 0 same/success, 1 different, 2 trouble).

use crate::load::{self, LoadError};
use crate::render;
use crate::sync::{self, Action, Conflict, Plan};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const DEFAULT_BLUEPRINT: &str = "blueprints/redis-on-asterisk.yaml";
const DEFAULT_OUT: &str = "generated";

/// Compile one typed blueprint into the Terraform, Ansible and redis.conf of a Redis
/// cache self-hosted on the Asterisk EC2 host.
#[derive(Debug, Parser)]
#[command(name = "infragen", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every file and write the ones that changed; remove stale generated files.
    Gen {
        #[arg(long, value_name = "FILE", default_value = DEFAULT_BLUEPRINT)]
        blueprint: PathBuf,
        #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
        out: PathBuf,
        /// Overwrite or remove generated files even when they were edited by hand.
        #[arg(long)]
        force: bool,
    },
    /// Read-only: exit 0 when the output tree is current, 1 (with a diff) when it is not.
    Check {
        #[arg(long, value_name = "FILE", default_value = DEFAULT_BLUEPRINT)]
        blueprint: PathBuf,
        #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
        out: PathBuf,
    },
    /// Load and validate the blueprint only.
    Validate {
        #[arg(long, value_name = "FILE", default_value = DEFAULT_BLUEPRINT)]
        blueprint: PathBuf,
    },
    /// Print the monthly cost of each environment against its ElastiCache equivalent.
    Cost {
        #[arg(long, value_name = "FILE", default_value = DEFAULT_BLUEPRINT)]
        blueprint: PathBuf,
    },
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    ExitCode::from(run(cli.command, &mut stdout.lock(), &mut stderr.lock()))
}

/// Runs one command, writing to `out` and `err`; returns the exit code.
pub fn run(command: Command, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match command {
        Command::Validate { blueprint } => match load::load(&blueprint) {
            Ok(model) => {
                let envs: Vec<&str> = model.envs.iter().map(|e| e.name.as_str()).collect();
                let _ = writeln!(
                    out,
                    "{}: valid (environments: {})",
                    model.source,
                    envs.join(", ")
                );
                0
            }
            Err(e) => report_load(&e, err),
        },
        Command::Cost { blueprint } => match load::load(&blueprint) {
            Ok(model) => {
                let _ = write!(out, "{}", crate::cost::table(&model));
                0
            }
            Err(e) => report_load(&e, err),
        },
        Command::Check {
            blueprint,
            out: dir,
        } => {
            let plan = match plan_for(&blueprint, &dir, err) {
                Ok(plan) => plan,
                Err(code) => return code,
            };
            let shown = load::display_path(&dir);
            if plan.is_clean() {
                let _ = writeln!(out, "{shown}: up to date ({} files)", plan.changes.len());
                return 0;
            }
            let _ = write!(out, "{}", plan.status(&shown));
            let _ = writeln!(out);
            let _ = write!(out, "{}", plan.diff(&shown));
            let _ = writeln!(
                out,
                "{shown} is out of date with {}; run: infragen gen --blueprint {} --out {shown}",
                load::display_path(&blueprint),
                load::display_path(&blueprint)
            );
            1
        }
        Command::Gen {
            blueprint,
            out: dir,
            force,
        } => {
            let plan = match plan_for(&blueprint, &dir, err) {
                Ok(plan) => plan,
                Err(code) => return code,
            };
            let shown = load::display_path(&dir);
            if !force && plan.conflicts().next().is_some() {
                return report_conflicts(&plan, &shown, err);
            }
            let summary = match sync::apply(&dir, &plan) {
                Ok(s) => s,
                Err(e) => return io_error(&e, err),
            };
            for c in &plan.changes {
                let word = match c.action {
                    Action::Create => "created",
                    Action::Update => "updated",
                    Action::Remove => "removed",
                    Action::Unchanged => "unchanged",
                };
                let forced = if c.conflict.is_some() {
                    " (hand edit overwritten: --force)"
                } else {
                    ""
                };
                let _ = writeln!(out, "{word:>9}  {}{forced}", join(&shown, &c.path));
            }
            let _ = writeln!(
                out,
                "{shown}: {} created, {} updated, {} removed, {} unchanged",
                summary.created, summary.updated, summary.removed, summary.unchanged
            );
            0
        }
    }
}

fn join(out: &str, path: &str) -> String {
    format!("{}/{path}", out.trim_end_matches('/'))
}

/// Load, validate, render, and compare with the tree: everything before a write.
fn plan_for(blueprint: &Path, dir: &Path, err: &mut dyn Write) -> Result<Plan, u8> {
    let model = load::load(blueprint).map_err(|e| report_load(&e, err))?;
    let mut planner = sync::Planner::new(dir).map_err(|e| io_error(&e, err))?;
    render::render_each(&model, |f| planner.add(f).map_err(sync::PlanError::from))
        .and_then(|()| planner.finish().map_err(sync::PlanError::from))
        .map_err(|e| {
            let _ = writeln!(err, "error: {e}");
            2
        })
}

fn report_load(e: &LoadError, err: &mut dyn Write) -> u8 {
    let _ = write!(err, "{}", e.render());
    2
}

fn io_error(e: &std::io::Error, err: &mut dyn Write) -> u8 {
    let _ = writeln!(err, "error: {e}");
    2
}

fn report_conflicts(plan: &Plan, shown: &str, err: &mut dyn Write) -> u8 {
    for c in plan.conflicts() {
        let why = match c.conflict {
            Some(Conflict::NotGenerated) => {
                "was not written by infragen (no generated-code marker)"
            }
            _ => "was edited by hand since infragen wrote it",
        };
        let what = if c.action == Action::Remove {
            "remove"
        } else {
            "overwrite"
        };
        let _ = writeln!(
            err,
            "error: refusing to {what} {}: it {why}",
            join(shown, &c.path)
        );
        let _ = write!(err, "{}", sync::file_diff(c, shown));
    }
    let _ = writeln!(
        err,
        "nothing was written. Put the change into the blueprint, or run gen again with --force to discard it."
    );
    1
}
