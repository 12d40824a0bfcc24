//! Machine-readable reports for CI: `check` and validation errors as JSON or as GitHub
//! Actions workflow annotations. The human format lives beside the commands in `cli.rs`.

use crate::cli::Format;
use crate::load::LoadError;
use crate::sync::{Action, Change, Plan};
use std::fmt::Write as _;
use std::io::Write;

/// The 1-based line of the first difference between the tree and the render (the new
/// file's line; 1 for a file that is added or removed).
pub fn first_changed_line(c: &Change) -> usize {
    match (&c.old, &c.new) {
        (Some(old), Some(new)) => {
            let mut a = old.lines();
            let mut b = new.lines();
            let mut n = 1;
            loop {
                match (a.next(), b.next()) {
                    (Some(x), Some(y)) if x == y => n += 1,
                    _ => return n,
                }
            }
        }
        _ => 1,
    }
}

fn tag(action: Action) -> &'static str {
    match action {
        Action::Create => "A",
        Action::Update => "M",
        Action::Remove => "D",
        Action::Unchanged => "=",
    }
}

/// Escapes a workflow-command message (`%`, CR, LF).
fn gh_message(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value (also `:` and `,`).
fn gh_property(s: &str) -> String {
    gh_message(s).replace(':', "%3A").replace(',', "%2C")
}

fn join(out: &str, path: &str) -> String {
    if out.is_empty() || out == "." {
        path.to_string()
    } else {
        format!("{}/{path}", out.trim_end_matches('/'))
    }
}

/// Reports a `check`: exit 0 when clean, 1 on drift.
pub fn check(plan: &Plan, out_dir: &str, blueprint: &str, format: Format, w: &mut dyn Write) -> u8 {
    let fix = format!("infragen gen --blueprint {blueprint} --out {out_dir}");
    let drifted: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .collect();
    match format {
        Format::Json => {
            let files: Vec<serde_json::Value> = drifted
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "path": join(out_dir, &c.path),
                        "status": tag(c.action),
                        "first_changed_line": first_changed_line(c),
                        "diff": crate::sync::file_diff(c, out_dir),
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "status": if drifted.is_empty() { "clean" } else { "drift" },
                "blueprint": blueprint,
                "out": out_dir,
                "files_checked": plan.changes.len(),
                "drifted": files,
                "fix": if drifted.is_empty() { serde_json::Value::Null } else { fix.clone().into() },
            });
            let _ = writeln!(w, "{doc}");
        }
        Format::Github | Format::Human => {
            if format == Format::Github {
                let mut s = String::new();
                for c in &drifted {
                    let path = join(out_dir, &c.path);
                    let what = match c.action {
                        Action::Create => "is missing",
                        Action::Remove => "is stale (the blueprint no longer produces it)",
                        _ => "is out of date",
                    };
                    let _ = writeln!(
                        s,
                        "::error file={},line={},title=infragen check::{}",
                        gh_property(&path),
                        first_changed_line(c),
                        gh_message(&format!("{path} {what}; run: {fix}"))
                    );
                }
                let _ = write!(w, "{s}");
            }
            if drifted.is_empty() {
                let _ = writeln!(w, "{out_dir}: up to date ({} files)", plan.changes.len());
            } else {
                let _ = write!(w, "{}", plan.status(out_dir));
                let _ = writeln!(w);
                let _ = write!(w, "{}", plan.diff(out_dir));
                let _ = writeln!(w, "{out_dir} is out of date with {blueprint}; run: {fix}");
            }
        }
    }
    u8::from(!drifted.is_empty())
}

/// A load or validation failure as JSON or annotations.
pub fn load_error(e: &LoadError, format: Format) -> String {
    match (e, format) {
        (LoadError::Io(msg), Format::Json) => format!(
            "{}\n",
            serde_json::json!({"status": "error", "message": msg})
        ),
        (LoadError::Io(msg), _) => format!("::error title=infragen::{}\n", gh_message(msg)),
        (
            LoadError::Invalid {
                file, diagnostics, ..
            },
            Format::Json,
        ) => {
            let errors: Vec<serde_json::Value> = diagnostics
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "line": d.pos.map(|p| p.line),
                        "column": d.pos.map(|p| p.column),
                        "path": d.path,
                        "message": d.message,
                        "accepted": d.help,
                    })
                })
                .collect();
            format!(
                "{}\n",
                serde_json::json!({"status": "invalid", "blueprint": file, "errors": errors})
            )
        }
        (
            LoadError::Invalid {
                file, diagnostics, ..
            },
            _,
        ) => {
            let mut s = String::new();
            let mut sorted: Vec<_> = diagnostics.iter().collect();
            sorted.sort_by_key(|d| d.pos);
            for d in sorted {
                let loc = d
                    .pos
                    .map(|p| format!(",line={},col={}", p.line, p.column))
                    .unwrap_or_default();
                let mut msg = if d.path.is_empty() {
                    d.message.clone()
                } else {
                    format!("{}: {}", d.path, d.message)
                };
                if let Some(h) = &d.help {
                    msg.push_str(&format!(" (accepted: {h})"));
                }
                let _ = writeln!(
                    s,
                    "::error file={}{loc},title=infragen validate::{}",
                    gh_property(file),
                    gh_message(&msg)
                );
            }
            s
        }
    }
}
