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
//! - Ownership comes from the manifest only: infragen removes a file it no longer
//!   produces when the manifest lists it and its bytes are what infragen wrote. Nothing
//!   else under `out` is looked at (no guessing from names or markers).
//! - Interrupted runs resume: before the first write, the manifest is rewritten to accept
//!   both the old and the new bytes of every path about to change, so files written
//!   before a kill are still recognised as infragen's own; temporary files a kill left
//!   behind are removed by the next `gen`.
//! - A lock on the output directory (`flock`) keeps two runs from interleaving.

use crate::render::{MANIFEST, OutputFile, has_marker, parse_manifest, sha256_hex};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Generated files are small; a larger file at a generated path is not infragen's.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Permission bits of a file infragen creates (an existing file keeps its own).
const NEW_FILE_MODE: u32 = 0o644;

/// What `gen` would do to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Remove,
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

    pub fn conflicts(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.conflict.is_some())
    }
}

/// An I/O error with the path it concerns in its message.
fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Whether `rel` is a path infragen may write under `out`: relative, `/`-separated,
/// no empty, `.` or `..` component, no NUL, not too long.
pub fn is_safe_relative(rel: &str) -> bool {
    !rel.is_empty()
        && rel.len() <= 4096
        && !rel.starts_with('/')
        && !rel.contains('\0')
        && !rel.contains('\\')
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// What is at a path under `out`, found without following links.
#[derive(Debug)]
enum Entry {
    Missing,
    File { text: String, mode: u32 },
    Blocked(Conflict),
}

fn kind_of(ft: &std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symbolic link"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

/// Checks the directories between `out` and `rel`'s file: each must be a real
/// directory. Returns the first one that is not (relative), or `Ok(None)` when all are,
/// or some are missing (then the file is missing too).
fn check_parents(out: &Path, rel: &str) -> io::Result<Result<bool, String>> {
    let mut dir = out.to_path_buf();
    let mut shown = String::new();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        dir.push(part);
        if !shown.is_empty() {
            shown.push('/');
        }
        shown.push_str(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => return Ok(Err(shown)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ok(false)),
            Err(e) => return Err(at(&dir, e)),
        }
    }
    Ok(Ok(true))
}

/// Reads what is at `out/rel` without following links or reading special files.
fn inspect(out: &Path, rel: &str) -> io::Result<Entry> {
    match check_parents(out, rel)? {
        Err(dir) => return Ok(Entry::Blocked(Conflict::BadParent(dir))),
        Ok(false) => return Ok(Entry::Missing),
        Ok(true) => {}
    }
    let path = out.join(rel);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Entry::Missing),
        Err(e) => return Err(at(&path, e)),
    };
    if !meta.file_type().is_file() {
        return Ok(Entry::Blocked(Conflict::NotRegular(kind_of(
            &meta.file_type(),
        ))));
    }
    // Opened without following a link and without blocking on a FIFO, then checked
    // again on the open file: the path may have changed since the lstat.
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Ok(Entry::Blocked(Conflict::NotRegular("symbolic link")));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Entry::Missing),
        Err(e) => return Err(at(&path, e)),
    };
    let meta = file.metadata().map_err(|e| at(&path, e))?;
    if !meta.file_type().is_file() {
        return Ok(Entry::Blocked(Conflict::NotRegular(kind_of(
            &meta.file_type(),
        ))));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Ok(Entry::Blocked(Conflict::TooLarge(meta.len())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| at(&path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Ok(Entry::Blocked(Conflict::TooLarge(bytes.len() as u64)));
    }
    Ok(Entry::File {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        mode: meta.permissions().mode() & 0o7777,
    })
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

/// The manifest as read: each path with the hashes infragen may have written there
/// (two while a `gen` is between its first write and its last).
#[derive(Debug, Default)]
struct Manifest {
    present: bool,
    hashes: BTreeMap<String, Vec<String>>,
    ignored: Vec<String>,
    /// Set when the manifest itself is a link, special file or too large.
    blocked: Option<Conflict>,
}

fn read_manifest(out: &Path) -> io::Result<Manifest> {
    let mut m = Manifest::default();
    match inspect(out, MANIFEST)? {
        Entry::Missing => {}
        Entry::Blocked(c) => {
            m.present = true;
            m.blocked = Some(c);
        }
        Entry::File { text, .. } => {
            m.present = true;
            for (path, hash) in parse_manifest(&text) {
                let is_hash = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
                if is_safe_relative(&path) && path != MANIFEST && is_hash {
                    m.hashes.entry(path).or_default().push(hash);
                } else {
                    m.ignored.push(path);
                }
            }
        }
    }
    Ok(m)
}

/// Builds a [`Plan`] one rendered file at a time: each file is compared with the tree
/// as it arrives, and the contents of unchanged files are dropped, so memory holds only
/// what differs. Reads only.
pub struct Planner<'a> {
    out: &'a Path,
    manifest: Manifest,
    produced: HashSet<String>,
    changes: Vec<Change>,
}

impl<'a> Planner<'a> {
    pub fn new(out: &'a Path) -> io::Result<Self> {
        Ok(Planner {
            out,
            manifest: read_manifest(out)?,
            produced: HashSet::new(),
            changes: Vec::new(),
        })
    }

    /// Compares one rendered file with the tree.
    pub fn add(&mut self, f: OutputFile) -> io::Result<()> {
        debug_assert!(is_safe_relative(&f.path), "{}", f.path);
        let change = match inspect(self.out, &f.path)? {
            Entry::Missing => Change {
                path: f.path.clone(),
                action: Action::Create,
                old: None,
                new: Some(f.contents),
                conflict: None,
                mode: None,
            },
            Entry::Blocked(conflict) => Change {
                path: f.path.clone(),
                action: Action::Update,
                old: None,
                new: Some(f.contents),
                conflict: Some(conflict),
                mode: None,
            },
            Entry::File { text, mode } if text == f.contents => Change {
                path: f.path.clone(),
                action: Action::Unchanged,
                old: None,
                new: None,
                conflict: None,
                mode: Some(mode),
            },
            Entry::File { text, mode } => Change {
                path: f.path.clone(),
                action: Action::Update,
                conflict: self.conflict_of(&f.path, &text),
                old: Some(text),
                new: Some(f.contents),
                mode: Some(mode),
            },
        };
        self.produced.insert(f.path);
        self.changes.push(change);
        Ok(())
    }

    /// A differing file may be replaced only when it is exactly what infragen wrote.
    fn conflict_of(&self, path: &str, old: &str) -> Option<Conflict> {
        if path == MANIFEST {
            return None;
        }
        if !has_marker(old) {
            return Some(Conflict::NotGenerated);
        }
        if !self.manifest.present {
            return Some(Conflict::Unverifiable);
        }
        let hash = sha256_hex(old);
        match self.manifest.hashes.get(path) {
            Some(hashes) if hashes.contains(&hash) => None,
            _ => Some(Conflict::HandEdited),
        }
    }

    /// Adds the stale files: listed in the manifest, no longer produced.
    pub fn finish(mut self) -> io::Result<Plan> {
        if let Some(c) = self.manifest.blocked.take()
            && let Some(m) = self.changes.iter_mut().find(|c| c.path == MANIFEST)
        {
            m.conflict = Some(c);
            m.action = Action::Update;
            m.old = None;
        }
        let stale: Vec<String> = self
            .manifest
            .hashes
            .keys()
            .filter(|p| !self.produced.contains(*p))
            .cloned()
            .collect();
        for path in stale {
            let change = match inspect(self.out, &path)? {
                Entry::Missing => continue,
                Entry::Blocked(conflict) => Change {
                    path,
                    action: Action::Remove,
                    old: None,
                    new: None,
                    conflict: Some(conflict),
                    mode: None,
                },
                Entry::File { text, mode } => Change {
                    conflict: self.conflict_of(&path, &text),
                    path,
                    action: Action::Remove,
                    old: Some(text),
                    new: None,
                    mode: Some(mode),
                },
            };
            self.changes.push(change);
        }
        Ok(Plan {
            changes: self.changes,
            ignored_manifest_entries: self.manifest.ignored,
            had_manifest: self.manifest.present,
        })
    }
}

/// Counts of what [`apply`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub removed: usize,
    pub unchanged: usize,
    /// Temporary files an interrupted run left behind, removed before writing.
    pub cleaned: usize,
}

/// A held lock on an output directory; released when dropped.
pub struct TreeLock {
    _dir: File,
}

/// Why the output tree could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another infragen holds it.
    Busy(PathBuf),
    Io(io::Error),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Busy(p) => write!(
                f,
                "{}: another infragen run is using this output directory; try again when it has finished",
                p.display()
            ),
            LockError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Locks the output directory: exclusively for `gen` (which creates it first), shared
/// for `check` (a missing directory needs no lock). Fails at once when another run
/// holds it.
pub fn lock(out: &Path, exclusive: bool) -> Result<Option<TreeLock>, LockError> {
    if exclusive {
        std::fs::create_dir_all(out).map_err(|e| LockError::Io(at(out, e)))?;
    } else if !out.is_dir() {
        return Ok(None);
    }
    let dir = File::open(out).map_err(|e| LockError::Io(at(out, e)))?;
    let result = if exclusive {
        dir.try_lock()
    } else {
        dir.try_lock_shared()
    };
    match result {
        Ok(()) => Ok(Some(TreeLock { _dir: dir })),
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Busy(out.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(LockError::Io(at(out, e))),
    }
}

/// Whether `name` is a temporary file infragen creates (`.<file>.infragen-<random>.tmp`,
/// and the `<pid>` form earlier versions used).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        && name
            .strip_suffix(".tmp")
            .and_then(|s| s.rsplit_once(".infragen-"))
            .is_some_and(|(file, tag)| {
                file.len() > 1 && !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric())
            })
}

