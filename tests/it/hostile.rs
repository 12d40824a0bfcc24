//! Hostile trees and unlucky runs: links and special files where infragen reads or
//! writes, interrupted runs, concurrent runs, and inputs crafted to leak, hang, panic or
//! inject. Every test here failed before the rules in ARCHITECTURE.md ("Hostile trees")
//! were in place.
//!
//! Over 500 lines: one test per hostile input, each small; they share the helpers at
//! the top (a work tree, runs with a deadline).

use crate::common::{BP, SHIPPED, Test, repo, tree};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A work dir with the shipped blueprint generated into `out/`.
fn generated() -> Test {
    Test::with(SHIPPED).generated()
}

const TARGET: &str = "out/terraform/modules/compute/redis.tf";

#[test]
fn a_link_at_a_generated_path_is_never_read_or_followed() {
    let dir = generated();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "CANARY-SECRET-4711\n").unwrap();
    let target = dir.path().join(TARGET);
    std::fs::remove_file(&target).unwrap();
    symlink(&secret, &target).unwrap();

    for format in ["human", "json", "github"] {
        let run = dir.check_as(format);
        assert_eq!(run.code, 1, "{format}: {run:?}");
        assert!(
            !run.stdout.contains("CANARY") && !run.stderr.contains("CANARY"),
            "{format}: the link's target was read and printed: {run:?}"
        );
        assert!(run.stdout.contains("redis.tf"), "{format}: {run:?}");
    }
    let refused = dir.generate();
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("is a symbolic link"), "{refused:?}");
    assert!(!refused.stderr.contains("CANARY"), "{refused:?}");

    let forced = dir.generate_with(&["--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "CANARY-SECRET-4711\n",
        "gen wrote through the link"
    );
    assert!(
        std::fs::symlink_metadata(&target).unwrap().is_file(),
        "the link is replaced by a regular file"
    );
    assert_eq!(dir.check_as("human").code, 0);
}

#[test]
fn the_environment_of_the_ci_job_never_reaches_its_log() {
    let dir = generated();
    let target = dir.path().join(TARGET);
    std::fs::remove_file(&target).unwrap();
    symlink("/proc/self/environ", &target).unwrap();
    let canary = ("INFRAGEN_CANARY_TOKEN", "ghp_CANARYxTOKENx0123456789");
    for format in ["human", "json", "github"] {
        let run = dir
            .check_cmd(format)
            .env(canary.0, canary.1)
            .within(Duration::from_secs(20))
            .run();
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            !run.stdout.contains("CANARY") && !run.stderr.contains("CANARY"),
            "{format}: the environment was printed"
        );
    }
}

#[test]
fn special_files_neither_hang_nor_grow_memory() {
    let dir = generated();
    let target = dir.path().join(TARGET);
    std::fs::remove_file(&target).unwrap();
    symlink("/dev/zero", &target).unwrap();
    let manifest = dir.path().join("out/.infragen-manifest");
    std::fs::remove_file(&manifest).unwrap();
    let status = Command::new("mkfifo").arg(&manifest).status().unwrap();
    assert!(status.success());
    let run = dir
        .cmd(&["check", "--blueprint", BP, "--out", "out"])
        .within(Duration::from_secs(20))
        .run();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("out/.infragen-manifest: not shown: it is a FIFO"),
        "{}",
        run.stdout
    );
    let run = dir
        .cmd(&["gen", "--blueprint", BP, "--out", "out"])
        .within(Duration::from_secs(20))
        .run();
    assert_eq!(run.code, 1, "{run:?}");

    for blueprint in ["/dev/zero", "/dev/stdin"] {
        let run = dir
            .cmd(&["validate", "--blueprint", blueprint])
            .within(Duration::from_secs(20))
            .run();
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stderr.contains("cannot read blueprint"), "{run:?}");
    }
}

