//! Diagnostics: located, human-readable problems with a stable code, a source snippet
//! and a caret.

mod codes;

pub use codes::Code;
use std::fmt::Write as _;

/// A 1-based position in the blueprint file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    pub fn of(loc: &serde_saphyr::Location) -> Pos {
        Pos {
            line: loc.line(),
            column: loc.column(),
        }
    }
}

/// One problem with the blueprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Which rule (stable across versions; see `docs/DIAGNOSTICS.md`).
    pub code: Code,
    /// Where in the file; `None` when the problem has no single place (e.g. an empty file).
    pub pos: Option<Pos>,
    /// The data path, e.g. `environments.dev.redis.memory.max`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What is accepted instead.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic. Its path and message are tidied for every output: control
    /// characters escaped (a value never starts a line of its own, so it cannot pose as
    /// a CI workflow command or forge a report line) and long quoted values shortened.
    pub fn new(
        code: Code,
        pos: Option<Pos>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            pos,
            path: shorten(&path.into(), MAX_SHOWN),
            message: tidy(&message.into()),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(tidy(&help.into()));
        self
    }

    /// Renders the diagnostic with `file:line:column`, the data path and a snippet with a
    /// caret under the offending column.
    pub fn render(&self, file: &str, source: &str) -> String {
        let line = self
            .pos
            .and_then(|p| source.lines().nth((p.line as usize).saturating_sub(1)));
        self.render_with(file, line)
    }

    /// [`Diagnostic::render`] with the source line already found (`render_all` indexes
    /// the lines once: finding each diagnostic's line by scanning the source made 60,000
    /// diagnostics take half a minute).
    fn render_with(&self, file: &str, line: Option<&str>) -> String {
        let mut out = String::new();
        let path = if self.path.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.path)
        };
        let _ = writeln!(out, "error[{}]: {path}{}", self.code.as_str(), self.message);
        match self.pos {
            Some(pos) => {
                let _ = writeln!(out, "  --> {file}:{}:{}", pos.line, pos.column);
                if let Some(text) = line {
                    let num = pos.line.to_string();
                    let pad = " ".repeat(num.len());
                    // A very long line is shown around the caret only.
                    let col = (pos.column as usize).saturating_sub(1);
                    let skip = col.saturating_sub(SNIPPET_WIDTH / 2);
                    let text: String = text
                        .trim_end()
                        .chars()
                        .skip(skip)
                        .take(SNIPPET_WIDTH)
                        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
                        .collect();
                    let (text, col) = if skip > 0 {
                        (format!("...{text}"), col - skip + 3)
                    } else {
                        (text, col)
                    };
                    let caret_at = text
                        .chars()
                        .take(col)
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect::<String>();
                    let rest: String = text.chars().skip(col).collect();
                    let width = token_width(&rest).min(SNIPPET_WIDTH);
                    let _ = writeln!(out, "{pad} |");
                    let _ = writeln!(out, "{num} | {text}");
                    let _ = writeln!(out, "{pad} | {caret_at}{}", "^".repeat(width));
                }
            }
            None => {
                let _ = writeln!(out, "  --> {file}");
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "  = accepted: {help}");
        }
        out
    }
}

/// Characters of a source line shown in a snippet.
const SNIPPET_WIDTH: usize = 120;

/// Longest value (in characters) a message quotes before shortening it.
pub const MAX_SHOWN: usize = 80;

