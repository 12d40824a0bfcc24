//! The resolved model: one fully typed, validated [`Env`] per environment.
//!
//! [`crate::validate`] builds it from the blueprint's layers; [`crate::render`] reads
//! only this model, never the raw YAML. Every value remembers where it came from
//! ([`Val`]), so later stages (and `explain`) can point at the line that set it.

use crate::diag::Pos;
use crate::field::Field;
pub use crate::rules::{AppendFsync, Engine, EvictionPolicy, Mode};
use serde_json::{Value as Json, json};

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// infragen's built-in default.
    Default,
    /// The blueprint's top level.
    Base(Pos),
    /// An environment's override.
    Env(Pos),
}

/// A resolved value with its origin and data path (`redis.port`).
#[derive(Debug, Clone)]
pub struct Val<T> {
    pub value: T,
    pub origin: Origin,
    /// The field's path without the environment prefix, e.g. `redis.memory.max`.
    pub field: Field,
    /// The environment the value was resolved for.
    pub env: String,
}

impl<T> Val<T> {
    pub fn pos(&self) -> Option<Pos> {
        match self.origin {
            Origin::Default => None,
            Origin::Base(p) | Origin::Env(p) => Some(p),
        }
    }

    /// The data path as written in the file: `environments.dev.redis.port` for an
    /// override, `redis.port` for a top-level value or a default.
    pub fn path(&self) -> String {
        match self.origin {
            Origin::Env(_) => format!("environments.{}.{}", self.env, self.field),
            _ => self.field.path().to_string(),
        }
    }

    pub fn map<U>(&self, f: impl FnOnce(&T) -> U) -> Val<U> {
        Val {
            value: f(&self.value),
            origin: self.origin.clone(),
            field: self.field,
            env: self.env.clone(),
        }
    }
}

/// A memory size as Redis reads it (`512mb`), with its byte value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemSize {
    /// Normalised spelling written to redis.conf (lower case, no spaces).
    pub text: String,
    pub bytes: u64,
}

impl MemSize {
    /// Parses a size the way Redis's `memtoull` does: a whole number with an optional
    /// unit `b`, `k` (1000), `kb` (1024), `m`, `mb`, `g`, `gb`; case-insensitive.
    pub fn parse(s: &str) -> Option<MemSize> {
        let text = s.trim().to_ascii_lowercase();
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (num, unit) = text.split_at(digits_end);
        if num.is_empty() {
            return None;
        }
        let n: u64 = num.parse().ok()?;
        let mul: u64 = match unit {
            "" | "b" => 1,
            "k" => 1000,
            "kb" => 1024,
            "m" => 1000 * 1000,
            "mb" => 1024 * 1024,
            "g" => 1000 * 1000 * 1000,
            "gb" => 1024 * 1024 * 1024,
            _ => return None,
        };
        Some(MemSize {
            bytes: n.checked_mul(mul)?,
            text,
        })
    }
}

/// An RDB snapshot rule: `save <after_seconds> <min_changes>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub after_seconds: u64,
    pub min_changes: u64,
}

/// The existing Asterisk host, shared by every environment (module code is shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Directory under `terraform/modules/` and name of the module call in the root.
    pub terraform_module: String,
    pub instance: String,
    pub security_group: String,
    pub iam_role: String,
    pub ansible_group: String,
}

/// The ElastiCache placement's module code references, shared by every environment in
/// ElastiCache mode (module code is shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElastiCacheShared {
    /// Directory under `terraform/modules/` (and module call name) that owns ElastiCache.
    pub terraform_module: String,
    /// Terraform expression, in that module, for the VPC id.
    pub vpc_id: String,
    /// Terraform expression, in that module, for the list of private subnet ids.
    pub subnet_ids: String,
}

/// ElastiCache node type and count of an environment: what it runs on in ElastiCache
/// mode, and what the cost report compares against in self-hosted mode.
#[derive(Debug, Clone)]
pub struct CacheSizing {
    pub node_type: Val<String>,
    pub nodes: Val<u32>,
    /// On-demand USD per node-hour: the blueprint's override or the price table's.
    pub hourly_price_usd: Val<f64>,
}

impl CacheSizing {
    pub fn hourly_usd(&self) -> f64 {
        self.hourly_price_usd.value
    }
}

