//! The generated Terraform, applied: against a local AWS (moto_server, pinned in
//! `scripts/host/requirements-host.txt`) on a loopback port, started and stopped by PID
//! (`scripts/host/moto.sh`), with the provider's endpoints pointed at it by an override
//! file of the test. For the shipped blueprint and every fixture, every self-hosted
//! environment of the example repo with the generated files wired in is applied, planned
//! again (the second plan must be empty), its outputs used as a consumer uses them (the
//! password read back from the secret the apply created), and destroyed as the runbook
//! says: Terraform refuses while the backup bucket is in the state, the bucket is retired
//! from the state, and it survives with its backups and every protection.
//!
//! The rollback flip (dev to ElastiCache and back, backups in the bucket) applies every
//! change moto can make: targets are all planned changes but the `aws_elasticache_*`
//! resources and everything that depends on them (`terraform graph`).
//!
//! What moto 5.2.5 lacks, in one place (the plan tests in `plan.rs` cover it instead):
//! - ElastiCache parameter groups (`CreateCacheParameterGroup` answers 500) and the
//!   deletion of subnet groups (`DeleteCacheSubnetGroup`: 500, and the provider retries
//!   for ever): no ElastiCache resource is applied here, and so neither is what depends
//!   on the replication group: the per-node alarms, the dashboard's update and the
//!   Lambda functions' new Redis endpoint on the flip (the test prints the list it
//!   leaves out; `plan.rs`'s round trip plans them);
//!   (`scripts/host/moto_plus.py` adds the ElastiCache reads `infragen verify` needs,
//!   parameter groups and user groups among them, for `verify::elasticache_drift_on_moto`;
//!   the applies here run plain moto);
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

use crate::common::{GOOD_BLUEPRINTS, model, repo, text};
use crate::support::infra_repo::{
    InfraRepo, STAND_IN_PASSWORD, Terraform, gen_into, label, stand_in_random, terraform, undo,
    wired_repo, with_mode,
};
use crate::support::moto::{Aws, Moto};
use infragen::model::{Env, Mode, Model};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

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
    "ssm",
    "sts",
];

/// The Lambda functions' deployment packages (the example's `lambda` module).
const LAMBDA_KEYS: &[&str] = &["campaign-dialer.zip", "call-results.zip"];

