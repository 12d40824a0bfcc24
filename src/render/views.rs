//! What the templates see: plain serialisable views of the model. The filters that turn
//! values into literals are in `filters.rs`, checkov's skip reasons in `checkov.rs`.

use super::checkov::{SSM_CA_SKIP, elasticache_skips, kms_skip};
use crate::aws::human_bytes;
use crate::model::{Env, Mode, Model};
use minijinja::value::{Serde, Value};
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
    engine: &'a str,
    engine_version: &'a str,
    parameter_family: &'a str,
    maintenance_window: &'a str,
    snapshot_window: &'a str,
    auto_minor_version_upgrade: bool,
    apply_immediately: bool,
    final_snapshot: bool,
}

#[derive(Serialize)]
struct MonitoringView<'a> {
    namespace: &'a str,
    memory_alert_percent: u32,
    interval_seconds: u32,
    sns_topic_arn: Option<&'a str>,
    notify: &'a [crate::model::Subscription],
    sns_kms_key_arn: Option<&'a str>,
    latency_alert_usec: u32,
    hit_rate_alert_percent: u32,
    cpu_alert_percent: u32,
    connections_alert: u32,
}

#[derive(Serialize)]
struct BackupView<'a> {
    /// The blueprint's bucket, or none: the generated one.
    bucket: Option<&'a str>,
    interval_hours: u32,
    retention_days: u32,
    max_age_hours: u32,
    /// The generated bucket's name before the account id.
    generated_prefix: String,
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
    backup: Option<BackupView<'a>>,
    name: &'a str,
    mode: &'a str,
    /// The other mode's name (the rollback's target).
    other_mode: &'a str,
    /// Whether the environment runs Redis on the host (templates test this, never the
    /// mode's spelling).
    self_hosted: bool,
    /// `redis` or `valkey`, and its name for people (`Redis`, `Valkey`).
    engine: &'a str,
    engine_title: &'a str,
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
    /// The `default` user keeps the shared password (consumers still moving).
    shared_password: bool,
    /// The `default` user's ACL rules (after `on` and the passwords) while it keeps the
    /// shared password: the role's `user default` line in redis.conf.j2 says the same.
    shared_acl: String,
    /// TLS on the network: on ElastiCache always, on the host unless opted out.
    tls: bool,
    /// The host's TLS: its certificate's lifetime, when the renewal starts and when
    /// the alarm fires (days left), and the plaintext port a migration keeps.
    tls_cert_days: u32,
    tls_renew_days: u32,
    tls_alert_days: u32,
    plaintext_port: Option<u16>,
    /// The SSM parameter the host publishes its CA certificate(s) to.
    tls_ca_parameter: String,
    /// Each consumer's own Redis user in this environment.
    users: Vec<UserView<'a>>,
}

/// A consumer's own Redis user (ACL user on the host, `aws_elasticache_user` on
/// ElastiCache): its name, its secret and its ACL rules.
#[derive(Serialize)]
struct UserView<'a> {
    name: &'a str,
    /// Terraform label: the name with `_` for `-`.
    label: String,
    secret_name: String,
    keys: &'a [String],
    access: &'a str,
    /// ACL rules after `on` and the passwords.
    acl: String,
    /// The same rules one by one (the group_vars fold them one a line: no line too long).
    acl_rules: Vec<String>,
}

/// Days left on the host's certificate when its renewal starts: a third of its lifetime,
/// at least 2 (the renewal job runs daily).
pub fn tls_renew_days(cert_days: u32) -> u32 {
    (cert_days / 3).max(2)
}

/// The shared password's rules (the application user's before each consumer had its
/// own): every key and channel, every command but administration and the dangerous ones
/// (`+info` for clients' ready checks), no script or function management, and the
/// blueprint's blocked commands.
pub fn shared_acl(blocked: &[String]) -> String {
    let mut rules: Vec<String> = [
        "~*",
        "&*",
        "+@all",
        "-@admin",
        "-@dangerous",
        "+info",
        "-script|flush",
        "-script|kill",
        "-script|debug",
        "-function|flush",
        "-function|delete",
        "-function|restore",
        "-function|kill",
    ]
    .map(String::from)
    .to_vec();
    rules.extend(blocked.iter().map(|c| format!("-{}", c.to_lowercase())));
    rules.join(" ")
}