/// A client of Redis (a Lambda function), referenced from the root module.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Consumer {
    pub name: String,
    pub security_group: String,
    pub iam_role: String,
    /// The key patterns its own Redis user may touch (`["*"]` by default).
    pub keys: Vec<String>,
    /// `read_write` or `read_only`.
    pub access: &'static str,
}

impl Consumer {
    /// The ACL rules of its own user, after `reset on` and its passwords: its key
    /// patterns, no channels, and the commands of its access level, never
    /// administration (`@admin`) or dangerous ones (`@dangerous`: KEYS, FLUSHALL,
    /// MIGRATE, DEBUG, ...). The same string is the ElastiCache user's access string.
    pub fn acl_rules(&self, blocked: &[String]) -> String {
        let mut rules: Vec<String> = self.keys.iter().map(|k| format!("~{k}")).collect();
        rules.push("resetchannels".into());
        rules.push("-@all".into());
        match self.access {
            "read_only" => rules.extend(["+@read", "+@connection"].map(String::from)),
            _ => rules.extend(
                [
                    "+@read",
                    "+@write",
                    "+@transaction",
                    "+@scripting",
                    "+@connection",
                ]
                .map(String::from),
            ),
        }
        // INFO is @dangerous (it shows the server), but clients' ready checks send it.
        rules.extend(
            [
                "-@admin",
                "-@dangerous",
                "+info",
                "-script|flush",
                "-script|kill",
                // A debugging session blocks the server (SYNC) or forks it (YES).
                "-script|debug",
                "-function",
                // SCAN and RANDOMKEY are not filtered by key patterns: they would show
                // every key's name.
                "-scan",
                "-randomkey",
            ]
            .map(String::from),
        );
        rules.extend(blocked.iter().map(|c| format!("-{}", c.to_lowercase())));
        rules.join(" ")
    }
}

/// Metrics and alarms of one environment.
#[derive(Debug, Clone)]
pub struct Monitoring {
    pub namespace: Val<String>,
    pub memory_alert_percent: Val<u32>,
    pub interval_seconds: Val<u32>,
    pub sns_topic_arn: Option<Val<String>>,
    /// Who gets the alarms, each with its SNS protocol.
    pub notify: Val<Vec<Subscription>>,
    pub sns_kms_key_arn: Option<Val<String>>,
    pub latency_alert_usec: Val<u32>,
    /// 0: no hit-rate alarm.
    pub hit_rate_alert_percent: Val<u32>,
    pub cpu_alert_percent: Val<u32>,
    pub connections_alert: Val<u32>,
}

/// An alarm subscription: SNS `email` or `https`, and the address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subscription {
    pub protocol: &'static str,
    pub endpoint: String,
}

/// Off-host backups: taken on a self-hosted environment; the bucket exists in both modes
/// while the blueprint enables them, so a mode flip never deletes the backups.
#[derive(Debug, Clone)]
pub struct Backup {
    /// The blueprint's bucket; `None`: the bucket infragen creates.
    pub bucket: Option<Val<String>>,
    pub interval_hours: Val<u32>,
    pub retention_days: Val<u32>,
    pub max_age_hours: Val<u32>,
}

/// How Redis shares the Asterisk host (self-hosted mode).
#[derive(Debug, Clone)]
pub struct Guard {
    pub instance_type: Val<String>,
    pub instance_bytes: u64,
    pub asterisk_reserve: Val<MemSize>,
    pub overcommit_memory: Val<bool>,
    pub disable_thp: Val<bool>,
    /// systemd `MemoryMax` of the Redis service: maxmemory x 2 (fork) + overhead.
    pub memory_max_bytes: u64,
}

/// ElastiCache settings for one environment in ElastiCache mode.
#[derive(Debug, Clone)]
pub struct ElastiCacheEnv {
    pub multi_az: Val<bool>,
    pub snapshot_retention_days: Val<u32>,
    /// ElastiCache's engine (`redis` or `valkey`), its version (`7.0`, `8.1`) and the
    /// parameter-group family of that version (`redis7`, `valkey8`).
    pub engine: String,
    pub engine_version: String,
    pub parameter_family: String,
    /// Weekly maintenance window, UTC (`sun:05:00-sun:06:00`).
    pub maintenance_window: Val<String>,
    /// Daily snapshot window, UTC (`03:00-04:00`).
    pub snapshot_window: Val<String>,
    pub auto_minor_version_upgrade: Val<bool>,
    /// Apply replication-group changes at once (else in the maintenance window).
    pub apply_immediately: Val<bool>,
    /// Snapshot the data when the replication group is deleted.
    pub final_snapshot: Val<bool>,
}

