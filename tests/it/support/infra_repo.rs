//! The example infra repo as a user has it, for the tests that run the real Terraform
//! on the generated code (`plan`, `apply`): a temporary copy of `examples/infra-repo/`
//! shaped for a blueprint's names, `infragen gen` into it, the README's wiring added as a
//! user adds it, the machine's Terraform CLI with the AWS provider from the local
//! filesystem mirror (recorded by `scripts/setup-tools.sh` in `.venv/terraform-mirror`,
//! or `INFRAGEN_TF_MIRROR`), and accessors for `terraform show -json` of a plan.
//! A missing CLI or mirror fails the test that asked for it, never skips it.

use crate::common::{edit_with, infragen, model, repo};
use infragen::model::Model;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The stand-in password (see [`stand_in_random`]); never a real secret. The tests
/// assert it appears in no output and no non-sensitive attribute of any plan.
pub(crate) const STAND_IN_PASSWORD: &str = "StandInRedisPassw0rdNotASecret";

pub(crate) struct Terraform {
    /// A CLI configuration that installs the AWS provider from the local mirror.
    pub(crate) config: PathBuf,
    _dir: tempfile::TempDir,
}

/// The mirror root (the directory holding `registry.terraform.io/`).
pub(crate) fn mirror() -> Option<PathBuf> {
    let recorded = std::env::var_os("INFRAGEN_TF_MIRROR")
        .map(PathBuf::from)
        .or_else(|| {
            std::fs::read_to_string(repo().join(".venv/terraform-mirror"))
                .ok()
                .map(|s| PathBuf::from(s.trim()))
        })?;
    recorded
        .join("registry.terraform.io/hashicorp/aws")
        .is_dir()
        .then_some(recorded)
}

/// The Terraform CLI and the provider mirror (a missing one fails the test).
pub(crate) fn terraform() -> Terraform {
    let mut missing = Vec::new();
    if Command::new("terraform").arg("version").output().is_err() {
        missing.push("the `terraform` CLI on PATH".to_string());
    }
    let mirror = mirror();
    if mirror.is_none() {
        missing.push(
            "the AWS provider's filesystem mirror (scripts/setup-tools.sh records it in .venv/terraform-mirror)"
                .to_string(),
        );
    }
    if !missing.is_empty() {
        let why = format!(
            "cannot plan: missing {}; run scripts/setup-tools.sh (the README's test command does)",
            missing.join(" and ")
        );
        // Ignored unless asked for (`--include-ignored`): asked for, a missing CLI or
        // mirror is a failure, never a skip.
        panic!("{why}");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("terraform.tfrc");
    std::fs::write(
        &config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
            mirror.unwrap().display()
        ),
    )
    .unwrap();
    Terraform { config, _dir: dir }
}

impl Terraform {
    pub(crate) fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.run_in(dir, None, args)
    }

    /// Runs terraform in one workspace (`TF_WORKSPACE`, so runs of several workspaces of
    /// one directory may overlap: none of them selects a workspace for the others).
    pub(crate) fn run_in(&self, dir: &Path, workspace: Option<&str>, args: &[&str]) -> Output {
        let mut c = Command::new("terraform");
        if let Some(w) = workspace {
            c.env("TF_WORKSPACE", w);
        }
        c.args(args)
            .current_dir(dir)
            .env("TF_CLI_CONFIG_FILE", &self.config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env_remove("TF_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run terraform {args:?}: {e}"))
    }

    /// Runs terraform and panics with its output unless it succeeds.
    pub(crate) fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.run(dir, args);
        assert!(
            out.status.success(),
            "terraform {} failed in {}:\n{}{}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) fn init(&self, tf: &Path) {
        self.ok(tf, &["init", "-backend=false", "-no-color"]);
    }

    pub(crate) fn validate(&self, tf: &Path) {
        self.ok(tf, &["validate", "-no-color"]);
    }

    /// Plans one environment and returns `terraform show -json` of the plan.
    pub(crate) fn plan(&self, tf: &Path, env: &str) -> Plan {
        let args = plan_args(env);
        self.ok(tf, &args.iter().map(String::as_str).collect::<Vec<_>>());
        let json = self.ok(tf, &["show", "-json", &format!("{env}.tfplan")]);
        Plan(serde_json::from_str(&json).expect("terraform show -json is JSON"))
    }
}

