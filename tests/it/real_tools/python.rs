//! The role's Python (it runs as root on the Asterisk host) under its unit tests,
//! `tests/python/`: the RESP client on cut-short and malformed replies, the backup's save
//! logic (a failed save reported at once and never retried, a save waiting behind an AOF
//! rewrite), the publisher's first run. The live behaviour is in `redis.rs` and `host.rs`.

use super::*;

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn the_role_scripts_pass_their_unit_tests() {
    let t = tools();
    let mut c = t.cmd("python");
    c.args(["-m", "unittest", "discover", "-v", "-s"])
        .arg(repo().join("tests/python"))
        .current_dir(repo());
    let o = run(c);
    let report = text(&o);
    assert!(
        o.status.success(),
        "the role scripts' unit tests failed:\n{report}"
    );
    // Not vacuous: the runner found the tests.
    let ran = report
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ran ")?
                .split_whitespace()
                .next()?
                .parse::<u32>()
                .ok()
        })
        .unwrap_or(0);
    assert!(ran >= 10, "only {ran} unit tests ran:\n{report}");
}
