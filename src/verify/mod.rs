//! `verify`: does the running deployment still match the tree? Pure: it builds the
//! request the generated `ansible/redis_verify.yml` takes ([`request`]), and judges the
//! playbook's JSON output ([`judge`]) into findings and trouble. Running the playbook is
//! the edge's (`crate::probe`); printing is the report's (`crate::report::verify`).
//!
//! Two read-only programs of the generated tree do the comparing: the role's
//! `redis_verify.py` on each host (the running server, redis.conf on disk, users, unit,
//! timers, engine, sysctl, against the rendered configuration), and
//! `redis_verify_aws.py` on the controller (the newest backup and metric, the ElastiCache
//! replication group, its parameter group and users). Both answer in one JSON shape;
//! Ansible's own check mode adds the files a converge would rewrite.

mod ansible;

pub use ansible::{MAX_STDOUT, PlaybookRun, parse};

use crate::model::{Env, Model};
use crate::rules::Mode;
use serde::Serialize;
use serde_json::{Value, json};

/// How long a string from the live side may be in a report (a hostile host or a broken
/// script cannot flood it).
const MAX_TEXT: usize = 2048;
/// How many findings one target may report.
const MAX_FINDINGS: usize = 500;

/// What the whole run found: every selected environment, in blueprint order.
#[derive(Debug, Serialize)]
pub struct Report {
    pub status: Verdict,
    pub blueprint: String,
    pub out: String,
    pub environments: Vec<EnvVerdict>,
}

impl Report {
    pub fn new(blueprint: String, out: String, environments: Vec<EnvVerdict>) -> Report {
        let status = environments
            .iter()
            .map(|e| e.status)
            .max()
            .unwrap_or(Verdict::Match);
        Report {
            status,
            blueprint,
            out,
            environments,
        }
    }
}

/// One environment's result: any trouble outranks any finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Match,
    Drift,
    Trouble,
}

#[derive(Debug, Serialize)]
pub struct EnvVerdict {
    pub name: String,
    pub mode: &'static str,
    pub status: Verdict,
    /// The hosts, or the replication group, that were read.
    pub targets: Vec<String>,
    /// Comparisons made (matching or not).
    pub checked: u64,
    pub findings: Vec<Finding>,
    pub trouble: Vec<Trouble>,
}

/// One difference between the tree and what runs.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The host, the replication group, the bucket or the metric namespace.
    pub target: String,
    /// config, config-file, acl, guard, timer, engine, sysctl, file, backup, metrics,
    /// replication-group, parameter-group, user-group, user.
    pub area: String,
    pub item: String,
    pub blueprint: String,
    pub live: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_disk: Option<String>,
    pub fix: Fix,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// What puts a finding right, and the command.
#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    /// playbook, playbook-restart, config-set, terraform-apply, investigate.
    pub kind: String,
    pub command: String,
}

/// Why an environment (or part of it) could not be verified.
#[derive(Debug, Clone, Serialize)]
pub struct Trouble {
    pub target: String,
    /// unreachable, become, no-credentials, access-denied, secret, no-hosts, probe, aws,
    /// redis, reference, read-only, tool, timeout, failed.
    pub kind: String,
    pub detail: String,
}

/// How a fix is run here: the inventory and tree the user verified with, and the
/// arguments they gave ansible-playbook.
#[derive(Debug, Clone)]
pub struct Context {
    pub inventory: String,
    pub out: String,
    pub ansible_args: Vec<String>,
}

impl Context {
    /// The converge that puts a host right. The user's own ansible-playbook arguments
    /// are not repeated: they may hold a secret (`-e ansible_become_password=...`).
    fn playbook(&self) -> String {
        let mut cmd = format!(
            "ansible-playbook -i {} {}",
            shell_word(&self.inventory),
            shell_word(&crate::paths::join(&self.out, "ansible/redis.yml"))
        );
        if !self.ansible_args.is_empty() {
            cmd.push_str(" <your ansible-playbook arguments>");
        }
        cmd
    }
}

