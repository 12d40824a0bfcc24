//! Load: read the blueprint file safely ([`read`]) and parse it into
//! [`crate::blueprint`] types ([`parse`]), keeping every value's line and column.
//! Parser errors become [`Diagnostic`]s like any other. `crate::pipeline` runs this,
//! then validation.

use crate::blueprint::Blueprint;
use crate::diag::{Code, Diagnostic, Pos, path_at};
use crate::error::Error;
use std::path::Path;

/// Blueprints are small; anything larger is a mistake (or an attack on the parser).
pub const MAX_BLUEPRINT_BYTES: u64 = 1 << 20;

/// A blueprint's text, as read, with the path shown to users.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as given (written into messages and each generated file's marker).
    pub display: String,
    pub text: String,
}

/// Reads the blueprint at `path`.
///
/// It must be a regular file: a link is not followed (a pull request could point it at
/// `/proc/self/environ`, whose lines would then appear in error snippets), a FIFO or
/// device is not read, and at most [`MAX_BLUEPRINT_BYTES`] are read. A file that is not
/// UTF-8 is reported at its first bad byte.
pub fn read(path: &Path) -> Result<Source, Error> {
    let display = display_path(path);
    let bytes = read_regular(path, MAX_BLUEPRINT_BYTES)
        .map_err(|e| Error::io(format!("cannot read blueprint {}", shown(&display)), e))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source { display, text }),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let before = String::from_utf8_lossy(&bytes[..valid]);
            let line = before.matches('\n').count() as u64 + 1;
            let column = before.rsplit('\n').next().unwrap_or("").chars().count() as u64 + 1;
            let d = Diagnostic::new(
                Code::NotUtf8,
                Some(Pos { line, column }),
                "",
                format!("the blueprint is not UTF-8 text: byte {valid} is not valid UTF-8"),
            )
            .help("a UTF-8 YAML file; re-save it as UTF-8");
            Err(Error::Invalid {
                file: display,
                source: String::from_utf8_lossy(&bytes).into_owned(),
                diagnostics: vec![d],
            })
        }
    }
}

/// The path as shown in a message: escaped and shortened like a quoted value.
pub fn shown(display: &str) -> String {
    crate::diag::shorten(display, 200)
}

/// Reads a regular file without following a link at its last component, without
/// blocking on a FIFO, and refusing anything larger than `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                Error::new(
                    ErrorKind::InvalidInput,
                    "it is a symbolic link; give the path of the file itself",
                )
            } else {
                e
            }
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    if meta.len() > max {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("it is {} bytes; the limit is {max}", meta.len()),
        ));
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("it is over {max} bytes"),
        ));
    }
    Ok(bytes)
}

/// Parses YAML into the blueprint types. YAML 1.1 booleans (`yes`, `on`) are refused
/// for boolean fields so that a typo never flips a setting.
pub fn parse(source: &str) -> Result<Blueprint, Diagnostic> {
    if source.trim().is_empty() {
        return Err(
            Diagnostic::new(Code::Empty, None, "", "the blueprint is empty")
                .help("a YAML mapping with `name`, `aws`, `host`, `redis` and `environments`"),
        );
    }
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<Blueprint>(source, options).map_err(|e| {
        let pos = e.location().filter(|l| l.line() > 0).map(|l| Pos::of(&l));
        let message = own_words(&clean_message(&e.without_snippet().to_string()))
            .replace("invalid i64", "expected a whole number")
            .replace(
                "strict mode expects true/false",
                "write true or false; YAML 1.1 spellings such as yes/no/on/off are refused",
            );
        let path = pos.map(|p| path_at(source, p.line)).unwrap_or_default();
        let mut message = message;
        if let Some(rest) = message.strip_prefix("unknown field `")
            && let Some((field, expected)) = rest.split_once("`, expected one of ")
        {
            let candidates: Vec<&str> = expected.split(", ").map(|c| c.trim_matches('`')).collect();
            message = format!(
                "{message}{}",
                crate::suggest::did_you_mean(field, candidates)
            );
        }
        let code = if message.starts_with("unknown field") {
            Code::UnknownField
        } else if message.starts_with("the key `") {
            Code::DuplicateKey
        } else if message.starts_with("missing field") {
            Code::Missing
        } else if message.contains("invalid type")
            || message.contains("invalid ")
            || message.contains("expected")
            || message.contains("write true or false")
            || message.contains("not null")
        {
            Code::WrongType
        } else {
            Code::Syntax
        };
        let d = Diagnostic::new(code, pos, path, message);
        match code {
            Code::UnknownField => {
                d.help("only the fields listed above; see the blueprint reference in README.md")
            }
            Code::WrongType => d.help(
                "a value of the type the field takes; see the blueprint reference in README.md",
            ),
            _ => d,
        }
    })
}

/// The parser's messages that speak of its own API, in infragen's words.
fn own_words(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("the key `{key}` appears twice in this mapping; write it once");
    }
    if message.starts_with("cannot deserialize null into ") {
        return "a value is required here, not null (`~`, `null` or nothing)".to_string();
    }
    if let Some(i) = message.find("; use Option<") {
        return message[..i].to_string();
    }
    message.to_string()
}

/// Drops the parser's own `error: line N column M:` prefix (the renderer adds the
/// location itself).
fn clean_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or(raw).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    if let Some(rest) = first.strip_prefix("line ")
        && let Some((_, msg)) = rest.split_once(": ")
        && rest
            .split_once(": ")
            .is_some_and(|(loc, _)| loc.contains("column"))
    {
        return strip_trailing_location(msg).to_string();
    }
    strip_trailing_location(first).to_string()
}

/// Drops a trailing ` at line N, column M` (the renderer shows the location).
fn strip_trailing_location(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => &msg[..i],
        _ => msg,
    }
}

/// The path as the user wrote it, with `/` separators and no leading `./`, so markers
/// are the same on every machine.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_string()
}
