//! Paths given on the command line, walked without trusting the tree they lead into.

use std::io;
use std::path::{Path, PathBuf};

/// The first component of `path` that is a symbolic link, and where it points: the
/// components below the current directory (the repository a CI job checked out, where a
/// pull request can commit a link), for a relative path or an absolute one inside it. An
/// absolute path elsewhere was chosen whole by whoever typed it and is not walked (system
/// links such as `/var/run` are not a pull request's). A committed `generated ->
/// ../elsewhere` must not take `gen`'s writes, the manifest it trusts and the stale files
/// it removes to another directory, nor make `check` compare another tree.
pub fn linked_component(path: &Path) -> io::Result<Option<(PathBuf, PathBuf)>> {
    let cwd = std::env::current_dir()?;
    let (mut walked, rest) = if path.is_absolute() {
        match path.strip_prefix(&cwd) {
            Ok(below) => (cwd.clone(), below.to_path_buf()),
            Err(_) => return Ok(None),
        }
    } else {
        (PathBuf::new(), path.to_path_buf())
    };
    for part in rest.components() {
        match part {
            std::path::Component::Normal(n) => walked.push(n),
            std::path::Component::ParentDir => walked.push(".."),
            _ => continue,
        }
        match std::fs::symlink_metadata(&walked) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&walked).unwrap_or_default();
                return Ok(Some((walked, target)));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("{}: {e}", walked.display()),
                ));
            }
        }
    }
    Ok(None)
}
