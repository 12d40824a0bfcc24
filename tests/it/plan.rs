//! The generated Terraform, planned for real: for the shipped blueprint and every
//! fixture, `infragen gen` into a temporary copy of the example infra repo
//! (`examples/infra-repo/`), the README's wiring added as a user adds it, then the real
//! `terraform init`, `validate` and `plan` for every environment, and assertions on
//! `terraform show -json` of each plan. The round trip (self-hosted -> ElastiCache ->
//! self-hosted -> ElastiCache) runs `gen`, `validate` and `plan` at every step with the
//! wiring done once.
//!
//! Terraform is the machine's CLI (`terraform` on `PATH`) with the AWS provider from a
//! local filesystem mirror that `scripts/setup-tools.sh` finds (recorded in
//! `.venv/terraform-mirror`, or `INFRAGEN_TF_MIRROR`); the provider runs with fake
//! credentials and plans with `-refresh=false`, so nothing reaches AWS. The tests are
//! `#[ignore]`d in a plain `cargo test` and run by the README's test command
//! (`--include-ignored`), where a missing CLI or provider fails them.
//!
//! The infra-repo harness (copy, rename, wire, stand-in, plan JSON accessors) is
//! `infra_repo.rs`, shared with the apply tests (`apply.rs`).

use crate::common::{GOOD_BLUEPRINTS, repo};
use crate::infra_repo::{
    InfraRepo, Plan, STAND_IN_PASSWORD, Terraform, edit, gen_into, infra_repo, model, plan_args,
    stand_in_random, terraform, undo, wire, with_mode,
};
use infragen::model::{Mode, Model};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};