/// Everything about Redis for one environment.
#[derive(Debug, Clone)]
pub struct Redis {
    pub engine: Val<Engine>,
    pub version: Val<String>,
    pub port: Val<u16>,
    pub bind: Val<Vec<String>>,
    /// `allowed_sources` as written (`vpc` not expanded).
    pub allowed_sources: Val<Vec<String>>,
    /// Allowed IPv4 client CIDRs (`vpc` already expanded).
    pub allowed_ipv4: Vec<String>,
    /// Allowed IPv6 client CIDRs.
    pub allowed_ipv6: Vec<String>,
    /// Commands refused to every client (upper case).
    pub blocked_commands: Val<Vec<String>>,
    pub password_length: Val<u32>,
    pub password_specials: Val<bool>,
    pub secret_name: Val<String>,
    pub secret_recovery_days: Val<u32>,
    pub kms_key_arn: Option<Val<String>>,
    /// The `default` user keeps the shared password (a migration to per-consumer users).
    pub shared_password: Val<bool>,
    /// TLS on the host (ElastiCache always encrypts in transit).
    pub tls_enabled: Val<bool>,
    pub tls_cert_days: Val<u32>,
    /// A plaintext port beside the TLS one, while consumers move (TLS only).
    pub plaintext_port: Option<Val<u16>>,
    pub maxmemory: Val<MemSize>,
    pub maxmemory_policy: Val<EvictionPolicy>,
    pub snapshots: Val<Vec<Snapshot>>,
    pub aof: Val<bool>,
    pub appendfsync: Val<AppendFsync>,
}

/// One environment, fully resolved.
#[derive(Debug, Clone)]
pub struct Env {
    pub name: String,
    /// Where the environment is declared (its key under `environments`): what is found
    /// about a value it leaves to a default is reported there.
    pub at: crate::diag::Pos,
    pub mode: Val<Mode>,
    pub sizing: CacheSizing,
    /// Set when `mode` is ElastiCache.
    pub elasticache: Option<ElastiCacheEnv>,
    /// Set when `mode` is self-hosted.
    pub guard: Option<Guard>,
    /// Set when backups are on, in either mode (the timer and alarm only self-hosted).
    pub backup: Option<Backup>,
    pub monitoring: Monitoring,
    /// The consumers (validated to be the same in every environment; see [`Model::consumers`]).
    pub consumers: Vec<Consumer>,
    pub region: Val<String>,
    pub vpc_cidr: Val<String>,
    pub redis: Redis,
}

/// The validated blueprint: what every renderer reads.
#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    /// The blueprint path as given on the command line, written into each file's marker.
    pub source: String,
    pub host: Host,
    /// Set when the blueprint places ElastiCache (`elasticache.vpc_id` and
    /// `subnet_ids`), whether or not an environment runs on it now: the ElastiCache
    /// module's interface then exists in every mode, so the root module's wiring stays
    /// valid through every cut-over and rollback.
    pub elasticache: Option<ElastiCacheShared>,
    /// Clients granted network access and the password (same in every environment).
    pub consumers: Vec<Consumer>,
    /// Environments in blueprint order.
    pub envs: Vec<Env>,
    /// Where the `environments` mapping is, for what is found about them after
    /// validation (an output too large to read back).
    pub environments_at: Option<crate::diag::Pos>,
}

impl Model {
    /// True when some environment runs Redis in `mode`.
    pub fn uses(&self, mode: Mode) -> bool {
        self.envs.iter().any(|e| e.mode.value == mode)
    }
}

/// One resolved value, as infragen records it and as `explain` shows it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub field: Field,
    /// Where it came from; `None` for what is not one environment's own value (the
    /// name, the host, the consumers, the ElastiCache placement, whether backups are
    /// on), which `explain` does not list as the environment's.
    pub origin: Option<Origin>,
    /// As the recorded values (`infragen-values.json`) hold it.
    pub value: Json,
    /// As `explain` shows it (sizes with their bytes, sources with what they resolve to).
    pub shown: String,
}

