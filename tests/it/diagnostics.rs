//! Every diagnostic code is produced by a blueprint (ruff's model: one fixture and one
//! snapshot per rule). `tests/fixtures/diagnostics/<code>.yaml` is a valid blueprint
//! with exactly the one mistake that triggers `<code>`, said in a comment at its top. The
//! real binary must reject it with exit 2 and report that code and no other, in the
//! human and the JSON format (`COMPANIONS` lists the one exception); the human report is
//! snapshotted per code. A new code without a fixture fails here.
//!
//! A rule that compares the blueprint with the tree it changes (IG413) has a second
//! file, `<code>.before.yaml`, a valid blueprint the harness first generates a tree
//! from; `<code>.yaml` is then checked against that tree. A rule about trees written by
//! an earlier infragen (IG415) has a third, `<code>.unrecorded`: the recorded fields
//! that infragen did not write, one per line, taken out of the tree's
//! `infragen-values.json` before the check.

use crate::common::{infragen, repo};
use infragen::diag::Code;

const DIR: &str = "tests/fixtures/diagnostics";

/// Codes found only when the files are rendered (not by `validate`): their fixtures run
/// through `check`, which renders without writing.
const RENDER_CODES: &[Code] = &[Code::OutputTooLarge];

/// Codes that no blueprint can produce alone, with the codes that necessarily come with
/// them. An environment can be defined twice only under a name YAML reads as two keys:
/// `1` and `"1"` (the parser refuses any other repeated key with IG004), and such a
/// name is never a safe environment name.
const COMPANIONS: &[(Code, &[Code])] = &[(Code::EnvTwice, &[Code::EnvName])];

/// The codes `code`'s fixture may report: itself and its companions.
fn allowed(code: Code) -> Vec<&'static str> {
    let mut out = vec![code.as_str()];
    for (c, with) in COMPANIONS {
        if *c == code {
            out.extend(with.iter().map(|w| w.as_str()));
        }
    }
    out
}

/// Whether a report's codes are right for `code`: it is among them, and nothing
/// else is (a fixture with a flood of unrelated problems is a bad fixture).
fn right_codes<S: AsRef<str>>(code: Code, reported: &[S]) -> bool {
    let allowed = allowed(code);
    reported.iter().any(|r| r.as_ref() == code.as_str())
        && reported.iter().all(|r| allowed.contains(&r.as_ref()))
}

/// The blueprint whose tree `code`'s fixture is checked against, when it has one.
fn before_of(code: Code) -> Option<String> {
    let before = format!("{DIR}/{}{BEFORE}", code.as_str());
    repo().join(&before).is_file().then_some(before)
}

/// A fixture's prior tree: `<code>.before.yaml`.
const BEFORE: &str = ".before.yaml";

/// The fields the prior tree's recorded values lack: `<code>.unrecorded`.
const UNRECORDED: &str = ".unrecorded";