/// What the plan of `env` must contain, given its mode.
fn assert_plan_matches_mode(plan: &Plan, model: &Model, env: &infragen::model::Env) {
    let host = format!("module.{}", model.host.terraform_module);
    let addresses = plan.addresses();
    let consumer_groups: BTreeSet<&str> = model
        .consumers
        .iter()
        .map(|c| c.security_group.as_str())
        .collect();
    let rules_from_consumers = |prefix: &str| {
        addresses
            .iter()
            .filter(|a| a.starts_with(&format!("aws_vpc_security_group_ingress_rule.{prefix}_")))
            .count()
    };
    let alarms = plan.of_kind("aws_cloudwatch_metric_alarm");
    match env.mode.value {
        Mode::SelfHosted => {
            for cidr in &env.redis.allowed_ipv4 {
                let a =
                    format!("{host}.aws_vpc_security_group_ingress_rule.redis_ipv4[\"{cidr}\"]");
                let rule = plan.one(&a);
                assert_eq!(rule.values["cidr_ipv4"], cidr.as_str());
                assert_eq!(rule.values["from_port"], env.redis.port.value);
            }
            for cidr in &env.redis.allowed_ipv6 {
                plan.one(&format!(
                    "{host}.aws_vpc_security_group_ingress_rule.redis_ipv6[\"{cidr}\"]"
                ));
            }
            let host_rules = plan
                .of_kind("aws_vpc_security_group_ingress_rule")
                .iter()
                .filter(|r| {
                    r.address.starts_with(&format!(
                        "{host}.aws_vpc_security_group_ingress_rule.redis_ip"
                    ))
                })
                .count();
            assert_eq!(
                host_rules,
                env.redis.allowed_ipv4.len() + env.redis.allowed_ipv6.len()
            );
            assert_eq!(
                rules_from_consumers("redis_from"),
                consumer_groups.len(),
                "{addresses:#?}"
            );
            assert_eq!(rules_from_consumers("redis_cache_from"), 0);
            assert!(plan.of_kind("aws_elasticache_replication_group").is_empty());
            // Read the password, put metrics, and (with backups) write them.
            assert_eq!(
                plan.of_kind("aws_iam_role_policy")
                    .iter()
                    .filter(|r| r.address.starts_with(&host))
                    .count(),
                2 + usize::from(env.backup.is_some())
            );
            // Memory, rejected connections, not reporting, persistence failed, latency,
            // connections; hit rate unless turned off; backup age with backups.
            let m = &env.monitoring;
            let expected = 6
                + usize::from(m.hit_rate_alert_percent.value > 0)
                + usize::from(env.backup.is_some());
            assert_eq!(
                alarms.len(),
                expected,
                "{:#?}",
                alarms.iter().map(|a| &a.address).collect::<Vec<_>>()
            );
            for a in &alarms {
                assert_eq!(
                    a.values["dimensions"],
                    serde_json::json!({"Name": model.name, "Environment": env.name}),
                    "{}: the metric of another deployment could answer",
                    a.address
                );
            }
            // Off-host backups: into the bucket created here, unless the blueprint names one.
            let created_bucket = env.backup.as_ref().is_some_and(|b| b.bucket.is_none());
            for kind in [
                "aws_s3_bucket",
                "aws_s3_bucket_versioning",
                "aws_s3_bucket_server_side_encryption_configuration",
                "aws_s3_bucket_public_access_block",
                "aws_s3_bucket_lifecycle_configuration",
                "aws_s3_bucket_policy",
                "aws_s3_bucket_ownership_controls",
            ] {
                assert_eq!(
                    addresses.contains(&format!("{host}.{kind}.redis_backup[0]")),
                    created_bucket,
                    "{kind}"
                );
            }
            if created_bucket {
                let pab = plan.one(&format!(
                    "{host}.aws_s3_bucket_public_access_block.redis_backup[0]"
                ));
                for flag in [
                    "block_public_acls",
                    "block_public_policy",
                    "ignore_public_acls",
                    "restrict_public_buckets",
                ] {
                    assert_eq!(pab.values[flag], true, "{flag}");
                }
                let life = plan.one(&format!(
                    "{host}.aws_s3_bucket_lifecycle_configuration.redis_backup[0]"
                ));
                assert_eq!(
                    life.values["rule"][0]["expiration"][0]["days"],
                    env.backup.as_ref().unwrap().retention_days.value
                );
                // The version an expiry leaves goes a day later, not a retention later.
                assert_eq!(
                    life.values["rule"][0]["noncurrent_version_expiration"][0]["noncurrent_days"],
                    1
                );
                let ownership = plan.one(&format!(
                    "{host}.aws_s3_bucket_ownership_controls.redis_backup[0]"
                ));
                assert_eq!(
                    ownership.values["rule"][0]["object_ownership"],
                    "BucketOwnerEnforced"
                );
            }
        }
        Mode::ElastiCache => {
            let ec = model.elasticache.as_ref().unwrap();
            let data = format!("module.{}", ec.terraform_module);
            let group = plan.one(&format!(
                "{data}.aws_elasticache_replication_group.redis[0]"
            ));
            assert_eq!(group.values["num_cache_clusters"], env.sizing.nodes.value);
            assert_eq!(
                group.values["node_type"],
                env.sizing.node_type.value.as_str()
            );
            assert_eq!(group.values["port"], env.redis.port.value);
            assert_eq!(group.values["transit_encryption_enabled"], true);
            assert_eq!(group.values["auth_token_update_strategy"], "ROTATE");
            let settings = env.elasticache.as_ref().unwrap();
            assert_eq!(
                group.values["apply_immediately"],
                settings.apply_immediately.value
            );
            assert_eq!(
                group.values["maintenance_window"],
                settings.maintenance_window.value.as_str()
            );
            assert_eq!(
                group.values["snapshot_window"],
                settings.snapshot_window.value.as_str()
            );
            plan.one(&format!("{data}.aws_elasticache_subnet_group.redis[0]"));
            plan.one(&format!("{data}.aws_elasticache_parameter_group.redis[0]"));
            assert!(
                !addresses.iter().any(|a| a.starts_with(&format!(
                    "{host}.aws_vpc_security_group_ingress_rule.redis_ip"
                ))),
                "host rules in ElastiCache mode: {addresses:#?}"
            );
            assert_eq!(rules_from_consumers("redis_from"), 0);
            assert_eq!(
                rules_from_consumers("redis_cache_from"),
                consumer_groups.len()
            );
            // Per node: memory, CPU, connections, latency, and hit rate unless off.
            let kinds = 4 + usize::from(env.monitoring.hit_rate_alert_percent.value > 0);
            assert_eq!(alarms.len(), kinds * env.sizing.nodes.value as usize);
            // The bucket of the self-hosted side's backups follows backup.enabled, not the
            // mode: a rollback keeps it (and the backups in it).
            assert_eq!(
                addresses
                    .iter()
                    .any(|a| a.contains("aws_s3_bucket.redis_backup")),
                env.backup.as_ref().is_some_and(|b| b.bucket.is_none()),
                "the backup bucket in ElastiCache mode: {addresses:#?}"
            );
        }
    }
    // Consumers sharing a role share one policy: one per distinct role.
    let roles: BTreeSet<&str> = model
        .consumers
        .iter()
        .map(|c| c.iam_role.as_str())
        .collect();
    let consumer_policies = plan
        .of_kind("aws_iam_role_policy")
        .iter()
        .filter(|r| {
            r.address
                .starts_with("aws_iam_role_policy.redis_password_read_")
        })
        .count();
    assert_eq!(consumer_policies, roles.len());
    // Alarms reach a person: the topic (created with a key CloudWatch may use, and a
    // policy that lets CloudWatch publish) or the blueprint's, and a subscription for
    // everyone in monitoring.notify.
    let m = &env.monitoring;
    let own_topic = m.sns_topic_arn.is_none();
    assert_eq!(
        addresses.contains("aws_sns_topic.redis_alarms[0]"),
        own_topic
    );
    assert_eq!(
        addresses.contains("aws_sns_topic_policy.redis_alarms[0]"),
        own_topic
    );
    assert_eq!(
        addresses.contains("aws_kms_key.redis_alarms[0]"),
        own_topic && m.sns_kms_key_arn.is_none()
    );
    if own_topic && m.sns_kms_key_arn.is_none() {
        let key = plan.one("aws_kms_key.redis_alarms[0]");
        assert_eq!(key.values["enable_key_rotation"], true);
        let refs = plan.references("", "aws_sns_topic.redis_alarms", "kms_master_key_id");
        assert!(
            refs.iter().any(|r| r == "aws_kms_key.redis_alarms"),
            "{refs:?}"
        );
    }
    let subscriptions = plan.of_kind("aws_sns_topic_subscription");
    assert_eq!(subscriptions.len(), m.notify.value.len());
    for s in &m.notify.value {
        let sub = plan.one(&format!(
            "aws_sns_topic_subscription.redis_alarms[\"{}\"]",
            s.endpoint
        ));
        assert_eq!(sub.values["protocol"], s.protocol);
    }
    // One dashboard per environment.
    let dashboard = plan.one("aws_cloudwatch_dashboard.redis");
    assert_eq!(
        dashboard.values["dashboard_name"],
        format!("{}-{}-redis", model.name, env.name)
    );
    // Alarms notify, and clear (the topic's ARN is known only after apply).
    for a in &alarms {
        for actions in ["alarm_actions", "ok_actions"] {
            let (known, unknown) = plan.after(&a.address, actions);
            let set = known.as_array().is_some_and(|v| !v.is_empty())
                || unknown.as_array().is_some_and(|v| !v.is_empty())
                || unknown == &Value::Bool(true);
            assert!(set, "{}: no {actions}", a.address);
        }
    }
    // No secret in any output or non-sensitive attribute.
    for s in plan.visible_strings() {
        assert!(
            !s.contains(STAND_IN_PASSWORD),
            "the password is visible in the plan: {s}"
        );
    }
    assert!(
        !plan.0["planned_values"]["outputs"]["redis_endpoint"].is_null(),
        "the root output redis_endpoint is missing"
    );
}

