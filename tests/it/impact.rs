//! The impact report: what a change does when applied. Snapshots of the report for
//! transitions between fixtures (reviewers of infragen see the report change when the
//! consequences table changes), a test that the transitions reach every level, and the
//! report as `check`, `gen`, `--format json`, the GitHub job summary and `explain
//! --out` show it.

use crate::common::{SHIPPED, Test, compile, model, repo};
use infragen::impact::{self, Impact, Level, Status};
use std::collections::BTreeSet;

/// One transition: a fixture, and text replacements that make the changed blueprint
/// (each must match, so a fixture edit cannot silently empty a transition).
struct Transition {
    name: &'static str,
    fixture: &'static str,
    edits: &'static [(&'static str, &'static str)],
}

const TRANSITIONS: &[Transition] = &[
    Transition {
        name: "mode_flip_prod_back_to_self_hosted",
        fixture: "tests/fixtures/elasticache.yaml",
        edits: &[("      mode: elasticache\n", "      mode: self_hosted\n")],
    },
    Transition {
        name: "mode_flip_dev_to_elasticache",
        fixture: "tests/fixtures/elasticache.yaml",
        edits: &[(
            "      memory:\n        max: 256mb\n",
            "      mode: elasticache\n      memory:\n        max: 256mb\n",
        )],
    },
    Transition {
        name: "port_change",
        fixture: "tests/fixtures/elasticache.yaml",
        edits: &[(
            "redis:\n  version: \"7.0\"\n",
            "redis:\n  version: \"7.0\"\n  port: 6380\n",
        )],
    },
    Transition {
        name: "password_length",
        fixture: SHIPPED,
        edits: &[("password_length: 32", "password_length: 48")],
    },
    Transition {
        name: "secret_rename",
        fixture: "tests/fixtures/elasticache.yaml",
        edits: &[(
            "        secret_recovery_days: 30\n",
            "        secret_recovery_days: 30\n        secret_name: voice-campaign/prod/cache-auth\n",
        )],
    },
    Transition {
        name: "memory_down",
        fixture: "tests/fixtures/three-envs.yaml",
        edits: &[("        max: 128mb\n", "        max: 64mb\n")],
    },
    Transition {
        name: "aof_off",
        fixture: "tests/fixtures/three-envs.yaml",
        edits: &[("    aof: true\n", "    aof: false\n")],
    },
    Transition {
        name: "consumer_added",
        fixture: "tests/fixtures/elasticache.yaml",
        edits: &[(
            "monitoring:\n",
            "  - name: reporting\n    security_group: module.lambda.reporting_sg\n    iam_role: aws_iam_role.reporting.name\nmonitoring:\n",
        )],
    },
    Transition {
        name: "node_count",
        fixture: "tests/fixtures/elasticache.yaml",
        edits: &[("      nodes: 2\n", "      nodes: 3\n")],
    },
    Transition {
        name: "node_type_up",
        fixture: "tests/fixtures/elasticache.yaml",
        edits: &[(
            "  node_type: cache.t3.small\n",
            "  node_type: cache.m6g.large\n",
        )],
    },
    Transition {
        name: "alarm_thresholds_and_a_subscriber",
        fixture: "tests/fixtures/three-envs.yaml",
        edits: &[
            (
                "  latency_alert_usec: 2500\n",
                "  latency_alert_usec: 4000\n",
            ),
            (
                "  notify: [ops@example.com, \"https://events.example.com/redis\"]\n",
                "  notify: [ops@example.com, \"https://events.example.com/redis\", dba@example.com]\n",
            ),
        ],
    },
    Transition {
        name: "policy_and_source_removed",
        fixture: "tests/fixtures/three-envs.yaml",
        edits: &[
            (
                "        policy: volatile-ttl\n",
                "        policy: volatile-lru\n",
            ),
            (
                "      allowed_sources: [vpc, 10.99.0.0/24]\n",
                "      allowed_sources: [vpc]\n",
            ),
        ],
    },
    Transition {
        name: "environment_added_and_removed",
        fixture: SHIPPED,
        edits: &[("\n  dev:\n", "\n  qa:\n")],
    },
    Transition {
        name: "backups_off",
        fixture: SHIPPED,
        edits: &[("backup:\n", "backup:\n  enabled: false\n")],
    },
];

