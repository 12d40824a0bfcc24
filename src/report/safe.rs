//! The one escaping rule for everything infragen prints that came from outside it (the
//! output tree, which may be a pull request's; the blueprint; the command line).
//!
//! `check` runs in CI, where the log is read by two parsers besides people: the
//! terminal, which acts on escape sequences (cursor moves, OSC 8 links, OSC 52 clipboard
//! writes), and the GitHub Actions runner, which runs a line as a workflow command when
//! it starts, after leading white space, with `::` (`::add-mask::`, `::warning::`,
//! `::stop-commands::`), or holds `##[` anywhere (the older form), and which also splits
//! lines at a bare carriage return. So every line infragen prints goes through [`Safe`]:
//!
//! - a character that is not plain text (every control character but the tab, the
//!   bidirectional embeddings, overrides, isolates and marks, zero-width characters, the
//!   Unicode line and paragraph separators, the byte-order mark) is shown as `\u{XX}`;
//! - a line that would start, after white space, with `::` shows its second colon as
//!   `\u{3a}`; `##[` anywhere shows its second `#` as `\u{23}`.
//!
//! JSON documents get the same characters as `\uXXXX` escapes (the same string to a JSON
//! reader); workflow commands infragen writes itself go out through [`Safe::command`],
//! their data escaped by the caller (`report::github`).

use std::borrow::Cow;
use std::io::{self, Write};

/// Whether `c` must not reach a terminal or a CI log as it is.
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `s` with every unsafe character shown as `\u{XX}`: one line, nothing hidden.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_char(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_char(out: &mut String, c: char) {
    if is_unsafe(c) {
        out.push_str(&format!("\\u{{{:x}}}", c as u32));
    } else {
        out.push(c);
    }
}

/// `s` as [`text`] shows it, and `##[` shown as `#\u{23}[`: a value quoted inside a
/// line infragen writes itself (a workflow command's message).
pub fn inline(s: &str) -> Cow<'_, str> {
    let t = text(s);
    if t.contains("##[") {
        Cow::Owned(t.replace("##[", "#\\u{23}["))
    } else {
        t
    }
}

/// One line of text output (without its newline), safe for a terminal and a CI log.
pub fn line(s: &str) -> Cow<'_, str> {
    let lead = s.len() - s.trim_start().len();
    let starts_command = s[lead..].starts_with("::");
    if !starts_command && !s.contains("##[") && !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut prev_hash = false;
    for (i, c) in s.char_indices() {
        if starts_command && i == lead + 1 {
            out.push_str("\\u{3a}");
        } else if c == '#' && prev_hash && s[i + 1..].starts_with('[') {
            out.push_str("\\u{23}");
        } else {
            push_char(&mut out, c);
        }
        prev_hash = c == '#';
    }
    Cow::Owned(out)
}

/// One JSON document, serialised by serde_json (which escapes the control characters
/// below U+0020 already): the other unsafe characters and the `#` of `##[` as `\uXXXX`,
/// so a reader gets the same strings back and the log gets nothing to act on.
pub fn json(doc: &str) -> Cow<'_, str> {
    if !doc.contains("##[") && !doc.chars().any(is_unsafe) {
        return Cow::Borrowed(doc);
    }
    let mut out = String::with_capacity(doc.len() + 16);
    let mut prev_hash = false;
    for (i, c) in doc.char_indices() {
        let hash_bracket = c == '#' && prev_hash && doc[i + 1..].starts_with('[');
        if is_unsafe(c) || hash_bracket {
            // Every unsafe character is in the Basic Multilingual Plane: one \u escape.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
        prev_hash = c == '#';
    }
    Cow::Owned(out)
}

/// How a [`Safe`] stream treats what is written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Lines of text: [`line`] on each.
    Text,
    /// A JSON document: [`json`].
    Json,
}

/// A stream every report is written to: whatever is written through `Write` is escaped
/// line by line ([`line`] or [`json`]); only [`Safe::command`] writes a line as it is.
pub struct Safe<'a> {
    inner: &'a mut dyn Write,
    kind: Kind,
    /// The current line, up to its newline.
    pending: Vec<u8>,
}

