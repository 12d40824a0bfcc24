//! The generated Terraform, applied: against a local AWS (moto_server, pinned in
//! `scripts/host/requirements-host.txt`) on a loopback port, started and stopped by PID
//! (`scripts/host/moto.sh`), with the provider's endpoints pointed at it by an override
//! file of the test. For the shipped blueprint, every self-hosted
//! environment of the example repo with the generated files wired in is applied, planned
//! again (the second plan must be empty), its outputs used as a consumer uses them (the
//! password read back from the secret the apply created), and destroyed as the runbook
//! says: Terraform refuses while the backup bucket is in the state, the bucket is retired
//! from the state, and it survives with its backups and every protection.
//!
//! What moto 5.2.5 lacks, in one place (the plan tests in `plan.rs` cover it instead):
//! - ElastiCache parameter groups (`CreateCacheParameterGroup` answers 500) and the
//!   deletion of subnet groups (`DeleteCacheSubnetGroup`: 500, and the provider retries
//!   for ever): no ElastiCache side is applied here (the plan tests cover it);
//! - `MonitorInstances` (EC2 detailed monitoring answers 500 and the provider retries for
//!   ever): the example's instance is applied with `monitoring = false`;
//! - the description of a security-group rule that references a group (it stores none):
//!   the only change a second plan may show is putting that description back;
//! - conditions of a bucket policy's Deny (it denies whatever the condition): the test's
//!   backups are put with the backup bucket's policy lifted and put back as it was (the
//!   plans after it show the policy unchanged).
//!
//! The example repo's own PostgreSQL is deletion-protected; the test turns that off so
//! `destroy` can finish. Nothing generated is overridden, except the `random` provider
//! (not in the machine's mirror) by the plan tests' stand-in.

use crate::common::{GOOD_BLUEPRINTS, repo, text};
use crate::infra_repo::{
    InfraRepo, STAND_IN_PASSWORD, Terraform, gen_into, infra_repo, label, model, stand_in_random,
    terraform, wire,
};
use infragen::model::{Env, Mode, Model};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;

/// The services the example repo and the generated code call.
const SERVICES: &[&str] = &[
    "cloudwatch",
    "ec2",
    "elasticache",
    "iam",
    "kms",
    "lambda",
    "rds",
    "s3",
    "secretsmanager",
    "sns",
    "sts",
];

/// The Lambda functions' deployment packages (the example's `lambda` module).
const LAMBDA_KEYS: &[&str] = &["campaign-dialer.zip", "call-results.zip"];

fn script(name: &str) -> PathBuf {
    repo().join("scripts/host").join(name)
}

/// Where each test's moto keeps its PID file: a killed test process never ran its Drop,
/// so the next run stops what it left, by those PIDs.
fn runs_dir() -> PathBuf {
    repo().join("target/apply-runs")
}

static CLEANUP: Once = Once::new();

/// A local AWS on a loopback port; stopped by PID when dropped.
struct Moto {
    work: tempfile::TempDir,
    aws: Aws,
}

/// Calls of a local AWS endpoint through `scripts/host/helper.py` (boto3, host venv).
struct Aws {
    endpoint: String,
    python: PathBuf,
}

impl Aws {
    fn at(endpoint: &str) -> Aws {
        let venv = Command::new(script("venv.sh")).output().unwrap();
        assert!(venv.status.success(), "venv.sh: {}", text(&venv));
        let python = PathBuf::from(String::from_utf8_lossy(&venv.stdout).trim()).join("bin/python");
        Aws {
            endpoint: endpoint.to_string(),
            python,
        }
    }

