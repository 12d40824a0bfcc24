//! What a Terraform plan of the generated code must contain: the resources of each
//! environment's mode, and a dashboard whose every graph names a metric that is emitted.
//! Used by the plan tests (`plan.rs`).

use crate::common::repo;
use crate::support::infra_repo::{
    InfraRepo, Plan, STAND_IN_PASSWORD, Terraform, plan_args, wired_repo,
};
use infragen::model::{Mode, Model};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

/// What the plan of `env` must contain, given its mode.
pub(crate) fn assert_plan_matches_mode(plan: &Plan, model: &Model, env: &infragen::model::Env) {
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
            // Read the password, put metrics, (with backups) write them, and (with TLS)
            // publish the CA certificate.
            let tls = env.redis.tls_enabled.value;
            assert_eq!(
                plan.of_kind("aws_iam_role_policy")
                    .iter()
                    .filter(|r| r.address.starts_with(&host))
                    .count(),
                2 + usize::from(env.backup.is_some()) + usize::from(tls)
            );
            assert_eq!(
                addresses.contains(&format!("{host}.aws_ssm_parameter.redis_tls_ca[0]")),
                tls
            );
            if tls {
                let p = plan.one(&format!("{host}.aws_ssm_parameter.redis_tls_ca[0]"));
                assert_eq!(p.values["type"], "String");
                assert_eq!(
                    p.values["name"],
                    format!("/{}/{}/redis-tls-ca", model.name, env.name)
                );
            }
            // The plaintext port admits the consumers only, and only while it is set.
            let plaintext = env
                .redis
                .plaintext_port
                .as_ref()
                .filter(|_| tls)
                .map(|p| p.value);
            assert_eq!(
                rules_from_consumers("redis_plaintext_from"),
                if plaintext.is_some() {
                    consumer_groups.len()
                } else {
                    0
                },
                "{addresses:#?}"
            );
            for r in plan.of_kind("aws_vpc_security_group_ingress_rule") {
                if let Some(p) = plaintext
                    && r.values["from_port"] == p
                {
                    assert!(
                        r.address.starts_with(
                            "aws_vpc_security_group_ingress_rule.redis_plaintext_from_"
                        ),
                        "{} opens the plaintext port",
                        r.address
                    );
                }
            }
            // Memory, rejected connections, not reporting, persistence failed, latency,
            // connections; hit rate unless turned off; backup age with backups; the TLS
            // certificate's expiry with TLS.
            let m = &env.monitoring;
            let expected = 6
                + usize::from(m.hit_rate_alert_percent.value > 0)
                + usize::from(env.backup.is_some())
                + usize::from(tls);
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
            // RBAC: each consumer's user and the `default` user in the group's user
            // group, attached to the group; no AUTH token.
            assert_eq!(group.values["auth_token_update_strategy"], "DELETE");
            assert!(
                group.values["auth_token"].is_null(),
                "an AUTH token beside RBAC"
            );
            let group_id = format!("{}-{}", model.name, env.name);
            assert_eq!(group.values["user_group_ids"], json!([group_id]));
            let users = plan.one(&format!("{data}.aws_elasticache_user_group.redis[0]"));
            assert_eq!(users.values["user_group_id"], group_id.as_str());
            assert_eq!(users.values["engine"], env.redis.engine.value.as_str());
            let mut want: BTreeSet<String> = model
                .consumers
                .iter()
                .map(|c| format!("{group_id}-{}", c.name))
                .collect();
            want.insert(format!("{group_id}-default"));
            let have: BTreeSet<String> = users.values["user_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(have, want);
            for c in &model.consumers {
                let u = plan.one(&format!(
                    "{data}.aws_elasticache_user.redis[\"{}\"]",
                    c.name
                ));
                assert_eq!(u.values["user_name"], c.name.as_str());
                assert_eq!(u.values["user_id"], format!("{group_id}-{}", c.name));
                assert_eq!(u.values["engine"], env.redis.engine.value.as_str());
                assert_eq!(
                    u.values["access_string"],
                    format!("on {}", c.acl_rules(&env.redis.blocked_commands.value))
                );
                assert_eq!(u.values["authentication_mode"][0]["type"], "password");
            }
            let default = plan.one(&format!("{data}.aws_elasticache_user.redis_default[0]"));
            assert_eq!(default.values["user_name"], "default");
            let access = default.values["access_string"].as_str().unwrap();
            if env.redis.shared_password.value {
                assert!(
                    access.starts_with("on ~* &* +@all -@admin -@dangerous"),
                    "{access}"
                );
            } else {
                assert!(
                    access.starts_with("off"),
                    "the default user is on: {access}"
                );
            }
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
            // The blueprint's engine, its ElastiCache version and that version's family.
            assert_eq!(group.values["engine"], env.redis.engine.value.as_str());
            assert_eq!(group.values["engine"], settings.engine.as_str());
            assert_eq!(
                group.values["engine_version"],
                settings.engine_version.as_str()
            );
            plan.one(&format!("{data}.aws_elasticache_subnet_group.redis[0]"));
            let params = plan.one(&format!("{data}.aws_elasticache_parameter_group.redis[0]"));
            assert_eq!(params.values["family"], settings.parameter_family.as_str());
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
pub(crate) fn plan_every_environment(t: &Terraform, blueprint: &str) {
    let (model, r, _) = wired_repo(&repo().join(blueprint));
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
pub(crate) fn assert_dashboard_shows_emitted_metrics(
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

/// A local state as if the targeted part of an environment's plan had been applied:
/// Terraform plans `target` (with its dependencies), every planned resource goes into
/// `terraform.tfstate` with its planned values, and what only AWS would know (ids, ARNs,
/// endpoints: unknown in the plan) stands in as fixed values of the schema's type, the
/// same on every round. The plan runs again on that state until it plans nothing, which
/// proves the state is what this configuration converges to (the replication group
/// cannot be created on moto, so it cannot be applied for real). Returns the rounds.
pub(crate) fn settle_state(t: &Terraform, tf: &Path, env: &str, target: &str) -> usize {
    let schema: Value = serde_json::from_str(&t.ok(tf, &["providers", "schema", "-json"]))
        .expect("terraform providers schema -json is JSON");
    let mut resources: BTreeMap<String, Value> = BTreeMap::new();
    let mut last: Vec<String> = Vec::new();
    for round in 1..=8 {
        let mut args = plan_args(env);
        args.push(format!("-target={target}"));
        t.ok(tf, &args.iter().map(String::as_str).collect::<Vec<_>>());
        let plan: Value =
            serde_json::from_str(&t.ok(tf, &["show", "-json", &format!("{env}.tfplan")])).unwrap();
        let changes: Vec<&Value> = plan["resource_changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["mode"] == "managed" && c["change"]["actions"] != json!(["no-op"]))
            .collect();
        if changes.is_empty() {
            return round;
        }
        last = changes
            .iter()
            .map(|c| {
                let (b, a) = (&c["change"]["before"], &c["change"]["after"]);
                let differ: Vec<&String> = a
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, v)| !b.is_null() && &b[k.as_str()] != *v)
                    .map(|(k, _)| k)
                    .collect();
                format!("{} {} {differ:?}", c["address"], c["change"]["actions"])
            })
            .collect();
        for c in changes {
            let kind = c["type"].as_str().unwrap();
            let provider = c["provider_name"].as_str().unwrap();
            let (attributes, version) = if provider == "terraform.io/builtin/terraform" {
                // terraform_data (the password's stand-in): its output is its input, and
                // both are dynamic values (stored with their type).
                let mut a = c["change"]["after"].clone();
                a["id"] = json!(format!("stand-in-{}", c["address"].as_str().unwrap()));
                let value = json!({"value": a["input"], "type": "string"});
                a["input"] = value.clone();
                a["output"] = value;
                (a, 0)
            } else {
                let rs = &schema["provider_schemas"][provider]["resource_schemas"][kind];
                assert!(rs.is_object(), "no schema for {kind}");
                let mut a = c["change"]["after"].clone();
                stand_in_unknowns(
                    &mut a,
                    &c["change"]["after_unknown"],
                    &rs["block"],
                    c["address"].as_str().unwrap(),
                );
                (a, rs["version"].as_u64().unwrap_or(0))
            };
            let key = format!(
                "{}|{}|{}",
                c["module_address"].as_str().unwrap_or(""),
                kind,
                c["name"].as_str().unwrap()
            );
            let entry = resources.entry(key).or_insert_with(|| {
                let mut r = json!({
                    "mode": "managed",
                    "type": kind,
                    "name": c["name"],
                    "provider": format!("provider[\"{provider}\"]"),
                    "instances": [],
                });
                if let Some(m) = c["module_address"].as_str() {
                    r["module"] = json!(m);
                }
                r
            });
            // What the configuration marks sensitive is sensitive in the state too (or the
            // plan updates the mark).
            // Nested ones too (a block's sensitive attribute, such as an ElastiCache
            // user's authentication_mode[0].passwords), as state paths.
            let mut sensitive: Vec<Value> = Vec::new();
            sensitive_paths(
                &c["change"]["after_sensitive"],
                &mut Vec::new(),
                &mut sensitive,
            );
            let mut instance = json!({
                "schema_version": version,
                "attributes": attributes,
                "sensitive_attributes": sensitive,
            });
            if !c["index"].is_null() {
                instance["index_key"] = c["index"].clone();
            }
            let instances = entry["instances"].as_array_mut().unwrap();
            instances.retain(|i| i["index_key"] != c["index"]);
            instances.push(instance);
        }
        let state = json!({
            "version": 4,
            "terraform_version": "1.3.0",
            "serial": round,
            "lineage": "infragen-plan-test-stand-in-state",
            "outputs": {},
            "resources": resources.values().collect::<Vec<_>>(),
        });
        std::fs::write(
            tf.join("terraform.tfstate"),
            serde_json::to_string_pretty(&state).unwrap(),
        )
        .unwrap();
    }
    panic!("the plan of {target} did not settle in 8 rounds on the stand-in state: {last:#?}");
}

/// The state's `sensitive_attributes` paths of a plan's `after_sensitive` marks.
fn sensitive_paths(marks: &Value, at: &mut Vec<Value>, out: &mut Vec<Value>) {
    match marks {
        Value::Bool(true) if !at.is_empty() => out.push(Value::Array(at.clone())),
        Value::Object(m) => {
            for (k, v) in m {
                at.push(json!({"type": "get_attr", "value": k}));
                sensitive_paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(json!({"type": "index", "value": {"value": i, "type": "number"}}));
                sensitive_paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// Fills what the plan does not know yet with fixed values of each attribute's type.
fn stand_in_unknowns(after: &mut Value, unknown: &Value, block: &Value, address: &str) {
    let Some(unknown) = unknown.as_object() else {
        return;
    };
    for (name, u) in unknown {
        if u == &Value::Bool(true) {
            let ty = &block["attributes"][name]["type"];
            let value = match (name.as_str(), ty) {
                // The running version AWS reports: the configured one's first patch.
                ("engine_version_actual", _) => {
                    json!(format!(
                        "{}.0",
                        after["engine_version"].as_str().unwrap_or("7.0")
                    ))
                }
                (_, Value::String(s)) if s == "string" => {
                    json!(format!("stand-in-{address}-{name}"))
                }
                (_, Value::String(s)) if s == "number" => json!(1),
                (_, Value::String(s)) if s == "bool" => json!(false),
                (_, Value::Array(a)) if a[0] == "list" || a[0] == "set" => json!([]),
                (_, Value::Array(a)) if a[0] == "map" => json!({}),
                _ if block["block_types"][name].is_object() => json!([]),
                _ => Value::Null,
            };
            after[name] = value;
        } else if u.is_object() || u.is_array() {
            // A nested block or list with some unknown parts.
            let nested = &block["block_types"][name]["block"];
            match (after.get_mut(name), u) {
                (Some(Value::Array(items)), Value::Array(us)) => {
                    for (item, iu) in items.iter_mut().zip(us) {
                        stand_in_unknowns(item, iu, nested, address);
                    }
                }
                (Some(item @ Value::Object(_)), Value::Object(_)) => {
                    stand_in_unknowns(item, u, nested, address)
                }
                _ => {}
            }
        }
    }
}
