//! Snapshots of what reviewers read, one snapshot per generated file, so that a change
//! touches exactly the snapshots of the outputs it changes:
//!
//! - `file__<path>`: the files written as they are (the Ansible role) and the schema,
//!   which are the same whatever the blueprint: asserted once, from the shipped one (a
//!   test proves they are the same for every fixture, but for the marker's path);
//! - `<fixture>__<path>`: every other file of every blueprint (the manifest, which is
//!   only hashes of the others, is left out);
//! - the error report of every bad blueprint, and the mode flip as a diff.

use crate::common::{GOOD_BLUEPRINTS, infragen, render, repo};
use infragen::render::plan::{OUTPUTS, Source};

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

/// Whether a generated path is the same whatever the blueprint (a file written as it is,
/// or the schema).
fn blueprint_independent(path: &str) -> bool {
    OUTPUTS
        .iter()
        .any(|o| o.path == path && matches!(o.source, Source::File | Source::Schema))
}

/// The contents without the marker line (which names the blueprint).
fn without_marker(contents: &str) -> String {
    contents
        .lines()
        .filter(|l| !l.contains(infragen::render::MARKER_PREFIX))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn blueprint_independent_files_once() {
    let shipped = render(GOOD_BLUEPRINTS[0]);
    let independent: Vec<_> = shipped
        .iter()
        .filter(|f| blueprint_independent(&f.path))
        .collect();
    assert!(independent.len() >= 10, "{}", independent.len());
    for f in &independent {
        insta::assert_snapshot!(format!("file__{}", snapshot_name(&f.path)), f.contents);
    }
    // The same for every fixture (but the marker's path): one snapshot is enough.
    for bp in &GOOD_BLUEPRINTS[1..] {
        for f in render(bp).iter().filter(|f| blueprint_independent(&f.path)) {
            let mine = shipped.iter().find(|s| s.path == f.path).unwrap();
            assert_eq!(
                without_marker(&f.contents),
                without_marker(&mine.contents),
                "{}: {} depends on the blueprint",
                bp,
                f.path
            );
        }
    }
}

#[test]
fn blueprint_dependent_files_per_fixture() {
    for bp in GOOD_BLUEPRINTS {
        let fixture = name_of(bp);
        for f in render(bp) {
            if blueprint_independent(&f.path) || f.path == infragen::render::MANIFEST {
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
    let render = |text: &str| {
        let model =
            infragen::pipeline::compile_str(bp, text).unwrap_or_else(|e| panic!("{}", e.render()));
        infragen::render::render(&model).unwrap()
    };
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