    /// `helper.py CMD ENDPOINT ARGS...`; its stdout.
    fn aws(&self, cmd: &str, args: &[&str]) -> String {
        let out = Command::new(&self.python)
            .arg(script("helper.py"))
            .arg(cmd)
            .arg(&self.endpoint)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helper.py {cmd} {args:?}: {}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn bucket(&self, region: &str, bucket: &str) -> Value {
        serde_json::from_str(&self.aws("bucket-state", &[region, bucket])).unwrap()
    }
}

impl std::ops::Deref for Moto {
    type Target = Aws;
    fn deref(&self) -> &Aws {
        &self.aws
    }
}

impl Moto {
    fn start() -> Moto {
        CLEANUP.call_once(|| {
            if let Ok(entries) = std::fs::read_dir(runs_dir()) {
                for e in entries.flatten() {
                    let _ = Command::new(script("moto.sh"))
                        .arg("stop")
                        .arg(e.path())
                        .status();
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        });
        std::fs::create_dir_all(runs_dir()).unwrap();
        let work = tempfile::Builder::new()
            .prefix("moto-")
            .tempdir_in(runs_dir())
            .unwrap();
        let out = Command::new(script("moto.sh"))
            .arg("start")
            .arg(work.path())
            // The example attaches AWS-managed policies (AmazonSSMManagedInstanceCore).
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "moto.sh start: {}", text(&out));
        let endpoint = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Moto {
            work,
            aws: Aws::at(&endpoint),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let out = Command::new(script("moto.sh"))
            .arg("stop")
            .arg(self.work.path())
            .stdin(Stdio::null())
            .output();
        if let Ok(o) = out
            && !o.status.success()
        {
            eprintln!("moto.sh stop: {}", text(&o));
        }
    }
}

/// Points the provider at moto and fills what moto lacks (see the module's comment):
/// override files of the test, beside the repo's own and the generated files.
fn point_at(r: &InfraRepo, m: &Model, moto: &Aws) {
    let endpoints: String = SERVICES
        .iter()
        .map(|s| format!("    {s:<14} = \"{}\"\n", moto.endpoint))
        .collect();
    std::fs::write(
        r.tf().join("test_provider_override.tf"),
        format!(
            "provider \"aws\" {{\n  access_key                  = \"testing\"\n  secret_key                  = \"testing\"\n  skip_credentials_validation = true\n  skip_metadata_api_check     = true\n  skip_region_validation      = true\n  s3_use_path_style           = true\n\n  endpoints {{\n{endpoints}  }}\n}}\n"
        ),
    )
    .unwrap();
    let modules = r.tf().join("modules");
    std::fs::write(
        modules
            .join(&m.host.terraform_module)
            .join("test_moto_override.tf"),
        format!(
            "resource \"aws_instance\" \"{}\" {{\n  monitoring = false\n}}\n",
            label(&m.host.instance)
        ),
    )
    .unwrap();
    std::fs::write(
        modules.join("data/test_moto_override.tf"),
        "resource \"aws_db_instance\" \"postgres\" {\n  deletion_protection = false\n  skip_final_snapshot = true\n}\n",
    )
    .unwrap();
}

/// What the example repo needs in the account before an apply: the Lambda functions'
/// code bucket (and a blueprint's own backup bucket, when it names one).
fn seed_account(r: &InfraRepo, m: &Model, moto: &Aws) {
    let tfvars = std::fs::read_to_string(r.tf().join("environments/dev/env.tfvars")).unwrap();
    let code_bucket = tfvars
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "lambda_code_bucket").then(|| v.trim().trim_matches('"').to_string())
        })
        .expect("lambda_code_bucket in env.tfvars");
    let mut args = vec!["us-east-1", code_bucket.as_str()];
    args.extend(LAMBDA_KEYS);
    moto.aws("lambda-code", &args);
    let mut named = BTreeSet::new();
    for env in &m.envs {
        if let Some(b) = env.backup.as_ref().and_then(|b| b.bucket.as_ref())
            && named.insert(b.value.clone())
        {
            moto.aws("make-bucket", &[&env.region.value, &b.value]);
        }
    }
}

/// The variable files of `env` and an AMI moto knows (it refuses others).
fn env_args(env: &Env, moto: &Aws) -> Vec<String> {
    let ami = moto.aws("an-image", &[&env.region.value]);
    vec![
        format!("-var-file=environments/{}/env.tfvars", env.name),
        format!("-var-file=environments/{}/redis.tfvars", env.name),
        format!("-var=asterisk_ami_id={ami}"),
    ]
}