/// `s` as one shell word (quoted when it needs to be).
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The Ansible host pattern that selects an environment's hosts: its group for a
/// self-hosted one, none for ElastiCache (only the controller's play runs).
pub fn hosts(model: &Model, env: &Env) -> String {
    match env.mode.value {
        Mode::SelfHosted => model.host.ansible_group.clone(),
        Mode::ElastiCache => "all:!all".to_string(),
    }
}

/// The parameter group's name as the generated Terraform computes it (the family and the
/// description are part of it: see `data_elasticache.tf.mj`).
pub fn parameter_group_name(model: &Model, env: &Env, family: &str) -> String {
    use sha2::{Digest, Sha256};
    let description = format!("{family} parameters of {} ({})", model.name, env.name);
    // Terraform's jsonencode of a list of two strings (names are validated: no escapes).
    let encoded = serde_json::to_string(&[family, description.as_str()]).unwrap_or_default();
    let digest = Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{family}-{hex}", model.name, env.name)
}

/// The `redis_verify` extra variable: what the controller's script reads, per mode.
pub fn request(model: &Model, env: &Env) -> Value {
    let r = &env.redis;
    let backup = match (env.mode.value, &env.backup) {
        (Mode::SelfHosted, Some(b)) => json!({
            "bucket": b.bucket.as_ref().map(|v| v.value.clone()),
            "bucket_prefix": format!("{}-{}{}", model.name, env.name, crate::rules::GENERATED_BUCKET_INFIX),
            "prefix": format!("{}/{}/", model.name, env.name),
            "max_age_hours": b.max_age_hours.value,
        }),
        _ => Value::Null,
    };
    let metrics = match env.mode.value {
        // The not-reporting alarm's window: three intervals.
        Mode::SelfHosted => json!({
            "namespace": env.monitoring.namespace.value,
            "metric": "Up",
            "dimensions": [
                {"Name": "Name", "Value": model.name},
                {"Name": "Environment", "Value": env.name},
            ],
            "max_age_seconds": 3 * u64::from(env.monitoring.interval_seconds.value),
        }),
        Mode::ElastiCache => Value::Null,
    };
    let elasticache = env.elasticache.as_ref().map(|ec| {
        let blocked = &r.blocked_commands.value;
        let mut users: Vec<Value> = Vec::new();
        users.push(json!({
            "user_id": format!("{}-{}-default", model.name, env.name),
            "user_name": "default",
            "access_string": if r.shared_password.value {
                format!("on {}", crate::render::shared_acl(blocked))
            } else {
                "off -@all".to_string()
            },
        }));
        for c in &env.consumers {
            users.push(json!({
                "user_id": format!("{}-{}-{}", model.name, env.name, c.name),
                "user_name": c.name,
                "access_string": format!("on {}", c.acl_rules(blocked)),
            }));
        }
        json!({
            "replication_group_id": format!("{}-{}", model.name, env.name),
            "engine": ec.engine,
            "engine_version": ec.engine_version,
            "node_type": env.sizing.node_type.value,
            "nodes": env.sizing.nodes.value,
            "multi_az": ec.multi_az.value,
            "port": r.port.value,
            "at_rest_encryption": true,
            "transit_encryption": true,
            "snapshot_retention_days": ec.snapshot_retention_days.value,
            "snapshot_window": ec.snapshot_window.value,
            "maintenance_window": ec.maintenance_window.value,
            "auto_minor_version_upgrade": ec.auto_minor_version_upgrade.value,
            "parameter_group": {
                "name": parameter_group_name(model, env, &ec.parameter_family),
                "parameters": {"maxmemory-policy": r.maxmemory_policy.value.as_str()},
            },
            "user_group_id": format!("{}-{}", model.name, env.name),
            "users": users,
        })
    });
    json!({
        "env": env.name,
        "mode": env.mode.value.as_str(),
        "region": env.region.value,
        "name": model.name,
        "hosts": hosts(model, env),
        "backup": backup,
        "metrics": metrics,
        "elasticache": elasticache,
    })
}

