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
//! `support/infra_repo.rs`, shared with the apply and host tests; what a plan must
//! contain (per mode, and the dashboard's metrics) is `support/plan_checks.rs`.

use crate::common::{GOOD_BLUEPRINTS, edit_with, model, repo};
use crate::support::infra_repo::{
    InfraRepo, Plan, gen_into, infra_repo, plan_args, stand_in_random, terraform, undo, wire,
    wired_repo, with_mode,
};
use crate::support::plan_checks::{assert_plan_matches_mode, plan_every_environment, settle_state};
use serde_json::{Value, json};
use std::collections::BTreeSet;

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
    let start = model(repo().join(GOOD_BLUEPRINTS[0]));
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
    let (_, r, _) = wired_repo(&repo().join(GOOD_BLUEPRINTS[0]));
    edit_with(&r.tf().join("environments/dev/env.tfvars"), |s| {
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
    let (model, r, _) = wired_repo(&repo().join("tests/fixtures/elasticache.yaml"));
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
        for constraint in [">= 5.27.0", ">= 5.73.0"] {
            assert!(!section.contains(constraint), "{module}:\n{tree}");
        }
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
    // What `infragen verify` looks for in AWS is what this plan creates: the parameter
    // group's name (computed in Rust as Terraform computes it), the replication group,
    // its users and their access strings, and the user group.
    let prod = model.envs.iter().find(|e| e.name == "prod").unwrap();
    let request = infragen::verify::request(&model, prod);
    let ec = &request["elasticache"];
    assert_eq!(ec["parameter_group"]["name"], pg_name, "{ec:#}");
    let rg = plan.one("module.data.aws_elasticache_replication_group.redis[0]");
    assert_eq!(
        ec["replication_group_id"],
        rg.values["replication_group_id"]
    );
    assert_eq!(ec["node_type"], rg.values["node_type"]);
    assert_eq!(ec["nodes"], rg.values["num_cache_clusters"]);
    assert_eq!(ec["port"], rg.values["port"]);
    assert_eq!(ec["multi_az"], rg.values["multi_az_enabled"]);
    assert_eq!(ec["engine_version"], rg.values["engine_version"]);
    assert_eq!(ec["snapshot_window"], rg.values["snapshot_window"]);
    assert_eq!(ec["maintenance_window"], rg.values["maintenance_window"]);
    assert_eq!(
        ec["snapshot_retention_days"],
        rg.values["snapshot_retention_limit"]
    );
    let ug = plan.one("module.data.aws_elasticache_user_group.redis[0]");
    assert_eq!(ec["user_group_id"], ug.values["user_group_id"]);
    let planned: BTreeSet<(String, String)> = plan
        .of_kind("aws_elasticache_user")
        .iter()
        .map(|u| {
            (
                u.values["user_id"].as_str().unwrap().to_string(),
                u.values["access_string"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let wanted: BTreeSet<(String, String)> = ec["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["user_id"].as_str().unwrap().to_string(),
                u["access_string"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(planned, wanted, "verify's users are not the planned ones");
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
    // Consumers authenticate as users of the group's user group (RBAC), not with an AUTH
    // token: the group sends no token, and the strategy that removes an old token is
    // explicit (5.x defaults to ROTATE, so the planned value alone cannot tell).
    let expr = plan.expression(
        "module.data",
        "aws_elasticache_replication_group.redis",
        "auth_token_update_strategy",
    );
    assert_eq!(expr["constant_value"], "DELETE", "{expr}");
    let rg = plan.one("module.data.aws_elasticache_replication_group.redis[0]");
    assert!(
        rg.values["auth_token"].is_null(),
        "the group sends an AUTH token: {}",
        rg.values["auth_token"]
    );
    let (groups, _) = plan.after(
        "module.data.aws_elasticache_replication_group.redis[0]",
        "user_group_ids",
    );
    assert_eq!(
        groups,
        &serde_json::json!(["voice-campaign-prod"]),
        "{groups}"
    );
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
        let (_, r, _) = wired_repo(&bp);
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
    let m = model(repo().join(GOOD_BLUEPRINTS[0]));
    let module = m.host.terraform_module.clone();
    type Constrain = Box<dyn Fn(&InfraRepo)>;
    let cases: [(&str, Constrain, &str); 2] = [
        (
            "the root's required_version",
            Box::new(|r: &InfraRepo| {
                edit_with(&r.tf().join("main.tf"), |s| {
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
    let start = model(repo().join(GOOD_BLUEPRINTS[0]));
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

/// An ElastiCache environment switching engines, planned on a state that holds its
/// replication group (`settle_state`: the planned values of the old engine, settled by
/// Terraform itself), as `terraform show -json` shows the change. The provider (5.100.0)
/// modifies the group in place from Redis OSS to Valkey (`resourceReplicationGroupUpdate`
/// sends Engine with the new EngineVersion), while the way back is a new group: every
/// Valkey version is above Redis OSS's newest, and a version downgrade forces a new group
/// (`customizeDiffEngineVersionForceNewOnDowngrade`). Either way the parameter group of
/// the new family is created before the old one is deleted.
#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn an_engine_switch_on_elasticache_is_planned_as_the_provider_does_it() {
    let t = terraform();
    let redis = std::fs::read_to_string(repo().join("tests/fixtures/elasticache.yaml")).unwrap();
    let valkey = redis.replace(
        "    redis:\n      mode: elasticache\n",
        "    redis:\n      mode: elasticache\n      engine: valkey\n      version: \"8.1\"\n",
    );
    assert_ne!(valkey, redis);
    let group = "module.data.aws_elasticache_replication_group.redis[0]";
    let params = "module.data.aws_elasticache_parameter_group.redis[0]";
    // (from, to, the group's actions, why it is replaced)
    let cases = [
        (
            &redis,
            &valkey,
            ("redis", "7.0", "redis7"),
            ("valkey", "8.1", "valkey8"),
            vec!["update"],
        ),
        (
            &valkey,
            &redis,
            ("valkey", "8.1", "valkey8"),
            ("redis", "7.0", "redis7"),
            vec!["delete", "create"],
        ),
    ];
    for (from, to, before, after, actions) in cases {
        let dir = tempfile::tempdir().unwrap();
        let bp = dir.path().join("blueprint.yaml");
        std::fs::write(&bp, from).unwrap();
        let (m, r, stand_in) = wired_repo(&bp);
        // The secret's AWSCURRENT value, which only AWS can read: the password stand-in
        // (what the secret's one version holds). Kept through both plans.
        std::fs::write(
            r.tf()
                .join("modules")
                .join(&m.host.terraform_module)
                .join("redis_outputs_override.tf"),
            "output \"redis_auth_token\" {\n  value = terraform_data.redis_password_stand_in.output\n}\n\noutput \"redis_user_passwords\" {\n  value = { for name, p in terraform_data.redis_user_password_stand_in : name => p.output }\n}\n",
        )
        .unwrap();
        t.init(&r.tf());
        let rounds = settle_state(&t, &r.tf(), "prod", group);
        assert!(rounds > 1, "nothing was put in the state");
        // The other engine, generated into the same tree (the stand-in undone first, as a
        // user's tree has none).
        undo(stand_in);
        std::fs::write(&bp, to).unwrap();
        gen_into(&r, &bp);
        let _stand_in = stand_in_random(&r, &model(&bp));
        let plan = t.plan(&r.tf(), "prod");
        let change = |address: &str| -> Value {
            plan.0["resource_changes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["address"] == address)
                .unwrap_or_else(|| panic!("no change for {address}"))["change"]
                .clone()
        };
        let g = change(group);
        let what = format!("{} -> {}", before.0, after.0);
        assert_eq!(
            g["actions"],
            json!(actions),
            "{what}: the replication group: {g:#}"
        );
        assert_eq!(g["before"]["engine"], before.0, "{what}");
        assert_eq!(g["after"]["engine"], after.0, "{what}");
        assert_eq!(g["before"]["engine_version"], before.1, "{what}");
        assert_eq!(g["after"]["engine_version"], after.1, "{what}");
        if actions == ["delete", "create"] {
            // Replaced for the version's downgrade, which the provider forces.
            let paths = g["replace_paths"].as_array().cloned().unwrap_or_default();
            assert!(
                paths.contains(&json!(["engine_version"])),
                "{what}: replaced for {paths:?}"
            );
        } else {
            assert!(g["replace_paths"].is_null(), "{what}: {g:#}");
        }
        // The parameter group of the new family: created first, the old one deleted after,
        // and the group moves to it.
        let p = change(params);
        assert_eq!(p["actions"], json!(["create", "delete"]), "{what}: {p:#}");
        assert_eq!(p["before"]["family"], before.2, "{what}");
        assert_eq!(p["after"]["family"], after.2, "{what}");
        assert_ne!(p["before"]["name"], p["after"]["name"], "{what}");
        assert_eq!(
            g["after"]["parameter_group_name"], p["after"]["name"],
            "{what}"
        );
    }
}

/// The statements of the `aws_iam_role_policy` at `module`/`name` in the stand-in state
/// that [`settle_state`] wrote, parsed.
fn settled_policy(tf: &std::path::Path, module: Option<&str>, name: &str) -> Vec<Value> {
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(tf.join("terraform.tfstate")).unwrap())
            .unwrap();
    let r = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["type"] == "aws_iam_role_policy"
                && r["name"] == name
                && r["module"].as_str() == module
        })
        .unwrap_or_else(|| panic!("no policy {name} in the settled state"));
    let policy: Value =
        serde_json::from_str(r["instances"][0]["attributes"]["policy"].as_str().unwrap()).unwrap();
    policy["Statement"].as_array().unwrap().clone()
}

/// Every Resource of the statements whose actions start with `service:`.
fn resources_of(statements: &[Value], service: &str) -> BTreeSet<String> {
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
            _ => vec![],
        }
    };
    statements
        .iter()
        .filter(|s| {
            strings(&s["Action"])
                .iter()
                .any(|a| a.starts_with(&format!("{service}:")))
        })
        .flat_map(|s| strings(&s["Resource"]))
        .collect()
}

/// Least privilege, read from the policies Terraform would send (each planned to a
/// settled stand-in state, where every ARN is known and names its resource): each
/// consumer role may read the password secrets of exactly the consumers behind it, the
/// shared one only while `redis.auth.shared_password` is on, and the TLS CA parameter
/// only where it exists (self-hosted with TLS); the host's role may write and read that
/// one parameter and no other.
#[test]
#[ignore = "needs the Terraform CLI and the AWS provider mirror: run by scripts/test.sh"]
fn each_consumer_role_reads_only_its_own_secrets() {
    let t = terraform();
    // (blueprint, environment): a shared role, the shared password and a plaintext port
    // on the host; ElastiCache with the shared password; the shipped one, without.
    for (bp, env) in [
        ("tests/fixtures/three-envs.yaml", "staging"),
        ("tests/fixtures/elasticache.yaml", "prod"),
        (GOOD_BLUEPRINTS[0], "dev"),
    ] {
        let (m, r, _) = wired_repo(&repo().join(bp));
        t.init(&r.tf());
        let e = m.envs.iter().find(|e| e.name == env).unwrap();
        let host = format!("module.{}", m.host.terraform_module);
        let ca = (e.mode.value == infragen::model::Mode::SelfHosted && e.redis.tls_enabled.value)
            .then(|| format!("stand-in-{host}.aws_ssm_parameter.redis_tls_ca[0]-arn"));
        let mut roles: Vec<(&str, Vec<&str>)> = Vec::new();
        for c in &m.consumers {
            match roles.iter_mut().find(|(role, _)| *role == c.iam_role) {
                Some((_, names)) => names.push(&c.name),
                None => roles.push((&c.iam_role, vec![&c.name])),
            }
        }
        assert!(!roles.is_empty(), "{bp}: no consumer");
        for (_, names) in &roles {
            let name = format!("redis_password_read_{}", names[0].replace('-', "_"));
            settle_state(&t, &r.tf(), env, &format!("aws_iam_role_policy.{name}"));
            let statements = settled_policy(&r.tf(), None, &name);
            let mut want: BTreeSet<String> = names
                .iter()
                .map(|n| {
                    format!("stand-in-{host}.aws_secretsmanager_secret.redis_user[\"{n}\"]-arn")
                })
                .collect();
            if e.redis.shared_password.value {
                want.insert(format!(
                    "stand-in-{host}.aws_secretsmanager_secret.redis_password-arn"
                ));
            }
            assert_eq!(
                resources_of(&statements, "secretsmanager"),
                want,
                "{bp} {env}: the secrets {names:?} may read"
            );
            assert_eq!(
                resources_of(&statements, "ssm"),
                ca.iter().cloned().collect::<BTreeSet<_>>(),
                "{bp} {env}: the parameters {names:?} may read"
            );
        }
        if let Some(ca) = &ca {
            settle_state(
                &t,
                &r.tf(),
                env,
                &format!("{host}.aws_iam_role_policy.redis_tls_ca_publish[0]"),
            );
            let statements = settled_policy(&r.tf(), Some(&host), "redis_tls_ca_publish");
            assert_eq!(
                resources_of(&statements, "ssm"),
                BTreeSet::from([ca.clone()]),
                "{bp} {env}: the parameters the host may write"
            );
            assert_eq!(resources_of(&statements, "secretsmanager"), BTreeSet::new());
        }
    }
}