/// Generates, wires, inits, validates and plans every environment of `blueprint`.
fn plan_every_environment(t: &Terraform, blueprint: &str) {
    let path = repo().join(blueprint);
    let model = model(&path);
    let r = infra_repo(&model);
    gen_into(&r, &path);
    wire(&r, &model);
    stand_in_random(&r, &model);
    t.init(&r.tf());
    t.validate(&r.tf());
    for env in &model.envs {
        let plan = t.plan(&r.tf(), &env.name);
        assert_plan_matches_mode(&plan, &model, env);
        assert_dashboard_shows_emitted_metrics(t, &r, &model, env);
    }
}

/// Every graph of the environment's dashboard names a metric, with dimensions, that
/// the host's publisher sends (as it declares with `--describe`; the real-tool and host
/// tests hold it to that) or that ElastiCache emits. Terraform itself evaluates the
/// widgets (`terraform console`).
fn assert_dashboard_shows_emitted_metrics(
    t: &Terraform,
    r: &InfraRepo,
    model: &Model,
    env: &infragen::model::Env,
) {
    let out = Command::new("terraform")
        .args([
            "console",
            &format!("-var-file=environments/{}/env.tfvars", env.name),
            &format!("-var-file=environments/{}/redis.tfvars", env.name),
        ])
        .current_dir(r.tf())
        .env("TF_CLI_CONFIG_FILE", &t.config)
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"jsonencode(local.redis_dashboard_metric_widgets)\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "terraform console: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The console prints the JSON as an HCL string literal.
    let literal = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let json: String =
        serde_json::from_str(&literal).expect("an HCL string literal is a JSON string");
    let widgets: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert!(widgets.len() >= 6, "{widgets:#?}");
    let script = r.root().join("ansible/roles/redis/files/redis_metrics.py");
    let described = Command::new("python3")
        .arg(&script)
        .arg("--describe")
        .output()
        .unwrap();
    let described: Value = serde_json::from_slice(&described.stdout).expect("--describe");
    let published: Vec<&str> = described["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for w in &widgets {
        let metrics = w["properties"]["metrics"]
            .as_array()
            .expect("a metric widget");
        assert!(!metrics.is_empty(), "{w}");
        for m in metrics {
            let m: Vec<&str> = m
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            match env.mode.value {
                Mode::SelfHosted => {
                    assert_eq!(m[0], env.monitoring.namespace.value, "{m:?}");
                    assert!(
                        published.contains(&m[1]),
                        "{}: the publisher sends no {}",
                        w["properties"]["title"],
                        m[1]
                    );
                    assert_eq!(
                        m[2..],
                        [
                            "Name",
                            model.name.as_str(),
                            "Environment",
                            env.name.as_str()
                        ],
                        "{m:?}"
                    );
                }
                Mode::ElastiCache => {
                    assert_eq!(m[0], "AWS/ElastiCache", "{m:?}");
                    assert!(
                        infragen::aws::ELASTICACHE_METRICS.contains(&m[1]),
                        "ElastiCache emits no {}",
                        m[1]
                    );
                    assert_eq!(m[2], "CacheClusterId");
                    let node: u32 = m[3].rsplit('-').next().unwrap().parse().unwrap();
                    assert_eq!(m[3], format!("{}-{}-{node:03}", model.name, env.name));
                    assert!((1..=env.sizing.nodes.value).contains(&node), "{m:?}");
                }
            }
        }
    }
}