/// Points the provider at moto and fills what moto lacks (see the module's comment):
/// override files of the test, beside the repo's own and the generated files.
fn point_at(r: &InfraRepo, m: &Model, moto: &Aws) {
    let endpoints: String = SERVICES
        .iter()
        .map(|s| format!("    {s:<14} = \"{}\"\n", moto.endpoint()))
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
/// code bucket (and a blueprint's own backup bucket and alarm topic, when it names them:
/// they exist before infragen's code runs).
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
        if let Some(arn) = &env.monitoring.sns_topic_arn
            && named.insert(arn.value.clone())
        {
            // arn:aws:sns:REGION:ACCOUNT:NAME (moto's account is the fixtures' 123456789012)
            let parts: Vec<&str> = arn.value.split(':').collect();
            moto.aws("make-topic", &[parts[3], parts[5]]);
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
    // Each consumer's own connection names its own secret, which holds its own password.
    let consumers = o["redis_consumer_environments"]["value"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, ce) in &consumers {
        let own = ce["REDIS_PASSWORD_SECRET_ARN"].as_str().unwrap();
        assert_ne!(own, arn, "{}: {name} names the shared secret", env.name);
        assert_eq!(
            moto.aws("get-secret", &[&env.region.value, own]),
            format!("{STAND_IN_PASSWORD}-{name}"),
            "{}: {name}'s secret",
            env.name
        );
        assert_eq!(ce["REDIS_USER"], name.as_str());
        assert_eq!(ce["REDIS_PORT"], env.redis.port.value.to_string());
        assert_eq!(ce["REDIS_TLS"], "true", "{}: {name}", env.name);
    }
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

/// One environment of a blueprint, deployed on its own: its own copy of the example repo
/// (generated, wired, pointed at its own moto, initialised, in the environment's
/// workspace). Own moto: moto gives every RDS instance the same `DbiResourceId` and the
/// provider finds an instance by it, so a second PostgreSQL in one moto is "not found".
pub(crate) struct Deployment<'t> {
    t: &'t Terraform,
    r: InfraRepo,
    /// The local AWS it is applied to; `_moto` is the one it started, if it did.
    moto: Aws,
    _moto: Option<Moto>,
    pub(crate) env: Env,
    args: Vec<String>,
    /// The generated files [`stand_in_random`] changed, as generated.
    stand_in: Vec<(PathBuf, String)>,
}

impl<'t> Deployment<'t> {
    pub(crate) fn new(t: &'t Terraform, blueprint: &Path, env: &str) -> Deployment<'t> {
        let moto = Moto::start();
        let mut d = Deployment::at(t, blueprint, env, &moto);
        d._moto = Some(moto);
        d
    }

    /// The same, applied to a local AWS that is already running (a booted host's).
    pub(crate) fn at(t: &'t Terraform, blueprint: &Path, env: &str, aws: &Aws) -> Deployment<'t> {
        let (m, r, stand_in) = wired_repo(blueprint);
        let env = m.envs.iter().find(|e| e.name == env).unwrap().clone();
        point_at(&r, &m, aws);
        seed_account(&r, &m, aws);
        let tf = r.tf();
        t.init(&tf);
        t.ok(&tf, &["workspace", "new", "-no-color", &env.name]);
        let args = env_args(&env, aws);
        Deployment {
            t,
            r,
            moto: aws.clone(),
            _moto: None,
            env,
            args,
            stand_in,
        }
    }

    pub(crate) fn tf(&self) -> PathBuf {
        self.r.tf()
    }

    fn name(&self) -> &str {
        &self.env.name
    }

    /// `infragen gen` of another version of the blueprint into the repo, as a user runs
    /// it after editing the blueprint (the stand-in is taken out first, so `gen` sees its
    /// own files, and put back after).
    fn regenerate(&mut self, blueprint_text: &str) -> Model {
        let bp = self.r.root().join("blueprint.yaml");
        std::fs::write(&bp, blueprint_text).unwrap();
        let m = model(&bp);
        undo(std::mem::take(&mut self.stand_in));
        gen_into(&self.r, &bp);
        self.stand_in = stand_in_random(&self.r, &m);
        self.env = m
            .envs
            .iter()
            .find(|e| e.name == self.env.name)
            .unwrap()
            .clone();
        m
    }

    fn apply(&self, extra: &[String]) {
        apply(
            self.t,
            &self.tf(),
            self.name(),
            &with_args(extra, &self.args),
        );
    }

    /// The environment's state (`terraform show -json`).
    pub(crate) fn state_json(&self) -> Value {
        state(self.t, &self.tf(), self.name())
    }

    /// Plans the environment into `file` and returns `terraform show -json` of it.
    fn plan(&self, file: &str) -> Value {
        let tf = self.tf();
        ok_in(
            self.t,
            &tf,
            self.name(),
            &with(
                &[
                    "plan",
                    "-no-color",
                    "-lock-timeout=120s",
                    &format!("-out={file}"),
                ],
                &self.args,
            ),
        );
        serde_json::from_str(&ok_in(
            self.t,
            &tf,
            self.name(),
            &["show".into(), "-json".into(), file.into()],
        ))
        .unwrap()
    }

    /// Apply, empty re-plan, outputs that serve a consumer, backups in the bucket.
    pub(crate) fn apply_and_use(&self) -> Option<String> {
        self.apply(&[]);
        assert_replan_is_empty(self.t, &self.tf(), self.name(), &self.args);
        assert_outputs_serve_a_consumer(self.t, &self.tf(), &self.env, &self.moto);
        let bucket = backup_bucket(&self.state_json());
        if let Some(bucket) = &bucket {
            put_backups(&self.moto, &self.env.region.value, bucket, self.name());
        }
        bucket
    }

    /// The apply's outputs (`terraform output -json`).
    pub(crate) fn outputs(&self) -> Value {
        outputs(self.t, &self.tf(), self.name())
    }

    /// The generated tree's Ansible side, as the apply's repo has it.
    pub(crate) fn ansible_dir(&self) -> PathBuf {
        self.r.root().join("ansible")
    }

    pub(crate) fn destroy(&self) {
        destroy(self.t, &self.tf(), &self.env, &self.moto, &self.args);
    }
}

fn with_args(head: &[String], tail: &[String]) -> Vec<String> {
    head.iter().chain(tail).cloned().collect()
}

/// At most `n` of the closures run at once (each deployment runs a moto and Terraform's
/// provider processes: on two cores, more at once only queue, and slow the booted-host
/// tests running beside them).
struct Slots {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Slots {
    const fn new(n: usize) -> Slots {
        Slots {
            free: std::sync::Mutex::new(n),
            freed: std::sync::Condvar::new(),
        }
    }

    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            while *free == 0 {
                free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
            }
            *free -= 1;
        }
        struct Release<'a>(&'a Slots);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                self.0.freed.notify_one();
            }
        }
        let _release = Release(self);
        f()
    }
}