fn edited(t: &Transition) -> (String, String) {
    let before = std::fs::read_to_string(repo().join(t.fixture)).unwrap();
    let mut after = before.clone();
    for (from, to) in t.edits {
        assert!(
            after.contains(from),
            "{}: {} has no {from:?}",
            t.name,
            t.fixture
        );
        after = after.replacen(from, to, 1);
    }
    (before, after)
}

/// The impact of `t`, from the values its fixture records (as `gen` writes them and
/// `values::parse` reads them back) to the edited blueprint.
fn impact_of(t: &Transition) -> Impact {
    let (before, after) = edited(t);
    let old = compile(t.fixture, &before);
    let recorded =
        infragen::render::values::parse(&infragen::render::values::render(&old)).unwrap();
    let new = compile(t.fixture, &after);
    Impact::Known {
        environments: impact::compare(&recorded, &new),
    }
}

#[test]
fn transitions_between_fixtures() {
    for t in TRANSITIONS {
        let report = infragen::report::impact::text(
            &impact_of(t),
            "generated/infragen-values.json",
            t.fixture,
        );
        insta::assert_snapshot!(format!("impact_{}", t.name), report);
    }
}

/// Every level is reached by some transition, and each named transition reaches the
/// level it is about.
#[test]
fn transitions_reach_every_level() {
    let mut seen = BTreeSet::new();
    let mut worst = std::collections::BTreeMap::new();
    for t in TRANSITIONS {
        let Impact::Known { environments } = impact_of(t) else {
            unreachable!()
        };
        assert!(
            environments.iter().any(|e| e.status != Status::Unchanged),
            "{}: no environment changed",
            t.name
        );
        for e in &environments {
            for c in &e.consequences {
                seen.insert(c.level);
            }
        }
        worst.insert(t.name, environments.iter().map(|e| e.level).max().unwrap());
    }
    assert_eq!(seen, Level::ALL.into_iter().collect::<BTreeSet<_>>());
    for (name, level) in [
        ("mode_flip_prod_back_to_self_hosted", Level::DataAtRisk),
        ("port_change", Level::DataAtRisk),
        ("password_length", Level::Nothing),
        ("secret_rename", Level::Replaced),
        ("memory_down", Level::DataAtRisk),
        ("aof_off", Level::DataAtRisk),
        ("consumer_added", Level::Reload),
        ("node_count", Level::Reload),
        ("node_type_up", Level::Restart),
        ("alarm_thresholds_and_a_subscriber", Level::Reload),
        ("policy_and_source_removed", Level::Consumers),
        ("backups_off", Level::DataAtRisk),
    ] {
        assert_eq!(worst[name], level, "{name}");
    }
}

/// Unchanged values report nothing, whatever else changed in the output.
#[test]
fn the_same_values_have_no_impact() {
    for fixture in crate::common::GOOD_BLUEPRINTS {
        let model = model(fixture);
        let recorded =
            infragen::render::values::parse(&infragen::render::values::render(&model)).unwrap();
        for e in impact::compare(&recorded, &model) {
            assert_eq!(e.status, Status::Unchanged, "{fixture}: {e:?}");
            assert!(e.consequences.is_empty() && e.monthly_cost_usd.is_none());
        }
    }
}

/// Generates the work directory's blueprint, then edits it.
fn gen_then_edit(dir: &Test, edits: &[(&str, &str)]) {
    dir.generate().expect_code(0);
    for (from, to) in edits {
        dir.edit(from, to);
    }
}

