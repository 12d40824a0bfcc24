//! Behaviour users rely on: exit codes, messages, and what gen/check do to the tree.
//!
//! Over 500 lines: one test per command-line behaviour (exit codes, messages, formats,
//! hand edits, mode flips), each standalone, on the `Test` harness of `common.rs`.

use crate::common::{BP, SHIPPED, Test, edit, infragen, repo, tree};
use std::path::Path;

/// Asserts that `out` has each of `lines` as a whole line.
fn has_lines<S: AsRef<str>>(out: &str, lines: &[S]) {
    for line in lines {
        let line = line.as_ref();
        assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
    }
}

/// The 1-based line of the first line of `path` containing `needle`.
fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in file")
        + 1
}

const DEV_VARS: &str = "out/ansible/inventory/dev/group_vars/asterisk/redis.yml";

#[test]
fn gen_creates_then_reports_unchanged_and_check_passes() {
    let n = crate::common::render(SHIPPED).len();
    assert!(n > 20, "the shipped blueprint renders {n} files");
    let dir = Test::with(SHIPPED);
    let first = dir.generate();
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first
            .stdout
            .contains("  created  out/terraform/modules/compute/redis.tf"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains(&format!(
            "out: {n} created, 0 updated, 0 removed, 0 unchanged"
        )),
        "{}",
        first.stdout
    );

    let second = dir.generate();
    assert_eq!(second.code, 0, "{second:?}");
    assert!(
        second.stdout.contains(&format!(
            "out: 0 created, 0 updated, 0 removed, {n} unchanged"
        )),
        "{}",
        second.stdout
    );

    let ok = dir.check();
    assert_eq!(ok.code, 0, "{ok:?}");
    assert!(
        ok.stdout.contains(&format!("out: up to date ({n} files)")),
        "{}",
        ok.stdout
    );
}

#[test]
fn check_reports_a_changed_blueprint_with_status_and_diff_and_writes_nothing() {
    let dir = Test::with(SHIPPED);
    assert_eq!(dir.generate().code, 0);
    dir.edit("max: 256mb", "max: 300mb");
    let before = dir.tree();

    let run = dir.check();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("M out/ansible/inventory/dev/group_vars/asterisk/redis.yml\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("M out/.infragen-manifest\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("--- a/out/ansible/inventory/dev/group_vars/asterisk/redis.yml\n+++ b/out/ansible/inventory/dev/group_vars/asterisk/redis.yml\n"), "{}", run.stdout);
    assert!(run.stdout.contains("\n-redis_maxmemory: \"256mb\"\n-redis_maxmemory_bytes: 268435456\n+redis_maxmemory: \"300mb\"\n+redis_maxmemory_bytes: 314572800\n"), "{}", run.stdout);
    assert!(
        run.stdout
            .trim_end()
            .ends_with("run: infragen gen --blueprint blueprint.yaml --out out"),
        "last line must name the fix: {}",
        run.stdout
    );
    assert_eq!(dir.tree(), before, "check must never write");

    let fixed = dir.generate();
    assert_eq!(fixed.code, 0, "{fixed:?}");
    assert!(
        fixed
            .stdout
            .contains("  updated  out/ansible/inventory/dev/group_vars/asterisk/redis.yml"),
        "{}",
        fixed.stdout
    );
    assert_eq!(dir.check().code, 0);
}

#[test]
fn missing_file_is_reported_as_added_and_restored_by_gen() {
    let dir = Test::with(SHIPPED);
    assert_eq!(dir.generate().code, 0);
    std::fs::remove_file(dir.path().join(DEV_VARS)).unwrap();

    let run = dir.check();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(&format!("A {DEV_VARS}\n")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("--- /dev/null\n+++ b/{DEV_VARS}\n")),
        "{}",
        run.stdout
    );

    let fixed = dir.generate();
    assert!(
        fixed.stdout.contains(&format!("  created  {DEV_VARS}")),
        "{}",
        fixed.stdout
    );
    assert_eq!(dir.check().code, 0);
}

