//! The GitHub Actions format: one `::error` workflow annotation per problem, at its file
//! and line. Values from the blueprint are escaped wherever they appear: a message
//! never ends an annotation or starts a line of its own.

use super::join;
use super::json::first_changed_line;
use super::safe::{self, Safe};
use crate::error::Error;
use crate::sync::{Action, Plan};
use std::io;

/// Escapes a workflow-command message: unsafe characters and `##[` as [`safe::inline`]
/// shows them (so no CR or LF is left), then `%`.
pub(super) fn message(s: &str) -> String {
    safe::inline(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value (also `:` and `,`).
pub(super) fn property(s: &str) -> String {
    message(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn error(e: &Error, out: &mut Safe) -> io::Result<()> {
    let Error::Invalid {
        file, diagnostics, ..
    } = e
    else {
        return out.command(&format!(
            "::error title=infragen::{}",
            message(&e.to_string())
        ));
    };
    let mut sorted: Vec<_> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| d.pos);
    for d in sorted {
        let loc = d
            .pos
            .map(|p| format!(",line={},col={}", p.line, p.column))
            .unwrap_or_default();
        let mut text = if d.path.is_empty() {
            d.message.clone()
        } else {
            format!("{}: {}", d.path, d.message)
        };
        if let Some(h) = &d.help {
            text.push_str(&format!(" (accepted: {h})"));
        }
        out.command(&format!(
            "::error file={}{loc},title=infragen validate {}::{}",
            property(file),
            d.code.as_str(),
            message(&text)
        ))?;
    }
    Ok(())
}

pub fn check(plan: &Plan, out_dir: &str, fix: &str, out: &mut Safe) -> io::Result<()> {
    for c in plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
    {
        let path = join(out_dir, &c.path);
        let what = match c.action {
            Action::Create => "is missing",
            Action::Remove => "is stale (the blueprint no longer produces it)",
            Action::Release => {
                "is no longer generated and is not what infragen wrote: gen keeps it and stops managing it"
            }
            _ => "is out of date",
        };
        out.command(&format!(
            "::error file={},line={},title=infragen check::{}",
            property(&path),
            first_changed_line(c),
            message(&format!("{path} {what}; run: {fix}"))
        ))?;
    }
    Ok(())
}
