//! Load: read the blueprint file safely ([`read`]) and parse it into
//! [`crate::blueprint`] types ([`parse`]), keeping every value's line and column.
//! Parser errors become [`Diagnostic`]s like any other. `crate::pipeline` runs this,
//! then validation.

use crate::blueprint::Blueprint;
use crate::diag::{Code, Diagnostic, Pos, path_at};
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

/// Why the blueprint could not be read: the file itself (with what was being done), or
/// its text (not UTF-8, located like any diagnostic). `crate::error` wraps it.
#[derive(Debug)]
pub enum ReadError {
    Io {
        what: String,
        source: std::io::Error,
    },
    Invalid {
        file: String,
        source: String,
        diagnostics: Vec<Diagnostic>,
    },
}

/// Reads the blueprint at `path`.
///
/// It must be a regular file: a link is not followed (a pull request could point it at
/// `/proc/self/environ`, whose lines would then appear in error snippets), a FIFO or
/// device is not read, and at most [`MAX_BLUEPRINT_BYTES`] are read. A file that is not
/// UTF-8 is reported at its first bad byte.
pub fn read(path: &Path) -> Result<Source, ReadError> {
    let display = display_path(path);
    // A directory above the blueprint may be a pull request's link too: it would make
    // infragen read (and quote in its errors) a file elsewhere.
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(Some((link, target))) = crate::paths::linked_component(parent)
    {
        return Err(ReadError::Io {
            what: format!("cannot read blueprint {}", shown(&display)),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link (to {}); give the blueprint's real path",
                    shown(&link.display().to_string()),
                    shown(&target.display().to_string())
                ),
            ),
        });
    }
    let bytes = read_regular(path, MAX_BLUEPRINT_BYTES).map_err(|e| ReadError::Io {
        what: format!("cannot read blueprint {}", shown(&display)),
        source: e,
    })?;
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
            Err(ReadError::Invalid {
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
    // One meaning for every reader (the JSON Schema, YAML 1.1 and YAML 1.2 tools): no
    // merge keys (two `<<` in one mapping silently kept the first), no tags the parser
    // would drop (`!foo 6379` was read as 6379), and numbers with underscores or a leading
    // zero are text, which a whole-number field then refuses (`Int`).
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
        merge_keys: serde_saphyr::MergeKeyPolicy::Error,
        reject_unsupported_tags: true,
        reject_tagged_field_names: true,
        underscored_numbers_as_strings: true,
        leading_zero_numbers_as_strings: true,
    };
    let blueprint = serde_saphyr::from_str_with_options::<Blueprint>(source, options.clone())
        .map_err(|e| parser_error(source, e))?;
    if let Some(d) = null_in_an_override(source, options) {
        return Err(d);
    }
    Ok(blueprint)
}

/// A YAML node, only as far as finding nulls needs.
enum Node {
    Null,
    Map(Vec<(String, serde_saphyr::Spanned<Node>)>),
    Other,
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Node::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = a.next_key::<String>()? {
                    out.push((k, a.next_value()?));
                }
                Ok(Node::Map(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `~`, `null` or an empty value inside an environment's overrides. serde reads it as
/// "not set", so the environment silently inherits the top level's value: the opposite
/// of what a reader of `bucket: ~` expects. Refused, located.
fn null_in_an_override(source: &str, options: serde_saphyr::Options) -> Option<Diagnostic> {
    fn walk(node: &Node, path: &str) -> Option<(String, serde_saphyr::Location)> {
        let Node::Map(entries) = node else {
            return None;
        };
        for (k, v) in entries {
            let here = format!("{path}.{k}");
            if matches!(v.value, Node::Null) {
                return Some((here, v.referenced));
            }
            if let Some(found) = walk(&v.value, &here) {
                return Some(found);
            }
        }
        None
    }
    let root: Node = serde_saphyr::from_str_with_options(source, options).ok()?;
    let Node::Map(top) = root else {
        return None;
    };
    let (_, envs) = top.iter().find(|(k, _)| k == "environments")?;
    let Node::Map(envs) = &envs.value else {
        return None;
    };
    envs.iter().find_map(|(name, layer)| {
        let (path, at) = walk(&layer.value, &format!("environments.{name}"))?;
        Some(
            Diagnostic::new(
                Code::WrongType,
                Some(Pos::of(&at)),
                path.clone(),
                format!(
                    "an empty value (`~`, `null` or nothing) does not unset `{}` for this environment: it would silently inherit the top level's value",
                    path.splitn(3, '.').nth(2).unwrap_or(&path)
                ),
            )
            .help("a value; or remove the key to inherit the top level's value on purpose"),
        )
    })
}

/// The parser's error as a located diagnostic in infragen's words.
fn parser_error(source: &str, e: serde_saphyr::Error) -> Diagnostic {
    {
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
        // The YAML scanner's own errors (bad indentation, an unclosed bracket or quote,
        // the text ending inside a value) are syntax, whatever their words.
        let scanner = matches!(
            e.without_snippet(),
            serde_saphyr::Error::ExternalMessage { source, .. }
                if matches!(**source, serde_saphyr::ExternalMessageSource::Parser(_))
        ) || matches!(e.without_snippet(), serde_saphyr::Error::Eof { .. });
        let code = if scanner {
            Code::Syntax
        } else if message.starts_with("unknown field") {
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
    }
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
    if message.starts_with("YAML merge keys are not allowed") {
        return "YAML merge keys (`<<`) are not accepted (readers disagree on them, and two in one mapping kept only the first): write the values out, or put shared values at the top level, which every environment inherits".to_string();
    }
    if let Some(what) = message.strip_prefix("budget breached: ") {
        let what = match what.split_once(" {") {
            Some(("Nodes", _)) => "too many values (over 250,000 YAML nodes)".to_string(),
            Some(("Depth", _)) => "nesting too deep".to_string(),
            Some(("Aliases" | "AliasReplays" | "Anchors", _)) => {
                "too many anchors or aliases".to_string()
            }
            Some((kind, _)) => format!("over the parser's limit on {}", kind.to_lowercase()),
            None => "over the parser's limits".to_string(),
        };
        return format!(
            "the blueprint is beyond what infragen reads: {what}; a real blueprint needs a small fraction of that"
        );
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

#[cfg(test)]
mod tests {
    use crate::diag::Code;

    fn codes(text: &str) -> Vec<Code> {
        match super::parse(text) {
            Ok(_) => Vec::new(),
            Err(d) => vec![d.code],
        }
    }

    /// A scanner error is syntax even when its words say "expected" (they once made a
    /// bad indentation a "wrong type").
    #[test]
    fn scanner_errors_are_syntax_whatever_their_words() {
        for text in [
            "name: tiny\nenvironments:\n  dev:\n    redis:\n      port: 1\n     mode: x\n",
            "name: tiny\nenvironments:\n  dev: {}\n  - x\n",
            "name: tiny\nenvironments: {dev: {}\n",
            "name: \"x\\q\"\n",
        ] {
            assert_eq!(codes(text), vec![Code::Syntax], "{text}");
        }
        // A value of the wrong shape is still a wrong type.
        assert_eq!(codes("name: [a]\n"), vec![Code::WrongType]);
    }
}