/// Deployments at once, over all the apply tests.
static DEPLOYMENTS: Slots = Slots::new(3);

/// Applies, re-plans, serves a consumer and destroys every self-hosted environment of
/// each blueprint, three deployments at a time (over all the apply tests).
fn apply_every_self_hosted_environment(t: &Terraform, blueprints: &[&str]) {
    let mut todo = Vec::new();
    for blueprint in blueprints {
        let path = repo().join(blueprint);
        let m = model(&path);
        let before = todo.len();
        for env in m.envs.iter().filter(|e| e.mode.value == Mode::SelfHosted) {
            todo.push((path.clone(), env.name.clone()));
        }
        assert!(
            todo.len() > before,
            "{blueprint}: no self-hosted environment"
        );
    }
    std::thread::scope(|s| {
        for (path, env) in &todo {
            s.spawn(move || {
                DEPLOYMENTS.run(|| {
                    let d = Deployment::new(t, path, env);
                    d.apply_and_use();
                    d.destroy();
                })
            });
        }
    });
}

#[test]
#[ignore = "applies against a local AWS (moto): run by scripts/test.sh"]
fn the_shipped_blueprint_applies_replans_clean_and_destroys() {
    apply_every_self_hosted_environment(&terraform(), &GOOD_BLUEPRINTS[..1]);
}

#[test]
#[ignore = "applies against a local AWS (moto): run by scripts/test.sh"]
fn every_fixture_applies_replans_clean_and_destroys() {
    apply_every_self_hosted_environment(&terraform(), &GOOD_BLUEPRINTS[1..]);
}

/// Whether a planned change touches what holds data: the backup bucket and its settings,
/// the password secret and its value.
fn holds_data(rc: &Value) -> bool {
    let (kind, name) = (
        rc["type"].as_str().unwrap_or_default(),
        rc["name"].as_str().unwrap_or_default(),
    );
    (kind.starts_with("aws_s3_bucket") && name == "redis_backup")
        || kind.starts_with("aws_secretsmanager_secret")
}