/// Removes temporary files an interrupted run left in the directories infragen writes
/// (regular files with infragen's temporary name only; links are left alone).
fn clean_temp_files(out: &Path, plan: &Plan) -> io::Result<usize> {
    let mut dirs = BTreeSet::new();
    for c in &plan.changes {
        if let Some((dir, _)) = c.path.rsplit_once('/') {
            dirs.insert(dir.to_string());
        } else {
            dirs.insert(String::new());
        }
    }
    let mut cleaned = 0;
    for dir in dirs {
        // Only real directories all the way down (a linked one is a conflict already).
        let probe = if dir.is_empty() {
            "x".to_string()
        } else {
            format!("{dir}/x")
        };
        if check_parents(out, &probe)? != Ok(true) {
            continue;
        }
        let path = if dir.is_empty() {
            out.to_path_buf()
        } else {
            out.join(&dir)
        };
        let entries = match std::fs::read_dir(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(at(&path, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| at(&path, e))?;
            let name = entry.file_name();
            let is_file = entry.file_type().map_err(|e| at(&path, e))?.is_file();
            if is_file && is_temp_name(&name.to_string_lossy()) {
                let p = entry.path();
                std::fs::remove_file(&p).map_err(|e| at(&p, e))?;
                cleaned += 1;
            }
        }
    }
    Ok(cleaned)
}

/// The manifest that accepts both what is on disk now and what `plan` writes: written
/// before the first change, so a run killed half way is resumable.
fn transitional_manifest(plan: &Plan, final_manifest: &str) -> String {
    let mut text = final_manifest.to_string();
    for c in &plan.changes {
        if let (Some(old), Action::Update | Action::Remove) = (&c.old, c.action)
            && c.path != MANIFEST
            && c.conflict.is_none()
        {
            let _ = writeln!(text, "{}  {}", sha256_hex(old), c.path);
        }
    }
    // Stale files being removed stay listed until they are gone.
    text
}

/// Applies the plan under `out`. The caller has checked conflicts (or was told to force)
/// and holds the lock. Files are written atomically; the manifest is written first (to
/// accept old and new bytes) and last (new bytes only).
pub fn apply(out: &Path, plan: &Plan) -> io::Result<Summary> {
    let mut summary = Summary {
        cleaned: clean_temp_files(out, plan)?,
        ..Summary::default()
    };
    if let Some(c) = plan
        .conflicts()
        .find(|c| !c.conflict.as_ref().is_some_and(Conflict::forceable))
    {
        let reason = c
            .conflict
            .as_ref()
            .map(Conflict::reason)
            .unwrap_or_default();
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: it {reason}", out.join(&c.path).display()),
        ));
    }
    let manifest = plan
        .changes
        .iter()
        .find(|c| c.path == MANIFEST && c.new.is_some());
    if let Some(m) = manifest
        && plan.changes.iter().any(|c| {
            c.path != MANIFEST
                && matches!(c.action, Action::Update | Action::Remove | Action::Create)
        })
    {
        let new = m.new.as_deref().unwrap_or_default();
        write_at(out, MANIFEST, &transitional_manifest(plan, new), m.mode)?;
    }
    for c in &plan.changes {
        match (c.action, &c.new) {
            (Action::Unchanged, _) => summary.unchanged += 1,
            (_, _) if c.path == MANIFEST => {}
            (Action::Create | Action::Update, Some(new)) => {
                write_at(out, &c.path, new, c.mode)?;
                if c.action == Action::Create {
                    summary.created += 1;
                } else {
                    summary.updated += 1;
                }
            }
            (Action::Remove, _) => {
                let target = out.join(&c.path);
                match std::fs::remove_file(&target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(at(&target, e)),
                }
                remove_empty_parents(out, &c.path);
                summary.removed += 1;
            }
            (_, None) => {}
        }
    }
    if let Some(m) = manifest {
        write_at(out, MANIFEST, m.new.as_deref().unwrap_or_default(), m.mode)?;
        if m.action == Action::Create {
            summary.created += 1;
        } else {
            summary.updated += 1;
        }
    }
    Ok(summary)
}

