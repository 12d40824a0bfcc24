//! Paths given on the command line, walked without trusting the tree they lead into.

use std::io;
use std::path::{Path, PathBuf};

/// The first component of `path` that is a symbolic link inside the current directory
/// (the repository a CI job checked out, where a pull request can commit a link), and
/// where it points. The path is walked from the root, physically: a link above the
/// checkout (the user's own `/tmp -> /private/tmp`, a workspace reached through a link)
/// is followed, any link whose directory lies inside the checkout is reported, however
/// the path spells it (relative, absolute, through `..` or an alias of the current
/// directory). A `..` after a component that does not exist yet is refused: `gen`
/// would create the directory and then resolve the rest through whatever is there.
pub fn linked_component(path: &Path) -> io::Result<Option<(PathBuf, PathBuf)>> {
    use std::path::Component;
    let cwd = std::env::current_dir()?;
    let inside = cwd.canonicalize().unwrap_or_else(|_| cwd.clone());
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut walked = PathBuf::from("/");
    let mut missing: Option<PathBuf> = None;
    for part in full.components() {
        match part {
            Component::RootDir | Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => {
                if let Some(m) = &missing {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "`..` after {}, which does not exist yet: give the path without `..`",
                            shown(m, &inside)
                        ),
                    ));
                }
                // `walked` holds no link (each one met is resolved), so its parent is
                // the physical `..`.
                walked.pop();
            }
            Component::Normal(n) => {
                walked.push(n);
                if missing.is_some() {
                    continue;
                }
                match std::fs::symlink_metadata(&walked) {
                    Ok(m) if m.file_type().is_symlink() => {
                        if walked.parent().is_some_and(|p| p.starts_with(&inside)) {
                            let target = std::fs::read_link(&walked).unwrap_or_default();
                            return Ok(Some((shown(&walked, &inside).into(), target)));
                        }
                        walked = walked.canonicalize().map_err(|e| {
                            io::Error::new(e.kind(), format!("{}: {e}", walked.display()))
                        })?;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        missing = Some(walked.clone());
                    }
                    Err(e) => {
                        return Err(io::Error::new(
                            e.kind(),
                            format!("{}: {e}", walked.display()),
                        ));
                    }
                }
            }
        }
    }
    Ok(None)
}

/// A path as a message shows it: relative to the current directory when inside it.
fn shown(p: &Path, inside: &Path) -> String {
    match p.strip_prefix(inside) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => p.display().to_string(),
    }
}

/// `out` joined with a generated path, as every report shows it: `generated/x.tf`, and
/// `x.tf` for `--out .`.
pub fn join(out: &str, path: &str) -> String {
    let out = out.trim_end_matches('/');
    if out.is_empty() || out == "." {
        path.to_string()
    } else {
        format!("{out}/{path}")
    }
}
