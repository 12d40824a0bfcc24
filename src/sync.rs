//! Sync: compare the rendered files with the output directory, then either report the
//! differences (`check`, read-only) or apply them (`gen`).
//!
//! [`plan`] reads the tree and classifies every path: create, update, remove (a file
//! carrying infragen's marker that the blueprint no longer produces) or unchanged. It
//! also finds hand edits: a file on disk whose bytes are not what the manifest says
//! infragen last wrote. [`apply`] writes each changed file atomically (temporary file in
//! the same directory, then rename) and removes stale ones; it refuses to touch hand
//! edits unless forced.

use crate::render::{MANIFEST, OutputFile, has_marker, parse_manifest, sha256_hex};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// What `gen` would do to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Remove,
    Unchanged,
}

/// Why a file must not be overwritten without `--force`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// infragen wrote it, and it was edited since.
    HandEdited,
    /// The file is not infragen's (no marker): it was written by hand.
    NotGenerated,
}

/// One path in the plan.
#[derive(Debug, Clone)]
pub struct Change {
    pub path: String,
    pub action: Action,
    /// Contents on disk, when the file exists and differs (unchanged files keep none).
    pub old: Option<String>,
    /// Contents the blueprint produces, when they must be written.
    pub new: Option<String>,
    pub conflict: Option<Conflict>,
}

/// Every path the blueprint produces, plus stale generated files, in render order
/// (stale files last, sorted).
#[derive(Debug, Clone)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn is_clean(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::Unchanged)
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.conflict.is_some())
    }

    /// `M`/`A`/`D` status lines, one per differing path (paths relative to `out`).
    pub fn status(&self, out: &str) -> String {
        let mut s = String::new();
        for c in &self.changes {
            let tag = match c.action {
                Action::Create => "A",
                Action::Update => "M",
                Action::Remove => "D",
                Action::Unchanged => continue,
            };
            let _ = writeln!(s, "{tag} {}", join(out, &c.path));
        }
        s
    }

    /// A unified diff per differing file, from the tree on disk (`a/`) to what the
    /// blueprint produces (`b/`); `/dev/null` stands for a missing side.
    pub fn diff(&self, out: &str) -> String {
        let mut s = String::new();
        for c in self
            .changes
            .iter()
            .filter(|c| c.action != Action::Unchanged)
        {
            s.push_str(&file_diff(c, out));
        }
        s
    }
}

fn join(out: &str, path: &str) -> String {
    if out.is_empty() || out == "." {
        path.to_string()
    } else {
        format!("{}/{path}", out.trim_end_matches('/'))
    }
}

/// The unified diff of one change.
pub fn file_diff(c: &Change, out: &str) -> String {
    let shown = join(out, &c.path);
    let (a, b) = (
        c.old
            .as_ref()
            .map_or("/dev/null".to_string(), |_| format!("a/{shown}")),
        c.new
            .as_ref()
            .map_or("/dev/null".to_string(), |_| format!("b/{shown}")),
    );
    let old = c.old.as_deref().unwrap_or("");
    let new = c.new.as_deref().unwrap_or("");
    let diff = similar::TextDiff::from_lines(old, new);
    let mut text = diff
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Directories never searched for stale files: they are large and never hold output.
const SKIP_DIRS: &[&str] = &[".git", ".terraform", ".venv", "node_modules", "target"];

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

/// Builds a [`Plan`] one rendered file at a time: each file is compared with the tree
/// as it arrives, and the contents of unchanged files are dropped, so memory holds only
/// what differs. Reads only.
pub struct Planner<'a> {
    out: &'a Path,
    manifest: BTreeMap<String, String>,
    produced: HashSet<String>,
    changes: Vec<Change>,
}

impl<'a> Planner<'a> {
    pub fn new(out: &'a Path) -> io::Result<Self> {
        let manifest = read_optional(&out.join(MANIFEST))?
            .map(|t| parse_manifest(&t).into_iter().collect())
            .unwrap_or_default();
        Ok(Planner {
            out,
            manifest,
            produced: HashSet::new(),
            changes: Vec::new(),
        })
    }

