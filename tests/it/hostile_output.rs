//! Hostile trees, round two: what a pull request's tree can do to the CI job that runs
//! `check` on it. A link in the `--out` path must not move infragen's reads, writes and
//! removals elsewhere; and nothing printed from the tree, the blueprint or the command
//! line may become a workflow command of the runner or a terminal sequence: one corpus
//! of hostile strings goes through every command and every format.

use crate::common::{BP, Run, SHIPPED, Test, tree};
use infragen::report::safe::is_unsafe;
use std::os::unix::fs::symlink;
use std::path::Path;

fn generated() -> Test {
    Test::with(SHIPPED).generated()
}

#[test]
fn a_link_in_the_out_path_is_refused_by_every_command() {
    let dir = Test::with(SHIPPED);
    let d = dir.path();
    std::fs::create_dir_all(d.join("victim")).unwrap();
    std::fs::write(d.join("victim/keep.txt"), "mine\n").unwrap();
    symlink("victim", d.join("generated")).unwrap();
    // A link above --out, and an absolute --out through the link.
    std::fs::create_dir_all(d.join("real/generated")).unwrap();
    symlink("real", d.join("up")).unwrap();
    let absolute = d.join("generated").display().to_string();
    // The current directory reached through a link of the user's own, outside it.
    let outside = tempfile::tempdir().unwrap();
    symlink(d, outside.path().join("alias")).unwrap();
    let aliased = outside.path().join("alias/generated").display().to_string();
    let dotted = format!(
        "{}/../{}/generated",
        d.display(),
        d.file_name().unwrap().to_string_lossy()
    );
    let before = tree(d);
    for out in [
        "generated",
        "up/generated",
        absolute.as_str(),
        "generated/sub",
        aliased.as_str(),
        dotted.as_str(),
        "real/../generated",
        "missing/../generated",
    ] {
        for args in [
            vec!["gen", "--blueprint", BP, "--out", out],
            vec!["gen", "--blueprint", BP, "--out", out, "--force"],
            vec!["check", "--blueprint", BP, "--out", out],
            vec!["check", "--blueprint", BP, "--out", out, "--format", "json"],
            vec![
                "check",
                "--blueprint",
                BP,
                "--out",
                out,
                "--format",
                "github",
            ],
            vec!["explain", "--blueprint", BP, "--out", out],
        ] {
            let run = dir.run(&args);
            assert_eq!(run.code, 2, "{args:?}: {run:?}");
            let said = format!("{}{}", run.stdout, run.stderr);
            if out.starts_with("missing/") {
                assert!(said.contains("does not exist yet"), "{args:?}: {said}");
                continue;
            }
            assert!(said.contains("is a symbolic link"), "{args:?}: {said}");
            assert!(said.contains("--follow-out-links"), "{args:?}: {said}");
        }
    }
    assert_eq!(tree(d), before, "a refused run changed the tree");
    // Asked for, the link is followed: gen writes through it, check compares through it.
    for command in ["gen", "check"] {
        let args = [
            command,
            "--blueprint",
            BP,
            "--out",
            "generated",
            "--follow-out-links",
        ];
        let run = dir.run(&args);
        assert_eq!(run.code, 0, "{command}: {run:?}");
    }
    assert!(d.join("victim/.infragen-manifest").is_file());
}

/// Strings a pull request's author would plant: workflow commands after a newline, a
/// carriage return or a Unicode line separator, the older `##[` form, terminal sequences
/// (OSC 52 clipboard write, OSC 8 link, screen clear), bidi overrides, invisible
/// characters.
const CORPUS: &[&str] = &[
    "6379\n::warning::forged-newline",
    "x\r::add-mask::forged-cr",
    "y\u{2028}::error::forged-ls",
    "##[add-mask]forged-v1",
    "\u{1b}]52;c;Zm9yZ2Vk\u{7}",
    "\u{1b}]8;;http://forged.example\u{1b}\\link\u{1b}]8;;\u{1b}\\",
    "\u{1b}[2J\u{1b}[H",
    "safe\u{202e}dexiled",
    "zero\u{200b}width\u{feff}",
    "c1\u{85}next\u{9b}31m",
    "  ::stop-commands::forged-token",
];