/// `s` cut to [`MAX_TEXT`] characters, with any run of 64 hex digits (a password hash)
/// replaced: nothing that came from the live side is trusted to be free of one.
pub fn scrub(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_TEXT));
    let mut hex = String::new();
    let flush = |hex: &mut String, out: &mut String| {
        if hex.len() >= 64 {
            out.push_str("<sha256>");
        } else {
            out.push_str(hex);
        }
        hex.clear();
    };
    for c in s.chars().take(MAX_TEXT) {
        if c.is_ascii_hexdigit() {
            hex.push(c);
        } else {
            flush(&mut hex, &mut out);
            out.push(c);
        }
    }
    flush(&mut hex, &mut out);
    if s.chars().count() > MAX_TEXT {
        out.push_str("...");
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => scrub(s),
        other => scrub(&other.to_string()),
    }
}

/// The fix of a finding, as a command the user can run.
fn fix(kind: &str, finding: &Value, env: &Env, ctx: &Context) -> Fix {
    let tfvars = format!(
        "terraform apply -var-file={}",
        crate::paths::join(
            &ctx.out,
            &format!("terraform/environments/{}/redis.tfvars", env.name)
        )
    );
    let engine = env.redis.engine.value.as_str();
    let command = match kind {
        "playbook" => ctx.playbook(),
        "playbook-restart" => format!("{} -e redis_hold_restart=false", ctx.playbook()),
        "config-set" => {
            // The value is one argument (`save "3600 1 300 100"`), every word quoted.
            let inner = format!(
                "{engine}-cli --no-auth-warning --user infragen-admin --askpass -s /run/{engine}/{engine}-server.sock CONFIG SET {} {} < /etc/infragen/redis-admin.password",
                shell_word(&text(&finding["item"])),
                shell_word(&text(&finding["blueprint"])),
            );
            format!("sudo sh -c {} (or: {})", shell_word(&inner), ctx.playbook())
        }
        "terraform-apply" => tfvars,
        _ => {
            let hint = text(&finding["hint"]);
            if hint.is_empty() {
                "look at the host".to_string()
            } else {
                hint
            }
        }
    };
    let kind = match kind {
        "playbook" | "playbook-restart" | "config-set" | "terraform-apply" => kind,
        _ => "investigate",
    };
    Fix {
        kind: kind.to_string(),
        command,
    }
}

