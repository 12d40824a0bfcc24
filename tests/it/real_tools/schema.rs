//! The blueprint's JSON Schema, with a real validator: the fixtures, and agreement with infragen on every rule's edges.

use super::*;

/// Validates YAML files against a JSON Schema with Python's `jsonschema` (draft 2020-12);
/// returns, per file, the validator's error messages.
fn schema_errors(t: &Tools, schema: &Path, files: &[PathBuf]) -> Vec<(String, Vec<String>)> {
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
def leaves(error):
    # Optional fields are `anyOf [value, null]`: report the innermost reasons.
    if error.context:
        for sub in error.context:
            yield from leaves(sub)
    else:
        yield error.message
for path in sys.argv[2:]:
    errors = sorted(m for e in validator.iter_errors(yaml.safe_load(open(path))) for m in leaves(e))
    print(json.dumps({"file": path, "errors": errors}))
"#;
    let mut c = t.cmd("python");
    c.arg("-c").arg(script).arg(schema).args(files);
    let o = run(c);
    assert!(
        o.status.success(),
        "the JSON Schema validator failed:\n{}",
        text(&o)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let errors = v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_string())
                .collect();
            (v["file"].as_str().unwrap().to_string(), errors)
        })
        .collect()
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn blueprint_schema_accepts_the_fixtures_and_rejects_bad_ones() {
    let t = tools();
    let schema = repo().join("generated/schema/blueprint.schema.json");
    let good: Vec<PathBuf> = GOOD_BLUEPRINTS.iter().map(|b| repo().join(b)).collect();
    for (file, errors) in schema_errors(&t, &schema, &good) {
        assert!(
            errors.is_empty(),
            "{file} should satisfy the schema: {errors:?}"
        );
    }
    let bad: Vec<PathBuf> = ["unknown-key", "wrong-type", "typos", "rules"]
        .iter()
        .map(|n| repo().join(format!("tests/fixtures/bad/{n}.yaml")))
        .collect();
    let results = schema_errors(&t, &schema, &bad);
    assert_eq!(results.len(), bad.len());
    for (file, errors) in &results {
        assert!(
            !errors.is_empty(),
            "{file} should be rejected by the schema"
        );
    }
    let joined = |name: &str| {
        results
            .iter()
            .find(|(f, _)| f.ends_with(name))
            .unwrap()
            .1
            .join("\n")
    };
    assert!(
        joined("unknown-key.yaml").contains("'maxx' was unexpected"),
        "{}",
        joined("unknown-key.yaml")
    );
    assert!(
        joined("typos.yaml").contains("'allkeys-lur' is not one of"),
        "{}",
        joined("typos.yaml")
    );
    assert!(
        joined("rules.yaml").contains("70000 is greater than the maximum of 65535"),
        "{}",
        joined("rules.yaml")
    );
}