/// Runs the command that reports `code` on `fixture` (a repo-relative path, so the
/// report is the same on every machine), in `format`: `validate`; or, for a code found
/// when the files are rendered or compared with a tree, `check` against an empty tree
/// or the tree generated from the fixture's `.before.yaml`.
fn run(code: Code, fixture: &str, format: &str) -> crate::common::Run {
    let before = before_of(code);
    if !RENDER_CODES.contains(&code) && before.is_none() {
        return infragen(
            &repo(),
            &["validate", "--blueprint", fixture, "--format", format],
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let out = out.to_str().expect("temp path is UTF-8");
    if let Some(before) = &before {
        let made = infragen(&repo(), &["gen", "--blueprint", before, "--out", out]);
        assert_eq!(made.code, 0, "{before} must generate a tree: {made:?}");
        let unrecorded = repo().join(format!("{DIR}/{}{UNRECORDED}", code.as_str()));
        if let Ok(fields) = std::fs::read_to_string(&unrecorded) {
            let fields: Vec<&str> = fields.split_whitespace().collect();
            let removed = crate::common::unrecord(std::path::Path::new(out), &fields);
            assert!(
                removed > 0,
                "none of {fields:?} is recorded in {before}'s tree"
            );
        }
    }
    let args = [
        "check",
        "--blueprint",
        fixture,
        "--out",
        out,
        "--format",
        format,
    ];
    infragen(&repo(), &args)
}

/// The codes a JSON report lists, in order.
fn json_codes(stdout: &str) -> Result<Vec<String>, String> {
    let doc: serde_json::Value =
        serde_json::from_str(stdout).map_err(|e| format!("not JSON ({e}): {stdout}"))?;
    let errors = doc["errors"]
        .as_array()
        .ok_or_else(|| format!("no `errors` list: {stdout}"))?;
    Ok(errors
        .iter()
        .map(|e| e["code"].as_str().unwrap_or("?").to_string())
        .collect())
}

/// Checks one fixture; the problems found, if any.
fn check_fixture(code: Code) -> Result<String, String> {
    let c = code.as_str();
    let fixture = format!("{DIR}/{c}.yaml");
    if !repo().join(&fixture).is_file() {
        return Err(format!(
            "{c}: no fixture; add {fixture}: a valid blueprint with the one mistake that triggers it ({})",
            code.summary()
        ));
    }
    let mut problems = Vec::new();
    let human = run(code, &fixture, "human");
    if human.code != 2 {
        problems.push(format!("exit {} (expected 2)", human.code));
    }
    let shown: Vec<&str> = human
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error["))
        .filter_map(|l| l.split(']').next())
        .collect();
    if !right_codes(code, &shown) {
        problems.push(format!(
            "human report shows {shown:?}, expected {c} and nothing but {:?}",
            allowed(code)
        ));
    }
    let json = run(code, &fixture, "json");
    match json_codes(&json.stdout) {
        Ok(codes) if json.code == 2 && right_codes(code, &codes) => {}
        Ok(codes) => problems.push(format!(
            "JSON report (exit {}) lists {codes:?}, expected {c} and nothing but {:?}",
            json.code,
            allowed(code)
        )),
        Err(e) => problems.push(format!("JSON report: {e}")),
    }
    if problems.is_empty() {
        Ok(human.stderr)
    } else {
        let stderr = match human.stderr.trim() {
            "" => String::new(),
            text => format!("\n--- stderr\n{text}"),
        };
        Err(format!("{c}: {fixture}: {}{stderr}", problems.join("; ")))
    }
}

/// Every code in the registry has a fixture that produces it, and only it. One run lists
/// every gap; then each report is compared with its snapshot.
#[test]
fn every_code_has_a_fixture_that_produces_it() {
    let mut reports = Vec::new();
    let mut gaps = Vec::new();
    for &code in Code::ALL {
        match check_fixture(code) {
            Ok(report) => reports.push((code, report)),
            Err(gap) => gaps.push(gap),
        }
    }
    assert!(
        gaps.is_empty(),
        "{} of {} diagnostic codes are not produced by their fixture:\n\n{}",
        gaps.len(),
        Code::ALL.len(),
        gaps.join("\n\n")
    );
    for (code, report) in reports {
        insta::assert_snapshot!(code.as_str(), report);
    }
}

/// Every file in the fixture directory is named after a code in the registry (its
/// fixture, or the fixture's prior tree): a fixture of a retired code, or a typo in a
/// name, is not silently never run.
#[test]
fn every_fixture_is_named_after_a_code() {
    let known: Vec<String> = Code::ALL
        .iter()
        .flat_map(|c| {
            [
                format!("{}.yaml", c.as_str()),
                format!("{}{BEFORE}", c.as_str()),
                format!("{}{UNRECORDED}", c.as_str()),
            ]
        })
        .collect();
    let mut orphans: Vec<String> = std::fs::read_dir(repo().join(DIR))
        .expect("read the fixture directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !known.contains(name))
        .collect();
    orphans.sort();
    assert!(
        orphans.is_empty(),
        "files in {DIR} that are named after no code in src/diag/codes.rs: {orphans:?}"
    );
}