fn ok_in(t: &Terraform, tf: &Path, env: &str, args: &[String]) -> String {
    let out = run_in(t, tf, env, args);
    assert!(
        out.status.success(),
        "terraform {} ({env}) failed:\n{}",
        args.join(" "),
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_in(t: &Terraform, tf: &Path, env: &str, args: &[String]) -> Output {
    t.run_in(
        tf,
        Some(env),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

fn with(head: &[&str], tail: &[String]) -> Vec<String> {
    head.iter()
        .map(|s| s.to_string())
        .chain(tail.iter().cloned())
        .collect()
}

fn apply(t: &Terraform, tf: &Path, env: &str, args: &[String]) {
    ok_in(
        t,
        tf,
        env,
        &with(
            &["apply", "-auto-approve", "-no-color", "-lock-timeout=120s"],
            args,
        ),
    );
}

/// A change moto makes a second plan show although nothing changed: it stores no
/// description on a rule that references a security group, so the plan puts it back.
fn moto_lost_description(rc: &Value) -> bool {
    let (before, after) = (&rc["change"]["before"], &rc["change"]["after"]);
    rc["type"] == "aws_vpc_security_group_ingress_rule"
        && rc["change"]["actions"] == serde_json::json!(["update"])
        && before["description"].is_null()
        && after["referenced_security_group_id"].is_string()
        && before.as_object().is_some_and(|b| {
            b.iter()
                .all(|(k, v)| k == "description" || &after[k] == v || after[k].is_null())
        })
}

/// Plans `env` again after an apply: the plan must change nothing (but for what moto
/// loses, [`moto_lost_description`]).
fn assert_replan_is_empty(t: &Terraform, tf: &Path, env: &str, args: &[String]) {
    let file = format!("{env}-replan.tfplan");
    let out = run_in(
        t,
        tf,
        env,
        &with(
            &[
                "plan",
                "-detailed-exitcode",
                "-no-color",
                "-lock-timeout=120s",
                &format!("-out={file}"),
            ],
            args,
        ),
    );
    match out.status.code() {
        Some(0) => {}
        Some(2) => {
            let plan: Value = serde_json::from_str(&ok_in(
                t,
                tf,
                env,
                &["show".into(), "-json".into(), file.clone()],
            ))
            .unwrap();
            let changed: Vec<String> = plan["resource_changes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|rc| {
                    let actions = &rc["change"]["actions"];
                    actions != &serde_json::json!(["no-op"])
                        && actions != &serde_json::json!(["read"])
                })
                .filter(|rc| !moto_lost_description(rc))
                .map(|rc| {
                    format!(
                        "{} {}",
                        rc["change"]["actions"],
                        rc["address"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            assert!(
                changed.is_empty(),
                "{env}: the plan after the apply is not empty:\n{}\n{}",
                changed.join("\n"),
                text(&out)
            );
        }
        _ => panic!(
            "{env}: terraform plan after the apply failed:\n{}",
            text(&out)
        ),
    }
}

/// The state of `env` as `terraform show -json`.
fn state(t: &Terraform, tf: &Path, env: &str) -> Value {
    serde_json::from_str(&ok_in(t, tf, env, &["show".into(), "-json".into()])).unwrap()
}

/// The generated backup bucket's name in a state, if the environment has one.
fn backup_bucket(state: &Value) -> Option<String> {
    fn walk(module: &Value) -> Option<String> {
        for r in module["resources"].as_array().into_iter().flatten() {
            if r["type"] == "aws_s3_bucket" && r["name"] == "redis_backup" {
                return r["values"]["bucket"].as_str().map(str::to_string);
            }
        }
        module["child_modules"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(walk)
    }
    walk(&state["values"]["root_module"])
}

fn outputs(t: &Terraform, tf: &Path, env: &str) -> Value {
    serde_json::from_str(&ok_in(
        t,
        tf,
        env,
        &["output".into(), "-json".into(), "-no-color".into()],
    ))
    .unwrap()
}

/// What a consumer does with the apply's outputs: reads the password from the secret
/// they name, and finds Redis where they say.
fn assert_outputs_serve_a_consumer(t: &Terraform, tf: &Path, env: &Env, moto: &Aws) {
    let o = outputs(t, tf, &env.name);
    let arn = o["redis_password_secret_arn"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no redis_password_secret_arn output: {o}", env.name));
    assert_eq!(
        moto.aws("get-secret", &[&env.region.value, arn]),
        STAND_IN_PASSWORD,
        "{}: the secret the outputs name does not hold the password",
        env.name
    );
    assert_eq!(
        o["redis_port"]["value"],
        serde_json::json!(env.redis.port.value),
        "{}",
        env.name
    );
    let lambda_env = &o["redis_lambda_environment"]["value"];
    assert_eq!(lambda_env["REDIS_PASSWORD_SECRET_ARN"], arn, "{}", env.name);
    if env.mode.value == Mode::SelfHosted {
        assert_eq!(
            o["redis_endpoint"]["value"], o["asterisk_private_ip"]["value"],
            "{}: self-hosted Redis is on the Asterisk host",
            env.name
        );
        assert_eq!(lambda_env["REDIS_HOST"], o["asterisk_private_ip"]["value"]);
    }
}

/// Two backups, as the host's job leaves them.
fn put_backups(moto: &Aws, region: &str, bucket: &str, env: &str) {
    for n in 1..=2 {
        moto.aws(
            "put-object",
            &[
                region,
                bucket,
                &format!("apply-test/{env}/dump-{n}.rdb"),
                "--text",
                &format!("REDIS0011 backup {n}"),
                "--lift-policy",
            ],
        );
    }
}

/// Every protection of a generated backup bucket, and its backups, are there.
fn assert_bucket_kept(b: &Value, backups: &BTreeSet<String>, what: &str) {
    assert_eq!(b["exists"], true, "{what}: the backup bucket is gone");
    assert_eq!(b["versioning"], "Enabled", "{what}: {b}");
    assert_eq!(b["lifecycle_rules"], 1, "{what}: {b}");
    assert_eq!(b["encryption"], true, "{what}: {b}");
    assert_eq!(b["policy"], true, "{what}: {b}");
    assert_eq!(b["ownership"], true, "{what}: {b}");
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(b["public_access_block"][k], true, "{what}: {b}");
    }
    let objects: BTreeSet<String> = b["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect();
    assert!(
        backups.is_subset(&objects),
        "{what}: backups lost: {backups:?} vs {objects:?}"
    );
}

fn backup_keys(env: &str) -> BTreeSet<String> {
    (1..=2)
        .map(|n| format!("apply-test/{env}/dump-{n}.rdb"))
        .collect()
}

/// The runbook's way to retire the backup bucket and tear an environment down:
/// `destroy` is refused while the bucket is in the state (nothing is changed), the
/// bucket's resources are removed from the state, and `destroy` finishes; the bucket
/// stays with its backups and protections.
fn destroy(t: &Terraform, tf: &Path, env: &Env, moto: &Aws, args: &[String]) {
    let name = &env.name;
    let bucket = backup_bucket(&state(t, tf, name));
    if let Some(bucket) = &bucket {
        let refused = run_in(
            t,
            tf,
            name,
            &with(&["destroy", "-auto-approve", "-no-color"], args),
        );
        let said = text(&refused);
        assert!(
            !refused.status.success() && said.contains("prevent_destroy"),
            "{name}: destroy should be refused while the backup bucket is in the state:\n{said}"
        );
        assert_bucket_kept(
            &moto.bucket(&env.region.value, bucket),
            &backup_keys(name),
            &format!("{name}: after the refused destroy"),
        );
        let list = ok_in(t, tf, name, &["state".into(), "list".into()]);
        // The runbook: `terraform state rm` every `aws_s3_bucket*.redis_backup`.
        let bucket_resources: Vec<String> =
            list.lines()
                .filter(|a| {
                    a.split('.').collect::<Vec<_>>().windows(2).any(|w| {
                        w[0].starts_with("aws_s3_bucket") && w[1].starts_with("redis_backup")
                    })
                })
                .map(str::to_string)
                .collect();
        assert!(bucket_resources.len() >= 7, "{name}: {bucket_resources:?}");
        ok_in(t, tf, name, &with(&["state", "rm"], &bucket_resources));
    }
    apply(t, tf, name, &with(&["-destroy"], args));
    let left = ok_in(t, tf, name, &["state".into(), "list".into()]);
    assert!(left.trim().is_empty(), "{name}: left in the state:\n{left}");
    if let Some(bucket) = &bucket {
        assert_bucket_kept(
            &moto.bucket(&env.region.value, bucket),
            &backup_keys(name),
            &format!("{name}: after the destroy"),
        );
    }
}

/// Applies, re-plans, serves a consumer and destroys every self-hosted environment of
/// `blueprint`, the environments in parallel. Each has its own copy of the repo and its
/// own moto: moto gives every RDS instance the same `DbiResourceId`, and the provider
/// finds an instance by it, so a second PostgreSQL in one moto is "not found".
fn apply_every_self_hosted_environment(t: &Terraform, blueprint: &str) {
    let path = repo().join(blueprint);
    let m = model(&path);
    let envs: Vec<&Env> = m
        .envs
        .iter()
        .filter(|e| e.mode.value == Mode::SelfHosted)
        .collect();
    assert!(!envs.is_empty(), "{blueprint}: no self-hosted environment");
    std::thread::scope(|s| {
        for env in &envs {
            let (m, t, path) = (&m, &t, &path);
            s.spawn(move || {
                let r = infra_repo(m);
                gen_into(&r, path);
                wire(&r, m);
                stand_in_random(&r, m);
                let moto = Moto::start();
                point_at(&r, m, &moto);
                seed_account(&r, m, &moto);
                let tf = r.tf();
                t.init(&tf);
                t.ok(&tf, &["workspace", "new", "-no-color", &env.name]);
                let args = env_args(env, &moto);
                apply(t, &tf, &env.name, &args);
                assert_replan_is_empty(t, &tf, &env.name, &args);
                assert_outputs_serve_a_consumer(t, &tf, env, &moto);
                if let Some(bucket) = backup_bucket(&state(t, &tf, &env.name)) {
                    put_backups(&moto, &env.region.value, &bucket, &env.name);
                }
                destroy(t, &tf, env, &moto, &args);
            });
        }
    });
}

#[test]
#[ignore = "applies against a local AWS (moto): run by scripts/test.sh"]
fn the_shipped_blueprint_applies_replans_clean_and_destroys() {
    apply_every_self_hosted_environment(&terraform(), GOOD_BLUEPRINTS[0]);
}