impl<'a> Safe<'a> {
    pub fn new(inner: &'a mut dyn Write, kind: Kind) -> Safe<'a> {
        Safe {
            inner,
            kind,
            pending: Vec::new(),
        }
    }

    /// A workflow command infragen itself issues (`::error file=...::message`), written
    /// as it is: its caller has escaped every value in it.
    pub fn command(&mut self, line: &str) -> io::Result<()> {
        self.emit_pending()?;
        debug_assert!(!line.contains(['\n', '\r']));
        self.inner.write_all(line.as_bytes())?;
        self.inner.write_all(b"\n")
    }

    fn emit(&mut self, raw: &[u8], newline: bool) -> io::Result<()> {
        let text = String::from_utf8_lossy(raw);
        let safe = match self.kind {
            Kind::Text => line(&text),
            Kind::Json => json(&text),
        };
        self.inner.write_all(safe.as_bytes())?;
        if newline {
            self.inner.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Writes an unfinished last line (a report should end with a newline; this one is
    /// not lost if it does not).
    fn emit_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        self.emit(&pending, false)
    }
}

impl Write for Safe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(n) = rest.iter().position(|&b| b == b'\n') {
            if self.pending.is_empty() {
                self.emit(&rest[..n], true)?;
            } else {
                self.pending.extend_from_slice(&rest[..n]);
                let pending = std::mem::take(&mut self.pending);
                self.emit(&pending, true)?;
            }
            rest = &rest[n + 1..];
        }
        self.pending.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit_pending()?;
        self.inner.flush()
    }
}

impl Drop for Safe<'_> {
    fn drop(&mut self) {
        let _ = self.emit_pending();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(kind: Kind, s: &str) -> String {
        let mut buf = Vec::new();
        {
            let mut safe = Safe::new(&mut buf, kind);
            // In pieces, as write! does: a line split across writes is escaped whole.
            for piece in s.as_bytes().chunks(3) {
                safe.write_all(piece).unwrap();
            }
            safe.flush().unwrap();
        }
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn no_line_starts_a_workflow_command() {
        let out = through(
            Kind::Text,
            "x\n::warning::forged\n  ::add-mask::x\n\t::error::y\n",
        );
        for l in out.lines() {
            assert!(!l.trim_start().starts_with("::"), "{l}");
        }
        assert_eq!(out.lines().nth(1), Some(":\\u{3a}warning::forged"));
        assert!(!through(Kind::Text, "a ##[add-mask]b\n").contains("##["));
        // infragen's own command goes out as it is.
        let mut buf = Vec::new();
        Safe::new(&mut buf, Kind::Text)
            .command("::error file=a,line=1::m")
            .unwrap();
        assert_eq!(buf, b"::error file=a,line=1::m\n");
    }

    #[test]
    fn no_control_bidi_or_invisible_character_passes() {
        let hostile =
            "a\u{1b}]8;;http://x\u{7}b\u{1b}[2J\rc\u{202e}d\u{2028}e\u{200b}f\u{85}g\u{feff}";
        let out = text(hostile);
        assert!(!out.chars().any(is_unsafe), "{out}");
        assert!(out.contains("\\u{1b}") && out.contains("\\u{202e}") && out.contains("\\u{d}"));
        let out = through(Kind::Text, &format!("{hostile}\n"));
        assert_eq!(out.lines().count(), 1, "{out:?}");
        assert!(!out.trim_end_matches('\n').chars().any(is_unsafe));
    }

    #[test]
    fn json_keeps_its_strings() {
        let v = serde_json::json!({"p": "a\u{202e}b\u{85}##[add-mask]\u{1b}c"});
        let doc = serde_json::to_string(&v).unwrap();
        let out = through(Kind::Json, &doc);
        assert!(!out.chars().any(is_unsafe) && !out.contains("##["), "{out}");
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn plain_text_is_untouched() {
        let s = "M generated/a.tf\n+  port = 6379 # ok: not a command\n\tx::y\n";
        assert_eq!(through(Kind::Text, s), s);
    }
}