/// A resource address without instance keys (`module.m.aws_x.y["k"]` -> `module.m.aws_x.y`),
/// as `terraform graph` names resources.
fn config_address(address: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in address.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// What moto cannot apply (see the module's comment: every `aws_elasticache_*`) and every
/// resource that depends on it, by `terraform graph` (its default summary: resources
/// only, the edges through locals, outputs and module calls already followed).
fn beyond_moto(t: &Terraform, tf: &Path, env: &str) -> BTreeSet<String> {
    let dot = ok_in(t, tf, env, &["graph".into()]);
    let quoted = |s: &str| -> Vec<String> {
        s.split('"')
            .skip(1)
            .step_by(2)
            .map(|n| n.trim_start_matches("[root] ").to_string())
            .collect()
    };
    let mut depends_on: Vec<(String, String)> = Vec::new();
    let mut nodes = BTreeSet::new();
    for line in dot.lines() {
        let names = quoted(line);
        if line.contains("->") && names.len() == 2 {
            depends_on.push((names[0].clone(), names[1].clone()));
        }
        nodes.extend(names);
    }
    let is_elasticache = |n: &str| n.split('.').any(|p| p.starts_with("aws_elasticache_"));
    let mut out: BTreeSet<String> = nodes.into_iter().filter(|n| is_elasticache(n)).collect();
    assert!(
        !out.is_empty(),
        "{env}: no ElastiCache resource in the graph:\n{dot}"
    );
    loop {
        let more: Vec<String> = depends_on
            .iter()
            .filter(|(from, to)| out.contains(to) && !out.contains(from))
            .map(|(from, _)| from.clone())
            .collect();
        if more.is_empty() {
            return out;
        }
        out.extend(more);
    }
}

/// A flip of dev to ElastiCache and back, applied with backups in the bucket: every
/// change moto can apply is applied (targets: all but [`beyond_moto`]), the plans touch
/// nothing that holds data, and the bucket keeps its backups and every protection at each
/// step; back in self-hosted mode the whole plan is empty again.
#[test]
#[ignore = "applies against a local AWS (moto): run by scripts/test.sh"]
fn a_flip_to_elasticache_and_back_keeps_the_backups() {
    DEPLOYMENTS.run(flip_to_elasticache_and_back);
}

fn flip_to_elasticache_and_back() {
    let t = terraform();
    let path = repo().join(GOOD_BLUEPRINTS[0]);
    let shipped = std::fs::read_to_string(&path).unwrap();
    let mut d = Deployment::new(&t, &path, "dev");
    let bucket = d
        .apply_and_use()
        .expect("the shipped dev has a backup bucket");
    let region = d.env.region.value.clone();
    let secret = outputs(&t, &d.tf(), "dev")["redis_password_secret_arn"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    for mode in ["elasticache", "self_hosted"] {
        let m = d.regenerate(&with_mode(&shipped, "dev", mode));
        assert_eq!(m.envs[0].mode.value.as_str(), mode);
        let plan = d.plan(&format!("flip-{mode}.tfplan"));
        let skipped = beyond_moto(&t, &d.tf(), "dev");
        let mut targets = Vec::new();
        let mut left = Vec::new();
        for rc in plan["resource_changes"].as_array().into_iter().flatten() {
            let actions = &rc["change"]["actions"];
            let address = rc["address"].as_str().unwrap();
            if holds_data(rc) {
                assert_eq!(
                    actions,
                    &serde_json::json!(["no-op"]),
                    "to {mode}: the flip changes {address}, which holds data"
                );
            }
            if actions == &serde_json::json!(["no-op"]) || actions == &serde_json::json!(["read"]) {
                continue;
            }
            if skipped.contains(&config_address(address)) {
                left.push(format!("{actions} {address}"));
            } else {
                targets.push(format!("-target={address}"));
            }
        }
        assert!(!targets.is_empty(), "to {mode}: nothing to apply");
        eprintln!(
            "flip to {mode}: applying {} changes; left to the plan tests (moto lacks them):\n  {}",
            targets.len(),
            left.join("\n  ")
        );
        d.apply(&targets);
        assert_bucket_kept(
            &d.moto.bucket(&region, &bucket),
            &backup_keys("dev"),
            &format!("after the flip to {mode}"),
        );
        assert_eq!(
            d.moto.aws("get-secret", &[&region, &secret]),
            STAND_IN_PASSWORD,
            "after the flip to {mode}: the secret lost its value"
        );
    }
    // Back where it started, with everything moto skipped never created: nothing to do.
    assert_replan_is_empty(&t, &d.tf(), "dev", &d.args);
    assert_outputs_serve_a_consumer(&t, &d.tf(), &d.env, &d.moto);
    d.destroy();
}