/// `terraform plan` of one environment, as the README says to run it (plus
/// `-refresh=false`: nothing is read from AWS), saved to `<env>.tfplan`.
pub(crate) fn plan_args(env: &str) -> Vec<String> {
    [
        "plan",
        "-refresh=false",
        "-no-color",
        "-lock=false",
        &format!("-var-file=environments/{env}/env.tfvars"),
        &format!("-var-file=environments/{env}/redis.tfvars"),
        &format!("-out={env}.tfplan"),
    ]
    .map(str::to_string)
    .to_vec()
}

/// A temporary copy of the example infra repo, shaped for `model`'s names, with the
/// README's wiring added. Returns the directory (the repo root).
pub(crate) struct InfraRepo {
    dir: tempfile::TempDir,
}

impl InfraRepo {
    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn tf(&self) -> PathBuf {
        self.dir.path().join("terraform")
    }
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The label of a resource address `aws_x.label`.
pub(crate) fn label(address: &str) -> &str {
    address.split('.').nth(1).unwrap()
}

/// Copies the example repo and renames what the blueprint names differently (the host
/// module, its resources, the inventory group), then adds the environments the
/// blueprint has and the example lacks, and stand-ins for root resources the
/// blueprint's consumers reference. The example repo itself matches the shipped
/// blueprint, so for it this is a plain copy.
pub(crate) fn infra_repo(model: &Model) -> InfraRepo {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("examples/infra-repo"), dir.path());
    let tf = dir.path().join("terraform");
    let h = &model.host;
    if h.terraform_module != "compute" {
        std::fs::rename(
            tf.join("modules/compute"),
            tf.join("modules").join(&h.terraform_module),
        )
        .unwrap();
        let m = &h.terraform_module;
        edit_with(&tf.join("main.tf"), |s| {
            s.replace("module \"compute\"", &format!("module \"{m}\""))
                .replace("./modules/compute", &format!("./modules/{m}"))
        });
        edit_with(&tf.join("outputs.tf"), |s| {
            s.replace("module.compute.", &format!("module.{m}."))
        });
    }
    let module_main = tf.join("modules").join(&h.terraform_module).join("main.tf");
    for (kind, address) in [
        ("aws_instance", &h.instance),
        ("aws_security_group", &h.security_group),
        ("aws_iam_role", &h.iam_role),
    ] {
        let new = label(address);
        edit_with(&module_main, |s| {
            s.replace(
                &format!("\"{kind}\" \"asterisk\""),
                &format!("\"{kind}\" \"{new}\""),
            )
            .replace(&format!("{kind}.asterisk."), &format!("{kind}.{new}."))
        });
    }
    edit_with(
        &tf.join("modules")
            .join(&h.terraform_module)
            .join("outputs.tf"),
        |s| {
            s.replace(
                "aws_instance.asterisk.",
                &format!("aws_instance.{}.", label(&h.instance)),
            )
        },
    );
    for inv in ["dev", "prod"] {
        edit_with(
            &dir.path()
                .join(format!("ansible/inventory/{inv}/hosts.yml")),
            |s| s.replace("    asterisk:\n", &format!("    {}:\n", h.ansible_group)),
        );
    }
    // Root resources the consumers reference (`aws_security_group.worker.id`): the
    // fixture's infra repo would declare them; the example repo's are module outputs.
    let mut standins = String::new();
    let mut declared = BTreeSet::new();
    for c in &model.consumers {
        for reference in [&c.security_group, &c.iam_role] {
            let mut parts = reference.split('.');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap());
            if kind == "module" || !declared.insert((kind.to_string(), name.to_string())) {
                continue;
            }
            standins.push_str(&match kind {
                "aws_security_group" => format!(
                    "resource \"aws_security_group\" \"{name}\" {{\n  name   = \"{name}\"\n  vpc_id = aws_vpc.main.id\n}}\n\n"
                ),
                "aws_iam_role" => format!(
                    "resource \"aws_iam_role\" \"{name}\" {{\n  name               = \"{name}\"\n  assume_role_policy = jsonencode({{ Version = \"2012-10-17\", Statement = [{{ Effect = \"Allow\", Action = \"sts:AssumeRole\", Principal = {{ Service = \"lambda.amazonaws.com\" }} }}] }})\n}}\n\n"
                ),
                other => panic!("no stand-in for a root {other}"),
            });
        }
    }
    if !standins.is_empty() {
        std::fs::write(tf.join("consumers.tf"), standins).unwrap();
    }
    // Each environment's own values (the example has dev and prod).
    let template = std::fs::read_to_string(tf.join("environments/dev/env.tfvars")).unwrap();
    for env in &model.envs {
        let region = &env.region.value;
        let values = template
            .lines()
            .map(|l| match l.split_once('=').map(|(k, _)| k.trim()) {
                Some("environment") => format!("environment = \"{}\"", env.name),
                Some("aws_region") => format!("aws_region = \"{region}\""),
                Some("availability_zones") => {
                    format!("availability_zones = [\"{region}a\", \"{region}b\"]")
                }
                Some("vpc_cidr") => format!("vpc_cidr = \"{}\"", env.vpc_cidr.value),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let d = tf.join("environments").join(&env.name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("env.tfvars"), values + "\n").unwrap();
    }
    // Fake credentials: plans never reach AWS (-refresh=false, no data source that
    // calls an API). An override file, so the repo's own provider block stays as it is.
    std::fs::write(
        tf.join("test_provider_override.tf"),
        "provider \"aws\" {\n  access_key                  = \"test\"\n  secret_key                  = \"test\"\n  skip_credentials_validation = true\n  skip_requesting_account_id  = true\n  skip_metadata_api_check     = true\n  skip_region_validation      = true\n}\n",
    )
    .unwrap();
    InfraRepo { dir }
}

/// The README's wiring, added once as a user adds it: `redis = var.redis` in the host
/// module's call; when the blueprint places ElastiCache, `redis` and
/// `redis_auth_token` and `redis_user_passwords` in that module's call; the Lambda
/// functions' Redis environment.
pub(crate) fn wire(repo_dir: &InfraRepo, model: &Model) {
    let main = repo_dir.tf().join("main.tf");
    let host = &model.host.terraform_module;
    edit_with(&main, |s| {
        let mut s = s.replace(
            &format!("  source = \"./modules/{host}\"\n"),
            &format!("  source = \"./modules/{host}\"\n  redis  = var.redis\n"),
        );
        if let Some(ec) = &model.elasticache {
            let m = &ec.terraform_module;
            s = s.replace(
                &format!("  source = \"./modules/{m}\"\n"),
                &format!(
                    "  source = \"./modules/{m}\"\n  redis                = var.redis\n  redis_auth_token     = module.{host}.redis_auth_token\n  redis_user_passwords = module.{host}.redis_user_passwords\n"
                ),
            );
        }
        s.replace(
            "  source = \"./modules/lambda\"\n",
            "  source = \"./modules/lambda\"\n  extra_environment = local.redis_lambda_environment\n",
        )
    });
    let wired = std::fs::read_to_string(&main).unwrap();
    assert!(
        wired.contains("redis  = var.redis"),
        "wiring not applied:\n{wired}"
    );
    // The Ansible side: the Asterisk playbook imports the generated one.
    edit_with(&repo_dir.root().join("ansible/asterisk-setup.yml"), |s| {
        s + "\n- name: Redis\n  ansible.builtin.import_playbook: redis.yml\n"
    });
}

/// The `random` provider is not in this machine's mirror: its one resource is replaced
/// by a built-in `terraform_data` stand-in of the same sensitivity (the value is
/// `sensitive()`, as random_password.result is), and `random` is dropped from the
/// module's required providers. Done here only; everything else is planned exactly as
/// generated. Returns the generated files as they were, for [`undo`] before the next
/// `gen` (which would otherwise, rightly, refuse to overwrite hand edits).
pub(crate) fn stand_in_random(repo_dir: &InfraRepo, model: &Model) -> Vec<(PathBuf, String)> {
    let module = repo_dir
        .tf()
        .join("modules")
        .join(&model.host.terraform_module);
    let originals: Vec<(PathBuf, String)> = [
        "redis_secret.tf",
        "redis_outputs.tf",
        "redis_versions_override.tf",
    ]
    .iter()
    .map(|f| {
        let p = module.join(f);
        let text = std::fs::read_to_string(&p).unwrap();
        (p, text)
    })
    .collect();
    let secret = module.join("redis_secret.tf");
    edit_with(&secret, |s| {
        let start = s
            .find("resource \"random_password\" \"redis\" {")
            .expect("random_password in redis_secret.tf");
        let end = start + s[start..].find("\n}\n").unwrap() + 3;
        format!(
            "{}resource \"terraform_data\" \"redis_password_stand_in\" {{\n  input = sensitive(\"{STAND_IN_PASSWORD}\")\n}}\n{}",
            &s[..start],
            &s[end..]
        )
    });
    // Each consumer's password likewise, one stand-in per user.
    edit_with(&secret, |s| {
        let start = s
            .find("resource \"random_password\" \"redis_user\" {")
            .expect("random_password.redis_user in redis_secret.tf");
        let end = start + s[start..].find("\n}\n").unwrap() + 3;
        format!(
            "{}resource \"terraform_data\" \"redis_user_password_stand_in\" {{\n  for_each = var.redis.users\n  input    = sensitive(\"{STAND_IN_PASSWORD}-${{each.key}}\")\n}}\n{}",
            &s[..start],
            &s[end..]
        )
    });
    for file in ["redis_secret.tf", "redis_outputs.tf"] {
        edit_with(&module.join(file), |s| {
            s.replace(
                "random_password.redis.result",
                "terraform_data.redis_password_stand_in.output",
            )
            .replace(
                "random_password.redis_user[each.key].result",
                "terraform_data.redis_user_password_stand_in[each.key].output",
            )
        });
    }
    edit_with(&module.join("redis_versions_override.tf"), |s| {
        let start = s
            .find("    random = {")
            .expect("random in required_providers");
        let end = start + s[start..].find("    }\n").unwrap() + 6;
        format!("{}{}", &s[..start], &s[end..])
    });
    originals
}

/// Puts back the files [`stand_in_random`] changed.
pub(crate) fn undo(originals: Vec<(PathBuf, String)>) {
    for (path, text) in originals {
        std::fs::write(path, text).unwrap();
    }
}

/// Generates `blueprint` into the repo with the real binary, as a user runs it.
pub(crate) fn gen_into(repo_dir: &InfraRepo, blueprint: &Path) {
    let run = infragen(
        repo_dir.root(),
        &[
            "gen",
            "--blueprint",
            &blueprint.display().to_string(),
            "--out",
            ".",
        ],
    );
    assert_eq!(
        run.code, 0,
        "infragen gen failed:\n{}{}",
        run.stdout, run.stderr
    );
}

/// `blueprint` compiled, and an infra repo for it: generated with the real binary,
/// wired, with stand-ins for the random password (whose originals are returned).
pub(crate) fn wired_repo(blueprint: &Path) -> (Model, InfraRepo, Vec<(PathBuf, String)>) {
    let m = model(blueprint);
    let r = infra_repo(&m);
    gen_into(&r, blueprint);
    wire(&r, &m);
    let stand_in = stand_in_random(&r, &m);
    (m, r, stand_in)
}

/// `terraform show -json` of one plan.
pub(crate) struct Plan(pub(crate) Value);

/// One planned resource: address, type and planned values, with its sensitivity mask.
pub(crate) struct Planned<'a> {
    pub(crate) address: String,
    pub(crate) kind: String,
    pub(crate) values: &'a Value,
    pub(crate) sensitive: &'a Value,
}