#[test]
fn stale_files_of_a_removed_environment_are_reported_then_removed() {
    let dir = Test::with(SHIPPED);
    dir.edit("environments:\n", "environments:\n  qa: {}\n");
    assert_eq!(dir.generate().code, 0);
    assert!(
        dir.path()
            .join("out/terraform/environments/qa/redis.tfvars")
            .exists()
    );
    dir.edit("environments:\n  qa: {}\n", "environments:\n");
    // A hand-written file beside the generated ones must survive.
    std::fs::write(dir.path().join("out/terraform/main.tf"), "# hand-written\n").unwrap();

    let run = dir.check();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("D out/terraform/environments/qa/redis.tfvars\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("--- a/out/terraform/environments/qa/redis.tfvars\n+++ /dev/null\n"),
        "{}",
        run.stdout
    );

    let fixed = dir.generate();
    assert_eq!(fixed.code, 0, "{fixed:?}");
    assert!(
        fixed
            .stdout
            .contains("  removed  out/terraform/environments/qa/redis.tfvars"),
        "{}",
        fixed.stdout
    );
    assert!(
        !dir.path().join("out/terraform/environments/qa").exists(),
        "empty directory left behind"
    );
    assert!(
        !dir.path().join("out/ansible/inventory/qa").exists(),
        "empty directory left behind"
    );
    assert_eq!(dir.read("out/terraform/main.tf"), "# hand-written\n");
    assert_eq!(dir.check().code, 0);
}

#[test]
fn hand_edit_stops_gen_with_a_diff_until_forced() {
    let dir = Test::with(SHIPPED);
    assert_eq!(dir.generate().code, 0);
    let target = dir.path().join(DEV_VARS);
    edit(&target, "redis_port: 6379", "redis_port: 7000");
    // The blueprint changes too, so gen has something to write.
    dir.edit("max: 256mb", "max: 300mb");
    let before = dir.tree();

    let run = dir.generate();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: refusing to overwrite {DEV_VARS}: it was edited by hand since infragen wrote it"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("-redis_port: 7000\n+redis_port: 6379\n"),
        "the hand edit is shown: {}",
        run.stderr
    );
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(
        dir.tree(),
        before,
        "nothing may be written when gen refuses"
    );

    let forced = dir.generate_with(&["--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(
        forced.stdout.contains("hand edit overwritten"),
        "{}",
        forced.stdout
    );
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("redis_port: 6379")
    );
    assert_eq!(dir.check().code, 0);
}

#[test]
fn a_hand_written_file_in_the_way_is_never_overwritten_silently() {
    let dir = Test::with(SHIPPED);
    let target = dir.path().join("out/ansible/redis.yml");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, "# my own playbook\n").unwrap();
    let run = dir.generate();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "refusing to overwrite out/ansible/redis.yml: it was not written by infragen"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "# my own playbook\n"
    );
    assert!(
        !dir.path().join("out/terraform").exists(),
        "nothing else may be written either"
    );
}