/// Creates the directories of `rel` under `out` one at a time, refusing any that exists
/// as something other than a real directory.
fn make_parents(out: &Path, rel: &str) -> io::Result<PathBuf> {
    let mut dir = out.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{}: a symbolic link or file is in the way of a directory infragen writes into",
                        dir.display()
                    ),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(at(&dir, e)),
            },
            Err(e) => return Err(at(&dir, e)),
        }
    }
    Ok(dir)
}

/// Writes `contents` to `out/rel` atomically, without following links: a temporary file
/// with a random name is created exclusively beside the target, written, synced, given
/// the old file's permission bits (or 0644), and renamed over the target.
fn write_at(out: &Path, rel: &str, contents: &str, mode: Option<u32>) -> io::Result<()> {
    if !is_safe_relative(rel) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{rel}: not a path infragen writes"),
        ));
    }
    let dir = make_parents(out, rel)?;
    let target = out.join(rel);
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.infragen-"))
        .suffix(".tmp")
        .rand_bytes(10)
        .tempfile_in(&dir)
        .map_err(|e| at(&dir, e))?;
    let result = (|| {
        tmp.write_all(contents.as_bytes())?;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(
                mode.unwrap_or(NEW_FILE_MODE),
            ))?;
        tmp.as_file().sync_all()
    })();
    result.map_err(|e| at(&target, e))?;
    tmp.persist(&target).map_err(|e| at(&target, e.error))?;
    // The rename is durable once the directory is synced.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `contents` to `target` atomically (temporary file beside it, then rename),
