//! Everything that stops a command, in one type, and what each outcome means as an exit
//! code. Commands return `Result<Outcome, Error>`; `cli::main` turns it into the exit
//! code with [`exit_code`]; the codes themselves ([`DONE`], [`DIFFERENT`], [`TROUBLE`])
//! are defined here and nowhere else.

use crate::diag::Diagnostic;
use crate::render::RenderError;
use std::io;
use std::path::PathBuf;

/// How a command that ran to the end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done; or the tree is current.
    Success,
    /// The tree differs from the blueprint (`check`), or `gen` refused to overwrite a
    /// hand edit (shown; `--force` would overwrite it).
    Different,
    /// `gen` refused because something `--force` never touches is in the way (a linked
    /// directory, a directory at a file's path): shown, nothing written.
    Blocked,
    /// `verify` could not read some environment (unreachable, no credentials): reported,
    /// with whatever drift it found elsewhere.
    Unverified,
}

/// Why a command stopped.
#[derive(Debug)]
pub enum Error {
    /// The blueprint is not valid: every problem found, with the text they point into.
    Invalid {
        file: String,
        source: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// A file could not be read or written. `what` names the file and the purpose.
    Io { what: String, source: io::Error },
    /// The blueprint's path cannot be written into the generated files' markers.
    MarkerPath { path: String, why: &'static str },
    /// Another run holds the output directory.
    Locked { dir: PathBuf },
    /// A component of `--out` is a symbolic link (never followed unless asked for).
    LinkedOut {
        out: PathBuf,
        link: PathBuf,
        target: PathBuf,
    },
    /// A template failed on a valid blueprint: a bug in infragen.
    Render(RenderError),
    /// A command-line value names nothing there is (an environment, an existing file).
    Usage {
        message: String,
        help: Option<String>,
    },
    /// Writing the report failed (standard output closed or full).
    Output(io::Error),
    /// `verify` compares the live deployment with the tree: the tree must be current.
    TreeNotCurrent { out: String, blueprint: String },
}

impl Error {
    pub fn io(what: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// The whole human-readable report (every diagnostic with its snippet).
    pub fn render(&self) -> String {
        match self {
            Error::Invalid {
                file,
                source,
                diagnostics,
            } => crate::diag::render_all(diagnostics, file, source),
            Error::Usage {
                message,
                help: Some(help),
            } => format!("error: {message}\n  = accepted: {help}\n"),
            other => format!("error: {other}\n"),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Invalid {
                file, diagnostics, ..
            } => write!(
                f,
                "{file}: {} problem{} found",
                diagnostics.len(),
                if diagnostics.len() == 1 { "" } else { "s" }
            ),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
            Error::MarkerPath { path, why } => write!(
                f,
                "the blueprint path {path} cannot be written into the generated files' markers: {why}"
            ),
            Error::Locked { dir } => write!(
                f,
                "{}: another infragen run is using this output directory; try again when it has finished",
                dir.display()
            ),
            Error::LinkedOut { out, link, target } => write!(
                f,
                "--out {}: {} is a symbolic link (to {}); infragen does not write, read or remove through a link in the output path, since the tree may come from a pull request. Point --out at the real directory, or pass --follow-out-links if you made the link yourself",
                crate::load::shown(&out.display().to_string()),
                crate::load::shown(&link.display().to_string()),
                crate::load::shown(&target.display().to_string()),
            ),
            Error::Render(e) => write!(f, "{e}"),
            Error::Usage { message, .. } => write!(f, "{message}"),
            Error::Output(e) => write!(f, "cannot write the report: {e}"),
            Error::TreeNotCurrent { out, blueprint } => write!(
                f,
                "{out} is not what {blueprint} generates: verify compares the live deployment with a current tree. Run `infragen check --blueprint {blueprint} --out {out}` to see what differs, and `infragen gen` to bring it up to date"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Output(source) => Some(source),
            Error::Render(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::load::ReadError> for Error {
    fn from(e: crate::load::ReadError) -> Self {
        match e {
            crate::load::ReadError::Io { what, source } => Error::Io { what, source },
            crate::load::ReadError::Invalid {
                file,
                source,
                diagnostics,
            } => Error::Invalid {
                file,
                source,
                diagnostics,
            },
        }
    }
}

impl From<crate::sync::LockError> for Error {
    fn from(e: crate::sync::LockError) -> Self {
        match e {
            crate::sync::LockError::Busy(dir) => Error::Locked { dir },
            crate::sync::LockError::Io(source) => Error::Io {
                what: "cannot lock the output directory".into(),
                source,
            },
        }
    }
}

impl From<RenderError> for Error {
    fn from(e: RenderError) -> Self {
        Error::Render(e)
    }
}

/// Exit code: done, or the tree is the same (also `--help`).
pub const DONE: u8 = 0;
/// Exit code: the tree differs, or `gen` refused to overwrite a hand edit.
pub const DIFFERENT: u8 = 1;
/// Exit code: trouble (a bad blueprint or command line, an I/O error, a report that
/// cannot be written).
pub const TROUBLE: u8 = 2;

/// The exit code of a command's result: the diff(1) convention, 0 same or done,
/// 1 different, 2 trouble.
pub fn exit_code(result: &Result<Outcome, Error>) -> u8 {
    match result {
        Ok(Outcome::Success) => DONE,
        Ok(Outcome::Different) => DIFFERENT,
        Ok(Outcome::Blocked | Outcome::Unverified) | Err(_) => TROUBLE,
    }
}

/// Whether a write failed because the reader went away (`infragen check | head`): the
/// command then ends quietly with the code it had earned.
pub fn is_closed_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}
