//! Load: read the blueprint file and parse it into [`crate::blueprint`] types, keeping
//! every value's line and column. Parser errors become [`Diagnostic`]s like any other.

use crate::blueprint::Blueprint;
use crate::diag::{Diagnostic, Pos, path_at};
use crate::model::Model;
use crate::validate;
use std::path::Path;

/// Blueprints are small; anything larger is a mistake (or an attack on the parser).
pub const MAX_BLUEPRINT_BYTES: u64 = 1 << 20;

/// Why a blueprint could not become a model.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Io(String),
    /// The file was read but is not a valid blueprint: every problem found.
    Invalid {
        file: String,
        source: String,
        diagnostics: Vec<Diagnostic>,
    },
}

impl LoadError {
    /// The full, human-readable report.
    pub fn render(&self) -> String {
        match self {
            LoadError::Io(msg) => format!("error: {msg}\n"),
            LoadError::Invalid {
                file,
                source,
                diagnostics,
            } => crate::diag::render_all(diagnostics, file, source),
        }
    }
}

/// Reads, parses and validates the blueprint at `path`. `display` is the path written
/// into messages and into each generated file's marker.
pub fn load(path: &Path) -> Result<Model, LoadError> {
    let display = display_path(path);
    let meta = std::fs::metadata(path)
        .map_err(|e| LoadError::Io(format!("cannot read blueprint {display}: {e}")))?;
    if meta.len() > MAX_BLUEPRINT_BYTES {
        return Err(LoadError::Io(format!(
            "blueprint {display} is {} bytes; the limit is {MAX_BLUEPRINT_BYTES}",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| LoadError::Io(format!("cannot read blueprint {display}: {e}")))?;
    let source = String::from_utf8(bytes)
        .map_err(|_| LoadError::Io(format!("blueprint {display} is not UTF-8 text")))?;
    load_str(&display, &source)
}

/// Parses and validates blueprint text (no I/O).
pub fn load_str(display: &str, source: &str) -> Result<Model, LoadError> {
    let invalid = |diagnostics| LoadError::Invalid {
        file: display.to_string(),
        source: source.to_string(),
        diagnostics,
    };
    let blueprint = parse(source).map_err(|d| invalid(vec![d]))?;
    validate::build(blueprint, display).map_err(invalid)
}

/// Parses YAML into the blueprint types. YAML 1.1 booleans (`yes`, `on`) are refused
/// for boolean fields so that a typo never flips a setting.
pub fn parse(source: &str) -> Result<Blueprint, Diagnostic> {
    if source.trim().is_empty() {
        return Err(Diagnostic::new(None, "", "the blueprint is empty")
            .help("a YAML mapping with `name`, `aws`, `host`, `redis` and `environments`"));
    }
    let options = serde_saphyr::options! {
        strict_booleans: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<Blueprint>(source, options).map_err(|e| {
        let pos = e.location().filter(|l| l.line() > 0).map(|l| Pos::of(&l));
        let message = clean_message(&e.without_snippet().to_string())
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
        let mut d = Diagnostic::new(pos, path, message.clone());
        if message.contains("unknown field") {
            d = d.help("only the fields listed above; see the blueprint reference in README.md");
        } else if message.contains("invalid type")
            || message.contains("invalid ")
            || message.contains("expected")
        {
            d = d.help(
                "a value of the type the field takes; see the blueprint reference in README.md",
            );
        }
        d
    })
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