#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn plan_shipped_blueprint() {
    let t = terraform();
    plan_every_environment(&t, GOOD_BLUEPRINTS[0]);
}

#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn plan_fixtures() {
    let t = terraform();
    for blueprint in &GOOD_BLUEPRINTS[1..] {
        plan_every_environment(&t, blueprint);
    }
}

#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn round_trip_keeps_the_wiring_valid_at_every_step() {
    let t = terraform();
    let shipped = std::fs::read_to_string(repo().join(GOOD_BLUEPRINTS[0])).unwrap();
    let start = model(&repo().join(GOOD_BLUEPRINTS[0]));
    let r = infra_repo(&start);
    let bp = r.root().join("blueprint.yaml");
    let mut wired = false;
    let mut stand_in = Vec::new();
    let mut data_holders: Option<BTreeSet<String>> = None;
    for mode in ["self_hosted", "elasticache", "self_hosted", "elasticache"] {
        std::fs::write(&bp, with_mode(&shipped, "dev", mode)).unwrap();
        let m = model(&bp);
        assert_eq!(m.envs[0].mode.value.as_str(), mode);
        undo(std::mem::take(&mut stand_in));
        gen_into(&r, &bp);
        if !wired {
            // Once, as users do; kept through every later step.
            wire(&r, &m);
            wired = true;
        }
        stand_in = stand_in_random(&r, &m);
        if !r.tf().join(".terraform").exists() {
            // Once: a mode flip changes no module source and no provider.
            t.init(&r.tf());
        }
        t.validate(&r.tf());
        let plan = t.plan(&r.tf(), "dev");
        assert_plan_matches_mode(&plan, &m, &m.envs[0]);
        // What holds data is the same in every mode: a flip plans no deletion of it.
        let holders: BTreeSet<String> = plan
            .addresses()
            .into_iter()
            .filter(|a| {
                (a.contains(".redis_backup") && a.contains("aws_s3_bucket"))
                    || a.contains("aws_secretsmanager_secret.")
            })
            .collect();
        match &data_holders {
            None => data_holders = Some(holders),
            Some(first) => assert_eq!(
                first, &holders,
                "{mode}: the data-holding resources changed"
            ),
        }
        // The playbook the user imported exists in every mode.
        assert!(
            r.root().join("ansible/redis.yml").is_file(),
            "{mode}: ansible/redis.yml removed"
        );
    }
}

