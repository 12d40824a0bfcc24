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
