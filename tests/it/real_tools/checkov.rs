//! checkov finds no failed check, every skip has a reason, and the project policy fires on world-open Redis ports.

use super::*;

fn checkov(t: &Tools, dir: &Path, ports: &str) -> Output {
    let mut c = t.cmd("checkov");
    c.args([
        "-d",
        ".",
        "--framework",
        "terraform",
        "--skip-download",
        "--compact",
        "--quiet",
        "--external-checks-dir",
    ])
    .arg(repo().join("policies/checkov"))
    .env("INFRAGEN_REDIS_PORTS", ports)
    .current_dir(dir);
    run(c)
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn checkov_finds_no_failed_check_and_every_skip_has_a_reason() {
    for_each_blueprint(|t, bp| {
        let m = model(bp);
        let ports: Vec<String> = m
            .envs
            .iter()
            .map(|e| e.redis.port.value.to_string())
            .collect();
        let out = render_into(bp);
        let o = checkov(t, &out.path().join("terraform"), &ports.join(","));
        let report = text(&o);
        assert!(
            o.status.success() && report.contains("Failed checks: 0"),
            "checkov fails the Terraform generated from {bp}:\n{report}"
        );
        for f in render(bp) {
            for line in f.contents.lines().filter(|l| l.contains("checkov:skip=")) {
                let (_, rest) = line.split_once("checkov:skip=").unwrap();
                let (id, reason) = rest.split_once(':').unwrap_or((rest, ""));
                assert!(
                    reason.trim().len() > 20,
                    "{}: skip of {id} needs a one-line reason",
                    f.path
                );
            }
        }
    });
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn checkov_project_policy_fires_on_a_world_open_redis_port() {
    let t = tools();
    let o = checkov(&t, &repo().join("tests/fixtures/terraform-bad"), "6379");
    let report = text(&o);
    assert_eq!(o.status.code(), Some(1), "{report}");
    // Resources the project policy failed, read from checkov's report blocks.
    let mut failed: Vec<&str> = report
        .split("Check: ")
        .filter(|block| block.starts_with("CKV_INFRAGEN_1:"))
        .filter_map(|block| block.split("FAILED for resource: ").nth(1))
        .filter_map(|rest| rest.lines().next())
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            "aws_security_group.legacy",
            "aws_security_group_rule.redis_halves",
            "aws_vpc_security_group_ingress_rule.redis_high_half",
            "aws_vpc_security_group_ingress_rule.redis_world",
        ],
        "the project policy must fail exactly the world-open Redis rules, literal or by union (not SSH from an office range, not one half of the space):\n{report}"
    );
}
