//! `verify`'s report: per environment (most severe first), per finding, what the tree
//! says, what is live, and the command that fixes it; as text, JSON or GitHub
//! annotations. Everything in it that came from a host or AWS is hostile input: it goes
//! through [`Safe`] (and the annotations' escaping) like everything else.

use super::github::{message, property};
use super::safe::Safe;
use crate::verify::{EnvVerdict, Report, Verdict};
use std::io::{self, Write};

fn heading(e: &EnvVerdict) -> String {
    let targets = if e.targets.is_empty() {
        String::new()
    } else {
        format!(", {}", e.targets.join(", "))
    };
    let what = match e.status {
        Verdict::Match => format!("matches ({} checks)", e.checked),
        Verdict::Drift => format!(
            "drift, {} finding{} ({} checks)",
            e.findings.len(),
            if e.findings.len() == 1 { "" } else { "s" },
            e.checked
        ),
        Verdict::Trouble => format!(
            "not verified, {} problem{}{}",
            e.trouble.len(),
            if e.trouble.len() == 1 { "" } else { "s" },
            if e.findings.is_empty() {
                String::new()
            } else {
                format!(" and {} finding(s)", e.findings.len())
            }
        ),
    };
    format!("{} ({}{targets}): {what}", e.name, e.mode)
}

/// The environments, most severe first (blueprint order among equals).
fn ordered(r: &Report) -> Vec<&EnvVerdict> {
    let mut envs: Vec<&EnvVerdict> = r.environments.iter().collect();
    envs.sort_by_key(|e| std::cmp::Reverse(e.status));
    envs
}

pub fn human(r: &Report, out: &mut Safe) -> io::Result<()> {
    for e in ordered(r) {
        writeln!(out, "{}", heading(e))?;
        for t in &e.trouble {
            writeln!(out, "  {}: {}: {}", t.target, t.kind, t.detail)?;
        }
        for f in &e.findings {
            let disk = f
                .on_disk
                .as_ref()
                .map(|d| format!(", on disk {d}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {} {}: blueprint {}, live {}{disk}",
                f.target, f.area, f.item, f.blueprint, f.live
            )?;
            if let Some(diff) = &f.diff {
                for line in diff.lines() {
                    writeln!(out, "    {line}")?;
                }
            }
            if !f.hint.is_empty() {
                writeln!(out, "    ({})", f.hint)?;
            }
            writeln!(out, "    fix: {}", f.fix.command)?;
        }
    }
    let count = |v: Verdict| r.environments.iter().filter(|e| e.status == v).count();
    writeln!(
        out,
        "verify: {} drifted, {} not verified, {} match{}",
        count(Verdict::Drift),
        count(Verdict::Trouble),
        count(Verdict::Match),
        if count(Verdict::Match) == 1 { "es" } else { "" }
    )
}

pub fn json(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let doc = serde_json::to_string(r).map_err(io::Error::other)?;
    writeln!(out, "{doc}")
}

/// One annotation per finding and per problem, then the human report.
pub fn github(r: &Report, out: &mut Safe) -> io::Result<()> {
    for e in ordered(r) {
        for t in &e.trouble {
            out.command(&format!(
                "::error title={}::{}",
                property(&format!("infragen verify {}: not verified", e.name)),
                message(&format!("{}: {}: {}", t.target, t.kind, t.detail))
            ))?;
        }
        for f in &e.findings {
            out.command(&format!(
                "::error title={}::{}",
                property(&format!("infragen verify {}: drift", e.name)),
                message(&format!(
                    "{} {} {}: blueprint {}, live {}; fix: {}",
                    f.target, f.area, f.item, f.blueprint, f.live, f.fix.command
                ))
            ))?;
        }
    }
    human(r, out)
}
