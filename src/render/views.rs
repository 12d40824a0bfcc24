//! What the templates see: plain serialisable views of the model, and the two filters
//! that turn values into HCL and YAML literals (templates never quote by hand).

use crate::aws::human_bytes;
use crate::model::{ElastiCacheEnv, Env, Mode, Model};
use minijinja::value::{Serde, Value, ValueKind};
use minijinja::{Error, ErrorKind};
use serde::Serialize;

#[derive(Serialize)]
struct HostView<'a> {
    terraform_module: &'a str,
    instance: &'a str,
    security_group: &'a str,
    iam_role: &'a str,
    ansible_group: &'a str,
}

#[derive(Serialize)]
struct SnapshotView {
    after_seconds: u64,
    min_changes: u64,
}

#[derive(Serialize)]
struct ElastiCacheView<'a> {
    node_type: &'a str,
    nodes: u32,
    multi_az: bool,
    snapshot_retention_days: u32,
    engine_version: &'a str,
}

#[derive(Serialize)]
struct MonitoringView<'a> {
    namespace: &'a str,
    memory_alert_percent: u32,
    interval_seconds: u32,
    sns_topic_arn: Option<&'a str>,
}

#[derive(Serialize)]
struct GuardView<'a> {
    instance_type: &'a str,
    instance_memory: String,
    asterisk_reserve: &'a str,
    memory_max_bytes: u64,
    memory_max: String,
    overcommit_memory: bool,
    disable_thp: bool,
}

#[derive(Serialize)]
struct EnvView<'a> {
    monitoring: MonitoringView<'a>,
    guard: Option<GuardView<'a>>,
    name: &'a str,
    mode: &'a str,
    version: &'a str,
    elasticache: Option<ElastiCacheView<'a>>,
    region: &'a str,
    port: u16,
    bind: &'a [String],
    allowed_ipv4: &'a [String],
    allowed_ipv6: &'a [String],
    password_length: u32,
    password_specials: bool,
    secret_name: &'a str,
    secret_recovery_days: u32,
    kms_key_arn: Option<&'a str>,
    maxmemory: &'a str,
    maxmemory_bytes: u64,
    maxmemory_policy: &'a str,
    snapshots: Vec<SnapshotView>,
    aof: bool,
    appendfsync: &'a str,
    blocked_commands: &'a [String],
}

fn host(model: &Model) -> HostView<'_> {
    let h = &model.host;
    HostView {
        terraform_module: &h.terraform_module,
        instance: &h.instance,
        security_group: &h.security_group,
        iam_role: &h.iam_role,
        ansible_group: &h.ansible_group,
    }
}

/// Why checkov's customer-KMS-key check (CKV_AWS_149) is skipped, when it is: the
/// blueprint names no key for some environment, so the AWS-managed key is used there.
fn kms_skip(model: &Model) -> Option<String> {
    let without: Vec<&str> = model
        .envs
        .iter()
        .filter(|e| e.redis.kms_key_arn.is_none())
        .map(|e| e.name.as_str())
        .collect();
    (!without.is_empty()).then(|| {
        format!(
            "The blueprint names no customer KMS key for {} so the AWS-managed key aws/secretsmanager encrypts the secret (set redis.auth.kms_key_arn to use one)",
            without.join(", ")
        )
    })
}

/// Names of the environments in ElastiCache mode for which `pred` holds.
fn elasticache_envs(model: &Model, pred: impl Fn(&Env, &ElastiCacheEnv) -> bool) -> Vec<&str> {
    model
        .envs
        .iter()
        .filter_map(|e| {
            e.elasticache
                .as_ref()
                .filter(|ec| pred(e, ec))
                .map(|_| e.name.as_str())
        })
        .collect()
}

/// checkov checks on the replication group that the blueprint deliberately does not
/// meet, each with the reason (`ID:reason`).
fn elasticache_skips(model: &Model) -> Vec<String> {
    let mut skips = Vec::new();
    let without_kms = elasticache_envs(model, |e, _| e.redis.kms_key_arn.is_none());
    if !without_kms.is_empty() {
        skips.push(format!(
            "CKV_AWS_191:The blueprint names no customer KMS key for {} so ElastiCache encrypts at rest with its AWS-managed key",
            without_kms.join(", ")
        ));
    }
    let single = elasticache_envs(model, |_, ec| !ec.multi_az.value);
    if !single.is_empty() {
        skips.push(format!(
            "CKV2_AWS_50:Multi-AZ failover is off for {} (elasticache.multi_az); a cache miss falls back to PostgreSQL",
            single.join(", ")
        ));
    }
    let no_backup = elasticache_envs(model, |_, ec| ec.snapshot_retention_days.value == 0);
    if !no_backup.is_empty() {
        skips.push(format!(
            "CKV_AWS_134:No snapshots for {} (elasticache.snapshot_retention_days 0); the cache repopulates from PostgreSQL",
            no_backup.join(", ")
        ));
    }
    skips
}

#[derive(Serialize)]
struct ElastiCacheSharedView<'a> {
    terraform_module: &'a str,
    vpc_id: &'a str,
    subnet_ids: &'a str,
}

/// Context for files shared by all environments.
pub fn base_view(model: &Model) -> Value {
    minijinja::context! {
        name => &model.name,
        host => Value::from(Serde(host(model))),
        elasticache => model.elasticache.as_ref().map(|e| Value::from(Serde(ElastiCacheSharedView {
            terraform_module: &e.terraform_module,
            vpc_id: &e.vpc_id,
            subnet_ids: &e.subnet_ids,
        }))),
        modes => minijinja::context! {
            self_hosted => model.uses(Mode::SelfHosted),
            elasticache => model.uses(Mode::ElastiCache),
        },
        kms_skip => kms_skip(model),
        elasticache_skips => elasticache_skips(model),
        consumers => Value::from(Serde(&model.consumers)),
        cost_table => crate::cost::table(model),
    }
}