#[test]
fn hand_edited_stale_file_is_kept_even_with_force() {
    let dir = Test::with(SHIPPED);
    dir.edit("environments:\n", "environments:\n  qa: {}\n");
    assert_eq!(dir.generate().code, 0);
    let stale = dir
        .path()
        .join("out/terraform/environments/qa/redis.tfvars");
    edit(&stale, "port", "port ");
    let edited = std::fs::read_to_string(&stale).unwrap();
    dir.edit("environments:\n  qa: {}\n", "environments:\n");
    let run = dir.check();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(
            "K out/terraform/environments/qa/redis.tfvars (no longer generated; kept, not removed: it was edited by hand"
        ),
        "{}",
        run.stdout
    );
    // The unedited files of qa are removed; the edited one is kept, --force or not, and
    // infragen stops listing it.
    let run = dir.generate_with(&["--force"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "kept  out/terraform/environments/qa/redis.tfvars (no longer generated, not removed"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("3 removed, 1 kept"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&stale).unwrap(), edited);
    assert!(!dir.path().join("out/docs/qa/MIGRATION.md").exists());
    let manifest = dir.read("out/.infragen-manifest");
    assert!(!manifest.contains("qa/redis.tfvars"), "{manifest}");
    let run = dir.check();
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn bad_blueprint_exits_2_with_located_errors_and_leaves_the_tree_untouched() {
    let dir = Test::with(SHIPPED);
    assert_eq!(dir.generate().code, 0);
    dir.edit("max: 256mb", "max: lots");
    dir.edit("port: 6379", "port: 80");
    let before = dir.tree();
    for cmd in ["gen", "check", "validate"] {
        let run = if cmd == "validate" {
            dir.run(&[cmd, "--blueprint", BP])
        } else {
            dir.run(&[cmd, "--blueprint", BP, "--out", "out"])
        };
        assert_eq!(run.code, 2, "{cmd}: {run:?}");
        let (max_line, port_line) = (
            line_of(&dir.path().join(BP), "max: lots"),
            line_of(&dir.path().join(BP), "port: 80"),
        );
        assert!(run.stderr.contains(&format!("error[IG407]: environments.dev.redis.memory.max: `lots` is not a memory size Redis understands\n  --> blueprint.yaml:{max_line}:14\n")), "{cmd}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "error[IG301]: redis.port: port 80 is out of range\n  --> blueprint.yaml:{port_line}:9\n"
            )),
            "{cmd}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("   |              ^^^^\n"),
            "caret under the value: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("2 problems found; nothing was written"),
            "{}",
            run.stderr
        );
        assert_eq!(
            dir.tree(),
            before,
            "{cmd} must not touch the tree on bad input"
        );
    }
}

#[test]
fn bad_input_of_every_kind_exits_2() {
    let root = repo();
    for (file, needle) in [
        ("syntax.yaml", "syntax.yaml:4:13"),
        (
            "unknown-key.yaml",
            "unknown field `maxx`, expected one of max, policy",
        ),
        (
            "wrong-type.yaml",
            "error[IG003]: redis.port: expected a whole number",
        ),
        (
            "yaml11-bool.yaml",
            "YAML 1.1 spellings such as yes/no/on/off are refused",
        ),
        ("rules.yaml", "19 problems found"),
        ("host-differs.yaml", "shared by every environment"),
        ("missing.yaml", "missing required field `aws.region`"),
        ("operations.yaml", "the alarms would notify nobody"),
    ] {
        let path = format!("tests/fixtures/bad/{file}");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let run = infragen(
            &root,
            &["gen", "--blueprint", &path, "--out", out.to_str().unwrap()],
        );
        assert_eq!(run.code, 2, "{file}: {run:?}");
        assert!(
            run.stderr.contains(needle),
            "{file}: expected {needle:?} in\n{}",
            run.stderr
        );
        assert!(!out.exists(), "{file}: nothing may be written");
    }
}

