//! The command line: parses arguments, runs the pipeline, prints, and maps outcomes to
//! exit codes (the diff(1) convention: 0 same/success, 1 different, 2 trouble).

use crate::load::{self, LoadError};
use crate::render;
use crate::report;
use crate::sync::{self, Action, Plan};
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
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Load and validate the blueprint only.
    Validate {
        #[arg(long, value_name = "FILE", default_value = DEFAULT_BLUEPRINT)]
        blueprint: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Show the fully resolved values of an environment and where each comes from.
    Explain {
        #[arg(long, value_name = "FILE", default_value = DEFAULT_BLUEPRINT)]
        blueprint: PathBuf,
        /// The environment (default: the first one in the blueprint).
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
    },
    /// Write a commented starter blueprint that validates and generates as it is.
    Init {
        /// Where to write it; an existing file is never overwritten.
        #[arg(value_name = "PATH", default_value = DEFAULT_BLUEPRINT)]
        path: PathBuf,
    },
    /// Print the blueprint's JSON Schema (draft 2020-12), for editors and validators.
    Schema,
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
        Command::Validate { blueprint, format } => match load::load(&blueprint) {
            Ok(model) => {
                let envs: Vec<&str> = model.envs.iter().map(|e| e.name.as_str()).collect();
                if format == Format::Json {
                    let doc = serde_json::json!({"status": "valid", "blueprint": model.source, "environments": envs});
                    let _ = writeln!(out, "{doc}");
                } else {
                    let _ = writeln!(
                        out,
                        "{}: valid (environments: {})",
                        model.source,
                        envs.join(", ")
                    );
                }
                0
            }
            Err(e) => report_load_as(&e, format, out, err),
        },
        Command::Explain { blueprint, env } => match load::load(&blueprint) {
            Ok(model) => explain(&model, env.as_deref(), out, err),
            Err(e) => report_load(&e, err),
        },
        Command::Init { path } => init(&path, out, err),
        Command::Schema => {
            let _ = writeln!(out, "{}", crate::blueprint::json_schema());
            0
        }
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
            format,
        } => {
            let model = match load::load(&blueprint) {
                Ok(model) => model,
                Err(e) => return report_load_as(&e, format, out, err),
            };
            // Shared: a `gen` writing this tree meanwhile makes check fail fast, not
            // compare a half-written tree.
            let _lock = match sync::lock(&dir, false) {
                Ok(lock) => lock,
                Err(e) => return io_error(&e.to_string(), err),
            };
            let plan = match plan_model(&model, &dir, err) {
                Ok(plan) => plan,
                Err(code) => return code,
            };
            warn_ignored(&plan, &dir, err);
            report::check(
                &plan,
                &load::display_path(&dir),
                &load::display_path(&blueprint),
                format,
                out,
            )
        }
        Command::Gen {
            blueprint,
            out: dir,
            force,
        } => {
            let model = match load::load(&blueprint) {
                Ok(model) => model,
                Err(e) => return report_load(&e, err),
            };
            // Rendered in full before the tree is touched: a bad blueprint or a render
            // failure leaves nothing behind, not even the output directory.
            let files = match render::render(&model) {
                Ok(files) => files,
                Err(e) => return io_error(&e.to_string(), err),
            };
            let _lock = match sync::lock(&dir, true) {
                Ok(lock) => lock,
                Err(e) => return io_error(&e.to_string(), err),
            };
            let plan = match sync::plan(&dir, &files) {
                Ok(plan) => plan,
                Err(e) => return io_error(&e.to_string(), err),
            };
            drop(files);
            let shown = load::display_path(&dir);
            warn_ignored(&plan, &dir, err);
            let blocked = plan
                .conflicts()
                .any(|c| !c.conflict.as_ref().is_some_and(sync::Conflict::forceable));
            if blocked || (!force && plan.conflicts().next().is_some()) {
                return report_conflicts(&plan, &shown, force, err);
            }
            let summary = match sync::apply(&dir, &plan) {
                Ok(s) => s,
                Err(e) => return io_error(&e.to_string(), err),
            };
            if summary.cleaned > 0 {
                let _ = writeln!(
                    out,
                    "  cleaned  {} temporary file(s) an interrupted run left behind",
                    summary.cleaned
                );
            }
            for c in &plan.changes {
                let word = match c.action {
                    Action::Create => "created",
                    Action::Update => "updated",
                    Action::Remove => "removed",
                    Action::Unchanged => "unchanged",
                };
                let forced = match &c.conflict {
                    None => String::new(),
                    Some(sync::Conflict::NotRegular(kind)) => {
                        format!(" ({kind} replaced: --force)")
                    }
                    Some(_) => " (hand edit overwritten: --force)".to_string(),
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

use crate::sync::join;

/// Says which manifest entries were ignored (paths outside the tree, malformed lines).
fn warn_ignored(plan: &Plan, dir: &Path, err: &mut dyn Write) {
    for entry in &plan.ignored_manifest_entries {
        let _ = writeln!(
            err,
            "warning: {} lists `{}`, which is not a path under {}; ignored",
            join(&load::display_path(dir), render::MANIFEST),
            crate::diag::shorten(entry, 80),
            load::display_path(dir)
        );
    }
}

/// Render the model and compare it with the tree.
fn plan_model(model: &crate::model::Model, dir: &Path, err: &mut dyn Write) -> Result<Plan, u8> {
    let mut planner = sync::Planner::new(dir).map_err(|e| io_error(&e.to_string(), err))?;
    render::render_each(model, |f| planner.add(f).map_err(sync::PlanError::from))
        .and_then(|()| planner.finish().map_err(sync::PlanError::from))
        .map_err(|e| {
            let _ = writeln!(err, "error: {e}");
            2
        })
}

fn report_load_as(e: &LoadError, format: Format, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match format {
        Format::Human => report_load(e, err),
        _ => {
            let _ = write!(out, "{}", report::load_error(e, format));
            if format == Format::Github {
                let _ = write!(err, "{}", e.render());
            }
            2
        }
    }
}

fn report_load(e: &LoadError, err: &mut dyn Write) -> u8 {
    let _ = write!(err, "{}", e.render());
    2
}

fn io_error(e: &str, err: &mut dyn Write) -> u8 {
    let _ = writeln!(err, "error: {e}");
    2
}

fn report_conflicts(plan: &Plan, shown: &str, force: bool, err: &mut dyn Write) -> u8 {
    let mut blocked = false;
    for c in plan.conflicts() {
        let Some(conflict) = &c.conflict else {
            continue;
        };
        if force && conflict.forceable() {
            continue;
        }
        blocked |= !conflict.forceable();
        let what = if c.action == Action::Remove {
            "remove"
        } else {
            "overwrite"
        };
        let _ = writeln!(
            err,
            "error: refusing to {what} {}: it {}",
            join(shown, &c.path),
            conflict.reason()
        );
        let _ = write!(err, "{}", sync::file_diff(c, shown));
    }
    if blocked {
        let _ = writeln!(
            err,
            "nothing was written. Move what is in the way out of {shown} (--force never writes through a link or replaces a directory)."
        );
        return 2;
    }
    let _ = writeln!(
        err,
        "nothing was written. Put the change into the blueprint, or run gen again with --force to discard it."
    );
    1
}

/// `explain`: each resolved value with its origin: default, the blueprint's top level, or
/// the environment's override, as `file:line`.
fn explain(
    model: &crate::model::Model,
    env: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let names: Vec<&str> = model.envs.iter().map(|e| e.name.as_str()).collect();
    let wanted = env.unwrap_or(names[0]);
    let Some(e) = model.envs.iter().find(|e| e.name == wanted) else {
        let _ = writeln!(
            err,
            "error: no environment `{wanted}` in {}{}\n  = accepted: {}",
            model.source,
            crate::suggest::did_you_mean(wanted, names.iter().copied()),
            names.join(", ")
        );
        return 2;
    };
    let rows = e.explain();
    let width = rows.iter().map(|r| r.field.len()).max().unwrap_or(0);
    let vwidth = rows
        .iter()
        .map(|r| r.value.len())
        .max()
        .unwrap_or(0)
        .min(48);
    let _ = writeln!(
        out,
        "environment {} of {} ({})",
        e.name,
        model.source,
        e.mode.value.as_str()
    );
    for r in rows {
        let origin = match r.origin {
            crate::model::Origin::Default => "default".to_string(),
            crate::model::Origin::Base(p) => format!("{}:{}", model.source, p.line),
            crate::model::Origin::Env(p) => format!(
                "environments.{} override at {}:{}",
                e.name, model.source, p.line
            ),
        };
        let _ = writeln!(out, "  {:width$}  {:vwidth$}  {origin}", r.field, r.value);
    }
    let h = &model.host;
    let _ = writeln!(
        out,
        "  shared by every environment: host module {} ({}, {}, {}), Ansible group {}",
        h.terraform_module, h.instance, h.security_group, h.iam_role, h.ansible_group
    );
    0
}

/// The starter blueprint `init` writes: the shipped one, which validates and generates.
const STARTER: &str = include_str!("../blueprints/redis-on-asterisk.yaml");

/// `init`: writes the starter blueprint; never overwrites.
fn init(path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let shown = load::display_path(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        let _ = writeln!(err, "error: cannot create {}: {e}", dir.display());
        return 2;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path);
    match file {
        Ok(mut f) => match f.write_all(STARTER.as_bytes()) {
            Ok(()) => {
                let _ = writeln!(
                    out,
                    "wrote {shown}: edit it, then run `infragen gen --blueprint {shown}`"
                );
                0
            }
            Err(e) => {
                let _ = writeln!(err, "error: cannot write {shown}: {e}");
                2
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = writeln!(
                err,
                "error: {shown} already exists; infragen init never overwrites a blueprint"
            );
            2
        }
        Err(e) => {
            let _ = writeln!(err, "error: cannot create {shown}: {e}");
            2
        }
    }
}