/// Context for one environment's files.
/// Context for one environment's files: the environment over the shared `base` (built
/// once per render, so that per-environment files cost O(1) each).
pub fn env_view(base: &Value, env: &Env) -> Value {
    let r = &env.redis;
    let view = EnvView {
        monitoring: MonitoringView {
            namespace: &env.monitoring.namespace.value,
            memory_alert_percent: env.monitoring.memory_alert_percent.value,
            interval_seconds: env.monitoring.interval_seconds.value,
            sns_topic_arn: env
                .monitoring
                .sns_topic_arn
                .as_ref()
                .map(|t| t.value.as_str()),
        },
        guard: env.guard.as_ref().map(|g| GuardView {
            instance_type: &g.instance_type.value,
            instance_memory: human_bytes(g.instance_bytes),
            asterisk_reserve: &g.asterisk_reserve.value.text,
            memory_max_bytes: g.memory_max_bytes,
            memory_max: human_bytes(g.memory_max_bytes),
            overcommit_memory: g.overcommit_memory.value,
            disable_thp: g.disable_thp.value,
        }),
        name: &env.name,
        mode: env.mode.value.as_str(),
        version: &r.version.value,
        elasticache: env.elasticache.as_ref().map(|e| ElastiCacheView {
            node_type: &env.sizing.node_type.value,
            nodes: env.sizing.nodes.value,
            multi_az: e.multi_az.value,
            snapshot_retention_days: e.snapshot_retention_days.value,
            engine_version: &e.engine_version,
        }),
        region: &env.region.value,
        port: r.port.value,
        bind: &r.bind.value,
        allowed_ipv4: &r.allowed_ipv4,
        allowed_ipv6: &r.allowed_ipv6,
        password_length: r.password_length.value,
        password_specials: r.password_specials.value,
        secret_name: &r.secret_name.value,
        secret_recovery_days: r.secret_recovery_days.value,
        kms_key_arn: r.kms_key_arn.as_ref().map(|k| k.value.as_str()),
        maxmemory: &r.maxmemory.value.text,
        maxmemory_bytes: r.maxmemory.value.bytes,
        maxmemory_policy: &r.maxmemory_policy.value,
        snapshots: r
            .snapshots
            .value
            .iter()
            .map(|s| SnapshotView {
                after_seconds: s.after_seconds,
                min_changes: s.min_changes,
            })
            .collect(),
        aof: r.aof.value,
        appendfsync: &r.appendfsync.value,
        blocked_commands: &r.blocked_commands.value,
    };
    minijinja::context! {
        env => Value::from(Serde(view)),
        ..base.clone()
    }
}

/// Writes `s` as a double-quoted string with backslash escapes, the syntax HCL and YAML
/// share; `hcl` also doubles `${` and `%{`, which Terraform would interpolate.
fn quoted(s: &str, hcl: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if hcl && chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `{{ list | join(sep) }}` (minijinja's builtins are not compiled in).
pub fn join(v: &Value, sep: &str) -> Result<String, Error> {
    let items: Vec<String> = v.try_iter()?.map(|i| i.to_string()).collect();
    Ok(items.join(sep))
}

/// `{{ s | replace(from, to) }}`.
pub fn replace(v: &str, from: &str, to: &str) -> String {
    v.replace(from, to)
}

/// `{{ v | hcl }}`: a string, number, bool or list as an HCL literal.
pub fn hcl_literal(v: &Value) -> Result<String, Error> {
    match v.kind() {
        ValueKind::String => Ok(quoted(v.as_str().unwrap_or_default(), true)),
        ValueKind::Bool => Ok(v.is_true().to_string()),
        ValueKind::Number => Ok(v.to_string()),
        ValueKind::Seq => {
            let items: Result<Vec<String>, Error> =
                v.try_iter()?.map(|i| hcl_literal(&i)).collect();
            Ok(format!("[{}]", items?.join(", ")))
        }
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot write {} as HCL", v.kind()),
        )),
    }
}

/// `{{ v | yaml }}`: a string (always double-quoted, JSON-style escapes), number or bool
/// as a YAML scalar. Quoting every string keeps values such as `yes`, `0.0.0.0` or `1e3`
/// strings whatever the YAML version of the reader.
pub fn yaml_scalar(v: &Value) -> Result<String, Error> {
    match v.kind() {
        ValueKind::String => Ok(quoted(v.as_str().unwrap_or_default(), false)),
        ValueKind::Bool => Ok(v.is_true().to_string()),
        ValueKind::Number => Ok(v.to_string()),
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("cannot write {} as a YAML scalar", v.kind()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_strings_are_escaped() {
        assert_eq!(
            hcl_literal(&Value::from("a\"b\\${x}%{y}")).unwrap(),
            r#""a\"b\\$${x}%%{y}""#
        );
        assert_eq!(
            hcl_literal(&Value::from(vec!["a", "b"])).unwrap(),
            r#"["a", "b"]"#
        );
        assert_eq!(
            hcl_literal(&Value::from(Vec::<String>::new())).unwrap(),
            "[]"
        );
        assert_eq!(hcl_literal(&Value::from(true)).unwrap(), "true");
    }

    #[test]
    fn yaml_strings_are_quoted() {
        assert_eq!(yaml_scalar(&Value::from("yes")).unwrap(), "\"yes\"");
        assert_eq!(yaml_scalar(&Value::from("a\"b")).unwrap(), "\"a\\\"b\"");
        assert_eq!(yaml_scalar(&Value::from(false)).unwrap(), "false");
    }
}
