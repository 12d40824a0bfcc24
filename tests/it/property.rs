//! Property test: every valid blueprint renders files that parse back (`.tf`/`.tfvars`
//! with hcl-rs, YAML with serde-saphyr), and rendering never panics.

use crate::common::compile;
use crate::parse_back::parse_back;
use proptest::prelude::*;

use infragen::rules::EvictionPolicy;

const POLICIES: &[&str] = EvictionPolicy::NAMES;
const COMMANDS: &[&str] = &[
    "FLUSHALL", "FLUSHDB", "KEYS", "DEBUG", "CONFIG", "SAVE", "MONITOR",
];

#[derive(Debug, Clone)]
struct Env {
    name: String,
    octet: u8,
    max_mb: u32,
    elasticache: bool,
    nodes: u32,
    port: u16,
}

fn env_strategy() -> impl Strategy<Value = Env> {
    (
        // Windows device names (`con`, `com1`, ...) are refused (IG102).
        "[a-z][a-z0-9]{0,6}".prop_filter("a Windows device name", |n| {
            !infragen::validate::syntax::is_reserved_name(n)
        }),
        any::<u8>(),
        1u32..=600,
        any::<bool>(),
        1u32..=3,
        1024u16..=65535,
    )
        .prop_map(|(name, octet, max_mb, elasticache, nodes, port)| Env {
            name,
            octet,
            max_mb,
            elasticache,
            nodes,
            port,
        })
}

/// Where the alarms go, their thresholds and the backups: a monitoring and backup
/// section with every field either left out or set to an accepted value.
#[derive(Debug, Clone)]
struct Ops {
    notify: Vec<String>,
    own_topic: bool,
    latency: u32,
    hit_rate: u32,
    backup: Option<(u32, u32, Option<String>)>,
}

fn ops_strategy() -> impl Strategy<Value = Ops> {
    (
        prop::collection::btree_set(
            prop_oneof![
                "[a-z]{1,8}@[a-z]{1,8}\\.example",
                "https://[a-z]{1,8}\\.example/[a-z]{0,8}"
            ],
            0..3,
        ),
        any::<bool>(),
        1u32..=10_000_000,
        0u32..=100,
        prop::option::of((
            1u32..=168,
            1u32..=3650,
            prop::option::of("backups-[a-z0-9]{1,20}"),
        )),
    )
        .prop_map(|(notify, own_topic, latency, hit_rate, backup)| Ops {
            own_topic: own_topic || notify.is_empty(),
            notify: notify.into_iter().collect(),
            latency,
            hit_rate,
            backup,
        })
}

prop_compose! {
    fn blueprint()(
        envs in prop::collection::vec(env_strategy(), 1..4),
        policy in prop::sample::select(POLICIES),
        blocked in prop::sample::subsequence(COMMANDS, 0..4),
        password_length in 32u32..=128,
        specials in any::<bool>(),
        aof in any::<bool>(),
        snapshots in prop::collection::vec((1u32..100_000, 1u32..100_000), 0..4),
        consumers in prop::collection::vec("[a-z][a-z0-9-]{0,8}[a-z0-9]", 0..3),
        ipv6 in any::<bool>(),
        secret in "[A-Za-z0-9/_+=.@-]{1,40}",
        alert in 1u32..=100,
        ops in ops_strategy(),
    ) -> String {
        let mut y = String::from("name: prop\naws:\n  region: eu-west-1\n  vpc_cidr: 10.0.0.0/16\n");
        y.push_str("host:\n  terraform_module: compute\n  instance: aws_instance.pbx\n  security_group: aws_security_group.pbx\n  iam_role: aws_iam_role.pbx\n  ansible_group: pbx\n  instance_type: m5.xlarge\n");
        y.push_str("elasticache:\n  vpc_id: var.vpc_id\n  subnet_ids: var.private_subnet_ids\n  node_type: cache.m5.large\n");
        let mut seen = std::collections::HashSet::new();
        let consumers: Vec<&String> = consumers.iter().filter(|c| seen.insert(c.as_str())).collect();
        if !consumers.is_empty() {
            y.push_str("consumers:\n");
            for c in &consumers {
                let id = c.replace('-', "_");
                y.push_str(&format!("  - name: {c}\n    security_group: module.lambda.{id}_sg\n    iam_role: aws_iam_role.{id}.name\n"));
            }
        }
        y.push_str(&format!("monitoring:\n  memory_alert_percent: {alert}\n  latency_alert_usec: {}\n  hit_rate_alert_percent: {}\n", ops.latency, ops.hit_rate));
        if !ops.notify.is_empty() {
            y.push_str(&format!("  notify: [{}]\n", ops.notify.join(", ")));
        }
        if ops.own_topic {
            y.push_str("  sns_topic_arn: arn:aws:sns:eu-west-1:123456789012:oncall\n");
        }
        match &ops.backup {
            None => y.push_str("backup:\n  enabled: false\n"),
            Some((interval, retention, bucket)) => {
                y.push_str(&format!("backup:\n  interval_hours: {interval}\n  retention_days: {retention}\n"));
                if let Some(b) = bucket {
                    y.push_str(&format!("  bucket: {b}\n"));
                }
            }
        }
        y.push_str(&format!("redis:\n  memory:\n    policy: {policy}\n  auth:\n    password_length: {password_length}\n    password_specials: {specials}\n    secret_name: \"{secret}\"\n"));
        y.push_str(&format!("  blocked_commands: [{}]\n", blocked.join(", ")));
        y.push_str(&format!("  allowed_sources: [vpc{}]\n", if ipv6 { ", \"2001:db8::/32\"" } else { "" }));
        y.push_str("  persistence:\n    rdb_snapshots:");
        if snapshots.is_empty() {
            y.push_str(" []\n");
        } else {
            y.push('\n');
            for (s, c) in &snapshots {
                y.push_str(&format!("      - {{after_seconds: {s}, min_changes: {c}}}\n"));
            }
        }
        y.push_str(&format!("    aof: {aof}\n"));
        y.push_str("environments:\n");
        let mut names = std::collections::HashSet::new();
        for e in envs.iter().filter(|e| names.insert(e.name.clone())) {
            y.push_str(&format!(
                "  {}:\n    aws:\n      vpc_cidr: 10.{}.0.0/16\n    redis:\n      mode: {}\n      port: {}\n      memory:\n        max: {}mb\n    elasticache:\n      nodes: {}\n",
                e.name,
                e.octet,
                if e.elasticache { "elasticache" } else { "self_hosted" },
                e.port,
                e.max_mb,
                e.nodes
            ));
        }
        y
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn every_valid_blueprint_renders_files_that_parse_back(text in blueprint()) {
        // An invalid blueprint is the generator's fault (proptest prints the input).
        let model = compile("prop.yaml", &text);
        let files = infragen::render::render(&model).expect("render");
        prop_assert!(files.len() > 10);
        for f in &files {
            if let Err(e) = parse_back(&f.path, &f.contents) {
                prop_assert!(false, "{e}\nblueprint:\n{text}");
            }
        }
    }
}