#[test]
fn a_linked_blueprint_or_directory_is_refused() {
    let dir = generated();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.yaml"), "name: CANARY\n").unwrap();
    symlink(outside.path().join("x.yaml"), dir.path().join("link.yaml")).unwrap();
    let run = dir.run(&["validate", "--blueprint", "link.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("symbolic link"), "{run:?}");
    assert!(!run.stderr.contains("CANARY"), "{run:?}");

    // A directory on the way that is a link: nothing is written through it, even forced.
    let modules = dir.path().join("out/terraform/modules/compute");
    std::fs::remove_dir_all(&modules).unwrap();
    symlink(outside.path(), &modules).unwrap();
    let before = tree(outside.path());
    let run = dir.generate_with(&["--force"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("terraform/modules/compute, which is a symbolic link"),
        "{run:?}"
    );
    assert_eq!(
        tree(outside.path()),
        before,
        "gen wrote through a linked directory"
    );
    assert_eq!(dir.check_as("human").code, 1);
}

#[test]
fn temporary_files_are_random_exclusive_and_cleaned_up() {
    let dir = generated();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "untouched\n").unwrap();
    // The names earlier versions used (pid-based, predictable), planted as links, and a
    // leftover of a killed run that carries the marker.
    let moddir = dir.path().join("out/terraform/modules/compute");
    for pid in 1..200 {
        symlink(
            &victim,
            moddir.join(format!(".redis.tf.infragen-{pid}.tmp")),
        )
        .unwrap();
    }
    let leftover = moddir.join(".redis_iam.tf.infragen-Zx81Qa20Lm.tmp");
    std::fs::write(
        &leftover,
        std::fs::read(moddir.join("redis_iam.tf")).unwrap(),
    )
    .unwrap();
    dir.edit("port: 6379", "port: 6380");
    let run = dir.generate();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("cleaned  1 temporary file"),
        "{}",
        run.stdout
    );
    assert!(!leftover.exists());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    assert!(std::fs::read_to_string(moddir.join("redis.tf")).is_ok());
    assert_eq!(dir.check_as("human").code, 0);
}

/// The shipped blueprint with `n` environments: a tree large enough that a kill lands
/// in the middle of writing it.
fn wide_blueprint(n: usize, port: u16) -> String {
    let shipped = std::fs::read_to_string(repo().join(SHIPPED)).unwrap();
    let base = shipped.split("\nenvironments:").next().unwrap();
    let mut s = base.replace("  port: 6379", &format!("  port: {port}"));
    s.push_str("\nenvironments:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  e{i}:\n    aws:\n      vpc_cidr: 10.{}.0.0/16\n",
            i % 250
        ));
    }
    s
}