impl Plan {
    pub(crate) fn resources(&self) -> Vec<Planned<'_>> {
        fn walk<'a>(module: &'a Value, out: &mut Vec<Planned<'a>>) {
            for r in module["resources"].as_array().into_iter().flatten() {
                out.push(Planned {
                    address: r["address"].as_str().unwrap().to_string(),
                    kind: r["type"].as_str().unwrap().to_string(),
                    values: &r["values"],
                    sensitive: &r["sensitive_values"],
                });
            }
            for child in module["child_modules"].as_array().into_iter().flatten() {
                walk(child, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.0["planned_values"]["root_module"], &mut out);
        out
    }

    /// An attribute of a resource after the change: its known value and its unknown mask.
    pub(crate) fn after(&self, address: &str, attr: &str) -> (&Value, &Value) {
        let change = &self.0["resource_changes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["address"] == address)
            .unwrap_or_else(|| panic!("no change for {address}"))["change"];
        (&change["after"][attr], &change["after_unknown"][attr])
    }

    pub(crate) fn addresses(&self) -> BTreeSet<String> {
        self.resources().into_iter().map(|r| r.address).collect()
    }

    pub(crate) fn of_kind(&self, kind: &str) -> Vec<Planned<'_>> {
        self.resources()
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect()
    }

