//! The JSON format: one document on standard output per command.

use super::human::{MAX_REPORT_DIFF_LINES, file_diff};
use super::join;
use crate::error::Error;
use crate::impact::Impact;
use crate::model::Model;
use crate::sync::{Action, Change, Plan};
use serde_json::{Value, json};
use std::io::{self, Write};

/// `A`, `M`, `D` (or `=`) for a change.
pub fn tag(action: Action) -> &'static str {
    match action {
        Action::Create => "A",
        Action::Update => "M",
        Action::Remove => "D",
        Action::Release => "K",
        Action::Unchanged => "=",
    }
}

/// The 1-based line of the first difference between the tree and the render (the new
/// file's line; 1 for a file that is added or removed).
pub fn first_changed_line(c: &Change) -> usize {
    match (&c.old, &c.new) {
        (Some(old), Some(new)) => {
            old.lines()
                .zip(new.lines())
                .take_while(|(a, b)| a == b)
                .count()
                + 1
        }
        _ => 1,
    }
}

pub fn error(e: &Error, out: &mut dyn Write) -> io::Result<()> {
    let doc = match e {
        Error::Invalid {
            file, diagnostics, ..
        } => {
            let errors: Vec<Value> = diagnostics
                .iter()
                .map(|d| {
                    json!({
                        "code": d.code.as_str(),
                        "line": d.pos.map(|p| p.line),
                        "column": d.pos.map(|p| p.column),
                        "path": d.path,
                        "message": d.message,
                        "accepted": d.help,
                    })
                })
                .collect();
            json!({"status": "invalid", "blueprint": file, "errors": errors})
        }
        other => json!({"status": "error", "message": other.to_string()}),
    };
    writeln!(out, "{doc}")
}

pub fn valid(model: &Model, out: &mut dyn Write) -> io::Result<()> {
    let envs: Vec<&str> = model.envs.iter().map(|e| e.name.as_str()).collect();
    writeln!(
        out,
        "{}",
        json!({"status": "valid", "blueprint": model.source, "environments": envs})
    )
}

pub fn check(
    plan: &Plan,
    impact: Option<&Impact>,
    out_dir: &str,
    blueprint: &str,
    fix: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    // Bounded like the human report: past MAX_REPORT_DIFF_LINES lines of diff, files
    // are listed with `"diff": null` and `"diff_omitted": true`.
    let mut printed = 0;
    let drifted: Vec<Value> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| {
            let diff = (printed < MAX_REPORT_DIFF_LINES && c.action != Action::Release)
                .then(|| file_diff(c, out_dir));
            printed += diff.as_deref().map_or(0, |d| d.lines().count());
            json!({
                "path": join(out_dir, &c.path),
                "status": tag(c.action),
                "first_changed_line": first_changed_line(c),
                "diff": diff,
                "diff_omitted": diff.is_none() && c.action != Action::Release,
            })
        })
        .collect();
    let clean = drifted.is_empty();
    let doc = json!({
        "status": if clean { "clean" } else { "drift" },
        "blueprint": blueprint,
        "out": out_dir,
        "files_checked": plan.changes.len(),
        "drifted": drifted,
        "fix": if clean { Value::Null } else { fix.into() },
        "impact": impact,
    });
    writeln!(out, "{doc}")
}