/// `s` with control characters escaped (`\n`, `\u{1b}`) and, when longer than `max`
/// characters, cut with a note of its full length.
pub fn shorten(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (shown, c) in s.chars().enumerate() {
        if shown == max {
            let _ = write!(out, "... ({} bytes in all)", s.len());
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A message with every `quoted` value shortened and control characters escaped.
pub fn tidy(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    let mut rest = message;
    while let Some(start) = rest.find('`') {
        out.push_str(&shorten(&rest[..start], usize::MAX));
        let after = &rest[start + 1..];
        match after.find('`') {
            Some(end) => {
                out.push('`');
                out.push_str(&shorten(&after[..end], MAX_SHOWN));
                out.push('`');
                rest = &after[end + 1..];
            }
            None => {
                out.push('`');
                out.push_str(&shorten(after, MAX_SHOWN));
                return out;
            }
        }
    }
    out.push_str(&shorten(rest, 4 * MAX_SHOWN));
    out
}

/// Width of the token starting at the caret: a quoted string, or a plain scalar up to a
/// comment, a flow separator or a `key: ` colon; at least 1.
fn token_width(rest: &str) -> usize {
    let rest = rest.trim_end();
    if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
        if let Some(end) = rest[1..].find(q) {
            return rest[..end + 2].chars().count();
        }
        return rest.chars().count().max(1);
    }
    let end = [" #", ", ", ",", "]", "}", ": "]
        .iter()
        .filter_map(|stop| rest.find(stop))
        .min()
        .unwrap_or(rest.len());
    rest[..end].trim_end().chars().count().max(1)
}

/// Renders all diagnostics, sorted by position, with a closing count.
/// Diagnostics shown in the human report: a blueprint with more has one mistake many
/// times over (and a crafted one would make the report as long as it likes).
pub const MAX_RENDERED: usize = 500;

pub fn render_all(diags: &[Diagnostic], file: &str, source: &str) -> String {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| d.pos);
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    for d in sorted.iter().take(MAX_RENDERED) {
        let line = d
            .pos
            .and_then(|p| lines.get((p.line as usize).saturating_sub(1)).copied());
        out.push_str(&d.render_with(file, line));
        out.push('\n');
    }
    let n = sorted.len();
    if n > MAX_RENDERED {
        let _ = writeln!(
            out,
            "... and {} more problems, not shown (`--format json` lists every one)\n",
            n - MAX_RENDERED
        );
    }
    let _ = writeln!(
        out,
        "{file}: {n} problem{} found; nothing was written",
        if n == 1 { "" } else { "s" }
    );
    out
}

/// The data path of the YAML key at `line` in block-style YAML, found by walking up to
/// the enclosing keys. Used for parser errors, which carry a position but no path.
pub fn path_at(source: &str, line: u64) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let Some(start) = (line as usize).checked_sub(1).filter(|i| *i < lines.len()) else {
        return String::new();
    };
    let mut parts = Vec::new();
    let mut limit = usize::MAX;
    for text in lines[..=start].iter().rev() {
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = text.len() - trimmed.len();
        let key_part = trimmed.trim_start_matches("- ");
        if indent < limit {
            if let Some((key, _)) = key_part.split_once(':') {
                let key = key.trim().trim_matches('"').trim_matches('\'');
                if !key.is_empty() && !key.contains(' ') {
                    parts.push(key.to_string());
                    limit = indent;
                }
            }
            if indent == 0 {
                break;
            }
        }
    }
    parts.reverse();
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_shortened() {
        assert_eq!(tidy("`a\n::error::x` is bad"), "`a\\n::error::x` is bad");
        let long = "x".repeat(1000);
        let t = tidy(&format!("`{long}` is not a valid name"));
        assert!(t.len() < 150, "{t}");
        assert!(
            t.ends_with("(1000 bytes in all)` is not a valid name"),
            "{t}"
        );
        assert_eq!(shorten("abc", 2), "ab... (3 bytes in all)");
    }

    #[test]
    fn every_code_is_in_the_documented_table() {
        let doc = include_str!("../../docs/DIAGNOSTICS.md");
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(
                seen.insert(code.as_str()),
                "{} is used twice",
                code.as_str()
            );
            let row = format!("| `{}` | {} |", code.as_str(), code.summary());
            assert!(
                doc.contains(&row),
                "docs/DIAGNOSTICS.md lacks the row {row}"
            );
        }
        let rows = doc.lines().filter(|l| l.starts_with("| `IG")).count();
        assert_eq!(
            rows,
            Code::ALL.len(),
            "docs/DIAGNOSTICS.md lists codes that do not exist"
        );
    }

    #[test]
    fn long_lines_are_shown_around_the_caret() {
        let line = format!("name: {}", "x".repeat(5000));
        let d = Diagnostic::new(Code::Name, Some(Pos { line: 1, column: 7 }), "name", "bad");
        let shown = d.render("bp.yaml", &line);
        assert!(shown.len() < 600, "{shown}");
    }
}