    pub(crate) fn one(&self, address: &str) -> Planned<'_> {
        self.resources()
            .into_iter()
            .find(|r| r.address == address)
            .unwrap_or_else(|| panic!("{address} is not in the plan: {:#?}", self.addresses()))
    }

    /// One argument of a resource as configured (`constant_value` or `references`),
    /// e.g. (`module.compute`, `aws_iam_role_policy.redis_password_read`, `role`).
    pub(crate) fn expression(&self, module: &str, address: &str, arg: &str) -> &Value {
        let mut config = &self.0["configuration"]["root_module"];
        if !module.is_empty() {
            for name in module.split('.').skip(1).step_by(2) {
                config = &config["module_calls"][name]["module"];
            }
        }
        let resource = config["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address} not in the configuration of {module:?}"));
        &resource["expressions"][arg]
    }

    /// The references of one argument of a resource in the configuration.
    pub(crate) fn references(&self, module: &str, address: &str, arg: &str) -> Vec<String> {
        let expr = self.expression(module, address, arg);
        let mut refs = Vec::new();
        fn collect(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::Array(r)) = m.get("references") {
                        out.extend(r.iter().filter_map(|x| x.as_str().map(str::to_string)));
                    }
                    m.values().for_each(|x| collect(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
                _ => {}
            }
        }
        collect(expr, &mut refs);
        refs
    }

    /// Every non-sensitive string in planned values and outputs.
    pub(crate) fn visible_strings(&self) -> Vec<String> {
        fn strings(v: &Value, mask: &Value, out: &mut Vec<String>) {
            if mask == &Value::Bool(true) {
                return;
            }
            match v {
                Value::String(s) => out.push(s.clone()),
                Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        strings(x, mask.get(i).unwrap_or(&Value::Null), out);
                    }
                }
                Value::Object(m) => {
                    for (k, x) in m {
                        strings(x, mask.get(k).unwrap_or(&Value::Null), out);
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for r in self.resources() {
            strings(r.values, r.sensitive, &mut out);
        }
        for (_, o) in self.0["planned_values"]["outputs"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if o["sensitive"] != Value::Bool(true) {
                strings(&o["value"], &Value::Null, &mut out);
            }
        }
        out
    }
}

/// Sets `redis.mode` of one environment in a blueprint's text.
pub(crate) fn with_mode(source: &str, env: &str, mode: &str) -> String {
    let marker = format!("\n  {env}:\n");
    let at = source.find(&marker).expect("environment in the blueprint") + marker.len();
    let (head, tail) = source.split_at(at);
    let tail = tail.replacen(
        "    redis:\n",
        &format!("    redis:\n      mode: {mode}\n"),
        1,
    );
    format!("{head}{tail}")
}