/// One script's answer (`{checked, findings, trouble}`), added to `v` for `target`.
fn script_answer(
    v: &mut EnvVerdict,
    target: &str,
    answer: &Value,
    stderr: &str,
    env: &Env,
    ctx: &Context,
) {
    let Some(obj) = answer.as_object() else {
        v.trouble.push(Trouble {
            target: target.to_string(),
            kind: "probe".into(),
            detail: format!("its output is not JSON: {}", scrub(stderr.trim())),
        });
        return;
    };
    v.checked += obj.get("checked").and_then(Value::as_u64).unwrap_or(0);
    for f in obj
        .get("findings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(MAX_FINDINGS)
    {
        let kind = f["fix"].as_str().unwrap_or("investigate");
        let fix = fix(kind, f, env, ctx);
        let own_target = text(&f["target"]);
        v.findings.push(Finding {
            target: if own_target.is_empty() {
                target.to_string()
            } else {
                own_target
            },
            area: text(&f["area"]),
            item: text(&f["item"]),
            blueprint: text(&f["blueprint"]),
            live: text(&f["live"]),
            on_disk: f.get("on_disk").filter(|d| !d.is_null()).map(text),
            hint: if fix.kind == "investigate" {
                String::new()
            } else {
                text(&f["hint"])
            },
            fix,
            diff: None,
        });
    }
    for t in obj
        .get("trouble")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(MAX_FINDINGS)
    {
        let operation = text(&t["operation"]);
        let detail = text(&t["detail"]);
        v.trouble.push(Trouble {
            target: target.to_string(),
            kind: text(&t["kind"]),
            detail: if operation.is_empty() {
                detail
            } else {
                format!("{operation}: {detail}")
            },
        });
    }
}

/// A registered stats entry (`{rc, stdout, stderr}`) as the script's JSON answer.
fn answer_of(entry: &Value) -> (Value, String) {
    let stderr = text(&entry["stderr"]);
    let answer = match &entry["stdout"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        Value::Object(_) => entry["stdout"].clone(),
        _ => Value::Null,
    };
    (answer, stderr)
}

/// The verdict of one environment from its playbook run.
pub fn judge(model: &Model, env: &Env, run: &PlaybookRun, ctx: &Context) -> EnvVerdict {
    let mut v = EnvVerdict {
        name: env.name.clone(),
        mode: env.mode.value.as_str(),
        status: Verdict::Match,
        targets: Vec::new(),
        checked: 0,
        findings: Vec::new(),
        trouble: Vec::new(),
    };
    // The controller's part (every mode).
    let mut backups: Option<Value> = None;
    match run.custom.get("localhost").map(|s| &s["redis_verify_aws"]) {
        Some(entry) if !entry.is_null() => {
            let target = match env.mode.value {
                Mode::SelfHosted => "aws".to_string(),
                Mode::ElastiCache => format!("{}-{}", model.name, env.name),
            };
            let (answer, stderr) = answer_of(entry);
            script_answer(&mut v, &target, &answer, &stderr, env, ctx);
            backups = answer.get("backups").cloned();
        }
        _ => v.trouble.push(Trouble {
            target: "localhost".into(),
            kind: "probe".into(),
            detail: "the controller's AWS comparison (redis_verify_aws.py) did not report".into(),
        }),
    }
    if env.mode.value == Mode::ElastiCache {
        v.targets.push(format!("{}-{}", model.name, env.name));
    }
    // Hosts that could not be reached or failed.
    for (host, msg) in &run.unreachable {
        v.trouble.push(Trouble {
            target: host.clone(),
            kind: "unreachable".into(),
            detail: scrub(msg),
        });
    }
    for f in &run.failed {
        let kind = if f.task.contains("secret") || f.msg.contains("secretsmanager") {
            "secret"
        } else if f.msg.contains("sudo") || f.msg.contains("become") {
            "become"
        } else {
            "failed"
        };
        v.trouble.push(Trouble {
            target: f.host.clone(),
            kind: kind.into(),
            detail: scrub(&format!("task \"{}\": {}", f.task, f.msg)),
        });
    }
    // Each host that answered.
    let mut hosts_backups: Vec<(String, String, Option<u64>)> = Vec::new();
    if env.mode.value == Mode::SelfHosted {
        let hosts: Vec<&String> = run.stats.iter().filter(|h| *h != "localhost").collect();
        if hosts.is_empty() {
            v.trouble.push(Trouble {
                target: model.host.ansible_group.clone(),
                kind: "no-hosts".into(),
                detail: format!(
                    "the inventory {} has no host in the group {}",
                    ctx.inventory, model.host.ansible_group
                ),
            });
        }
        for host in hosts {
            v.targets.push(host.clone());
            if run.unreachable.iter().any(|(h, _)| h == host)
                || run.failed.iter().any(|f| &f.host == host)
            {
                continue;
            }
            let Some(entry) = run
                .custom
                .get(host.as_str())
                .map(|s| &s["redis_verify_host"])
                .filter(|e| !e.is_null())
            else {
                v.trouble.push(Trouble {
                    target: host.clone(),
                    kind: "probe".into(),
                    detail: "the host's comparison did not report".into(),
                });
                continue;
            };
            let (answer, stderr) = answer_of(entry);
            if answer.is_null() && stderr.contains("No such file") {
                v.trouble.push(Trouble {
                    target: host.clone(),
                    kind: "probe".into(),
                    detail: "the host has no redis_verify.py: it was converged by an older tree; run the playbook once".into(),
                });
                continue;
            }
            script_answer(&mut v, host, &answer, &stderr, env, ctx);
            if let Some(hostname) = answer["hostname"].as_str() {
                hosts_backups.push((
                    host.clone(),
                    hostname.to_string(),
                    answer["backup_setup_age_s"].as_u64(),
                ));
            }
            for file in run.files.iter().filter(|f| &f.host == host) {
                v.checked += 1;
                if file.changed {
                    v.findings.push(Finding {
                        target: host.clone(),
                        area: "file".into(),
                        item: scrub(&file.path),
                        blueprint: "as this tree renders it".into(),
                        live: if file.exists {
                            "differs".into()
                        } else {
                            "missing".into()
                        },
                        on_disk: None,
                        fix: fix("playbook", &Value::Null, env, ctx),
                        hint: String::new(),
                        diff: file.diff.as_deref().map(scrub),
                    });
                }
            }
        }
    }
    // Backups, host by host: the controller lists the newest under each host's part of
    // the prefix; each host says the name it files them under and, before its first
    // backup, how long ago backups were set up (the timer's first run may be a day
    // away: no backup is drift only after the blueprint's maximum age).
    if let (Some(b), Some(per_host)) = (&env.backup, backups.as_ref().and_then(Value::as_object))
        && !hosts_backups.is_empty()
    {
        let limit = u64::from(b.max_age_hours.value) * 3600;
        // These replace the controller's judgement of the newest backup of all hosts.
        v.findings
            .retain(|f| !(f.area == "backup" && f.item == "newest backup"));
        for (target, hostname, setup_age) in &hosts_backups {
            v.checked += 1;
            let newest = per_host.get(hostname.as_str());
            let age = newest.and_then(|n| n["age_s"].as_u64());
            let live = match (newest, age) {
                (Some(n), Some(age)) if age > limit => format!(
                    "{}h {}m old (key {})",
                    age / 3600,
                    age % 3600 / 60,
                    text(&n["key"])
                ),
                (Some(_), Some(_)) => continue,
                _ if setup_age.is_some_and(|s| s <= limit) => continue,
                _ => "no backup".to_string(),
            };
            let finding =
                json!({"hint": format!("journalctl -u redis-backup.service on {target}")});
            v.findings.push(Finding {
                target: target.clone(),
                area: "backup".into(),
                item: format!("newest backup of {}", scrub(hostname)),
                blueprint: format!("at most {}h old", b.max_age_hours.value),
                live,
                on_disk: None,
                fix: fix("investigate", &finding, env, ctx),
                hint: String::new(),
                diff: None,
            });
        }
    }
    v.status = if !v.trouble.is_empty() {
        Verdict::Trouble
    } else if !v.findings.is_empty() {
        Verdict::Drift
    } else {
        Verdict::Match
    };
    v
}

/// An environment that could not be run at all (no ansible-playbook, a timeout, output
/// that is not the JSON callback's).
pub fn unverified(env: &Env, target: &str, kind: &str, detail: &str) -> EnvVerdict {
    EnvVerdict {
        name: env.name.clone(),
        mode: env.mode.value.as_str(),
        status: Verdict::Trouble,
        targets: vec![target.to_string()],
        checked: 0,
        findings: Vec::new(),
        trouble: vec![Trouble {
            target: target.to_string(),
            kind: kind.to_string(),
            detail: scrub(detail),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_hides_hashes_and_caps_length() {
        let h = "a".repeat(64);
        assert_eq!(scrub(&format!("x #{h} y")), "x #<sha256> y");
        assert_eq!(scrub("deadbeef"), "deadbeef");
        assert!(scrub(&"z".repeat(5000)).ends_with("..."));
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("-e"), "-e");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
