//! The human format: located errors with snippets, `M`/`A`/`D` status lines, unified
//! diffs, what `gen` did, `explain`'s table.

use super::join;
use crate::error::Error;
use crate::impact::Impact;
use crate::model::{Model, Origin};
use crate::sync::{Action, Change, Conflict, Plan, Summary};
use std::io::{self, Write};

pub fn error(e: &Error, err: &mut dyn Write) -> io::Result<()> {
    write!(err, "{}", e.render())
}

pub fn valid(model: &Model, out: &mut dyn Write) -> io::Result<()> {
    let envs: Vec<&str> = model.envs.iter().map(|e| e.name.as_str()).collect();
    writeln!(
        out,
        "{}: valid (environments: {})",
        model.source,
        envs.join(", ")
    )
}

/// `M`/`A`/`D` status lines, one per differing path.
pub fn status(plan: &Plan, out_dir: &str) -> String {
    let mut s = String::new();
    for c in &plan.changes {
        let tag = match c.action {
            Action::Create => "A",
            Action::Update => "M",
            Action::Remove => "D",
            Action::Release => "K",
            Action::Unchanged => continue,
        };
        s.push_str(&format!("{tag} {}", join(out_dir, &c.path)));
        if let (Action::Release, Some(why)) = (c.action, &c.conflict) {
            s.push_str(&format!(
                " (no longer generated; kept, not removed: it {})",
                why.reason()
            ));
        }
        s.push('\n');
    }
    s
}

/// Lines of diff in one report, over all files.
pub const MAX_REPORT_DIFF_LINES: usize = 20_000;
/// Bytes of one file's diff that are shown.
pub const MAX_DIFF_BYTES: usize = 64 << 10;
/// Lines of one file's diff that are shown; the rest is counted.
pub const MAX_DIFF_LINES: usize = 1_000;
/// Above this many changed lines (removed plus added) no line diff is computed: the
/// diff's cost grows with the file's size times the changes, and a tree from a pull
/// request can make both large. The report says how many lines differ instead.
pub const MAX_CHANGED_LINES: usize = 4_000;

/// Lines removed plus lines added, counted as multisets (no alignment: linear).
fn changed_lines(old: &str, new: &str) -> usize {
    let mut counts: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for l in old.lines() {
        *counts.entry(l).or_default() += 1;
    }
    for l in new.lines() {
        *counts.entry(l).or_default() -= 1;
    }
    counts.values().map(|c| c.unsigned_abs() as usize).sum()
}

/// The unified diff of one change, from the tree (`a/`) to what the blueprint produces
/// (`b/`); `/dev/null` stands for a missing side. A path whose contents were not read (a
/// link, a special file, a file too large) shows why instead. Bounded: at most
/// [`MAX_DIFF_LINES`] lines, and no line diff above [`MAX_CHANGED_LINES`] changes; what
/// is left out is said.
pub fn file_diff(c: &Change, out_dir: &str) -> String {
    let shown = join(out_dir, &c.path);
    if let Some(conflict) = c.conflict.as_ref().filter(|k| !k.was_read()) {
        return format!("--- {shown}: not shown: it {}\n", conflict.reason());
    }
    let a = c
        .old
        .as_ref()
        .map_or("/dev/null".to_string(), |_| format!("a/{shown}"));
    let b = c
        .new
        .as_ref()
        .map_or("/dev/null".to_string(), |_| format!("b/{shown}"));
    let (old, new) = (
        c.old.as_deref().unwrap_or(""),
        c.new.as_deref().unwrap_or(""),
    );
    let changed = changed_lines(old, new);
    if changed > MAX_CHANGED_LINES {
        return format!(
            "--- {a}\n+++ {b}\n(diff not shown: {changed} lines removed or added, over the {MAX_CHANGED_LINES} infragen diffs; {} lines before, {} after: compare the files with git diff)\n",
            old.lines().count(),
            new.lines().count()
        );
    }
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string();
    let total = text.lines().count();
    let mut out = String::with_capacity(text.len().min(MAX_DIFF_BYTES + 256));
    let mut shown = 0;
    for line in text.lines() {
        if shown == MAX_DIFF_LINES || out.len() + line.len() > MAX_DIFF_BYTES {
            break;
        }
        out.push_str(line);
        out.push('\n');
        shown += 1;
    }
    if shown < total {
        let left: usize = text.lines().skip(shown).map(|l| l.len() + 1).sum();
        out.push_str(&format!(
            "(... {} more lines of this diff not shown, {left} bytes)\n",
            total - shown
        ));
    }
    out
}

