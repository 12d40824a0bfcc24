//! Applying a plan: clean what an interrupted run left, write the transitional
//! manifest, write and remove files, write the final manifest.

use super::tree::{at, check_parents, is_temp_name, remove_empty_parents, write_at};
use super::{Action, Conflict, Plan};
use crate::render::{MANIFEST, sha256_hex};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// Counts of what [`apply`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub removed: usize,
    /// Files no longer produced and left in place (see `Action::Release`).
    pub released: usize,
    pub unchanged: usize,
    /// Temporary files an interrupted run left behind, removed before writing.
    pub cleaned: usize,
}

/// Removes temporary files an interrupted run left in the directories infragen writes
/// now (regular files with infragen's temporary name only; links are left alone). Not in
/// directories only a stale manifest entry names: the manifest is the tree's word.
fn clean_temp_files(out: &Path, plan: &Plan) -> io::Result<usize> {
    let mut dirs = BTreeSet::new();
    for c in plan
        .changes
        .iter()
        .filter(|c| !matches!(c.action, Action::Remove | Action::Release))
    {
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
            (Action::Release, _) => summary.released += 1,
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
                debug_assert!(c.conflict.is_none(), "{}", c.path);
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