/// creating its directory. For callers outside a generated tree (tests, `init`); `gen`
/// uses the link-safe path walk of [`apply`].
pub fn write_atomic(target: &Path, contents: &str) -> io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| at(dir, e))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_at(dir, &name, contents, None)
}

/// Removes directories left empty by a removal, up to (not including) `out`.
fn remove_empty_parents(out: &Path, rel: &str) {
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    while !parts.is_empty() {
        let dir = out.join(parts.join("/"));
        let is_dir = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_dir());
        if !is_dir || std::fs::remove_dir(&dir).is_err() {
            break;
        }
        parts.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_relative_paths() {
        assert!(is_safe_relative("terraform/x.tf"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a\\b",
            "a\0b",
        ] {
            assert!(!is_safe_relative(bad), "{bad:?}");
        }
    }

    #[test]
    fn temp_names() {
        assert!(is_temp_name(".redis.tf.infragen-Ab12Cd34Ef.tmp"));
        assert!(is_temp_name(".redis.tf.infragen-4242.tmp"));
        assert!(!is_temp_name("redis.tf.infragen-4242.tmp"));
        assert!(!is_temp_name(".redis.tf.infragen-.tmp"));
        assert!(!is_temp_name(".redis.tf.infragen-a/b.tmp"));
        assert!(!is_temp_name(".redis.tf"));
    }
}