/// The schema and the validator read the same rules (`src/rules.rs`): on values at and
/// around every rule's edges, a real JSON Schema validator and `infragen validate` give
/// the same verdict.
#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn schema_and_validator_agree_on_edge_values() {
    use infragen::rules::{self, AppendFsync, EvictionPolicy, IntRule, Mode};
    let t = tools();
    let schema = repo().join("generated/schema/blueprint.schema.json");
    let shipped =
        std::fs::read_to_string(repo().join("blueprints/redis-on-asterisk.yaml")).unwrap();
    let cached = std::fs::read_to_string(repo().join("tests/fixtures/elasticache.yaml")).unwrap();
    // ElastiCache settings are checked for environments on ElastiCache: the fixture's
    // prod is; its top-level elasticache section gets each value.
    const CACHE_ANCHOR: &str = "  node_type: cache.t3.small\n";
    let in_cache = |line: &str| format!("{CACHE_ANCHOR}  {line}\n");
    let edges = |r: &IntRule| {
        let mut v = vec![
            r.min - 1,
            r.min,
            r.min + 1,
            r.max - 1,
            r.max,
            r.max + 1,
            r.default,
        ];
        if let Some((a, b)) = r.except {
            v.extend([a - 1, a, b, b + 1]);
        }
        if r.step > 1 {
            v.extend([r.min + r.step / 2, r.min + r.step]);
        }
        v
    };
    let mut cases: Vec<(String, String)> = Vec::new();
    // A case: the base blueprint with `from` (which must be in it) replaced by `to`.
    let mut add = |label: String, base: &str, from: &str, to: &str| {
        assert!(
            base.contains(from),
            "{label}: `{from}` is not in the base blueprint"
        );
        cases.push((label, base.replacen(from, to, 1)));
    };
    for (rule, from) in [
        (&rules::PORT, "  port: 6379\n"),
        (&rules::PASSWORD_LENGTH, "    password_length: 32 "),
        (
            &rules::SECRET_RECOVERY_DAYS,
            "        secret_recovery_days: 30\n",
        ),
        (&rules::MEMORY_ALERT_PERCENT, "  memory_alert_percent: 80 "),
        (&rules::INTERVAL_SECONDS, "  interval_seconds: 60\n"),
    ] {
        for v in edges(rule) {
            let key = from.split(':').next().unwrap();
            let to = format!(
                "{key}: {v}{}",
                if from.ends_with('\n') { "\n" } else { " " }
            );
            add(format!("{} = {v}", rule.field), &shipped, from, &to);
        }
    }
    for rule in [&rules::NODES, &rules::SNAPSHOT_RETENTION_DAYS] {
        for v in edges(rule) {
            let key = rule.field.path().rsplit('.').next().unwrap();
            add(
                format!("{} = {v}", rule.field),
                &cached,
                CACHE_ANCHOR,
                &in_cache(&format!("{key}: {v}")),
            );
        }
    }
    for v in [0, 1, rules::SAVE_NUMBER.max, rules::SAVE_NUMBER.max + 1] {
        add(
            format!("save min_changes = {v}"),
            &shipped,
            "after_seconds: 60, min_changes: 10000",
            &format!("after_seconds: 60, min_changes: {v}"),
        );
    }
    let strings: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "name",
            "name: voice-campaign\n",
            [
                "voice",
                "a",
                "voice-",
                "Voice",
                "1voice",
                "v2",
                &"v".repeat(40),
                &"v".repeat(41),
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "redis.version",
            "  version: \"7.0\"",
            [
                "7", "7.0", "7.2.4", "7.1234", "6.2", "8.0", "9.0", "10.0", "7.x",
            ]
            .map(|v| format!("\"{v}\""))
            .to_vec(),
        ),
        (
            "redis.memory.max",
            "    max: 512mb",
            ["512mb", "1gb", "2048k", "1000000", "512 mb", "1tb", "mb"]
                .map(String::from)
                .to_vec(),
        ),
        // Quoted: the schema's validator reads YAML 1.1, where a bare `no` is false.
        (
            "redis.mode",
            "  mode: self_hosted",
            Mode::NAMES
                .iter()
                .copied()
                .chain(["selfhosted"])
                .map(|v| format!("\"{v}\""))
                .collect(),
        ),
        (
            "redis.memory.policy",
            "    policy: allkeys-lru",
            EvictionPolicy::NAMES
                .iter()
                .copied()
                .chain(["lru"])
                .map(|v| format!("\"{v}\""))
                .collect(),
        ),
        (
            "redis.persistence.appendfsync",
            "    appendfsync: everysec",
            AppendFsync::NAMES
                .iter()
                .copied()
                .chain(["sometimes"])
                .map(|v| format!("\"{v}\""))
                .collect(),
        ),
    ];
    // Names go into the name of the backup bucket infragen would create (a rule the
    // schema cannot state): name cases use a bucket of their own.
    let own_bucket = shipped.replacen(
        "backup:\n",
        "backup:\n  bucket: voice-campaign-backups\n",
        1,
    );
    assert_ne!(own_bucket, shipped);
    for (field, from, values) in strings {
        let base = if field == "name" {
            &own_bucket
        } else {
            &shipped
        };
        for v in values {
            let key = from.split(':').next().unwrap();
            let to = format!("{key}: {v}{}", if from.ends_with('\n') { "\n" } else { "" });
            add(format!("{field} = {v}"), base, from, &to);
        }
    }
    for v in [
        "sun:05:00-sun:06:00",
        "mon:23:00-tue:00:30",
        "sun:5:00-sun:06:00",
        "xyz:05:00-sun:06:00",
    ] {
        add(
            format!("maintenance_window = {v}"),
            &cached,
            CACHE_ANCHOR,
            &in_cache(&format!("maintenance_window: \"{v}\"")),
        );
    }
    for v in ["03:00-04:00", "23:30-00:30", "3:00-04:00", "03:00"] {
        add(
            format!("snapshot_window = {v}"),
            &cached,
            CACHE_ANCHOR,
            &in_cache(&format!("snapshot_window: \"{v}\"")),
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = cases
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            let p = dir.path().join(format!("case-{i}.yaml"));
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    let verdicts = schema_errors(&t, &schema, &files);
    let (mut accepted, mut refused) = (0, 0);
    for ((label, text), (_, errors)) in cases.iter().zip(&verdicts) {
        let by_schema = errors.is_empty();
        let by_infragen = infragen::pipeline::compile_str("case.yaml", text).is_ok();
        assert_eq!(
            by_schema,
            by_infragen,
            "{label}: the schema {} it ({errors:?}), infragen {}",
            if by_schema { "accepts" } else { "refuses" },
            if by_infragen { "accepts" } else { "refuses" },
        );
        if by_schema {
            accepted += 1
        } else {
            refused += 1
        }
    }
    assert!(
        accepted > 20 && refused > 20,
        "{accepted} accepted, {refused} refused"
    );
}