#[test]
fn check_and_gen_report_the_impact_below_the_file_list() {
    let dir = Test::with(SHIPPED);
    gen_then_edit(&dir, &[("port: 6379", "port: 6380")]);
    let check = dir.check();
    assert_eq!(check.code, 1, "{check:?}");
    let status_end = check
        .stdout
        .find("\n\n")
        .expect("a blank line after the file list");
    let impact_at = check
        .stdout
        .find("impact of blueprint.yaml against the values recorded in out/infragen-values.json")
        .expect(&check.stdout);
    let diff_at = check.stdout.find("--- a/").unwrap();
    assert!(
        status_end < impact_at && impact_at < diff_at,
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains(
        "  prod: consumers: consumers must change (port, endpoint or access) and be redeployed\n    consumers     redis.port: 6379 -> 6380\n"
    ), "{}", check.stdout);
    let regen = dir.generate();
    assert_eq!(regen.code, 0, "{regen:?}");
    let counts = regen
        .stdout
        .find("out: 0 created, 10 updated")
        .expect(&regen.stdout);
    let impact_at = regen
        .stdout
        .find("impact of blueprint.yaml")
        .expect(&regen.stdout);
    assert!(counts < impact_at);
    assert!(regen.stdout.contains("redis.port: 6379 -> 6380"));
    // Once written, the values are the blueprint's: nothing more to report.
    let again = dir.generate();
    assert!(!again.stdout.contains("impact"), "{}", again.stdout);
    let clean = dir.check();
    assert_eq!(clean.code, 0);
    assert!(!clean.stdout.contains("impact"), "{}", clean.stdout);
}

#[test]
fn json_carries_the_impact_as_data() {
    let dir = Test::with("tests/fixtures/elasticache.yaml");
    gen_then_edit(&dir, &[("      nodes: 2\n", "      nodes: 3\n")]);
    let run = dir.check_as("json");
    assert_eq!(run.code, 1, "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let impact = &doc["impact"];
    assert_eq!(impact["status"], "known");
    let prod = impact["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["env"] == "prod")
        .unwrap();
    assert_eq!(prod["status"], "changed");
    assert_eq!(prod["level"], "reload");
    let c = &prod["consequences"][0];
    assert_eq!(
        (&c["field"], &c["from"], &c["to"], &c["level"]),
        (
            &"elasticache.nodes".into(),
            &2.into(),
            &3.into(),
            &"reload".into()
        )
    );
    // One more node: the cost goes up by one node's month.
    assert_eq!(
        prod["monthly_cost_usd"],
        serde_json::json!(["49.64", "74.46"])
    );
}

#[test]
fn github_format_writes_the_job_summary() {
    let dir = Test::with("tests/fixtures/three-envs.yaml");
    gen_then_edit(&dir, &[("    aof: true\n", "    aof: false\n")]);
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let run = dir
        .check_cmd("github")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .run();
    assert_eq!(run.code, 1, "{run:?}");
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n### infragen: what this change does\n"),
        "{text}"
    );
    for env in ["dev", "staging", "prod"] {
        assert!(
            text.contains(&format!(
                "| {env} | **data-at-risk** | redis\\.persistence\\.aof | true | false |"
            )),
            "{env}: {text}"
        );
    }
    // Without the variable, nothing else is written.
    let run = dir.check_as("github");
    assert_eq!(run.code, 1);
}

#[test]
fn unreadable_or_missing_records_say_so() {
    let dir = Test::with(SHIPPED);
    gen_then_edit(&dir, &[("password_length: 32", "password_length: 40")]);
    let values = dir.path().join("out/infragen-values.json");
    std::fs::write(&values, "{ not json").unwrap();
    let run = dir.check();
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("impact: not known: out/infragen-values.json cannot be read: "),
        "{}",
        run.stdout
    );
    std::fs::remove_file(&values).unwrap();
    let run = dir.check();
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("impact: not known: out/infragen-values.json did not exist"),
        "{}",
        run.stdout
    );
}

