//! The planner: compares each rendered file with the tree as it arrives, and finds the
//! stale files the manifest lists.

use super::tree::{Entry, inspect, is_safe_relative};
use super::{Action, Change, Conflict, Plan};
use crate::render::{MANIFEST, OutputFile, has_marker, parse_manifest, sha256_hex};
use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::Path;

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
            Entry::File { text, mode, utf8 } if utf8 && text == f.contents => Change {
                path: f.path.clone(),
                action: Action::Unchanged,
                old: None,
                new: None,
                conflict: None,
                mode: Some(mode),
            },
            Entry::File { text, mode, utf8 } => Change {
                path: f.path.clone(),
                action: Action::Update,
                conflict: self.conflict_of(&f.path, &text, utf8),
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
    fn conflict_of(&self, path: &str, old: &str, utf8: bool) -> Option<Conflict> {
        if path == MANIFEST {
            return None;
        }
        if !utf8 || !has_marker(old) {
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
            // Removed only when it is exactly what infragen wrote; anything else the
            // manifest names is released, whatever --force says.
            let change = match inspect(self.out, &path)? {
                Entry::Missing => continue,
                Entry::Blocked(conflict) => Change {
                    path,
                    action: Action::Release,
                    old: None,
                    new: None,
                    conflict: Some(conflict),
                    mode: None,
                },
                Entry::File { text, mode, utf8 } => {
                    let conflict = self.conflict_of(&path, &text, utf8);
                    Change {
                        action: if conflict.is_some() {
                            Action::Release
                        } else {
                            Action::Remove
                        },
                        conflict,
                        path,
                        old: Some(text),
                        new: None,
                        mode: Some(mode),
                    }
                }
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