#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn a_region_other_than_the_providers_stops_the_plan() {
    let t = terraform();
    let path = repo().join(GOOD_BLUEPRINTS[0]);
    let model = model(&path);
    let r = infra_repo(&model);
    gen_into(&r, &path);
    wire(&r, &model);
    stand_in_random(&r, &model);
    edit(&r.tf().join("environments/dev/env.tfvars"), |s| {
        s.replace("\"us-east-1\"", "\"eu-west-1\"")
    });
    t.init(&r.tf());
    let args = plan_args("dev");
    let out = t.run(
        &r.tf(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let text = String::from_utf8_lossy(&out.stderr).replace('\n', " ");
    assert!(!out.status.success(), "the plan should fail");
    assert!(
        text.contains("is for region us-east-1, but the AWS provider is configured for eu-west-1"),
        "{text}"
    );
}

#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn configuration_follows_the_reviewed_rules() {
    let t = terraform();
    let path = repo().join("tests/fixtures/elasticache.yaml");
    let model = model(&path);
    let r = infra_repo(&model);
    gen_into(&r, &path);
    wire(&r, &model);
    stand_in_random(&r, &model);
    t.init(&r.tf());
    let plan = t.plan(&r.tf(), "prod");
    // The generated files add no aws constraint anywhere: the modules' aws constraints are the infra repo's own (`terraform
    // providers` lists each module's requirements).
    let tree = t.ok(&r.tf(), &["providers", "-no-color"]);
    for module in ["module.compute", "module.data"] {
        let section: String = tree
            .split(&format!("── {module}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("{module} not in:\n{tree}"))
            .lines()
            .take_while(|l| !l.contains("── module."))
            .collect::<Vec<_>>()
            .join("\n");
        // (hashicorp/random, which the override adds, is replaced by a stand-in here.)
        assert!(!section.contains(">= 5.27.0"), "{module}:\n{tree}");
    }
    // Inline policies are named after the deployment and environment (a role's inline
    // policy of the same name, another deployment's or the team's, would be replaced).
    let dev = t.plan(&r.tf(), "dev");
    for (which, p) in [("prod", &plan), ("dev", &dev)] {
        let env = if which == "prod" { "prod" } else { "dev" };
        for policy in p.of_kind("aws_iam_role_policy") {
            let name = policy.values["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(
                name.starts_with(&format!("{}-{env}-", model.name)),
                "{which}: {} is named {name:?}",
                policy.address
            );
        }
    }
    // The backup's policy lets a failed multipart upload be aborted.
    // (The policy is known only after apply: its bucket name comes from the role's ARN.)
    dev.one("module.compute.aws_iam_role_policy.redis_backup[0]");
    let doc = std::fs::read_to_string(r.tf().join("modules/compute/redis_iam.tf")).unwrap();
    for action in ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"] {
        assert!(doc.contains(action), "{action}: {doc}");
    }
    // ElastiCache resources that a replacement creates first never meet their own name:
    // the security group has a prefix, the parameter group's name carries a hash of what
    // forces its replacement.
    let sg = plan.one("module.data.aws_security_group.redis[0]");
    assert!(sg.values["name"].is_null(), "{}", sg.values["name"]);
    assert_eq!(
        sg.values["name_prefix"],
        format!("{}-prod-redis-", model.name),
        "the security group's name_prefix"
    );
    let pg = plan.one("module.data.aws_elasticache_parameter_group.redis[0]");
    let pg_name = pg.values["name"].as_str().unwrap();
    let suffix = pg_name.rsplit('-').next().unwrap();
    assert!(
        suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "{pg_name}"
    );
    // A created key has an alias named after the deployment.
    for (which, p) in [("prod", &plan), ("dev", &dev)] {
        assert_eq!(
            p.of_kind("aws_kms_key").len(),
            p.of_kind("aws_kms_alias").len(),
            "{which}: every created key has an alias"
        );
    }
    // The backup age is sent from the deploy on (counted from the setup until the first
    // backup), so no data means the publisher is down: the not-reporting alarm's job.
    let ages: Vec<_> = dev
        .of_kind("aws_cloudwatch_metric_alarm")
        .into_iter()
        .filter(|a| a.values["metric_name"] == "BackupAgeSeconds")
        .collect();
    assert_eq!(ages.len(), 1, "dev has backups");
    assert_eq!(ages[0].values["treat_missing_data"], "notBreaching");
    // A node being replaced sends no memory metric for a while: no page for that.
    for alarm in plan.of_kind("aws_cloudwatch_metric_alarm") {
        if alarm.values["metric_name"] == "DatabaseMemoryUsagePercentage" {
            assert_eq!(
                alarm.values["treat_missing_data"], "notBreaching",
                "{}",
                alarm.address
            );
        }
    }
    // The host's policies attach to the role by name.
    for policy in [
        "aws_iam_role_policy.redis_password_read",
        "aws_iam_role_policy.redis_metrics_put",
    ] {
        let refs = plan.references("module.compute", policy, "role");
        assert!(
            refs.iter().any(|r| r == "aws_iam_role.asterisk.name"),
            "{policy}: {refs:?}"
        );
    }
    // ElastiCache node alarms wait for the replication group.
    let refs = plan.references("", "aws_cloudwatch_metric_alarm.redis_cache", "dimensions");
    assert!(
        refs.iter()
            .any(|r| r == "module.data.redis_replication_group_id"),
        "{refs:?}"
    );
    // A parameter group survives a family change: created before the old one goes.
    let data = std::fs::read_to_string(r.tf().join("modules/data/redis_elasticache.tf")).unwrap();
    let body: hcl::Body = hcl::from_str(&data).expect("redis_elasticache.tf parses");
    let group = body
        .blocks()
        .find(|b| {
            b.identifier() == "resource"
                && b.labels().iter().map(|l| l.as_str()).collect::<Vec<_>>()
                    == ["aws_elasticache_parameter_group", "redis"]
        })
        .expect("the parameter group");
    let lifecycle = group
        .body()
        .blocks()
        .find(|b| b.identifier() == "lifecycle")
        .expect("lifecycle");
    assert!(
        lifecycle
            .body()
            .attributes()
            .any(|a| a.key() == "create_before_destroy" && a.expr() == &hcl::Expression::Bool(true)),
        "the parameter group must be created before it is destroyed"
    );
    // The token update strategy is explicit (provider 6 wants it with auth_token; 5.x
    // defaults to ROTATE, so the planned value alone cannot tell).
    let expr = plan.expression(
        "module.data",
        "aws_elasticache_replication_group.redis",
        "auth_token_update_strategy",
    );
    assert_eq!(expr["constant_value"], "ROTATE", "{expr}");
    // The final snapshot is named when the group is created.
    let group = plan.one("module.data.aws_elasticache_replication_group.redis[0]");
    assert_eq!(group.values["auto_minor_version_upgrade"], "true");
    // The blueprint's choice: the fixture's prod sets apply_immediately (the default,
    // false, keeps changes in the maintenance window; the round trip plans it).
    assert_eq!(group.values["apply_immediately"], true);
    let (_, unknown) = plan.after(
        "module.data.aws_elasticache_replication_group.redis[0]",
        "final_snapshot_identifier",
    );
    assert_eq!(unknown, &Value::Bool(true));
}

/// Two deployments in one account and region, each with an environment called `dev`:
/// their alarms, dashboards and topics have different names, and their alarms read
/// different metrics (the `Name` dimension), so one host's `Up` never hides the
/// other's outage.
#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn two_deployments_with_one_environment_name_never_share_a_metric() {
    let t = terraform();
    let shipped = std::fs::read_to_string(repo().join(GOOD_BLUEPRINTS[0])).unwrap();
    let other = shipped
        .replace("name: voice-campaign\n", "name: billing-cache\n")
        .replace("voice-campaign/", "billing-cache/");
    assert_ne!(other, shipped);
    let mut seen: Vec<(BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    for text in [&shipped, &other] {
        let dir = tempfile::tempdir().unwrap();
        let bp = dir.path().join("blueprint.yaml");
        std::fs::write(&bp, text).unwrap();
        let m = model(&bp);
        let r = infra_repo(&m);
        gen_into(&r, &bp);
        wire(&r, &m);
        stand_in_random(&r, &m);
        t.init(&r.tf());
        let plan = t.plan(&r.tf(), "dev");
        let mut names = BTreeSet::new();
        let mut metrics = BTreeSet::new();
        for a in plan.of_kind("aws_cloudwatch_metric_alarm") {
            names.insert(a.values["alarm_name"].as_str().unwrap().to_string());
            metrics.insert(format!(
                "{}/{} {}",
                a.values["namespace"], a.values["metric_name"], a.values["dimensions"]
            ));
        }
        for (kind, attr) in [
            ("aws_cloudwatch_dashboard", "dashboard_name"),
            ("aws_sns_topic", "name"),
        ] {
            for r in plan.of_kind(kind) {
                names.insert(r.values[attr].as_str().unwrap().to_string());
            }
        }
        seen.push((names, metrics));
    }
    let (a, b) = (&seen[0], &seen[1]);
    assert!(a.0.len() >= 8, "{:?}", a.0);
    assert!(
        a.0.is_disjoint(&b.0),
        "shared names: {:?}",
        a.0.intersection(&b.0).collect::<Vec<_>>()
    );
    assert!(
        a.1.is_disjoint(&b.1),
        "shared metrics: {:?}",
        a.1.intersection(&b.1).collect::<Vec<_>>()
    );
}

/// The infra repo's own version constraints still hold with the generated files in
/// place: a module's provider constraint and the root's Terraform constraint are never
/// replaced by looser ones (an override file's `required_version` and
/// `required_providers` replace the module's own). Each case sets a constraint nothing
/// on this machine satisfies: `terraform init` must refuse it.
#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn version_constraints_of_the_infra_repo_are_never_weakened() {
    let t = terraform();
    let m = model(&repo().join(GOOD_BLUEPRINTS[0]));
    let module = m.host.terraform_module.clone();
    type Constrain = Box<dyn Fn(&InfraRepo)>;
    let cases: [(&str, Constrain, &str); 2] = [
        (
            "the root's required_version",
            Box::new(|r: &InfraRepo| {
                edit(&r.tf().join("main.tf"), |s| {
                    s.replacen(
                        "required_version = \">= 1.3\"",
                        "required_version = \"< 1.0\"",
                        1,
                    )
                })
            }),
            "Unsupported Terraform Core version",
        ),
        (
            "a module's aws constraint",
            Box::new(move |r: &InfraRepo| {
                std::fs::write(
                    r.tf().join("modules").join(&module).join("versions.tf"),
                    "terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      version = \"< 5.0\"\n    }\n  }\n}\n",
                )
                .unwrap()
            }),
            "no available releases match the given constraints",
        ),
    ];
    for (what, constrain, refusal) in cases {
        let r = infra_repo(&m);
        gen_into(&r, &repo().join(GOOD_BLUEPRINTS[0]));
        wire(&r, &m);
        let _stand_in = stand_in_random(&r, &m);
        constrain(&r);
        let out = t.run(&r.tf(), &["init", "-backend=false", "-no-color"]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "{what} was weakened: init accepted it:\n{said}"
        );
        assert!(said.contains(refusal), "{what}:\n{said}");
    }
}

