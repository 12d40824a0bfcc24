//! Switching a self-hosted environment's engine (`redis.engine`) against the values the
//! tree recorded: refused (IG413, exit 2, nothing written) when no release the host may
//! run of the new engine reads the RDB format the old one writes; a warning in the
//! impact when only some Debian releases' pairing fails (src/impact/engine.rs).

use crate::common::{Test, tree};

const HOST: &str = "name: tiny
aws:
  region: us-west-2
  vpc_cidr: 10.1.0.0/16
host:
  terraform_module: compute
  instance: aws_instance.asterisk
  security_group: aws_security_group.asterisk
  iam_role: aws_iam_role.asterisk
  ansible_group: asterisk
  instance_type: t3.medium
monitoring:
  notify: [ops@example.com]
backup:
  enabled: false
redis:
  engine: redis
  version: \"7.0\"
environments:
  test: {}
";

/// A work directory generated from [`HOST`] with `version` instead of 7.0.
fn generated_with_redis(version: &str) -> Test {
    Test::new()
        .blueprint_text(&HOST.replace("\"7.0\"", &format!("\"{version}\"")))
        .generated()
}

#[test]
fn a_switch_that_works_on_some_hosts_is_written_with_a_warning() {
    // Debian 12's Redis 7.0.15 writes RDB 10, which Valkey reads; Debian 13's 8.0.2
    // writes 12, which it does not.
    let dir = generated_with_redis("7.0");
    dir.edit(
        "engine: redis\n  version: \"7.0\"",
        "engine: valkey\n  version: \"8.0\"",
    );
    let before = tree(&dir.join("out"));
    let check = dir.check().expect_code(1);
    assert_eq!(tree(&dir.join("out")), before, "check wrote");
    for run in [&check, &dir.generate().expect_code(0)] {
        assert!(
            run.stdout.contains(
                "    warning: the data may not survive the switch from Redis to Valkey on every host: Redis 8.0.2 (Debian 13) writes RDB format 12, which Valkey 8.0.1 (Debian 12) and Valkey 8.1.1 (Debian 13) cannot read. The role re-checks on the host before touching anything"
            ),
            "{run:?}"
        );
        assert!(!run.stderr.contains("IG413"), "{run:?}");
    }
    assert!(
        dir.read("out/infragen-values.json")
            .contains("\"redis.engine\": \"valkey\"")
    );
    // And back: Valkey 8 writes 11, which Redis 8.0.2 (Debian 13) reads and Redis
    // 7.0.15 (Debian 12) does not.
    dir.edit(
        "engine: valkey\n  version: \"8.0\"",
        "engine: redis\n  version: \"7.0\"",
    );
    let back = dir.generate().expect_code(0);
    assert!(
        back.stdout
            .contains("Valkey 8.0.1 (Debian 12) writes RDB format 11, which Redis 7.0.15 (Debian 12) cannot read"),
        "{back:?}"
    );
    // To a Redis that reads Valkey's format wherever it is installed: no warning.
    dir.edit(
        "engine: redis\n  version: \"7.0\"",
        "engine: valkey\n  version: \"8.0\"",
    );
    dir.generate().expect_code(0);
    dir.edit(
        "engine: valkey\n  version: \"8.0\"",
        "engine: redis\n  version: \"8.0\"",
    );
    let safe = dir.generate().expect_code(0);
    assert!(
        safe.stdout.contains("redis.engine: valkey -> redis"),
        "{safe:?}"
    );
    assert!(!safe.stdout.contains("warning"), "{safe:?}");
}

#[test]
fn a_switch_the_data_cannot_survive_is_refused_and_nothing_is_written() {
    // Only Debian 13's Redis 8.0.2 is 8.0 or later: it writes RDB 12, no Valkey reads it.
    let dir = generated_with_redis("8.0");
    dir.edit(
        "engine: redis\n  version: \"8.0\"",
        "engine: valkey\n  version: \"8.0\"",
    );
    let before = tree(&dir.join("out"));
    for run in [dir.check(), dir.generate(), dir.check_as("json")] {
        assert_eq!(run.code, 2, "{run:?}");
        assert_eq!(tree(&dir.join("out")), before, "the tree changed: {run:?}");
    }
    let refused = dir.generate();
    assert!(
        refused.stderr.starts_with(
            "error[IG413]: redis.engine: environment `test` runs Redis on its host (recorded in the tree) and its data cannot survive a switch to Valkey: Redis 8.0.2 (Debian 13) writes RDB format 12"
        ),
        "{refused:?}"
    );
    assert!(
        refused.stderr.contains("--> blueprint.yaml:17:11\n"),
        "{refused:?}"
    );
    assert!(refused.stdout.is_empty(), "{refused:?}");
    // The same switch from a tree that records Redis 7.0 (Debian 12's 7.0.15 writes 10)
    // is accepted: the rule reads the recorded version, not the blueprint's.
    let older = generated_with_redis("7.0");
    older.edit(
        "engine: redis\n  version: \"7.0\"",
        "engine: valkey\n  version: \"8.0\"",
    );
    older.generate().expect_code(0);
}

/// The rule covers environments self-hosted before and after the edit only: an
/// ElastiCache group changes engine on AWS's terms, and a mode flip moves the data
/// elsewhere (its own consequence).
#[test]
fn only_environments_on_the_host_before_and_after_are_judged() {
    use infragen::impact::engine::Survival;
    let fixture =
        std::fs::read_to_string(crate::common::repo().join("tests/fixtures/elasticache.yaml"))
            .expect("read the fixture");
    // dev on the host with Redis 8.0 (RDB 12); prod on ElastiCache with Redis 7.0.
    let before = fixture.replace(
        "      memory:\n        max: 256mb",
        "      version: \"8.0\"\n      memory:\n        max: 256mb",
    );
    let valkey = fixture.replace(
        "redis:\n  version: \"7.0\"",
        "redis:\n  engine: valkey\n  version: \"8.0\"",
    );
    let recorded = infragen::render::values::now(&crate::common::compile("before.yaml", &before));
    let switches = |text: &str| -> Vec<(String, Option<Survival>)> {
        infragen::impact::compare(&recorded, &crate::common::compile("after.yaml", text))
            .into_iter()
            .map(|e| (e.env, e.engine_switch.map(|s| s.survival)))
            .collect()
    };
    assert_eq!(
        switches(&valkey),
        [
            ("dev".to_string(), Some(Survival::Never)),
            ("prod".to_string(), None)
        ]
    );
    let dev_moves = valkey.replace(
        "    redis:\n      memory:\n        max: 256mb",
        "    redis:\n      mode: elasticache\n      memory:\n        max: 256mb",
    );
    assert_eq!(
        switches(&dev_moves),
        [("dev".to_string(), None), ("prod".to_string(), None)]
    );
}
