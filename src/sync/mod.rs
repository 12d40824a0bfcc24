//! Sync: compare the rendered files with the output directory, then either report the
//! differences (`check`, read-only) or apply them (`gen`).
//!
//! The output tree may be hostile (a pull request can commit anything into it), so this
//! module never follows a link and never reads a special file:
//!
//! - Every path is walked from `out` one component at a time with `lstat`; a directory
//!   on the way that is a symbolic link or not a directory, and a generated path that is
//!   a link, a FIFO, a device, a socket or a directory, is a [`Conflict`] reported with
//!   its path, never read and never written through. Files are opened with
//!   `O_NOFOLLOW | O_NONBLOCK`, checked with `fstat`, and read up to [`MAX_FILE_BYTES`].
//! - Writes go to a temporary file with a random name created exclusively (`O_EXCL`)
//!   beside the target, then renamed over it; the file keeps its permission bits.
//! - Ownership comes from the manifest and the file together: infragen removes a file it
//!   no longer produces only when the manifest lists it, it carries the marker, and its
//!   bytes hash to what the manifest recorded. Any other file the manifest lists is
//!   released (kept, no longer listed), `--force` or not. Nothing else under `out` is
//!   looked at.
//! - Interrupted runs resume: before the first write, the manifest is rewritten to accept
//!   both the old and the new bytes of every path about to change, so files written
//!   before a kill are still recognised as infragen's own; temporary files a kill left
//!   behind are removed by the next `gen`.
//! - A lock on the output directory (`flock`) keeps two runs from interleaving.

mod apply;
mod planner;
mod tree;

pub use crate::paths::linked_component;
pub use apply::{Summary, apply};
pub use planner::Planner;
pub use tree::{LockError, TreeLock, is_safe_relative, is_temp_name, lock, write_atomic};

use crate::render::{MANIFEST, OutputFile};
use std::io;
use std::path::Path;

/// Generated files are small; a larger file at a generated path is not infragen's (the
/// renderer refuses to produce one: the two limits are one).
pub const MAX_FILE_BYTES: u64 = crate::render::MAX_FILE_BYTES;

/// What `gen` would do to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Remove,
    /// No longer produced, and not removed: it is not exactly what infragen wrote (edited
    /// by hand, no marker, not a regular file). infragen stops listing it in its manifest
    /// and leaves it where it is, with or without `--force`: the manifest alone, which a
    /// pull request can write, never gets a file deleted.
    Release,
    Unchanged,
}

/// Why a path must not be overwritten or removed without `--force` (or at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// infragen wrote it, and it was edited since.
    HandEdited,
    /// The file is not infragen's (no marker): it was written by hand.
    NotGenerated,
    /// It carries the marker and differs, and there is no manifest to tell infragen's
    /// earlier output from a hand edit.
    Unverifiable,
    /// Not a regular file: a symbolic link, a directory, a FIFO, a device or a socket.
    /// Never read, never followed; `--force` replaces a link or special file (never a
    /// directory) with the regular file.
    NotRegular(&'static str),
    /// Larger than any file infragen writes: not read.
    TooLarge(u64),
    /// A directory on the way (given, relative to `out`) is a symbolic link or not a
    /// directory: nothing below it is read or written, even with `--force`.
    BadParent(String),
}

impl Conflict {
    /// Why, in a sentence that follows "it" ("refusing to overwrite X: it ...").
    pub fn reason(&self) -> String {
        match self {
            Conflict::HandEdited => "was edited by hand since infragen wrote it".into(),
            Conflict::NotGenerated => {
                "was not written by infragen (no generated-code marker)".into()
            }
            Conflict::Unverifiable => format!(
                "differs from the blueprint's output, and without {MANIFEST} infragen cannot tell its own earlier output from a hand edit (restore {MANIFEST}, e.g. from git, or review and use --force)"
            ),
            Conflict::NotRegular(kind) => {
                format!("is a {kind}, not a regular file; infragen neither reads nor follows it")
            }
            Conflict::TooLarge(n) => format!(
                "is {n} bytes, larger than any file infragen writes ({MAX_FILE_BYTES}); it was not read"
            ),
            Conflict::BadParent(dir) => format!(
                "lies below {dir}, which is a symbolic link or not a directory; infragen never writes through it"
            ),
        }
    }

    /// Whether `--force` may resolve it. A directory in the way, or a linked parent
    /// directory, is never replaced.
    pub fn forceable(&self) -> bool {
        !matches!(
            self,
            Conflict::BadParent(_) | Conflict::NotRegular("directory")
        )
    }

    /// Whether the file's old contents were read (and so may be shown in a diff).
    pub fn was_read(&self) -> bool {
        matches!(
            self,
            Conflict::HandEdited | Conflict::NotGenerated | Conflict::Unverifiable
        )
    }
}

/// One path in the plan.
#[derive(Debug, Clone)]
pub struct Change {
    pub path: String,
    pub action: Action,
    /// Contents on disk, when the file exists, is a regular file, and differs (unchanged
    /// and unreadable files keep none).
    pub old: Option<String>,
    /// Contents the blueprint produces, when they must be written.
    pub new: Option<String>,
    pub conflict: Option<Conflict>,
    /// Permission bits of the file on disk, kept when it is replaced.
    pub mode: Option<u32>,
}

/// Every path the blueprint produces, plus stale generated files, in render order
/// (stale files last, sorted).
#[derive(Debug, Clone)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Manifest entries that were ignored because their path is not a safe relative
    /// path under `out` (a hostile or corrupt manifest).
    pub ignored_manifest_entries: Vec<String>,
    /// Whether the tree had a manifest.
    pub had_manifest: bool,
}

impl Plan {
    pub fn is_clean(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::Unchanged)
    }

    /// The changes `gen` may not make without `--force` (or at all). A released file
    /// carries the reason it is kept, but is no conflict: nothing is done to it.
    pub fn conflicts(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.conflict.is_some() && c.action != Action::Release)
    }
}

/// Compares `files` with the tree under `out`. Reads only.
pub fn plan(out: &Path, files: &[OutputFile]) -> io::Result<Plan> {
    let mut planner = Planner::new(out)?;
    for f in files {
        planner.add(f.clone())?;
    }
    planner.finish()
}

/// Why a plan could not be made: the render failed, or the tree could not be read.
#[derive(Debug)]
pub enum PlanError {
    Render(crate::render::RenderError),
    Io(io::Error),
}

impl From<crate::render::RenderError> for PlanError {
    fn from(e: crate::render::RenderError) -> Self {
        PlanError::Render(e)
    }
}

impl From<io::Error> for PlanError {
    fn from(e: io::Error) -> Self {
        PlanError::Io(e)
    }
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Render(e) => write!(f, "{e}"),
            PlanError::Io(e) => write!(f, "{e}"),
        }
    }
}
