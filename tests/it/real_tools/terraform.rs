//! Terraform's own formatter accepts every generated `.tf` and `.tfvars` byte for byte.

use super::*;

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn terraform_fmt_accepts_every_generated_file() {
    for_each_blueprint(|t, bp| {
        let out = render_into(bp);
        let o = t.terraform(
            &[
                "fmt",
                "-check",
                "-diff",
                "-recursive",
                "-no-color",
                "terraform",
            ],
            out.path(),
        );
        assert!(
            o.status.success(),
            "terraform fmt rejects the Terraform generated from {bp}:\n{}",
            text(&o)
        );
    });
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn terraform_fmt_check_can_fail() {
    let t = tools();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.tf"),
        "resource \"a\" \"b\" {\n  x = 1\n  longer = 2\n}\n",
    )
    .unwrap();
    let o = t.terraform(
        &["fmt", "-check", "-diff", "-recursive", "-no-color", "."],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "a misaligned `=` must fail terraform fmt:\n{}",
        text(&o)
    );
    std::fs::write(
        dir.path().join("bad.tf"),
        "resource \"a\" \"b\" {\n  x = \n",
    )
    .unwrap();
    let o = t.terraform(&["fmt", "-check", "-no-color", "."], dir.path());
    assert_eq!(
        o.status.code(),
        Some(2),
        "a syntax error must fail terraform fmt:\n{}",
        text(&o)
    );
}