    /// Compares one rendered file with the tree.
    pub fn add(&mut self, f: OutputFile) -> io::Result<()> {
        let old = read_optional(&self.out.join(&f.path))?;
        let change = match old {
            None => Change {
                path: f.path.clone(),
                action: Action::Create,
                old: None,
                new: Some(f.contents),
                conflict: None,
            },
            Some(o) if o == f.contents => Change {
                path: f.path.clone(),
                action: Action::Unchanged,
                old: None,
                new: None,
                conflict: None,
            },
            Some(o) => Change {
                path: f.path.clone(),
                action: Action::Update,
                conflict: conflict_of(&f.path, &o, &self.manifest),
                old: Some(o),
                new: Some(f.contents),
            },
        };
        self.produced.insert(f.path);
        self.changes.push(change);
        Ok(())
    }

    /// Adds the stale files: generated earlier, no longer produced.
    pub fn finish(mut self) -> io::Result<Plan> {
        let mut stale = Vec::new();
        if self.out.is_dir() {
            find_generated(self.out, self.out, &self.produced, &mut stale)?;
        }
        stale.sort();
        for path in stale {
            let old = read_optional(&self.out.join(&path))?;
            let conflict = old
                .as_deref()
                .and_then(|o| conflict_of(&path, o, &self.manifest));
            self.changes.push(Change {
                path,
                action: Action::Remove,
                old,
                new: None,
                conflict,
            });
        }
        Ok(Plan {
            changes: self.changes,
        })
    }
}

/// A differing file is safe to replace only when it is exactly what infragen last wrote.
fn conflict_of(path: &str, old: &str, manifest: &BTreeMap<String, String>) -> Option<Conflict> {
    if path == MANIFEST {
        return None;
    }
    if !has_marker(old) {
        return Some(Conflict::NotGenerated);
    }
    match manifest.get(path) {
        Some(hash) if *hash == sha256_hex(old) => None,
        _ => Some(Conflict::HandEdited),
    }
}

fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

/// Collects (relative, `/`-separated) paths of regular files under `dir` whose first
/// line is infragen's marker, other than the `produced` ones (already read). Only the
/// first bytes of each file are read.
fn find_generated(
    root: &Path,
    dir: &Path,
    produced: &HashSet<String>,
    found: &mut Vec<String>,
) -> io::Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry?;
        let ty = entry.file_type()?;
        let path = entry.path();
        if ty.is_dir() {
            if !SKIP_DIRS.contains(&entry.file_name().to_string_lossy().as_ref()) {
                find_generated(root, &path, produced, found)?;
            }
        } else if ty.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let rel = rel.join("/");
            if produced.contains(&rel) {
                continue;
            }
            let mut head = [0u8; 256];
            let n = std::fs::File::open(&path)?.read(&mut head)?;
            if has_marker(&String::from_utf8_lossy(&head[..n])) {
                found.push(rel);
            }
        }
    }
    Ok(())
}

/// Counts of what [`apply`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub removed: usize,
    pub unchanged: usize,
}

/// Applies the plan under `out`. The caller has checked conflicts (or was told to force).
/// Files are written atomically; the manifest is written last.
pub fn apply(out: &Path, plan: &Plan) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let mut manifest = None;
    for c in &plan.changes {
        let target = out.join(&c.path);
        match (c.action, &c.new) {
            (Action::Unchanged, _) => summary.unchanged += 1,
            (Action::Create | Action::Update, Some(new)) if c.path == MANIFEST => {
                manifest = Some((target, new, c.action))
            }
            (Action::Create | Action::Update, Some(new)) => {
                write_atomic(&target, new)?;
                if c.action == Action::Create {
                    summary.created += 1;
                } else {
                    summary.updated += 1;
                }
            }
            (Action::Remove, _) => {
                std::fs::remove_file(&target)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", target.display())))?;
                remove_empty_parents(out, &target);
                summary.removed += 1;
            }
            (_, None) => {}
        }
    }
    if let Some((target, new, action)) = manifest {
        write_atomic(&target, new)?;
        if action == Action::Create {
            summary.created += 1;
        } else {
            summary.updated += 1;
        }
    }
    Ok(summary)
}

/// Writes `contents` to a temporary file beside `target`, syncs it, then renames it over
/// `target`: readers see the old file or the new one, never a partial one.
pub fn write_atomic(target: &Path, contents: &str) -> io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = dir.join(format!(".{name}.infragen-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, target)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io::Error::new(
            e.kind(),
            format!("{}: {e}", target.display()),
        ));
    }
    Ok(())
}

/// Removes directories left empty by a removal, up to (not including) `out`.
fn remove_empty_parents(out: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == out || !d.starts_with(out) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
