//! Every rendered Terraform and YAML file parses: `.tf`/`.tfvars` with hcl-rs, YAML with
//! serde-saphyr, for the shipped blueprint and every fixture. (The render does not do
//! this itself, to keep `check` at process-start speed; see docs/BENCHMARKS.md.)

use crate::common::{GOOD_BLUEPRINTS, render};

/// Parses one rendered file back; `Err` names the file and the parser's complaint.
pub fn parse_back(path: &str, text: &str) -> Result<(), String> {
    if path.ends_with(".tf") || path.ends_with(".tfvars") {
        hcl::parse(text).map_err(|e| format!("{path} is not valid HCL: {e}"))?;
    } else if path.ends_with(".yml") || path.ends_with(".yamllint") {
        serde_saphyr::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| format!("{path} is not valid YAML: {e}"))?;
    }
    Ok(())
}

#[test]
fn every_rendered_terraform_and_yaml_file_parses() {
    let mut checked = 0;
    for bp in GOOD_BLUEPRINTS {
        for f in render(bp) {
            parse_back(&f.path, &f.contents).unwrap_or_else(|e| panic!("{bp}: {e}"));
            checked += usize::from(
                f.path.ends_with(".tf") || f.path.ends_with(".tfvars") || f.path.ends_with(".yml"),
            );
        }
    }
    assert!(checked > 50, "only {checked} files were parsed");
}

#[test]
fn the_parsers_reject_broken_files() {
    assert!(parse_back("x.tf", "resource \"a\" \"b\" {\n  x = \n").is_err());
    assert!(parse_back("x.yml", "a: [1, 2\n").is_err());
}