/// Nothing in a run's output can act on the runner or the terminal: no line starts,
/// after white space, with `::` except infragen's own annotations (a corpus string in
/// one is part of its message: it cannot start a line), no `##[`, no unsafe character.
fn assert_inert(run: &Run, what: &str) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        for line in text.split(['\n', '\r']) {
            let t = line.trim_start();
            if t.starts_with("::") {
                assert!(
                    t.starts_with("::error file=") || t.starts_with("::error title=infragen"),
                    "{what}: {stream} has a workflow command infragen did not write: {line:?}"
                );
            }
        }
        assert!(!text.contains("##["), "{what}: {stream} has ##[: {text}");
        if let Some(c) = text.chars().find(|&c| is_unsafe(c) && c != '\n') {
            panic!("{what}: {stream} carries {c:?} raw:\n{text}");
        }
    }
}

fn edit_values(d: &Path, hostile: &str) {
    let path = d.join("out/infragen-values.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dev = v["environments"]["dev"].as_object_mut().unwrap();
    dev.insert("redis.port".into(), hostile.into());
    dev.insert("aws.region".into(), hostile.into());
    dev.insert(format!("hostile{hostile}"), hostile.into());
    let envs = v["environments"].as_object_mut().unwrap();
    envs.insert(
        hostile.to_string(),
        serde_json::json!({"redis.port": hostile}),
    );
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn hostile_strings_from_the_tree_reach_no_output_raw() {
    for hostile in CORPUS {
        let dir = generated();
        let d = dir.path();
        // The recorded values, read by the impact report of check, gen and explain.
        edit_values(d, hostile);
        // A generated file's contents (shown in check's diff), and a stale manifest entry
        // (shown as `D`).
        let target = d.join("out/terraform/modules/compute/redis.tf");
        let mut text = std::fs::read_to_string(&target).unwrap();
        text.push_str(&format!("{hostile}\n::warning::forged-content\n"));
        std::fs::write(&target, text).unwrap();
        let manifest = d.join("out/.infragen-manifest");
        let mut m = std::fs::read_to_string(&manifest).unwrap();
        let stale = format!("docs/{}.md", hostile.replace(['\n', '\r', '/'], "_"));
        std::fs::write(d.join("out").join(&stale), "old\n").ok();
        m.push_str(&format!("{}  {stale}\n", "0".repeat(64)));
        std::fs::write(&manifest, m).unwrap();
        for format in ["human", "json", "github"] {
            let run = dir.check_as(format);
            assert_eq!(run.code, 1, "{hostile:?} check {format}: {run:?}");
            assert_inert(&run, &format!("{hostile:?}: check --format {format}"));
            if format == "json" {
                let _: serde_json::Value = serde_json::from_str(&run.stdout)
                    .unwrap_or_else(|e| panic!("{hostile:?}: not JSON ({e}): {}", run.stdout));
            }
        }
        let run = dir.run(&["explain", "--blueprint", BP, "--env", "dev", "--out", "out"]);
        assert_inert(&run, &format!("{hostile:?}: explain --out"));
        let run = dir.generate();
        assert_inert(&run, &format!("{hostile:?}: gen"));
        let run = dir.generate_with(&["--force"]);
        assert_inert(&run, &format!("{hostile:?}: gen --force"));
    }
}

#[test]
fn hostile_strings_from_the_command_line_reach_no_output_raw() {
    let dir = generated();
    for hostile in CORPUS {
        let out = format!("out{hostile}");
        let check =
            |extra: &[&'static str]| [&["check", "--blueprint", BP, "--out", &out], extra].concat();
        for args in [
            check(&[]),
            check(&["--format", "github"]),
            check(&["--format", "json"]),
            vec!["explain", "--blueprint", BP, "--env", hostile],
            vec!["validate", "--blueprint", hostile],
            vec!["validate", "--blueprint", hostile, "--format", "github"],
            vec!["cost", "--blueprint", hostile],
            // clap's own errors quote the command line too.
            vec!["check", "--format", hostile],
            vec!["validate", hostile],
        ] {
            let run = dir.run(&args);
            assert_ne!(run.code, 0, "{args:?}: {run:?}");
            assert_inert(&run, &format!("{args:?}"));
        }
    }
}

#[test]
fn hostile_strings_in_a_blueprint_reach_no_output_raw() {
    let dir = generated();
    let d = dir.path();
    let shipped = dir.read(BP);
    for hostile in CORPUS {
        let quoted = serde_json::to_string(hostile).unwrap();
        for bad in [
            shipped.replace("name: voice-campaign", &format!("name: {quoted}")),
            shipped.replace("  dev:\n", &format!("  {quoted}:\n")),
            shipped.replace(
                "notify: [redis-oncall@example.com]",
                &format!("notify: [{quoted}]"),
            ),
            format!("{shipped}\n{quoted}: 1\n"),
        ] {
            std::fs::write(d.join("bad.yaml"), &bad).unwrap();
            for format in ["human", "json", "github"] {
                let run = dir.run(&["validate", "--blueprint", "bad.yaml", "--format", format]);
                assert_eq!(run.code, 2, "{hostile:?}: {run:?}");
                assert_inert(&run, &format!("{hostile:?}: validate --format {format}"));
            }
            let run = dir.run(&["gen", "--blueprint", "bad.yaml", "--out", "out"]);
            assert_inert(&run, &format!("{hostile:?}: gen"));
        }
    }
}

/// A manifest is the tree's word, and a pull request writes the tree: `gen --force`
/// removes a file it no longer produces only when the file carries the marker and hashes
/// to what the manifest recorded. Anything else the manifest names is kept, and a
/// directory it names is no obstacle.
#[test]
fn force_never_deletes_on_the_manifests_word_alone() {
    let dir = Test::with(SHIPPED);
    let d = dir.path();
    let run = dir.run(&["gen", "--blueprint", BP, "--out", "."]);
    assert_eq!(run.code, 0, "{run:?}");
    // A hand-written file of the repo, a git file, a marked file edited by hand, and a
    // directory, each listed with some hash.
    std::fs::write(d.join("terraform/main.tf"), "# mine\n").unwrap();
    std::fs::create_dir_all(d.join(".git")).unwrap();
    std::fs::write(d.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(
        d.join("terraform/old.tf"),
        "# Code generated by infragen from blueprint.yaml. DO NOT EDIT.\n# edited\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.join("docs/adr")).unwrap();
    let manifest = d.join(".infragen-manifest");
    let mut m = std::fs::read_to_string(&manifest).unwrap();
    for (hash, path) in [
        (
            infragen::render::sha256_hex("# mine\n"),
            "terraform/main.tf",
        ),
        ("1".repeat(64), ".git/config"),
        ("2".repeat(64), "terraform/old.tf"),
        ("3".repeat(64), "docs/adr"),
    ] {
        m.push_str(&format!("{hash}  {path}\n"));
    }
    std::fs::write(&manifest, m).unwrap();
    for force in [&[][..], &["--force"][..]] {
        let mut args = vec!["gen", "--blueprint", BP, "--out", "."];
        args.extend_from_slice(force);
        let run = dir.run(&args);
        assert_eq!(run.code, 0, "{force:?}: {run:?}");
        assert!(
            !run.stdout.contains("removed  "),
            "{force:?}: {}",
            run.stdout
        );
    }
    assert_eq!(
        std::fs::read_to_string(d.join("terraform/main.tf")).unwrap(),
        "# mine\n"
    );
    assert!(d.join(".git/config").is_file());
    assert!(d.join("terraform/old.tf").is_file());
    assert!(d.join("docs/adr").is_dir());
    let run = dir.run(&["check", "--blueprint", BP, "--out", "."]);
    assert_eq!(run.code, 0, "the kept files are no longer listed: {run:?}");
}

/// A forged values file never lowers what the report says: a value of the wrong kind
/// makes the file unreadable, and a file that agrees with the blueprint while the
/// environment's value files change makes the report say it cannot tell.
#[test]
fn a_forged_values_file_cannot_make_the_report_lie() {
    let dir = generated();
    let d = dir.path();
    let bp = d.join(BP);
    let shipped = std::fs::read_to_string(&bp).unwrap();
    std::fs::write(&bp, shipped.replace("    aof: true\n", "    aof: false\n")).unwrap();
    let honest = dir.check_as("human");
    assert!(honest.stdout.contains("data-at-risk"), "{}", honest.stdout);

    // 1. "true" as a string: the old reading made the change a mere restart.
    let values = d.join("out/infragen-values.json");
    let original = std::fs::read_to_string(&values).unwrap();
    std::fs::write(
        &values,
        original.replace(
            "\"redis.persistence.aof\": true",
            "\"redis.persistence.aof\": \"true\"",
        ),
    )
    .unwrap();
    let run = dir.check_as("human");
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("impact: not known")
            && run
                .stdout
                .contains("is a string, where infragen records a boolean"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("restart:"), "{}", run.stdout);

    // 2. The values file replaced by the new values: it agrees with the blueprint, yet
    // the group_vars change.
    let other = Test::new()
        .blueprint_text(&std::fs::read_to_string(&bp).unwrap())
        .generated();
    std::fs::copy(other.join("out/infragen-values.json"), &values).unwrap();
    for format in ["human", "github", "json"] {
        let run = dir.check_as(format);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            !run.stdout.contains("impact: none"),
            "{format}: {}",
            run.stdout
        );
        if format == "json" {
            assert!(run.stdout.contains("\"unverified\""), "{}", run.stdout);
        } else {
            assert!(
                run.stdout.contains("cannot tell")
                    && run
                        .stdout
                        .contains("ansible/inventory/dev/group_vars/asterisk/redis.yml"),
                "{format}: {}",
                run.stdout
            );
        }
    }

    // 2b. The values file lies about AOF and makes a harmless field change, leaves AOF
    // out, or leaves the environments out: the group_vars in the tree say otherwise.
    let forgeries = [
        original
            .replace(
                "\"redis.persistence.aof\": true",
                "\"redis.persistence.aof\": false",
            )
            .replace(
                "\"monitoring.latency_alert_usec\": 1000",
                "\"monitoring.latency_alert_usec\": 999",
            ),
        original.replace("\"redis.persistence.aof\": true,\n", ""),
    ];
    for (i, forged) in forgeries.iter().enumerate() {
        assert_ne!(forged, &original, "forgery {i} changed nothing");
        std::fs::write(&values, forged).unwrap();
        let run = dir.check_as("human");
        assert!(
            run.stdout.contains("dev: cannot tell") && run.stdout.contains("redis.persistence.aof"),
            "forgery {i}: {}",
            run.stdout
        );
    }
    let v: serde_json::Value = serde_json::from_str(&original).unwrap();
    let mut emptied = v.clone();
    emptied["environments"] = serde_json::json!({});
    std::fs::write(&values, serde_json::to_string_pretty(&emptied).unwrap()).unwrap();
    let run = dir.check_as("human");
    assert!(
        run.stdout.contains("dev: cannot tell") && !run.stdout.contains("dev: new"),
        "{}",
        run.stdout
    );

    // 3. The job summary shows recorded strings as text: no HTML, link or emphasis.
    std::fs::write(
        &values,
        original.replace(
            "\"aws.region\": \"us-east-1\"",
            "\"aws.region\": \"<img src=x onerror=alert(1)> [click](http://forged.example) **bold** `code`\"",
        ),
    )
    .unwrap();
    let summary = d.join("summary.md");
    let run = dir
        .check_cmd("github")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .run();
    assert_eq!(run.code, 1, "{run:?}");
    let md = std::fs::read_to_string(&summary).unwrap();
    // A recorded cost is an amount, nothing else.
    std::fs::write(
        &values,
        original.replacen(
            "\"cost.added_monthly_usd\": \"0.00\"",
            "\"cost.added_monthly_usd\": \"1.00 <img src=x> [a](http://forged.example)\"",
            1,
        ),
    )
    .unwrap();
    let run = dir.check_as("human");
    assert!(
        run.stdout.contains("not an amount of dollars and cents"),
        "{}",
        run.stdout
    );
    assert!(md.contains("redis\\.persistence\\.aof"), "{md}");
    for raw in ["<img", "](http", "**bold**", "`code`"] {
        assert!(
            !md.contains(raw),
            "the job summary carries {raw} raw:\n{md}"
        );
    }
    assert!(md.contains("&lt;img"), "{md}");
}

/// `blueprint` with `n` more environments `e0`, `e1`, ... (empty: every value inherited),
/// listed first.
fn with_empty_envs(blueprint: &str, n: usize) -> String {
    let added: String = (0..n).map(|i| format!("  e{i}: {{}}\n")).collect();
    blueprint.replacen("environments:\n", &format!("environments:\n{added}"), 1)
}

/// A valid blueprint whose files would outgrow what infragen reads back is refused with a
/// located error before anything is written: the writer and the reader agree.
#[test]
fn a_blueprint_whose_files_outgrow_the_read_cap_is_refused() {
    let dir = Test::with(SHIPPED);
    let d = dir.path();
    let shipped = dir.read(BP);
    let wide = with_empty_envs(&shipped, 2500);
    std::fs::write(d.join("wide.yaml"), &wide).unwrap();
    let line = wide.lines().position(|l| l == "  e0: {}").unwrap() + 1;
    for args in [
        vec!["gen", "--blueprint", "wide.yaml", "--out", "out"],
        vec!["check", "--blueprint", "wide.yaml", "--out", "out"],
    ] {
        let run = dir.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("error[IG108]")
                && run.stderr.contains(&format!("wide.yaml:{line}:"))
                && run.stderr.contains("2502 here"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!d.join("out").exists(), "{args:?} wrote something");
    }
}

/// The world-open rule refuses any set of sources that covers more than one /8 of public
/// IPv4 or one /32 of public IPv6, not only an exact cover of everything.
#[test]
fn sources_covering_a_large_share_of_the_internet_are_refused() {
    let dir = Test::with(SHIPPED);
    let d = dir.path();
    let shipped = dir.read(BP);
    // Every IPv4 address but 255.255.255.255: /1 + /2 + ... + /32.
    let all_but_one: Vec<String> = (1..=32u32)
        .map(|p| {
            let start: u32 = if p == 1 { 0 } else { !(u32::MAX >> (p - 1)) };
            format!("\"{}/{p}\"", std::net::Ipv4Addr::from(start))
        })
        .collect();
    let all_but_one = all_but_one.join(", ");
    let refused = [
        "[0.0.0.0/1]".to_string(),
        "[0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/3]".to_string(),
        format!("[{all_but_one}]"),
        "[\"2000::/3\"]".to_string(),
        "[11.0.0.0/8, 12.0.0.0/16]".to_string(),
        "[\"2600::/31\"]".to_string(),
    ];
    for sources in &refused {
        let bp = shipped.replace(
            "allowed_sources: [vpc]",
            &format!("allowed_sources: {sources}"),
        );
        assert_ne!(bp, shipped);
        std::fs::write(d.join("open.yaml"), &bp).unwrap();
        let run = dir.run(&["validate", "--blueprint", "open.yaml"]);
        assert_eq!(run.code, 2, "{sources}: {run:?}");
        assert!(
            run.stderr.contains("error[IG305]") && run.stderr.contains("public"),
            "{sources}: {}",
            run.stderr
        );
    }
    for sources in [
        "[vpc, 203.0.113.0/24]",
        "[11.0.0.0/8]",
        "[10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10]",
        "[\"2001:db8:1234::/48\", \"fd00::/8\", \"2600::/32\"]",
    ] {
        let bp = shipped.replace(
            "allowed_sources: [vpc]",
            &format!("allowed_sources: {sources}"),
        );
        std::fs::write(d.join("ok.yaml"), &bp).unwrap();
        let run = dir.run(&["validate", "--blueprint", "ok.yaml"]);
        assert_eq!(run.code, 0, "{sources}: {run:?}");
    }
}

/// A tree that makes the diff huge (4 MiB of changed lines in a generated file) or the
/// manifest deep (2,000-component paths, 300-byte names) costs a bounded report and a
/// bounded time: the diff is summarised, the entries ignored with a warning.
#[test]
fn huge_diffs_and_deep_manifests_cost_a_bounded_report() {
    let dir = generated();
    let d = dir.path();
    let target = d.join("out/terraform/modules/compute/redis.tf");
    let mut big = String::from("# Code generated by infragen from blueprint.yaml. DO NOT EDIT.\n");
    let mut i = 0;
    while big.len() < (4 << 20) - 64 {
        big.push_str(&format!("line {i} of a hostile file\n"));
        i += 1;
    }
    std::fs::write(&target, &big).unwrap();
    let manifest = d.join("out/.infragen-manifest");
    let mut m = std::fs::read_to_string(&manifest).unwrap();
    for n in 0..200 {
        let deep = vec!["d"; 2000].join("/");
        m.push_str(&format!("{}  {deep}/{n}.tf\n", "0".repeat(64)));
        m.push_str(&format!(
            "{}  docs/{}{n}.md\n",
            "0".repeat(64),
            "x".repeat(300)
        ));
    }
    std::fs::write(&manifest, m).unwrap();
    for format in ["human", "json"] {
        let started = std::time::Instant::now();
        let run = dir.check_as(format);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        assert!(
            run.stdout.len() < 256 << 10,
            "{format}: {} bytes of report",
            run.stdout.len()
        );
        assert!(run.stdout.contains("diff not shown"), "{format}");
        assert!(
            run.stderr.contains("not a path under out; ignored"),
            "{format}: {}",
            run.stderr
        );
        assert!(
            run.stderr.len() < 256 << 10,
            "{format}: stderr {}",
            run.stderr.len()
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{format}: {:?}",
            started.elapsed()
        );
    }
}

/// The small ambiguities of round two, each refused with a located error (IG code, line
/// and column): where a YAML 1.1 reader, a YAML 1.2 reader and the JSON Schema disagree,
/// where `~` would silently inherit, names Windows cannot check out, modules that are one
/// directory on a case-insensitive file system.
#[test]
fn ambiguous_blueprints_are_refused_where_they_are_ambiguous() {
    let dir = Test::with(SHIPPED);
    let d = dir.path();
    let shipped = dir.read(BP);
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "  port: 6379",
            "  port: \"6379\"",
            "IG003",
            "not the text `6379`",
        ),
        (
            "  port: 6379",
            "  port: 6_379",
            "IG003",
            "not the text `6_379`",
        ),
        ("  port: 6379", "  port: 014", "IG003", "not the text `014`"),
        (
            "  port: 6379",
            "  port: !foo 6379",
            "IG001",
            "unsupported tag",
        ),
        (
            "  dev:\n",
            "  dev:\n    <<: {redis: {port: 6380}}\n    <<: {redis: {port: 6381}}\n",
            "IG001",
            "merge keys",
        ),
        (
            "        secret_recovery_days: 0   # dev secrets may be deleted at once",
            "        secret_recovery_days: ~",
            "IG003",
            "does not unset",
        ),
        (
            "  dev:\n",
            "  nul:\n    redis: {}\n  dev:\n",
            "IG102",
            "device name on Windows",
        ),
        (
            "  terraform_module: data",
            "  terraform_module: Compute",
            "IG107",
            "differ only in case",
        ),
    ];
    for (from, to, code, says) in cases {
        assert!(shipped.contains(from), "{from}");
        let bad = shipped.replacen(from, to, 1);
        std::fs::write(d.join("bad.yaml"), &bad).unwrap();
        let run = dir.run(&["validate", "--blueprint", "bad.yaml"]);
        assert_eq!(run.code, 2, "{to}: {run:?}");
        assert!(
            run.stderr.contains(&format!("error[{code}]"))
                && run.stderr.contains(says)
                && run.stderr.contains("--> bad.yaml:"),
            "{to}: {}",
            run.stderr
        );
    }
    // A blueprint read through a linked directory is refused: the link could point at a
    // file elsewhere whose lines an error would quote.
    std::fs::create_dir_all(d.join("elsewhere")).unwrap();
    std::fs::copy(d.join(BP), d.join("elsewhere/bp.yaml")).unwrap();
    symlink("elsewhere", d.join("blueprints")).unwrap();
    let run = dir.run(&["validate", "--blueprint", "blueprints/bp.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
}

/// Temporary files are cleaned only in directories infragen writes now, never in one a
/// stale manifest entry alone names.
#[test]
fn temp_file_cleanup_stays_in_the_directories_infragen_writes() {
    let dir = generated();
    let d = dir.path();
    std::fs::create_dir_all(d.join("out/notes")).unwrap();
    let theirs = d.join("out/notes/.draft.infragen-abc123.tmp");
    std::fs::write(&theirs, "not infragen's\n").unwrap();
    std::fs::write(d.join("out/notes/old.md"), "mine\n").unwrap();
    let manifest = d.join("out/.infragen-manifest");
    let mut m = std::fs::read_to_string(&manifest).unwrap();
    m.push_str(&format!("{}  notes/old.md\n", "4".repeat(64)));
    std::fs::write(&manifest, m).unwrap();
    // In a directory infragen writes: a file with its name pattern but not its contents.
    let named_alike = d.join("out/terraform/.override.infragen-local.tmp");
    std::fs::write(&named_alike, "x = 1\n").unwrap();
    // A stale file with the marker whose bytes (not UTF-8) hash to nothing recorded.
    let odd = d.join("out/docs/old.md");
    let mut bytes =
        b"<!-- Code generated by infragen from blueprint.yaml. DO NOT EDIT. -->\n".to_vec();
    bytes.extend_from_slice(b"caf\xff\n");
    std::fs::write(&odd, &bytes).unwrap();
    let lossy = String::from_utf8_lossy(&bytes).into_owned();
    let mut m = std::fs::read_to_string(&manifest).unwrap();
    m.push_str(&format!(
        "{}  docs/old.md\n",
        infragen::render::sha256_hex(&lossy)
    ));
    std::fs::write(&manifest, m).unwrap();
    let run = dir.generate_with(&["--force"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        theirs.exists(),
        "a file in a directory infragen does not write was removed"
    );
    assert!(
        named_alike.exists(),
        "a file merely named like a temporary one was removed"
    );
    assert!(
        odd.exists(),
        "a file whose bytes were never recorded was removed"
    );
}

/// What a pull request can make long stays short: a manifest of a hundred thousand
/// entries that are not paths, a notify list of a hundred thousand duplicates, and a
/// JSON report of hundreds of drifted files.
#[test]
fn long_inputs_give_short_reports() {
    let dir = Test::with(SHIPPED);
    let d = dir.path();
    let shipped = dir.read(BP);
    let wide = with_empty_envs(&shipped, 300);
    std::fs::write(d.join(BP), &wide).unwrap();
    let run = dir.generate();
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Every environment's value files edited: far more diff than a report holds.
    for i in 0..300 {
        for f in [
            format!("out/terraform/environments/e{i}/redis.tfvars"),
            format!("out/ansible/inventory/e{i}/group_vars/asterisk/redis.yml"),
        ] {
            let p = d.join(f);
            let mut text = std::fs::read_to_string(&p).unwrap();
            for n in 0..60 {
                text.push_str(&format!("# edited {n}\n"));
            }
            std::fs::write(&p, text).unwrap();
        }
    }
    let manifest = d.join("out/.infragen-manifest");
    let mut m = std::fs::read_to_string(&manifest).unwrap();
    m.push_str(&"x  .\n".repeat(100_000));
    std::fs::write(&manifest, m).unwrap();
    let run = dir.check_as("json");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let diff_lines: usize = doc["drifted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["diff"].as_str())
        .map(|t| t.lines().count())
        .sum();
    assert!(
        diff_lines <= 21_000,
        "{diff_lines} lines of diff in the JSON report"
    );
    assert!(
        doc["drifted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["diff_omitted"] == true),
        "no file says its diff was left out"
    );
    assert!(
        run.stderr.len() < 16 << 10,
        "{} bytes of warnings",
        run.stderr.len()
    );
    assert!(
        run.stderr.contains("100000 entries"),
        "{}",
        &run.stderr[..run.stderr.len().min(500)]
    );

    let dup = shipped.replace(
        "notify: [redis-oncall@example.com]",
        &format!("notify: [{}]", vec!["a@ex.io"; 100_000].join(",")),
    );
    std::fs::write(d.join("dup.yaml"), dup).unwrap();
    let started = std::time::Instant::now();
    let run = dir.run(&["validate", "--blueprint", "dup.yaml"]);
    assert_eq!(run.code, 2);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(run.stderr.len() < 1 << 20, "{} bytes", run.stderr.len());
    assert!(
        run.stderr.contains("more problems, not shown"),
        "{}",
        &run.stderr[run.stderr.len() - 300..]
    );
}

/// Second review's forgeries: the truth read back from the value files covers lists and
/// nested tfvars blocks, an unreadable value file vouches for nothing, the job summary
/// says "cannot tell" too, and a value file repeating a key cannot make the report long.
#[test]
fn the_value_files_vouch_for_every_field_they_state() {
    let dir = generated();
    let d = dir.path();
    let bp = d.join(BP);
    let shipped = std::fs::read_to_string(&bp).unwrap();
    let values = d.join("out/infragen-values.json");
    let original = std::fs::read_to_string(&values).unwrap();
    let gv = d.join("out/ansible/inventory/dev/group_vars/asterisk/redis.yml");
    let gv_text = std::fs::read_to_string(&gv).unwrap();
    // (blueprint edit, forged recorded value, what the tree states)
    let cases = [
        (
            ("    aof: true\n", "    aof: false\n"),
            (
                "\"redis.persistence.aof\": true",
                "\"redis.persistence.aof\": false",
            ),
            "redis.persistence.aof",
        ),
        (
            ("  retention_days: 14", "  retention_days: 1"),
            (
                "\"backup.retention_days\": 14",
                "\"backup.retention_days\": 0",
            ),
            "backup.retention_days",
        ),
        (
            (
                "    rdb_snapshots:\n      - {after_seconds: 3600, min_changes: 1}\n      - {after_seconds: 300, min_changes: 100}\n      - {after_seconds: 60, min_changes: 10000}\n",
                "    rdb_snapshots: []\n",
            ),
            (
                "\"redis.persistence.rdb_snapshots\": [\"3600 1\", \"300 100\", \"60 10000\"]",
                "\"redis.persistence.rdb_snapshots\": []",
            ),
            "redis.persistence.rdb_snapshots",
        ),
    ];
    for ((from, to), (rec_from, rec_to), field) in cases {
        assert!(shipped.contains(from), "{from}");
        assert!(original.contains(rec_from), "{rec_from}");
        std::fs::write(&bp, shipped.replacen(from, to, 1)).unwrap();
        // A harmless change beside it, so the environment is not "unchanged".
        let forged = original.replacen(rec_from, rec_to, 2).replace(
            "\"monitoring.latency_alert_usec\": 1000",
            "\"monitoring.latency_alert_usec\": 999",
        );
        std::fs::write(&values, &forged).unwrap();
        let summary = d.join("summary.md");
        let _ = std::fs::remove_file(&summary);
        let run = dir
            .check_cmd("github")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .run();
        assert!(
            run.stdout.contains("dev: cannot tell") && run.stdout.contains(field),
            "{field}: {}",
            run.stdout
        );
        let md = std::fs::read_to_string(&summary).unwrap();
        assert!(
            md.contains("cannot tell"),
            "{field}: the job summary hides it:\n{md}"
        );
    }
    // An unreadable value file (a link now) vouches for nothing.
    std::fs::write(
        &bp,
        shipped.replacen("    aof: true\n", "    aof: false\n", 1),
    )
    .unwrap();
    std::fs::write(
        &values,
        original
            .replacen(
                "\"redis.persistence.aof\": true",
                "\"redis.persistence.aof\": false",
                2,
            )
            .replace(
                "\"monitoring.latency_alert_usec\": 1000",
                "\"monitoring.latency_alert_usec\": 999",
            ),
    )
    .unwrap();
    std::fs::write(d.join("copy.yml"), &gv_text).unwrap();
    std::fs::remove_file(&gv).unwrap();
    symlink(d.join("copy.yml"), &gv).unwrap();
    let run = dir.check_as("human");
    assert!(
        run.stdout.contains("dev: cannot tell") && run.stdout.contains("not read"),
        "{}",
        run.stdout
    );
    // A key repeated 47,000 times with a long recorded value: one line per field.
    std::fs::remove_file(&gv).unwrap();
    let mut repeated = gv_text.clone();
    repeated.push_str(&"redis_maxmemory: 1\n".repeat(47_000));
    std::fs::write(&gv, repeated).unwrap();
    std::fs::write(
        &values,
        original.replacen(
            "\"redis.memory.max\": \"256mb\"",
            &format!("\"redis.memory.max\": \"{}\"", "9".repeat(8000)),
            1,
        ),
    )
    .unwrap();
    let run = dir.check_as("human");
    assert!(run.stdout.len() < 1 << 20, "{} bytes", run.stdout.len());
}
