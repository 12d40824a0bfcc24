//! The output tree, touched safely: paths walked one component at a time without
//! following links, files read only when regular and small, writes through exclusive
//! temporary files with random names, and the lock on the output directory.

use super::{Conflict, MAX_FILE_BYTES};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Permission bits of a file infragen creates (an existing file keeps its own).
const NEW_FILE_MODE: u32 = 0o644;

/// An I/O error with the path it concerns in its message.
pub(super) fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The deepest path infragen writes has 7 components; a manifest entry deeper than this
/// is not one of its files (and would cost an `lstat` per component to check).
pub const MAX_DEPTH: usize = 16;
/// The longest file name a Linux file system takes.
pub const MAX_COMPONENT: usize = 255;

/// Whether `rel` is a path infragen may write under `out`: relative, `/`-separated,
/// no empty, `.` or `..` component, no NUL, no control character, at most
/// [`MAX_DEPTH`] components of at most [`MAX_COMPONENT`] bytes.
pub fn is_safe_relative(rel: &str) -> bool {
    !rel.is_empty()
        && rel.len() <= 4096
        && !rel.starts_with('/')
        && !rel.contains('\\')
        && !rel.chars().any(char::is_control)
        && rel.split('/').count() <= MAX_DEPTH
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && c.len() <= MAX_COMPONENT)
}

/// What is at a path under `out`, found without following links.
#[derive(Debug)]
pub(super) enum Entry {
    Missing,
    /// `utf8`: the bytes were UTF-8 (infragen writes nothing else); when not, `text`
    /// is a lossy reading, fit to show but not to hash.
    File {
        text: String,
        mode: u32,
        utf8: bool,
    },
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
pub(super) fn check_parents(out: &Path, rel: &str) -> io::Result<Result<bool, String>> {
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
pub(super) fn inspect(out: &Path, rel: &str) -> io::Result<Entry> {
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
        utf8: std::str::from_utf8(&bytes).is_ok(),
        text: String::from_utf8_lossy(&bytes).into_owned(),
        mode: meta.permissions().mode() & 0o7777,
    })
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
pub(super) fn write_at(out: &Path, rel: &str, contents: &str, mode: Option<u32>) -> io::Result<()> {
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
pub(super) fn remove_empty_parents(out: &Path, rel: &str) {
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