pub fn check(
    plan: &Plan,
    impact: Option<&Impact>,
    out_dir: &str,
    blueprint: &str,
    fix: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    if plan.is_clean() {
        return writeln!(out, "{out_dir}: up to date ({} files)", plan.changes.len());
    }
    write!(out, "{}", status(plan, out_dir))?;
    writeln!(out)?;
    if let Some(impact) = impact {
        let values = super::values_path(out_dir);
        write!(out, "{}", super::impact::text(impact, &values, blueprint))?;
        writeln!(out)?;
    }
    // A released file is left as it is: no diff (its status line says why). The whole
    // report is bounded too: past MAX_REPORT_DIFF_LINES, files are only counted.
    let mut printed = 0;
    let mut skipped = 0;
    for c in plan
        .changes
        .iter()
        .filter(|c| !matches!(c.action, Action::Unchanged | Action::Release))
    {
        if printed >= MAX_REPORT_DIFF_LINES {
            skipped += 1;
            continue;
        }
        let diff = file_diff(c, out_dir);
        printed += diff.lines().count();
        write!(out, "{diff}")?;
    }
    if skipped > 0 {
        writeln!(
            out,
            "(diffs of {skipped} more files not shown: the report stops at {MAX_REPORT_DIFF_LINES} lines of diff; their paths are listed above)"
        )?;
    }
    writeln!(out, "{out_dir} is out of date with {blueprint}; run: {fix}")
}

/// Manifest entries that were ignored (a path outside the tree, a malformed line).
pub fn ignored_manifest_entries(plan: &Plan, out_dir: &str, err: &mut dyn Write) -> io::Result<()> {
    const SHOWN: usize = 20;
    let all = &plan.ignored_manifest_entries;
    if all.len() > SHOWN {
        writeln!(
            err,
            "warning: {} lists {} entries that are not paths under {out_dir}; ignored (the first {SHOWN} below)",
            join(out_dir, crate::render::MANIFEST),
            all.len()
        )?;
    }
    for entry in all.iter().take(SHOWN) {
        writeln!(
            err,
            "warning: {} lists `{}`, which is not a path under {out_dir}; ignored",
            join(out_dir, crate::render::MANIFEST),
            crate::diag::shorten(entry, 80),
        )?;
    }
    Ok(())
}

/// Why `gen` wrote nothing: each conflict it may not resolve, with the diff or the
/// reason its contents are not shown.
pub fn refused(plan: &Plan, out_dir: &str, force: bool, err: &mut dyn Write) -> io::Result<()> {
    let mut blocked = false;
    for c in plan.conflicts() {
        let Some(conflict) = &c.conflict else {
            continue;
        };
        if force && conflict.forceable() {
            continue;
        }
        blocked |= !conflict.forceable();
        let what = if c.action == Action::Remove {
            "remove"
        } else {
            "overwrite"
        };
        writeln!(
            err,
            "error: refusing to {what} {}: it {}",
            join(out_dir, &c.path),
            conflict.reason()
        )?;
        write!(err, "{}", file_diff(c, out_dir))?;
    }
    if blocked {
        writeln!(
            err,
            "nothing was written. Move what is in the way out of {out_dir} (--force never writes through a link or replaces a directory)."
        )
    } else {
        writeln!(
            err,
            "nothing was written. Put the change into the blueprint, or run gen again with --force to discard it."
        )
    }
}

