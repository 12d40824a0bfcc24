//! The command line: parses arguments, runs a command (`crate::commands`), reports its
//! error (`crate::report`), and turns the result into the exit code
//! (`crate::error::exit_code`: 0 same or done, 1 different, 2 trouble). A report that
//! cannot be written is trouble, except when the reader has gone away
//! (`infragen check | head`): then infragen stops quietly with the code it had.

use crate::commands::{self, Streams};
use crate::error::{Error, Outcome, exit_code, is_closed_pipe};
use crate::report::safe::{Kind, Safe};
use crate::report::{self, Format};
use clap::{Parser, Subcommand};
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
        #[arg(long, value_name = "FILE", default_value = DEFAULT_BLUEPRINT)]
        blueprint: PathBuf,
        #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
        out: PathBuf,
        /// Overwrite or remove generated files even when they were edited by hand.
        #[arg(long)]
        force: bool,
        /// Follow symbolic links in the --out path. Never the default: the output tree
        /// may come from a pull request, and a committed link would move writes, reads
        /// and removals elsewhere.
        #[arg(long)]
        follow_out_links: bool,
    },
    /// Read-only: exit 0 when the output tree is current, 1 (with a diff) when it is not.
    Check {
        #[arg(long, value_name = "FILE", default_value = DEFAULT_BLUEPRINT)]
        blueprint: PathBuf,
        #[arg(long, value_name = "DIR", default_value = DEFAULT_OUT)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Follow symbolic links in the --out path. Never the default: the output tree
        /// may come from a pull request, and a committed link would move writes, reads
        /// and removals elsewhere.
        #[arg(long)]
        follow_out_links: bool,
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
        /// A generated tree: show the values it recorded beside the current ones.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Follow symbolic links in the --out path. Never the default: the output tree
        /// may come from a pull request, and a committed link would move writes, reads
        /// and removals elsewhere.
        #[arg(long)]
        follow_out_links: bool,
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
            // clap quotes the command line back: through the same escaping as the rest.
            let text = e.render().to_string();
            if e.use_stderr() {
                let mut err = std::io::stderr();
                let _ = Safe::new(&mut err, Kind::Text).write_all(text.as_bytes());
                return ExitCode::from(2);
            }
            let mut out = std::io::stdout();
            let _ = Safe::new(&mut out, Kind::Text).write_all(text.as_bytes());
            return ExitCode::from(0);
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
            ExitCode::from(2)
        }
    }
}

/// Runs one command, writing to `out` and `err`; returns the exit code.
pub fn run(command: Command, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let format = match &command {
        Command::Check { format, .. } | Command::Validate { format, .. } => *format,
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
                    return 2;
                }
            }
        }
    }
    exit_code(&result)
}

fn dispatch(command: Command, s: &mut Streams) -> Result<Outcome, Error> {
    match command {
        Command::Validate { blueprint, format } => commands::validate(&blueprint, format, s),
        Command::Check {
            blueprint,
            out,
            format,
            follow_out_links,
        } => commands::check(&blueprint, &out, follow_out_links, format, s),
        Command::Gen {
            blueprint,
            out,
            force,
            follow_out_links,
        } => commands::gen_tree(&blueprint, &out, follow_out_links, force, s),
        Command::Explain {
            blueprint,
            env,
            out,
            follow_out_links,
        } => commands::explain(
            &blueprint,
            env.as_deref(),
            out.as_deref(),
            follow_out_links,
            s,
        ),
        Command::Init { path } => commands::init(&path, s),
        Command::Schema => commands::schema(s),
        Command::Cost { blueprint } => commands::cost(&blueprint, s),
    }
}
