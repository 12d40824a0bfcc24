//! The command line: parses arguments, runs a command (`crate::commands`), reports its
//! error (`crate::report`), and turns the result into the exit code
//! (`crate::error::exit_code`: 0 same or done, 1 different, 2 trouble). A report that
//! cannot be written is trouble, except when the reader has gone away
//! (`infragen check | head`): then infragen stops quietly with the code it had.

use crate::commands::{self, Streams};
use crate::error::{DONE, Error, Outcome, TROUBLE, exit_code, is_closed_pipe};
use crate::report::safe::{Kind, Safe};
use crate::report::{self, Format};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
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
        #[command(flatten)]
        blueprint: Blueprint,
        #[command(flatten)]
        out: Out,
        /// Overwrite or remove generated files even when they were edited by hand.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        links: Links,
    },
    /// Read-only: exit 0 when the output tree is current, 1 (with a diff) when it is not.
    Check {
        #[command(flatten)]
        blueprint: Blueprint,
        #[command(flatten)]
        out: Out,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[command(flatten)]
        links: Links,
    },
    /// Read-only: compare each environment's live deployment (hosts, AWS) with the tree;
    /// exit 0 when it matches, 1 on drift, 2 when something could not be read.
    Verify {
        #[command(flatten)]
        blueprint: Blueprint,
        #[command(flatten)]
        out: Out,
        /// An environment to verify (repeatable; default: every one, in blueprint order).
        #[arg(long = "env", value_name = "ENV")]
        envs: Vec<String>,
        /// The Ansible inventory; `{env}` is replaced by the environment's name
        /// (default: OUT/ansible/inventory/{env}, where the tree's group_vars are).
        #[arg(long, value_name = "PATH")]
        inventory: Option<String>,
        /// The ansible-playbook to run (it needs boto3 and the ansible.posix and
        /// amazon.aws collections).
        #[arg(long, value_name = "PATH", default_value = "ansible-playbook")]
        ansible_playbook: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[command(flatten)]
        links: Links,
        /// Passed to ansible-playbook as they are (`-- -e ... --private-key ...`).
        #[arg(last = true, value_name = "ANSIBLE-PLAYBOOK-ARGS")]
        ansible_args: Vec<String>,
    },
    /// Load and validate the blueprint only.
    Validate {
        #[command(flatten)]
        blueprint: Blueprint,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Show the fully resolved values of an environment and where each comes from.
    Explain {
        #[command(flatten)]
        blueprint: Blueprint,
        /// The environment (default: the first one in the blueprint).
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
        /// A generated tree: show the values it recorded beside the current ones.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        links: Links,
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
        #[command(flatten)]
        blueprint: Blueprint,
    },
}

/// `--blueprint`, defined once for every command that reads one.
#[derive(Debug, Args)]
pub struct Blueprint {
    /// The blueprint to compile.
    #[arg(long = "blueprint", value_name = "FILE", default_value = DEFAULT_BLUEPRINT)]
    pub path: PathBuf,
}

/// `--out`, for the commands that write or compare a tree.
#[derive(Debug, Args)]
pub struct Out {
    /// The generated tree.
    #[arg(long = "out", value_name = "DIR", default_value = DEFAULT_OUT)]
    pub dir: PathBuf,
}

/// `--follow-out-links`, for every command that reads a tree.
#[derive(Debug, Args)]
pub struct Links {
    /// Follow symbolic links in the --out path. Never the default: the output tree
    /// may come from a pull request, and a committed link would move writes, reads
    /// and removals elsewhere.
    #[arg(long = "follow-out-links")]
    pub follow: bool,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap quotes the command line back: through the same escaping as the rest.
            let text = e.render().to_string();
            if e.use_stderr() {
                let mut err = std::io::stderr();
                let _ = Safe::new(&mut err, Kind::Text).write_all(text.as_bytes());
                return ExitCode::from(TROUBLE);
            }
            let mut out = std::io::stdout();
            let _ = Safe::new(&mut out, Kind::Text).write_all(text.as_bytes());
            return ExitCode::from(DONE);
        }
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let code = run(cli.command, &mut out, &mut err);
    // Standard output is buffered: a full disk or a closed pipe shows here at the latest.
    match out.flush() {
        Ok(()) => ExitCode::from(code),
        Err(e) if is_closed_pipe(&e) => ExitCode::from(code),
        Err(e) => {
            let _ = writeln!(err, "error: cannot write the report: {e}");
            ExitCode::from(TROUBLE)
        }
    }
}

/// Runs one command, writing to `out` and `err`; returns the exit code.
pub fn run(command: Command, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let format = match &command {
        Command::Check { format, .. }
        | Command::Validate { format, .. }
        | Command::Verify { format, .. } => *format,
        _ => Format::Human,
    };
    let kind = match format {
        Format::Json => Kind::Json,
        _ => Kind::Text,
    };
    let mut s = Streams {
        out: Safe::new(out, kind),
        err: Safe::new(err, Kind::Text),
    };
    let result = dispatch(command, &mut s);
    if let Err(e) = &result {
        match e {
            // The reader went away: nothing more to say, and nobody to say it to.
            Error::Output(io) if is_closed_pipe(io) => {}
            Error::Output(io) => {
                let _ = writeln!(s.err, "error: cannot write the report: {io}");
            }
            e => {
                if let Err(io) = report::error(e, format, &mut s.out, &mut s.err)
                    && !is_closed_pipe(&io)
                {
                    return TROUBLE;
                }
            }
        }
    }
    exit_code(&result)
}

fn dispatch(command: Command, s: &mut Streams) -> Result<Outcome, Error> {
    match command {
        Command::Validate { blueprint, format } => commands::validate(&blueprint.path, format, s),
        Command::Check {
            blueprint,
            out,
            format,
            links,
        } => commands::check(&blueprint.path, &out.dir, links.follow, format, s),
        Command::Gen {
            blueprint,
            out,
            force,
            links,
        } => commands::gen_tree(&blueprint.path, &out.dir, links.follow, force, s),
        Command::Explain {
            blueprint,
            env,
            out,
            links,
        } => commands::explain(
            &blueprint.path,
            env.as_deref(),
            out.as_deref(),
            links.follow,
            s,
        ),
        Command::Verify {
            blueprint,
            out,
            envs,
            inventory,
            ansible_playbook,
            format,
            links,
            ansible_args,
        } => commands::verify(
            &blueprint.path,
            &out.dir,
            links.follow,
            &commands::VerifyArgs {
                envs: &envs,
                inventory: inventory.as_deref(),
                ansible_playbook: &ansible_playbook,
                ansible_args: &ansible_args,
                format,
            },
            s,
        ),
        Command::Init { path } => commands::init(&path, s),
        Command::Schema => commands::schema(s),
        Command::Cost { blueprint } => commands::cost(&blueprint.path, s),
    }
}