/// Days left on the certificate below which the alarm fires: a quarter of the renewal
/// window of daily attempts has failed (at least 1).
pub fn tls_alert_days(cert_days: u32) -> u32 {
    (tls_renew_days(cert_days) * 3 / 4).max(1)
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

/// Consumers that share one Terraform reference (a security group or an IAM role): one
/// resource serves them all, named after the first. Two rules with the same source on
/// one security group are a duplicate AWS refuses, and two policies with the same name
/// on one role overwrite each other.
#[derive(Serialize)]
struct SharedRef<'a> {
    /// Terraform resource label: the first consumer's name with `_` for `-`.
    label: String,
    /// Names of the consumers behind it, in blueprint order.
    names: Vec<&'a str>,
    /// `consumer a` or `consumers a, b`, for descriptions.
    who: String,
    /// The Terraform reference.
    reference: &'a str,
}

fn group_consumers<'a>(
    consumers: &'a [crate::model::Consumer],
    key: impl Fn(&'a crate::model::Consumer) -> &'a str,
) -> Vec<SharedRef<'a>> {
    let mut groups: Vec<SharedRef<'a>> = Vec::new();
    for c in consumers {
        let reference = key(c);
        match groups.iter_mut().find(|g| g.reference == reference) {
            Some(g) => g.names.push(&c.name),
            None => groups.push(SharedRef {
                label: c.name.replace('-', "_"),
                names: vec![&c.name],
                who: String::new(),
                reference,
            }),
        }
    }
    for g in &mut groups {
        let noun = if g.names.len() > 1 {
            "consumers"
        } else {
            "consumer"
        };
        g.who = format!("{noun} {}", g.names.join(", "));
    }
    groups
}

/// Terraform expressions that depend on which placements the blueprint declares, built
/// here so that templates never assemble references from strings.
#[derive(Serialize)]
struct Expressions {
    /// Where clients find Redis in the environment's mode.
    endpoint: String,
    /// The security group in front of Redis on the host.
    host_security_group: String,
    /// The security group in front of ElastiCache (when placed).
    cache_security_group: Option<String>,
    /// The replication group's id (when placed).
    cache_group_id: Option<String>,
    /// The password secret's ARN.
    secret_arn: String,
    /// The map of each consumer's own secret ARN (index it with the consumer's name).
    user_secret_arns: String,
    /// The TLS CA parameter's ARN (null unless self-hosted with TLS).
    ca_parameter_arn: String,
    /// The AWS account and partition, from the host's role (no API call at plan time).
    account_id: String,
    partition: String,
    /// `-target` addresses that bring up the self-hosted side without touching the
    /// ElastiCache side, and the other way round: the module plus the root's consumer
    /// rules of that side.
    host_targets: Vec<String>,
    cache_targets: Vec<String>,
}

fn expressions(model: &Model) -> Expressions {
    let host = format!("module.{}", model.host.terraform_module);
    let cache = model
        .elasticache
        .as_ref()
        .map(|e| format!("module.{}", e.terraform_module));
    let groups = group_consumers(&model.consumers, |c| &c.security_group);
    let targets = |module: &str, prefix: &str| {
        let mut t = vec![module.to_string()];
        t.extend(
            groups
                .iter()
                .map(|g| format!("aws_vpc_security_group_ingress_rule.{prefix}_{}", g.label)),
        );
        t
    };
    // The side's alarms and the dashboard (which then shows the new side) belong to the
    // targeted apply too: the watch window is when they matter.
    let with_monitoring = |mut t: Vec<String>, alarms: &str| {
        t.push(format!("aws_cloudwatch_metric_alarm.{alarms}"));
        t.push("aws_cloudwatch_dashboard.redis".to_string());
        t
    };
    Expressions {
        host_targets: with_monitoring(
            {
                let mut t = targets(&host, "redis_from");
                t.extend(groups.iter().map(|g| {
                    format!(
                        "aws_vpc_security_group_ingress_rule.redis_plaintext_from_{}",
                        g.label
                    )
                }));
                t
            },
            "redis_host",
        ),
        cache_targets: cache
            .as_deref()
            .map(|c| with_monitoring(targets(c, "redis_cache_from"), "redis_cache"))
            .unwrap_or_default(),
        endpoint: match &cache {
            Some(c) => format!(
                "var.redis.mode == \"elasticache\" ? {c}.redis_endpoint : {host}.redis_endpoint"
            ),
            None => format!("{host}.redis_endpoint"),
        },
        host_security_group: format!("{host}.redis_security_group_id"),
        cache_security_group: cache
            .as_ref()
            .map(|c| format!("{c}.redis_security_group_id")),
        cache_group_id: cache.map(|c| format!("{c}.redis_replication_group_id")),
        secret_arn: format!("{host}.redis_password_secret_arn"),
        user_secret_arns: format!("{host}.redis_user_secret_arns"),
        ca_parameter_arn: format!("{host}.redis_tls_ca_parameter_arn"),
        account_id: format!("{host}.redis_account_id"),
        partition: format!("{host}.redis_partition"),
    }
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
        tf => Value::from(Serde(expressions(model))),
        consumer_security_groups => Value::from(Serde(group_consumers(&model.consumers, |c| &c.security_group))),
        consumer_roles => Value::from(Serde(group_consumers(&model.consumers, |c| &c.iam_role))),
        kms_skip => kms_skip(model),
        ssm_ca_skip => SSM_CA_SKIP,
        elasticache_skips => elasticache_skips(model),
        consumers => Value::from(Serde(&model.consumers)),
        cost_table => crate::cost::table(model),
    }
}