#[test]
fn explain_shows_recorded_values_beside_current_ones() {
    let dir = Test::with(SHIPPED);
    gen_then_edit(&dir, &[("password_length: 32", "password_length: 48")]);
    let run = dir.run(&[
        "explain",
        "--blueprint",
        "blueprint.yaml",
        "--env",
        "prod",
        "--out",
        "out",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("redis.auth.password_length"))
        .unwrap();
    assert!(
        line.contains(" 48 ") && line.ends_with("recorded: 32"),
        "{line}"
    );
    let port = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("redis.port"))
        .unwrap();
    assert!(!port.contains("recorded"), "{port}");
}

/// The README's example impact is the tool's output for the README's example change.
#[test]
fn readme_example_is_what_the_tool_prints() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = "<!-- impact-example: produced by tests/it/impact.rs -->\n```text\n";
    let from = readme.find(start).expect("the README's impact example") + start.len();
    let shown = &readme[from..from + readme[from..].find("```").unwrap()];
    let dir = Test::with(SHIPPED);
    gen_then_edit(
        &dir,
        &[
            ("password_length: 32", "password_length: 48"),
            ("  port: 6379", "  port: 6380"),
            ("    aof: true", "    aof: false"),
        ],
    );
    let run = dir.check();
    let at = run.stdout.find("impact of").expect(&run.stdout);
    let end = at + run.stdout[at..].find("\n\n").unwrap() + 1;
    assert_eq!(shown, &run.stdout[at..end], "update the README's example");
}

/// Every field of the blueprint has a consequence in both modes, and the table names
/// no field the blueprint lacks; every recorded value is a blueprint field.
#[test]
fn every_field_has_a_consequence_in_both_modes() {
    use infragen::impact::table::{Modes, ROWS, When};
    // `structure::the_field_registry_is_the_schema` proves the registry is the schema.
    let leaves = infragen::field::Field::ALL;
    assert!(leaves.len() > 50, "{leaves:?}");
    for field in leaves {
        for self_hosted in [true, false] {
            assert!(
                ROWS.iter().any(|r| r.field == *field
                    && r.when == When::Any
                    && r.modes.includes(self_hosted)),
                "{field}: no `Any` row for {} mode",
                if self_hosted {
                    "self-hosted"
                } else {
                    "ElastiCache"
                }
            );
        }
    }
    for r in ROWS {
        assert!(
            leaves.contains(&r.field),
            "the table names {}, not a blueprint field",
            r.field
        );
        assert!(!r.effect.is_empty(), "{}: no effect", r.field);
    }
    // Both-mode rows are not shadowed by a mode row with the same condition.
    for r in ROWS.iter().filter(|r| r.modes == Modes::Both) {
        assert!(
            !ROWS.iter().any(|o| o.field == r.field
                && o.when == r.when
                && o.modes != Modes::Both
                && o.when != When::Any),
            "{}: a both-mode row and a mode row for the same change",
            r.field
        );
    }
    for fixture in crate::common::GOOD_BLUEPRINTS {
        let model = model(fixture);
        for e in &model.envs {
            for (field, _) in infragen::render::values::of_env(&model, e) {
                assert!(
                    infragen::field::Field::parse(&field).is_some()
                        || field == infragen::render::values::COST,
                    "{fixture}: records {field}, not a blueprint field"
                );
            }
        }
    }
}

/// docs/IMPACT.md is the table (regenerate it with INFRAGEN_UPDATE_DOCS=1).
#[test]
fn impact_doc_is_the_table() {
    let path = repo().join("docs/IMPACT.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let marker = "<!-- the tables below are generated from src/impact/table.rs -->\n\n";
    let head = doc
        .find(marker)
        .map_or(doc.as_str(), |i| &doc[..i + marker.len()]);
    let want = format!("{head}{}", infragen::impact::table::markdown());
    if doc != want && std::env::var_os("INFRAGEN_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(doc.contains(marker), "docs/IMPACT.md lacks its marker line");
    assert_eq!(
        doc, want,
        "docs/IMPACT.md is stale: run INFRAGEN_UPDATE_DOCS=1 cargo test --test it impact_doc"
    );
}
