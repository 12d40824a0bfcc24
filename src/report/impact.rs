//! The impact report in each format: text below `check`'s and `gen`'s file lists, a
//! Markdown table for a GitHub job summary; JSON is the [`Impact`] itself.

use crate::impact::{EnvImpact, Impact, Level, Status};
use serde_json::Value as Json;
use std::fmt::Write as _;

/// A recorded or current value as a reviewer reads it.
pub fn show(v: Option<&Json>) -> String {
    match v {
        None => "(not set)".to_string(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Array(items)) => {
            let items: Vec<String> = items.iter().map(|i| show(Some(i))).collect();
            format!("[{}]", items.join(", "))
        }
        Some(other) => other.to_string(),
    }
}

/// Environments most severe first (a new or removed one before an unchanged one),
/// blueprint order among equals.
fn ordered(environments: &[EnvImpact]) -> Vec<&EnvImpact> {
    let mut envs: Vec<&EnvImpact> = environments.iter().collect();
    let rank = |e: &EnvImpact| {
        (
            e.status == Status::Unverified,
            e.level,
            matches!(e.status, Status::New | Status::Removed),
            e.monthly_cost_usd.is_some(),
        )
    };
    envs.sort_by_key(|e| std::cmp::Reverse(rank(e)));
    envs
}

fn status_line(e: &EnvImpact) -> String {
    match e.status {
        Status::Unchanged => "unchanged".to_string(),
        Status::New => "new: everything for it is created".to_string(),
        Status::Removed => "removed from the blueprint: infragen removes its generated files; nothing in AWS is destroyed until you destroy it".to_string(),
        Status::Changed => format!("{}: {}", e.level.as_str(), e.level.meaning()),
        Status::Unverified => format!(
            "cannot tell: the recorded values do not describe this tree (edited, or written by another infragen version): {}; review the diff of the environment's files as a change of unknown impact",
            e.unexplained.join("; "),
        ),
    }
}

/// The text report. `values` is the recorded file as the report shows its path.
pub fn text(impact: &Impact, values: &str, blueprint: &str) -> String {
    let mut s = String::new();
    match impact {
        Impact::NotRecorded => {
            let _ = writeln!(
                s,
                "impact: not known: {values} did not exist (a first generation, or a tree from an earlier infragen); it is recorded from now on"
            );
        }
        Impact::Unreadable { reason } => {
            let _ = writeln!(s, "impact: not known: {values} cannot be read: {reason}");
        }
        Impact::Known { environments } => {
            if environments
                .iter()
                .all(|e| e.status == Status::Unchanged && e.monthly_cost_usd.is_none())
            {
                let _ = writeln!(
                    s,
                    "impact: none: every environment resolves to the values recorded in {values}"
                );
                return s;
            }
            let _ = writeln!(
                s,
                "impact of {blueprint} against the values recorded in {values}, most severe first:"
            );
            let width = Level::ALL
                .iter()
                .map(|l| l.as_str().len())
                .max()
                .unwrap_or(0);
            for e in ordered(environments) {
                let _ = writeln!(s, "  {}: {}", e.env, status_line(e));
                for c in &e.consequences {
                    let pad = " ".repeat(width);
                    let _ = writeln!(
                        s,
                        "    {:width$}  {}: {} -> {}",
                        c.level.as_str(),
                        c.field,
                        show(c.from.as_ref()),
                        show(c.to.as_ref())
                    );
                    let _ = writeln!(s, "    {pad}  {}", c.effect);
                    if !c.action.is_empty() {
                        let _ = writeln!(s, "    {pad}  to do: {}", c.action);
                    }
                }
                if let Some(w) = e.engine_switch.as_ref().and_then(|x| x.warning()) {
                    let _ = writeln!(s, "    warning: {w}");
                }
                if let Some((from, to)) = &e.monthly_cost_usd {
                    let _ = writeln!(s, "    monthly cost added: ${from} -> ${to}");
                }
            }
        }
    }
    s
}

/// A Markdown table cell: one line of text that renders as itself. Recorded strings come
/// from the tree: no HTML (`<img>`), link, emphasis or code span may form from them.
fn cell(s: &str) -> String {
    let s = crate::report::safe::inline(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '|' | '[' | ']' | '(' | ')' | '*' | '_' | '`' | '!' | '~' | '#' | '{' | '}'
            | '+' | '-' | '.' | ':' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The Markdown report for `GITHUB_STEP_SUMMARY`.
pub fn markdown(impact: &Impact, values: &str, blueprint: &str) -> String {
    let mut s = String::from("### infragen: what this change does\n\n");
    let Impact::Known { environments } = impact else {
        s.push_str(&cell(&text(impact, values, blueprint)));
        s.push('\n');
        return s;
    };
    let _ = writeln!(
        s,
        "{} against the values recorded in {}, most severe first.\n",
        cell(blueprint),
        cell(values)
    );
    s.push_str("| environment | level | field | from | to | what happens | what to do |\n");
    s.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    for e in ordered(environments) {
        if e.consequences.is_empty() || e.status == Status::Unverified {
            let _ = writeln!(
                s,
                "| {} | {} | | | | {} | |",
                cell(&e.env),
                e.level.as_str(),
                cell(&status_line(e))
            );
        }
        for c in &e.consequences {
            let _ = writeln!(
                s,
                "| {} | **{}** | {} | {} | {} | {} | {} |",
                cell(&e.env),
                c.level.as_str(),
                cell(c.field.path()),
                cell(&show(c.from.as_ref())),
                cell(&show(c.to.as_ref())),
                cell(c.effect),
                cell(c.action)
            );
        }
    }
    for e in ordered(environments) {
        if let Some(w) = e.engine_switch.as_ref().and_then(|x| x.warning()) {
            let _ = writeln!(s, "\n**Warning** ({}): {}.", cell(&e.env), cell(&w));
        }
    }
    let costs: Vec<String> = ordered(environments)
        .iter()
        .filter_map(|e| {
            e.monthly_cost_usd
                .as_ref()
                .map(|(a, b)| format!("{}: ${} -> ${}", cell(&e.env), cell(a), cell(b)))
        })
        .collect();
    if !costs.is_empty() {
        let _ = writeln!(s, "\nMonthly cost added: {}.", costs.join("; "));
    }
    s
}