/// What `gen` did, path by path, then the counts, then what the change does when it is
/// applied (when something changed).
pub fn generated(
    plan: &Plan,
    summary: &Summary,
    impact: &Impact,
    out_dir: &str,
    blueprint: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    if summary.cleaned > 0 {
        writeln!(
            out,
            "  cleaned  {} temporary file(s) an interrupted run left behind",
            summary.cleaned
        )?;
    }
    for c in &plan.changes {
        let word = match c.action {
            Action::Create => "created",
            Action::Update => "updated",
            Action::Remove => "removed",
            Action::Release => "kept",
            Action::Unchanged => "unchanged",
        };
        let forced = match &c.conflict {
            None => String::new(),
            Some(why) if c.action == Action::Release => format!(
                " (no longer generated, not removed: it {}; infragen no longer manages it)",
                why.reason()
            ),
            Some(Conflict::NotRegular(kind)) => format!(" ({kind} replaced: --force)"),
            Some(_) => " (hand edit overwritten: --force)".to_string(),
        };
        writeln!(out, "{word:>9}  {}{forced}", join(out_dir, &c.path))?;
    }
    let kept = if summary.released > 0 {
        format!(", {} kept (no longer managed)", summary.released)
    } else {
        String::new()
    };
    writeln!(
        out,
        "{out_dir}: {} created, {} updated, {} removed{kept}, {} unchanged",
        summary.created, summary.updated, summary.removed, summary.unchanged
    )?;
    if summary.created + summary.updated + summary.removed > 0 {
        let values = super::values_path(out_dir);
        write!(out, "{}", super::impact::text(impact, &values, blueprint))?;
    }
    Ok(())
}

/// `explain`: each resolved value of an environment with its origin: default, the
/// blueprint's top level, or the environment's override, as `file:line`.
pub fn explain(
    model: &Model,
    env: &crate::model::Env,
    recorded: Option<&(String, Option<crate::render::values::Values>)>,
    out: &mut dyn Write,
) -> io::Result<()> {
    // The environment's own values: what is shared is shown once, below.
    let rows: Vec<_> = model
        .resolved(env)
        .into_iter()
        .filter_map(|r| Some((r.field.path(), r.shown, r.origin?)))
        .collect();
    let now = crate::render::values::of_env(model, env);
    let get = |values: &[(String, serde_json::Value)], field: &str| {
        values
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.clone())
    };
    let width = rows.iter().map(|(f, _, _)| f.len()).max().unwrap_or(0);
    let vwidth = rows
        .iter()
        .map(|(_, v, _)| v.len())
        .max()
        .unwrap_or(0)
        .min(48);
    writeln!(
        out,
        "environment {} of {} ({})",
        env.name,
        model.source,
        env.mode.value.as_str()
    )?;
    for (field, value, origin) in rows {
        let origin = match origin {
            Origin::Default => "default".to_string(),
            Origin::Base(p) => format!("{}:{}", model.source, p.line),
            Origin::Env(p) => format!(
                "environments.{} override at {}:{}",
                env.name, model.source, p.line
            ),
        };
        // Beside the value, what the tree recorded when it differs.
        let was = match recorded {
            Some((_, Some(old))) if get(old, field) != get(&now, field) => format!(
                "  recorded: {}",
                super::impact::show(get(old, field).as_ref())
            ),
            _ => String::new(),
        };
        writeln!(out, "  {field:width$}  {value:vwidth$}  {origin}{was}")?;
    }
    match recorded {
        Some((path, None)) => writeln!(
            out,
            "  {path} records no environment {}: it is new",
            env.name
        )?,
        Some((path, Some(_))) => writeln!(
            out,
            "  recorded: the value in {path}, where it differs from the blueprint"
        )?,
        None => {}
    }
    let h = &model.host;
    writeln!(
        out,
        "  shared by every environment: host module {} ({}, {}, {}), Ansible group {}",
        h.terraform_module, h.instance, h.security_group, h.iam_role, h.ansible_group
    )
}