/// Context for one environment's files.
/// Context for one environment's files: the environment over the shared `base` (built
/// once per render, so that per-environment files cost O(1) each).
pub fn env_view(base: &Value, model: &Model, env: &Env) -> Value {
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
            notify: &env.monitoring.notify.value,
            sns_kms_key_arn: env
                .monitoring
                .sns_kms_key_arn
                .as_ref()
                .map(|k| k.value.as_str()),
            latency_alert_usec: env.monitoring.latency_alert_usec.value,
            hit_rate_alert_percent: env.monitoring.hit_rate_alert_percent.value,
            cpu_alert_percent: env.monitoring.cpu_alert_percent.value,
            connections_alert: env.monitoring.connections_alert.value,
        },
        backup: env.backup.as_ref().map(|b| BackupView {
            bucket: b.bucket.as_ref().map(|v| v.value.as_str()),
            interval_hours: b.interval_hours.value,
            retention_days: b.retention_days.value,
            max_age_hours: b.max_age_hours.value,
            generated_prefix: format!(
                "{}-{}{}",
                model.name,
                env.name,
                crate::rules::GENERATED_BUCKET_INFIX
            ),
        }),
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
        other_mode: match env.mode.value {
            Mode::SelfHosted => Mode::ElastiCache.as_str(),
            Mode::ElastiCache => Mode::SelfHosted.as_str(),
        },
        self_hosted: env.mode.value == Mode::SelfHosted,
        engine: r.engine.value.as_str(),
        engine_title: r.engine.value.title(),
        version: &r.version.value,
        elasticache: env.elasticache.as_ref().map(|e| ElastiCacheView {
            node_type: &env.sizing.node_type.value,
            nodes: env.sizing.nodes.value,
            multi_az: e.multi_az.value,
            snapshot_retention_days: e.snapshot_retention_days.value,
            engine: &e.engine,
            engine_version: &e.engine_version,
            parameter_family: &e.parameter_family,
            maintenance_window: &e.maintenance_window.value,
            snapshot_window: &e.snapshot_window.value,
            auto_minor_version_upgrade: e.auto_minor_version_upgrade.value,
            apply_immediately: e.apply_immediately.value,
            final_snapshot: e.final_snapshot.value,
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
        maxmemory_policy: r.maxmemory_policy.value.as_str(),
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
        appendfsync: r.appendfsync.value.as_str(),
        blocked_commands: &r.blocked_commands.value,
        shared_password: r.shared_password.value,
        shared_acl: shared_acl(&r.blocked_commands.value),
        tls: r.tls_enabled.value || env.mode.value == Mode::ElastiCache,
        tls_cert_days: r.tls_cert_days.value,
        tls_renew_days: tls_renew_days(r.tls_cert_days.value),
        tls_alert_days: tls_alert_days(r.tls_cert_days.value),
        plaintext_port: r
            .plaintext_port
            .as_ref()
            .filter(|_| r.tls_enabled.value)
            .map(|p| p.value),
        tls_ca_parameter: format!("/{}/{}/redis-tls-ca", model.name, env.name),
        users: model
            .consumers
            .iter()
            .map(|c| UserView {
                name: &c.name,
                label: c.name.replace('-', "_"),
                secret_name: format!("{}/{}", r.secret_name.value, c.name),
                keys: &c.keys,
                access: c.access,
                acl: c.acl_rules(&r.blocked_commands.value),
                acl_rules: c
                    .acl_rules(&r.blocked_commands.value)
                    .split(' ')
                    .map(String::from)
                    .collect(),
            })
            .collect(),
    };
    minijinja::context! {
        env => Value::from(Serde(view)),
        ..base.clone()
    }
}
