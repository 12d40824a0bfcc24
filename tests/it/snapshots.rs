//! Snapshots of what reviewers read that no other check holds, so that a change touches
//! exactly the snapshots of the outputs it changes. Every expected output is kept once:
//!
//! - the shipped blueprint's files: the committed `generated/` tree, compared byte for
//!   byte by `uptodate.rs` (no snapshots of them here);
//! - the files written as they are (the Ansible role): their sources in
//!   `templates/files/`, and the schema: `generated/schema/blueprint.schema.json`; a
//!   test here proves every blueprint writes exactly those bytes, but for the marker;
//! - `<fixture>__<path>` snapshots: every other file of each fixture (the templates
//!   rendered for blueprints not committed elsewhere; the manifest, which is only hashes
//!   of the others, is left out);
//! - `errors_<fixture>` snapshots: the error report of every bad blueprint; and the mode
//!   flip as a diff (`migration_elasticache_to_self_hosted`).

use crate::common::{GOOD_BLUEPRINTS, SHIPPED, compile, infragen, render, repo};
use infragen::render::outputs::{Body, OUTPUTS};

fn name_of(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A snapshot name for a generated path: `/` becomes `__`.
fn snapshot_name(path: &str) -> String {
    path.replace('/', "__")
}

/// Where the one expected copy of a blueprint-independent output lives: the source of a
/// file written as it is, or the committed schema; `None` for every other output.
fn kept_in(path: &str) -> Option<std::path::PathBuf> {
    OUTPUTS
        .iter()
        .find(|o| o.path == path)
        .and_then(|o| match o.source {
            Body::File => Some(repo().join("templates/files").join(path)),
            Body::Schema => Some(repo().join("generated").join(path)),
            _ => None,
        })
}

/// The contents without the marker line (which names the blueprint), byte for byte
/// otherwise; there must be exactly one marker line.
fn without_marker(path: &str, contents: &str) -> String {
    let mut markers = 0;
    let rest: String = contents
        .split_inclusive('\n')
        .filter(|l| {
            let marker = l.contains(infragen::render::MARKER_PREFIX);
            markers += usize::from(marker);
            !marker
        })
        .collect();
    assert_eq!(markers, 1, "{path}: {markers} marker lines");
    rest
}

/// Files written as they are, and the schema, are the same for every blueprint but the
/// marker: byte for byte their one copy in `templates/files/` (or `generated/`).
#[test]
fn blueprint_independent_files_are_their_source_byte_for_byte() {
    for bp in GOOD_BLUEPRINTS {
        let mut compared = 0;
        for f in render(bp) {
            let Some(source) = kept_in(&f.path) else {
                continue;
            };
            let want = std::fs::read_to_string(&source)
                .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
            let want = if source.starts_with(repo().join("generated")) {
                without_marker(&f.path, &want)
            } else {
                want
            };
            assert!(
                without_marker(&f.path, &f.contents) == want,
                "{bp}: {} is not {} but for the marker",
                f.path,
                source.display()
            );
            compared += 1;
        }
        assert!(compared >= 10, "{bp}: only {compared} files compared");
    }
}

/// Every file of every fixture but those kept elsewhere (see the module's comment).
#[test]
fn blueprint_dependent_files_per_fixture() {
    for bp in GOOD_BLUEPRINTS.iter().filter(|bp| **bp != SHIPPED) {
        let fixture = name_of(bp);
        for f in render(bp) {
            if kept_in(&f.path).is_some() || f.path == infragen::render::MANIFEST {
                continue;
            }
            insta::assert_snapshot!(format!("{fixture}__{}", snapshot_name(&f.path)), f.contents);
        }
    }
}

#[test]
fn error_reports_of_bad_blueprints() {
    let mut bad: Vec<_> = std::fs::read_dir(repo().join("tests/fixtures/bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    bad.sort();
    assert!(bad.len() >= 6, "expected the bad fixtures, found {bad:?}");
    for file in bad {
        let path = format!("tests/fixtures/bad/{file}");
        let run = infragen(&repo(), &["validate", "--blueprint", &path]);
        assert_eq!(
            run.code, 2,
            "{path} should be rejected with exit 2: {run:?}"
        );
        assert!(
            run.stdout.is_empty(),
            "{path}: nothing on stdout for an invalid blueprint"
        );
        insta::assert_snapshot!(format!("errors_{}", name_of(&file)), run.stderr);
    }
}

/// The migration as a reviewable diff: the fixture with prod on ElastiCache, then with
/// prod moved to the host. It reads like the seed's "Files Modified / Files Created".
#[test]
fn migration_from_elasticache_to_self_hosted() {
    let bp = "tests/fixtures/elasticache.yaml";
    let src = std::fs::read_to_string(repo().join(bp)).unwrap();
    let flipped = src.replace("mode: elasticache", "mode: self_hosted");
    assert_ne!(src, flipped);
    let render = |text: &str| infragen::render::render(&compile(bp, text)).unwrap();
    let (before, after) = (render(&src), render(&flipped));
    let find = |files: &[infragen::render::OutputFile], path: &str| {
        files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.contents.clone())
    };
    let (mut created, mut removed, mut modified) = (Vec::new(), Vec::new(), Vec::new());
    for f in &after {
        match find(&before, &f.path) {
            None => created.push(f.path.clone()),
            Some(old) if old != f.contents && f.path != infragen::render::MANIFEST => {
                modified.push((f.path.clone(), old, f.contents.clone()))
            }
            _ => {}
        }
    }
    for f in &before {
        if find(&after, &f.path).is_none() {
            removed.push(f.path.clone());
        }
    }
    let mut report =
        String::from("prod: redis.mode elasticache -> self_hosted\n\nFiles created:\n");
    created
        .iter()
        .for_each(|p| report.push_str(&format!("  {p}\n")));
    report.push_str("\nFiles removed:\n");
    removed
        .iter()
        .for_each(|p| report.push_str(&format!("  {p}\n")));
    report.push_str("\nFiles modified:\n");
    modified
        .iter()
        .for_each(|(p, _, _)| report.push_str(&format!("  {p}\n")));
    for (path, old, new) in &modified {
        report.push('\n');
        let diff = similar::TextDiff::from_lines(old, new);
        report.push_str(
            &diff
                .unified_diff()
                .context_radius(2)
                .header(&format!("a/{path}"), &format!("b/{path}"))
                .to_string(),
        );
    }
    insta::assert_snapshot!("migration_elasticache_to_self_hosted", report);
}