#[test]
fn missing_blueprint_and_usage_errors_exit_2() {
    let dir = Test::new();
    let run = dir.run(&["check", "--blueprint", "nope.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("error: cannot read blueprint nope.yaml"),
        "{}",
        run.stderr
    );

    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "\n").unwrap();
    let run = dir.run(&["validate", "--blueprint", "empty.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("the blueprint is empty"),
        "{}",
        run.stderr
    );

    for args in [&["frobnicate"][..], &["gen", "--bogus"][..], &[][..]] {
        let run = dir.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    let help = dir.run(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("check"));
}

#[test]
fn validate_reports_the_environments() {
    let run = infragen(&repo(), &["validate"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "blueprints/redis-on-asterisk.yaml: valid (environments: dev, prod)\n"
    );
}

#[test]
fn check_on_the_shipped_tree_passes_from_the_repo_root() {
    let run = infragen(&repo(), &["check"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn flipping_one_environment_to_self_hosted_changes_exactly_its_files() {
    let dir = Test::with("tests/fixtures/elasticache.yaml");
    assert_eq!(dir.generate().code, 0);
    let before = tree(&dir.path().join("out"));
    // The file set follows the placements the blueprint declares, not the modes in use:
    // module code, the role and every environment's group_vars exist in either mode.
    for path in [
        "terraform/modules/data/redis_elasticache.tf",
        "terraform/modules/compute/redis.tf",
        "ansible/redis.yml",
        "ansible/inventory/prod/group_vars/asterisk/redis.yml",
    ] {
        assert!(before.contains_key(path), "{path} missing");
    }

    dir.edit("mode: elasticache", "mode: self_hosted");
    let stale = dir.check();
    assert_eq!(
        stale.code, 1,
        "check must catch the un-regenerated tree: {stale:?}"
    );
    // Exactly prod's values and docs, the cost report and the manifest: the module code
    // and the root module the user wired are untouched, so the wiring stays valid.
    let changed: Vec<&str> = stale
        .stdout
        .lines()
        .filter(|l| l.len() > 2 && "MAD".contains(&l[..1]) && &l[1..2] == " ")
        .collect();
    assert_eq!(
        changed,
        [
            "M out/terraform/environments/prod/redis.tfvars",
            "M out/ansible/inventory/prod/group_vars/asterisk/redis.yml",
            "M out/docs/prod/MIGRATION.md",
            "M out/docs/prod/REDIS_RUNBOOK.md",
            "M out/docs/REDIS_COST.md",
            "M out/infragen-values.json",
            "M out/.infragen-manifest",
        ],
        "{}",
        stale.stdout
    );

    let flipped = dir.generate();
    assert_eq!(flipped.code, 0, "{flipped:?}");
    assert_eq!(dir.check().code, 0);

    // Rollback: flip back, gen, and the tree is byte for byte what it was.
    dir.edit("mode: self_hosted", "mode: elasticache");
    let back = dir.generate();
    assert_eq!(back.code, 0, "{back:?}");
    assert_eq!(dir.check().code, 0);
    assert!(
        tree(&dir.path().join("out")) == before,
        "the rollback left a different tree"
    );
}

#[test]
fn elasticache_sizing_is_rejected_with_the_usable_memory() {
    let run = infragen(
        &repo(),
        &[
            "validate",
            "--blueprint",
            "tests/fixtures/bad/elasticache-sizing.yaml",
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("error[IG510]: environments.small.elasticache.node_type: redis.memory.max 512mb (512 MiB) does not fit cache.t3.micro: 0.5 GiB of memory, 25% reserved by ElastiCache, leaves 384 MiB usable\n  --> tests/fixtures/bad/elasticache-sizing.yaml:23:18"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Multi-AZ needs at least 2 nodes"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("cache.t1.micro does not support Multi-AZ automatic failover"),
        "{}",
        run.stderr
    );
}

#[test]
fn cost_command_prints_the_table_of_the_generated_doc() {
    let run = infragen(&repo(), &["cost"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc = std::fs::read_to_string(repo().join("generated/docs/REDIS_COST.md")).unwrap();
    assert!(
        doc.contains(&run.stdout),
        "docs/REDIS_COST.md must hold exactly the table `infragen cost` prints"
    );
    assert!(
        run.stdout.contains(
            "| dev | Asterisk host | Redis | 1 x cache.t3.small | 0.034 | $24.82 | $0.00 (existing host) |"
        ),
        "{}",
        run.stdout
    );
    // What the engine costs on ElastiCache: Valkey's nodes 20% below Redis OSS's.
    assert!(
        run.stdout
            .contains("| dev | Redis | $24.82 | $19.86 | $4.96 |"),
        "{}",
        run.stdout
    );

    // The seed's numbers: cache.t3.micro at $0.017/h is $12.41 a month, $24.82 for two.
    let dir = Test::with("tests/fixtures/elasticache.yaml");
    dir.edit(
        "  node_type: cache.t3.small\n",
        "  node_type: cache.t3.micro\n",
    );
    dir.edit(
        "        max: 256mb",
        "        max: 256mb\n    elasticache:\n      hourly_price_usd: 0.02",
    );
    dir.edit("    max: 512mb", "    max: 300mb");
    let run = dir.run(&["cost", "--blueprint", BP]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "| prod | ElastiCache | Redis | 2 x cache.t3.micro | 0.017 | $24.82 | $24.82 |"
        ),
        "{}",
        run.stdout
    );
    // The same two nodes on Valkey: $0.0136/h, $19.86 a month.
    assert!(
        run.stdout
            .contains("| prod | Redis | $24.82 | $19.86 | $4.96 |"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("| dev | Asterisk host | Redis | 1 x cache.t3.micro | 0.020 (blueprint) | $14.60 | $0.00 (existing host) |"), "{}", run.stdout);
}

#[test]
fn check_catches_a_stale_or_edited_doc() {
    let dir = Test::with(SHIPPED);
    assert_eq!(dir.generate().code, 0);
    dir.edit("memory_alert_percent: 80", "memory_alert_percent: 85");
    let run = dir.check();
    assert_eq!(run.code, 1, "{run:?}");
    has_lines(
        &run.stdout,
        &[
            "M out/docs/dev/REDIS_RUNBOOK.md",
            "M out/docs/prod/REDIS_RUNBOOK.md",
            "M out/terraform/environments/dev/redis.tfvars",
        ],
    );
    assert!(
        run.stdout
            .contains("+| `voice-campaign-dev-redis-memory` | `UsedMemoryPercent` >= 85%"),
        "{}",
        run.stdout
    );
}

/// The co-location rule at its boundary: on a t3.small (2 GiB) with a 1 GiB reserve,
/// 2 x 448mb + 128 MiB + 1 GiB is exactly 2 GiB and fits; 449mb does not.
#[test]
fn capacity_rule_accepts_the_boundary_and_rejects_one_megabyte_more() {
    let dir = Test::with("tests/fixtures/cache-only.yaml");
    dir.edit(
        "instance_type: t3.medium",
        "instance_type: t3.small\n  asterisk_reserve: 1gb",
    );
    dir.edit("redis:\n", "redis:\n  memory:\n    max: 448mb\n");
    let fits = dir.run(&["validate", "--blueprint", BP]);
    assert_eq!(fits.code, 0, "{fits:?}");
    dir.edit("max: 448mb", "max: 449mb");
    let run = dir.run(&["validate", "--blueprint", BP]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("error[IG603]: redis.memory.max: Redis's worst case does not fit t3.small: 2 x 449 MiB (maxmemory, doubled by a fork for RDB/AOF rewrites) + 128 MiB overhead + 1024 MiB Asterisk reserve = 2050 MiB > 2048 MiB of RAM"),
        "{}",
        run.stderr
    );
    let line = line_of(&dir.path().join(BP), "max: 449mb");
    assert!(
        run.stderr
            .contains(&format!("  --> blueprint.yaml:{line}:10")),
        "{}",
        run.stderr
    );
}

#[test]
fn misspellings_get_a_did_you_mean() {
    let run = infragen(
        &repo(),
        &["validate", "--blueprint", "tests/fixtures/bad/typos.yaml"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    for needle in [
        "`self-hosted` is not a place Redis can run; did you mean `self_hosted`?",
        "`FLUSHAL` is not a command infragen can block; did you mean `FLUSHALL`?",
        "`allkeys-lur` is not a Redis 7 eviction policy; did you mean `allkeys-lru`?",
        "`everysc` is not an appendfsync mode; did you mean `everysec`?",
    ] {
        assert!(
            run.stderr.contains(needle),
            "missing {needle:?} in\n{}",
            run.stderr
        );
    }
    let run = infragen(
        &repo(),
        &[
            "validate",
            "--blueprint",
            "tests/fixtures/bad/unknown-key.yaml",
        ],
    );
    assert!(
        run.stderr
            .contains("unknown field `maxx`, expected one of max, policy; did you mean `max`?"),
        "{}",
        run.stderr
    );
    let run = infragen(&repo(), &["explain", "--env", "prdo"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(
            "no environment `prdo` in blueprints/redis-on-asterisk.yaml; did you mean `prod`?"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_shows_each_value_with_its_origin() {
    let run = infragen(&repo(), &["explain", "--env", "prod"]);
    assert_eq!(run.code, 0, "{run:?}");
    let bp = repo().join(SHIPPED);
    let line = |needle: &str| line_of(&bp, needle);
    let row = |field: &str| {
        run.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in\n{}", run.stdout))
            .to_string()
    };
    assert!(row("aws.vpc_cidr").ends_with(&format!("10.20.0.0/16                        environments.prod override at blueprints/redis-on-asterisk.yaml:{}", line("vpc_cidr: 10.20.0.0/16"))), "{}", row("aws.vpc_cidr"));
    assert!(row("redis.memory.max").contains("512mb (536870912 bytes)"));
    assert!(
        row("redis.memory.max").ends_with(&format!(
            "blueprints/redis-on-asterisk.yaml:{}",
            line("    max: 512mb")
        )),
        "{}",
        row("redis.memory.max")
    );
    assert!(
        row("elasticache.nodes").ends_with("default"),
        "{}",
        row("elasticache.nodes")
    );
    assert!(
        row("redis.allowed_sources").contains("[vpc] -> [10.20.0.0/16]"),
        "{}",
        row("redis.allowed_sources")
    );
    let first = infragen(&repo(), &["explain"]);
    assert!(
        first
            .stdout
            .starts_with("environment dev of blueprints/redis-on-asterisk.yaml"),
        "{}",
        first.stdout
    );
}

#[test]
fn init_writes_a_blueprint_that_generates_and_never_overwrites() {
    let dir = Test::new();
    let run = dir.run(&["init", "infra/blueprint.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    let generated = dir.run(&["gen", "--blueprint", "infra/blueprint.yaml", "--out", "out"]);
    assert_eq!(generated.code, 0, "{generated:?}");
    assert_eq!(
        dir.run(&[
            "check",
            "--blueprint",
            "infra/blueprint.yaml",
            "--out",
            "out"
        ])
        .code,
        0
    );

    std::fs::write(dir.path().join("infra/blueprint.yaml"), "name: mine\n").unwrap();
    let again = dir.run(&["init", "infra/blueprint.yaml"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(
        again.stderr.contains(
            "infra/blueprint.yaml already exists; infragen init never overwrites a blueprint"
        ),
        "{}",
        again.stderr
    );
    assert_eq!(dir.read("infra/blueprint.yaml"), "name: mine\n");
}

#[test]
fn check_reports_as_json_and_as_github_annotations() {
    let dir = Test::with(SHIPPED);
    assert_eq!(dir.generate().code, 0);
    let clean = dir.check_as("json");
    assert_eq!(clean.code, 0, "{clean:?}");
    let doc: serde_json::Value = serde_json::from_str(&clean.stdout).unwrap();
    assert_eq!(doc["status"], "clean");
    assert_eq!(doc["drifted"], serde_json::json!([]));

    dir.edit("max: 256mb", "max: 300mb");
    let vars_line = line_of(&dir.path().join(DEV_VARS), "redis_maxmemory:");
    let json = dir.check_as("json");
    assert_eq!(json.code, 1, "{json:?}");
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["status"], "drift");
    assert_eq!(
        doc["fix"],
        "infragen gen --blueprint blueprint.yaml --out out"
    );
    let vars = doc["drifted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == DEV_VARS)
        .expect("group_vars drifted");
    assert_eq!(vars["status"], "M");
    assert_eq!(vars["first_changed_line"], vars_line);
    assert!(
        vars["diff"]
            .as_str()
            .unwrap()
            .contains("+redis_maxmemory: \"300mb\"")
    );

    let gh = dir.check_as("github");
    assert_eq!(gh.code, 1, "{gh:?}");
    let want = format!(
        "::error file={DEV_VARS},line={vars_line},title=infragen check::{DEV_VARS} is out of date; run: infragen gen --blueprint blueprint.yaml --out out"
    );
    assert!(
        gh.stdout.lines().any(|l| l == want),
        "missing {want:?} in\n{}",
        gh.stdout
    );

    // Validation errors honour the flag.
    dir.edit("max: 300mb", "max: lots");
    let max_line = line_of(&dir.path().join(BP), "max: lots");
    let gh = dir.check_as("github");
    assert_eq!(gh.code, 2, "{gh:?}");
    assert!(gh.stdout.starts_with(&format!("::error file=blueprint.yaml,line={max_line},col=14,title=infragen validate IG407::environments.dev.redis.memory.max: `lots` is not a memory size")), "{}", gh.stdout);
    let json = dir.check_as("json");
    assert_eq!(json.code, 2);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["status"], "invalid");
    assert_eq!(doc["errors"][0]["code"], "IG407");
    assert_eq!(doc["errors"][0]["line"], max_line);
    assert_eq!(
        doc["errors"][0]["path"],
        "environments.dev.redis.memory.max"
    );
}

#[test]
fn schema_command_prints_the_generated_schema() {
    let run = infragen(&repo(), &["schema"]);
    assert_eq!(run.code, 0, "{run:?}");
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let file =
        std::fs::read_to_string(repo().join("generated/schema/blueprint.schema.json")).unwrap();
    let mut generated: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(
        generated
            .as_object_mut()
            .unwrap()
            .remove("$comment")
            .unwrap(),
        "Code generated by infragen from blueprints/redis-on-asterisk.yaml. DO NOT EDIT."
    );
    assert_eq!(
        printed, generated,
        "the generated schema is what `infragen schema` prints"
    );
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // Doc comments become descriptions.
    assert!(
        printed["$defs"]["RedisLayer"]["properties"]["port"]["description"]
            .as_str()
            .unwrap()
            .contains("1024 to 65535")
    );
    let first = std::fs::read_to_string(repo().join(SHIPPED)).unwrap();
    assert_eq!(
        first.lines().next().unwrap(),
        "# yaml-language-server: $schema=../generated/schema/blueprint.schema.json"
    );
}

#[test]
fn a_report_that_cannot_be_written_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_infragen"))
        .arg("schema")
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot write the report"),
        "{out:?}"
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // The reader is gone before infragen writes a byte: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_infragen"))
        .args(["check", "--blueprint", SHIPPED])
        .current_dir(repo())
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn gen_and_check_print_the_same_paths_for_out_dot() {
    let dir = Test::with(SHIPPED);
    let out = dir.path().join("tree");
    std::fs::create_dir(&out).unwrap();
    std::fs::copy(dir.path().join(BP), out.join(BP)).unwrap();
    let gen_run = infragen(&out, &["gen", "--blueprint", BP, "--out", "."]);
    assert_eq!(gen_run.code, 0, "{gen_run:?}");
    assert!(
        gen_run
            .stdout
            .contains("  created  terraform/redis_outputs.tf\n"),
        "{}",
        gen_run.stdout
    );
    edit(&out.join(BP), "port: 6379", "port: 6380");
    let check_run = infragen(&out, &["check", "--blueprint", BP, "--out", "."]);
    assert_eq!(check_run.code, 1, "{check_run:?}");
    assert!(
        check_run
            .stdout
            .contains("M terraform/environments/dev/redis.tfvars\n"),
        "{}",
        check_run.stdout
    );
    let regen = infragen(&out, &["gen", "--blueprint", BP, "--out", "."]);
    assert!(
        regen
            .stdout
            .contains("  updated  terraform/environments/dev/redis.tfvars\n"),
        "{}",
        regen.stdout
    );
}