/// The targeted applies of `docs/<env>/MIGRATION.md`, run as written, bring up the new
/// side's alarms and the dashboard with it: the watch window after a cut-over or a
/// rollback is when they matter.
#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn migration_targets_bring_up_the_new_sides_alarms_and_dashboard() {
    let t = terraform();
    let shipped = std::fs::read_to_string(repo().join(GOOD_BLUEPRINTS[0])).unwrap();
    let start = model(&repo().join(GOOD_BLUEPRINTS[0]));
    let r = infra_repo(&start);
    let bp = r.root().join("blueprint.yaml");
    // (mode, which apply block of MIGRATION.md, the alarms of that side)
    let steps = [
        ("self_hosted", 0, "redis_host"),
        ("elasticache", 1, "redis_cache"),
    ];
    let mut stand_in = Vec::new();
    for (i, (mode, block, alarms)) in steps.into_iter().enumerate() {
        std::fs::write(&bp, with_mode(&shipped, "dev", mode)).unwrap();
        let m = model(&bp);
        undo(std::mem::take(&mut stand_in));
        gen_into(&r, &bp);
        if i == 0 {
            wire(&r, &m);
        }
        stand_in = stand_in_random(&r, &m);
        if i == 0 {
            t.init(&r.tf());
        }
        let doc = std::fs::read_to_string(r.root().join("docs/dev/MIGRATION.md")).unwrap();
        let applies: Vec<Vec<String>> = doc
            .split("terraform apply ")
            .skip(1)
            .map(|rest| {
                rest.split("```")
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .filter_map(|w| w.strip_prefix("-target="))
                    .map(str::to_string)
                    .collect()
            })
            .filter(|targets: &Vec<String>| !targets.is_empty())
            .collect();
        let targets = &applies[block];
        let mut args = plan_args("dev");
        args.extend(targets.iter().map(|t| format!("-target={t}")));
        t.ok(
            &r.tf(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let json = t.ok(&r.tf(), &["show", "-json", "dev.tfplan"]);
        let plan = Plan(serde_json::from_str(&json).unwrap());
        let addresses = plan.addresses();
        assert!(
            addresses
                .iter()
                .any(|a| a.starts_with(&format!("aws_cloudwatch_metric_alarm.{alarms}["))),
            "{mode}: the targeted apply {targets:?} brings up no alarm of its side: {addresses:#?}"
        );
        assert!(
            addresses.contains("aws_cloudwatch_dashboard.redis"),
            "{mode}: {targets:?} leaves the dashboard showing the old side"
        );
    }
}