#[test]
fn an_interrupted_gen_resumes_without_force() {
    let dir = Test::new();
    let a = wide_blueprint(60, 6379);
    let b = wide_blueprint(60, 6390);
    std::fs::write(dir.path().join(BP), &a).unwrap();
    assert_eq!(dir.generate().code, 0);
    let clean_a = tree(&dir.path().join("out"));
    // How long a whole A -> B run takes here, so that the kills spread over it (most of
    // it is writing: one fsync per file).
    std::fs::write(dir.path().join(BP), &b).unwrap();
    let started = Instant::now();
    assert_eq!(dir.generate().code, 0);
    let full = started.elapsed();
    std::fs::write(dir.path().join(BP), &a).unwrap();
    assert_eq!(dir.generate().code, 0);
    // Kills at spread-out points of a run; under load a run's length varies, so go on
    // (up to 80 rounds) until some kills have landed mid-write.
    let rounds = 16u32;
    let mut torn = 0;
    // Where a kill lands early (all A) or late (all B) narrows the window: after the
    // spread-out rounds, kills aim at its middle, however slow this machine is now.
    let (mut early, mut late) = (std::time::Duration::ZERO, full * 3);
    for round in 0..80u32 {
        if round >= rounds && torn >= 2 {
            break;
        }
        // Start writing B, kill it part way, then go back to A (a revert), or on to B.
        std::fs::write(dir.path().join(BP), &b).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_infragen"))
            .args(["gen", "--blueprint", BP, "--out", "out"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = if round < rounds {
            full * (round + 1) / (rounds + 2)
        } else {
            (early + late) / 2
        };
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait().unwrap();
        // A tree part A, part B: the case that used to need --force.
        let now = tree(&dir.path().join("out"));
        let has = |port: &str| {
            now.iter().any(|(p, bytes)| {
                p.ends_with("redis.tfvars") && String::from_utf8_lossy(bytes).contains(port)
            })
        };
        match (has("port = 6379"), has("port = 6390")) {
            (true, true) => torn += 1,
            (true, false) => early = early.max(delay),
            _ => late = late.min(delay),
        }
        let (next, label) = if round % 2 == 0 {
            (&a, "revert")
        } else {
            (&b, "resume")
        };
        std::fs::write(dir.path().join(BP), next).unwrap();
        let run = dir.generate();
        assert_eq!(
            run.code, 0,
            "round {round} ({label}) after a kill needs no --force: {run:?}"
        );
        assert_eq!(dir.check_as("human").code, 0, "round {round}");
        let leftovers: Vec<String> = tree(&dir.path().join("out"))
            .into_keys()
            .filter(|p| p.contains(".infragen-") && p.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
        if round % 2 == 0 {
            assert!(
                tree(&dir.path().join("out")) == clean_a,
                "round {round}: not A's tree"
            );
        } else {
            // Back to A for the next round.
            std::fs::write(dir.path().join(BP), &a).unwrap();
            assert_eq!(dir.generate().code, 0);
        }
    }
    assert!(
        torn > 0,
        "no kill left a half-written tree ({full:?} per run): the test proves nothing"
    );
}

#[test]
fn without_a_manifest_infragen_says_it_cannot_tell() {
    let dir = generated();
    std::fs::remove_file(dir.path().join("out/.infragen-manifest")).unwrap();
    // Unchanged files are fine without the manifest.
    assert_eq!(dir.generate().code, 0);
    std::fs::remove_file(dir.path().join("out/.infragen-manifest")).unwrap();
    dir.edit("port: 6379", "port: 6380");
    let run = dir.generate();
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("without .infragen-manifest infragen cannot tell its own earlier output from a hand edit"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("edited by hand since"),
        "{}",
        run.stderr
    );
    assert_eq!(dir.generate_with(&["--force"]).code, 0);
    assert_eq!(dir.check_as("human").code, 0);
}

#[test]
fn a_second_gen_on_a_locked_tree_fails_fast() {
    let dir = generated();
    let held = std::fs::File::open(dir.path().join("out")).unwrap();
    held.lock().unwrap();
    let started = Instant::now();
    let run = dir.generate();
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("another infragen run is using this output directory"),
        "{run:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let run = dir.check_as("human");
    assert_eq!(run.code, 2, "{run:?}");
    held.unlock().unwrap();
    assert_eq!(dir.check_as("human").code, 0);
}

#[test]
fn stale_files_under_any_directory_name_are_removed() {
    let dir = Test::new();
    let shipped = std::fs::read_to_string(repo().join(SHIPPED)).unwrap();
    let with_target = shipped.replace("\n  prod:\n", "\n  target:\n    aws:\n      vpc_cidr: 10.30.0.0/16\n  node_modules:\n    aws:\n      vpc_cidr: 10.31.0.0/16\n  prod:\n");
    assert_ne!(with_target, shipped);
    let with_target = with_target.replace("  node_modules:", "  node-modules:");
    std::fs::write(dir.path().join(BP), &with_target).unwrap();
    assert_eq!(dir.generate().code, 0);
    assert!(
        dir.path()
            .join("out/terraform/environments/target/redis.tfvars")
            .is_file()
    );
    std::fs::write(dir.path().join(BP), &shipped).unwrap();
    let run = dir.check_as("human");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("D out/terraform/environments/target/redis.tfvars"),
        "{}",
        run.stdout
    );
    assert_eq!(dir.generate().code, 0);
    assert!(
        !dir.path()
            .join("out/terraform/environments/target")
            .exists()
    );
    assert_eq!(dir.check_as("human").code, 0);
}

#[test]
fn files_infragen_never_listed_are_not_its_own() {
    // A repo that holds a generated/ tree of its own, and gen --out . beside it.
    let dir = generated();
    let repo_dir = dir.path().join("out");
    std::fs::create_dir_all(repo_dir.join("generated")).unwrap();
    let other = repo_dir.join("generated/terraform/redis_outputs.tf");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::copy(repo_dir.join("terraform/redis_outputs.tf"), &other).unwrap();
    // A marker on line 2 does not make a file infragen's.
    let notes = repo_dir.join("notes.md");
    std::fs::write(
        &notes,
        "Notes\n# Code generated by infragen from x. DO NOT EDIT.\n",
    )
    .unwrap();
    let run = dir.generate();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(other.is_file() && notes.is_file());
    assert_eq!(dir.check_as("human").code, 0);
}

#[test]
fn a_file_keeps_its_permissions_when_updated() {
    let dir = generated();
    // The port is in each environment's values: this file changes.
    let target = dir
        .path()
        .join("out/terraform/environments/dev/redis.tfvars");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    dir.edit("port: 6379", "port: 6380");
    assert_eq!(dir.generate().code, 0);
    assert!(
        std::fs::read_to_string(&target)
            .unwrap()
            .contains("port = 6380")
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let created = std::fs::metadata(dir.path().join("out/terraform/redis_outputs.tf")).unwrap();
    assert_eq!(created.permissions().mode() & 0o777, 0o644);
}

#[test]
fn a_manifest_listing_paths_outside_the_tree_is_ignored() {
    let dir = generated();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.tf");
    let text = "# Code generated by infragen from x. DO NOT EDIT.\n";
    std::fs::write(&victim, text).unwrap();
    let manifest = dir.path().join("out/.infragen-manifest");
    let mut m = std::fs::read_to_string(&manifest).unwrap();
    let hash = infragen::render::sha256_hex(text);
    m.push_str(&format!("{hash}  {}\n", victim.display()));
    m.push_str(&format!("{hash}  ../../{}\n", victim.display()));
    std::fs::write(&manifest, m).unwrap();
    let run = dir.generate();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(victim.is_file(), "gen removed a file outside --out");
    assert!(
        run.stderr
            .contains("which is not a path under out; ignored"),
        "{run:?}"
    );
}

#[test]
fn crafted_blueprints_give_located_errors_not_panics() {
    let dir = Test::with(SHIPPED);
    let shipped = dir.read(BP);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "overflow",
            shipped.replace("    max: 512mb", "    max: 1000000000g"),
            "more memory than any EC2 instance",
        ),
        (
            "huge name",
            shipped.replacen(
                "name: voice-campaign",
                &format!("name: {}", "x".repeat(900_000)),
                1,
            ),
            "bytes in all",
        ),
        (
            "duplicate key",
            format!("{shipped}\nname: again\n"),
            "the key `name` appears twice in this mapping",
        ),
        (
            "null",
            shipped.replace(
                "    security_group: module.lambda.campaign_dialer_security_group_id",
                "    security_group: ~",
            ),
            "a value is required here, not null",
        ),
        (
            "workflow command",
            shipped.replace(
                "name: voice-campaign",
                "name: \"x\\n::error file=pwned::pwned\"",
            ),
            "\\n::error",
        ),
    ];
    for (label, text, expect) in cases {
        std::fs::write(dir.path().join(BP), &text).unwrap();
        for format in ["human", "github", "json"] {
            let run = dir.run(&["validate", "--blueprint", BP, "--format", format]);
            assert_eq!(run.code, 2, "{label}/{format}: {run:?}");
            let all = format!("{}{}", run.stdout, run.stderr);
            assert!(
                all.len() < 20_000,
                "{label}/{format}: {} bytes of output",
                all.len()
            );
            assert!(!all.contains("panicked"), "{label}/{format}: {all}");
            assert!(
                !all.contains("Option<") && !all.contains("DuplicateKeyPolicy"),
                "{label}/{format}: {all}"
            );
            for line in all.lines() {
                assert!(
                    !line.trim_start().starts_with("::")
                        || line.starts_with("::error file=blueprint.yaml"),
                    "{label}/{format}: a value became a workflow command: {line}"
                );
            }
            if format == "human" {
                assert!(all.contains(expect), "{label}: {all}");
            }
        }
    }
    // Not UTF-8: the error says where.
    let mut bytes = shipped.clone().into_bytes();
    let at = shipped.find("voice-campaign").unwrap();
    bytes[at] = 0xff;
    std::fs::write(dir.path().join(BP), bytes).unwrap();
    let run = dir.run(&["validate", "--blueprint", BP]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("--> blueprint.yaml:11:7"),
        "{}",
        run.stderr
    );
}

#[test]
fn blueprint_paths_are_escaped_or_refused_in_markers() {
    let dir = Test::with(SHIPPED);
    let quoted = dir.path().join("my \"blue\" print.yaml");
    std::fs::copy(dir.path().join(BP), &quoted).unwrap();
    let name = "my \"blue\" print.yaml";
    let run = dir.run(&["gen", "--blueprint", name, "--out", "out"]);
    assert_eq!(run.code, 0, "{run:?}");
    let schema = dir.read("out/schema/blueprint.schema.json");
    let parsed: serde_json::Value =
        serde_json::from_str(&schema).expect("the schema is valid JSON");
    assert!(parsed["$comment"].as_str().unwrap().contains(name));
    assert_eq!(
        dir.run(&["check", "--blueprint", name, "--out", "out"])
            .code,
        0
    );

    for bad in [
        "evil\n# injected.yaml",
        "{{ lookup('pipe','id') }}.yaml",
        "x-->y.yaml",
    ] {
        let p: PathBuf = dir.path().join(bad);
        std::fs::copy(dir.path().join(BP), &p).unwrap();
        let run = dir.run(&["gen", "--blueprint", bad, "--out", "out2"]);
        assert_eq!(run.code, 2, "{bad:?}: {run:?}");
        assert!(
            run.stderr
                .contains("cannot be written into the generated files' markers"),
            "{run:?}"
        );
        assert!(
            !dir.path().join("out2").exists(),
            "{bad:?}: something was written"
        );
    }
}
