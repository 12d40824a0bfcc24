//! Snapshots of what reviewers read: the whole output tree per blueprint (one file per
//! fixture, a separator line per generated file) and the error report per bad blueprint.

use crate::common::{GOOD_BLUEPRINTS, infragen, render, repo};

fn combined(blueprint: &str) -> String {
    let mut s = String::new();
    for f in render(blueprint) {
        s.push_str(&format!("======== {} ========\n", f.path));
        s.push_str(&f.contents);
    }
    s
}

fn name_of(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn output_trees() {
    for bp in GOOD_BLUEPRINTS {
        insta::assert_snapshot!(format!("output_{}", name_of(bp)), combined(bp));
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