fn list(v: &[String]) -> String {
    format!("[{}]", v.join(", "))
}

fn size(m: &MemSize) -> String {
    format!("{} ({} bytes)", m.text, m.bytes)
}

/// The list [`Model::resolved`] builds, one value at a time.
struct Values(Vec<Resolved>);

impl Values {
    /// An environment's own value: `record` as recorded, `show` as shown.
    fn val<T>(
        &mut self,
        v: &Val<T>,
        record: impl FnOnce(&T) -> Json,
        show: impl FnOnce(&T) -> String,
    ) {
        self.0.push(Resolved {
            field: v.field,
            origin: Some(v.origin.clone()),
            value: record(&v.value),
            shown: show(&v.value),
        });
    }

    /// A string value, recorded and shown as it is.
    fn text(&mut self, v: &Val<String>) {
        self.val(v, |s| json!(s), String::clone);
    }

    /// A value shared by every environment, or derived: no origin of its own.
    fn shared(&mut self, field: Field, value: Json) {
        let shown = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        self.0.push(Resolved {
            field,
            origin: None,
            value,
            shown,
        });
    }
}

impl Model {
    /// Every resolved value of `e`, in blueprint order: the one list the recorded values
    /// and `explain` are both made from. A field that does not apply to the
    /// environment's mode (ElastiCache's windows on a self-hosted one), or an optional
    /// field left unset, is absent.
    pub fn resolved(&self, e: &Env) -> Vec<Resolved> {
        let mut out = Values(Vec::new());
        out.shared(Field::Name, json!(self.name));
        out.text(&e.region);
        out.text(&e.vpc_cidr);
        let h = &self.host;
        for (field, value) in [
            (Field::HostTerraformModule, &h.terraform_module),
            (Field::HostInstance, &h.instance),
            (Field::HostSecurityGroup, &h.security_group),
            (Field::HostIamRole, &h.iam_role),
            (Field::HostAnsibleGroup, &h.ansible_group),
        ] {
            out.shared(field, json!(value));
        }
        if let Some(g) = &e.guard {
            out.text(&g.instance_type);
            out.val(&g.asterisk_reserve, |m| json!(m.text), size);
            out.val(&g.overcommit_memory, |b| json!(b), bool::to_string);
            out.val(&g.disable_thp, |b| json!(b), bool::to_string);
        }
        // `<name> sg=<security group> role=<role>`: one short string per consumer.
        let consumers: Vec<Json> = self
            .consumers
            .iter()
            .map(|c| {
                json!(format!(
                    "{} sg={} role={} keys={} access={}",
                    c.name,
                    c.security_group,
                    c.iam_role,
                    c.keys.join(","),
                    c.access
                ))
            })
            .collect();
        out.shared(Field::Consumers, Json::Array(consumers));
        let r = &e.redis;
        out.val(&e.mode, |m| json!(m.as_str()), |m| m.as_str().to_string());
        out.val(&r.engine, |e| json!(e.as_str()), |e| e.as_str().to_string());
        out.text(&r.version);
        out.val(&r.port, |p| json!(p), u16::to_string);
        out.val(&r.bind, |b| json!(b), |b| list(b));
        out.val(
            &r.allowed_sources,
            |s| json!(s),
            |s| {
                let mut all = r.allowed_ipv4.clone();
                all.extend(r.allowed_ipv6.iter().cloned());
                format!("{} -> {}", list(s), list(&all))
            },
        );
        out.val(&r.blocked_commands, |b| json!(b), |b| list(b));
        out.val(&r.password_length, |n| json!(n), u32::to_string);
        out.val(&r.password_specials, |b| json!(b), bool::to_string);
        out.text(&r.secret_name);
        out.val(&r.secret_recovery_days, |n| json!(n), u32::to_string);
        if let Some(k) = &r.kms_key_arn {
            out.text(k);
        }
        out.val(&r.shared_password, |b| json!(b), bool::to_string);
        out.val(&r.tls_enabled, |b| json!(b), bool::to_string);
        out.val(&r.tls_cert_days, |n| json!(n), u32::to_string);
        if let Some(p) = &r.plaintext_port {
            out.val(p, |p| json!(p), u16::to_string);
        }
        out.val(&r.maxmemory, |m| json!(m.text), size);
        out.val(
            &r.maxmemory_policy,
            |p| json!(p.as_str()),
            |p| p.as_str().to_string(),
        );
        let rules = |s: &[Snapshot]| -> Vec<String> {
            s.iter()
                .map(|s| format!("{} {}", s.after_seconds, s.min_changes))
                .collect()
        };
        out.val(
            &r.snapshots,
            |s| json!(rules(s)),
            |s| {
                if s.is_empty() {
                    "off".to_string()
                } else {
                    list(&rules(s))
                }
            },
        );
        out.val(&r.aof, |b| json!(b), bool::to_string);
        out.val(
            &r.appendfsync,
            |f| json!(f.as_str()),
            |f| f.as_str().to_string(),
        );
        if let Some(ec) = &self.elasticache {
            out.shared(Field::EcTerraformModule, json!(ec.terraform_module));
            out.shared(Field::EcVpcId, json!(ec.vpc_id));
            out.shared(Field::EcSubnetIds, json!(ec.subnet_ids));
        }
        out.text(&e.sizing.node_type);
        out.val(&e.sizing.nodes, |n| json!(n), u32::to_string);
        out.val(&e.sizing.hourly_price_usd, |p| json!(p), |p| format!("{p}"));
        if let Some(ec) = &e.elasticache {
            out.val(&ec.multi_az, |b| json!(b), bool::to_string);
            out.val(&ec.snapshot_retention_days, |n| json!(n), u32::to_string);
            out.text(&ec.maintenance_window);
            out.text(&ec.snapshot_window);
            out.val(
                &ec.auto_minor_version_upgrade,
                |b| json!(b),
                bool::to_string,
            );
            out.val(&ec.apply_immediately, |b| json!(b), bool::to_string);
            out.val(&ec.final_snapshot, |b| json!(b), bool::to_string);
        }
        let m = &e.monitoring;
        out.text(&m.namespace);
        out.val(&m.memory_alert_percent, |n| json!(n), u32::to_string);
        out.val(&m.interval_seconds, |n| json!(n), u32::to_string);
        if let Some(t) = &m.sns_topic_arn {
            out.text(t);
        }
        let endpoints =
            |n: &[Subscription]| -> Vec<String> { n.iter().map(|s| s.endpoint.clone()).collect() };
        out.val(&m.notify, |n| json!(endpoints(n)), |n| list(&endpoints(n)));
        if let Some(k) = &m.sns_kms_key_arn {
            out.text(k);
        }
        out.val(&m.latency_alert_usec, |n| json!(n), u32::to_string);
        out.val(&m.hit_rate_alert_percent, |n| json!(n), u32::to_string);
        out.val(&m.cpu_alert_percent, |n| json!(n), u32::to_string);
        out.val(&m.connections_alert, |n| json!(n), u32::to_string);
        // Backups exist only on the host: in ElastiCache mode its own snapshots serve.
        if e.mode.value == Mode::SelfHosted {
            out.shared(Field::BackupEnabled, json!(e.backup.is_some()));
            if let Some(b) = &e.backup {
                if let Some(bucket) = &b.bucket {
                    out.text(bucket);
                }
                out.val(&b.interval_hours, |n| json!(n), u32::to_string);
                out.val(&b.retention_days, |n| json!(n), u32::to_string);
                out.val(&b.max_age_hours, |n| json!(n), u32::to_string);
            }
        }
        out.0
    }
}

#[cfg(test)]
mod tests {
    use super::MemSize;

    #[test]
    fn memsize_units_follow_redis() {
        assert_eq!(MemSize::parse("512mb").unwrap().bytes, 536_870_912);
        assert_eq!(MemSize::parse("512M").unwrap().bytes, 512_000_000);
        assert_eq!(MemSize::parse("1gb").unwrap().bytes, 1 << 30);
        assert_eq!(MemSize::parse("1024").unwrap().bytes, 1024);
        assert_eq!(MemSize::parse("2kb").unwrap().bytes, 2048);
        assert!(MemSize::parse("512 mb").is_none());
        assert!(MemSize::parse("mb").is_none());
        assert!(MemSize::parse("1tb").is_none());
        assert!(MemSize::parse("99999999999999999999gb").is_none());
    }
}
