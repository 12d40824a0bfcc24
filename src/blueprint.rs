//! The blueprint as written: serde types that mirror the YAML file.
//!
//! Every field is optional and carries its source location ([`Sp`]), because the same
//! types describe two layers: the top-level blueprint and each environment's overrides.
//! [`crate::model`] resolves the layers into concrete values per environment;
//! [`crate::validate`] uses the locations to point at the line that set a bad value.
//! Unknown keys are rejected everywhere (`deny_unknown_fields`).
//!
//! The same types, through `schemars`, give the blueprint's JSON Schema (`infragen
//! schema`): the doc comments below are its descriptions, so they are written for the
//! people who edit blueprints.

use crate::rules;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A value as read from the blueprint, with the place it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    /// Where the value stands in the file.
    pub referenced: Location,
}

impl<T> Sp<T> {
    pub fn new(value: T, referenced: Location) -> Self {
        Sp { value, referenced }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<T>::deserialize(d)?;
        Ok(Sp {
            value: s.value,
            referenced: s.referenced,
        })
    }
}

/// A whole number written as one: a plain decimal (or `0x` hexadecimal) scalar. A quoted
/// `"6379"`, `6_379` or `0755` is refused: the JSON Schema, YAML 1.1 readers and YAML
/// 1.2 readers disagree on what they are, and the blueprint must mean one thing to all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Int, E> {
                i64::try_from(v)
                    .map(Int)
                    .map_err(|_| E::custom("expected a whole number, not one this large"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Int, E> {
                Err(E::custom(format!(
                    "expected a whole number, not the text `{}`: write the digits without quotes, underscores or a leading zero",
                    crate::diag::shorten(v, 40)
                )))
            }
        }
        // Through the scalar's own type: a quoted or ambiguous spelling arrives as text.
        d.deserialize_any(V)
    }
}

impl JsonSchema for Int {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        i64::schema_name()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        i64::json_schema(generator)
    }
}

/// In the schema a located value is just its value.
impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// An infragen blueprint: one typed source of truth for Redis self-hosted on the
/// Asterisk EC2 host (or on ElastiCache), compiled by `infragen gen` into Terraform,
/// Ansible and docs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "infragen blueprint")]
pub struct Blueprint {
    /// Name of the deployment: lower-case letters, digits and `-`; used in resource
    /// names, descriptions, tags and the default secret name.
    #[schemars(regex(pattern = rules::NAME_PATTERN))]
    pub name: Option<Sp<String>>,
    pub aws: Option<AwsLayer>,
    pub host: Option<HostLayer>,
    pub elasticache: Option<ElastiCacheLayer>,
    /// Who uses Redis (the Lambda functions): each gets an ingress rule from its
    /// security group and may read the password secret. The same in every environment.
    pub consumers: Option<Sp<Vec<Consumer>>>,
    pub monitoring: Option<MonitoringLayer>,
    pub backup: Option<BackupLayer>,
    pub redis: Option<RedisLayer>,
    /// Environments in the order they are written; each may override any field above
    /// (mappings merge field by field, values and lists replace).
    pub environments: Option<Sp<Ordered<Layer>>>,
}

impl Blueprint {
    /// Splits the file into its base layer and its environments.
    pub fn into_layers(self) -> Layers {
        Layers {
            name: self.name,
            base: Layer {
                aws: self.aws,
                host: self.host,
                elasticache: self.elasticache,
                consumers: self.consumers,
                monitoring: self.monitoring,
                backup: self.backup,
                redis: self.redis,
            },
            environments: self.environments,
        }
    }
}

/// The blueprint split into the layers that [`crate::validate`] resolves.
pub struct Layers {
    pub name: Option<Sp<String>>,
    pub base: Layer,
    pub environments: Option<Sp<Ordered<Layer>>>,
}

/// An environment's overrides: any field of the top level except `name`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub aws: Option<AwsLayer>,
    pub host: Option<HostLayer>,
    pub elasticache: Option<ElastiCacheLayer>,
    /// Who uses Redis; must be the same in every environment.
    pub consumers: Option<Sp<Vec<Consumer>>>,
    pub monitoring: Option<MonitoringLayer>,
    pub backup: Option<BackupLayer>,
    pub redis: Option<RedisLayer>,
}

/// The AWS account's region and network.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsLayer {
    /// AWS region, e.g. `us-east-1`.
    pub region: Option<Sp<String>>,
    /// The VPC's IPv4 CIDR (/16 to /28); `vpc` in `redis.allowed_sources` means it.
    pub vpc_cidr: Option<Sp<String>>,
}

/// The existing Asterisk host, as the infra repo's Terraform and Ansible know it.
/// The references must be the same in every environment (module code is shared).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostLayer {
    /// The module directory under terraform/modules/ that declares the host, and the
    /// name of its module call in the root module, e.g. `compute`.
    pub terraform_module: Option<Sp<String>>,
    /// The host's `aws_instance` resource address in that module.
    pub instance: Option<Sp<String>>,
    /// The host's `aws_security_group` resource address in that module.
    pub security_group: Option<Sp<String>>,
    /// The host's `aws_iam_role` resource address in that module.
    pub iam_role: Option<Sp<String>>,
    /// The Ansible inventory group of the Asterisk hosts.
    pub ansible_group: Option<Sp<String>>,
    /// EC2 instance type of the host: its RAM must hold Redis's worst case
    /// (2 x maxmemory + 128 MiB) plus `asterisk_reserve`. Required when self-hosted.
    pub instance_type: Option<Sp<String>>,
    /// Memory kept free for Asterisk and the OS, in Redis units (default `1gb`).
    pub asterisk_reserve: Option<Sp<String>>,
    /// Write `vm.overcommit_memory = 1`, which Redis's forks need (default true).
    pub overcommit_memory: Option<Sp<bool>>,
    /// Turn transparent huge pages off for Redis with `disable-thp yes` (default true).
    pub disable_thp: Option<Sp<bool>>,
}

/// Who uses Redis: a Lambda function (or any client) with its security group and role.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    /// A short name: lower-case letters, digits and `-`.
    pub name: Sp<String>,
    /// Terraform reference, valid in the root module, to the consumer's security
    /// group id, e.g. `module.lambda.dialer_security_group_id`.
    pub security_group: Sp<String>,
    /// Terraform reference, valid in the root module, to the consumer's IAM role name,
    /// e.g. `module.lambda.dialer_role_name`.
    pub iam_role: Sp<String>,
    /// The keys its own Redis user may touch: glob patterns such as `campaign:*`
    /// (default `["*"]`, every key).
    pub keys: Option<Sp<Vec<Sp<String>>>>,
    /// `read_write` (read and write commands on its keys) or `read_only` (default
    /// `read_write`). Never administration or dangerous commands.
    #[schemars(extend("enum" = rules::ConsumerAccess::NAMES))]
    pub access: Option<Sp<String>>,
}

/// Alarms and the metrics they read.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringLayer {
    /// CloudWatch namespace of the host's metrics (default `Infragen/Redis`).
    pub namespace: Option<Sp<String>>,
    /// Alarm when used memory reaches this percentage of maxmemory (default 80).
    #[schemars(range(min = rules::MEMORY_ALERT_PERCENT.min, max = rules::MEMORY_ALERT_PERCENT.max))]
    pub memory_alert_percent: Option<Sp<Int>>,
    /// Publisher interval and alarm period, a multiple of 60 seconds (default 60).
    #[schemars(range(min = rules::INTERVAL_SECONDS.min, max = rules::INTERVAL_SECONDS.max), extend("multipleOf" = rules::INTERVAL_SECONDS.step))]
    pub interval_seconds: Option<Sp<Int>>,
    /// An existing SNS topic for notifications; without it one is created.
    pub sns_topic_arn: Option<Sp<String>>,
    /// Who gets the alarms: email addresses or `https://` endpoints, each subscribed to
    /// the alarm topic (an email subscription must be confirmed from the mail AWS
    /// sends). Required unless `sns_topic_arn` names a topic with its own subscribers.
    pub notify: Option<Sp<Vec<Sp<String>>>>,
    /// A customer KMS key for the topic infragen creates; its key policy must let
    /// `cloudwatch.amazonaws.com` use it (`kms:Decrypt`, `kms:GenerateDataKey*`). Default:
    /// a key infragen creates with that policy (the AWS-managed `alias/aws/sns` cannot
    /// be used by CloudWatch alarms).
    pub sns_kms_key_arn: Option<Sp<String>>,
    /// Alarm when the average command latency over a period exceeds this, in
    /// microseconds (default 1000).
    #[schemars(range(min = rules::LATENCY_ALERT_USEC.min, max = rules::LATENCY_ALERT_USEC.max))]
    pub latency_alert_usec: Option<Sp<Int>>,
    /// Alarm when the cache hit rate stays below this percentage; 0 turns the alarm off
    /// (default 50).
    #[schemars(range(min = rules::HIT_RATE_ALERT_PERCENT.min, max = rules::HIT_RATE_ALERT_PERCENT.max))]
    pub hit_rate_alert_percent: Option<Sp<Int>>,
    /// ElastiCache: alarm when the engine's CPU reaches this percentage (default 90).
    #[schemars(range(min = rules::CPU_ALERT_PERCENT.min, max = rules::CPU_ALERT_PERCENT.max))]
    pub cpu_alert_percent: Option<Sp<Int>>,
    /// Alarm when this many clients are connected (default 5000).
    #[schemars(range(min = rules::CONNECTIONS_ALERT.min, max = rules::CONNECTIONS_ALERT.max))]
    pub connections_alert: Option<Sp<Int>>,
}

/// Off-host backups of a self-hosted Redis (ElastiCache keeps its own snapshots): a
/// systemd timer on the host takes a `BGSAVE` and copies the RDB file to S3.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupLayer {
    /// Take backups (default true).
    pub enabled: Option<Sp<bool>>,
    /// An existing S3 bucket for the backups. Default: a bucket infragen creates,
    /// `<name>-<env>-redis-backups-<account id>`, versioned, encrypted, with public
    /// access blocked and expiry after `retention_days`.
    pub bucket: Option<Sp<String>>,
    /// Hours between backups (default 24).
    #[schemars(range(min = rules::BACKUP_INTERVAL_HOURS.min, max = rules::BACKUP_INTERVAL_HOURS.max))]
    pub interval_hours: Option<Sp<Int>>,
    /// Days a backup is kept in the bucket infragen creates (default 14).
    #[schemars(range(min = rules::BACKUP_RETENTION_DAYS.min, max = rules::BACKUP_RETENTION_DAYS.max))]
    pub retention_days: Option<Sp<Int>>,
    /// Alarm when the newest backup is older than this many hours (default
    /// `interval_hours` + 2).
    #[schemars(range(min = rules::BACKUP_MAX_AGE_HOURS.min, max = rules::BACKUP_MAX_AGE_HOURS.max))]
    pub max_age_hours: Option<Sp<Int>>,
}

/// Where Redis runs when an environment sets `redis.mode: elasticache`, and the node
/// type the cost report compares against.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElastiCacheLayer {
    /// The module that owns ElastiCache (default `data`).
    pub terraform_module: Option<Sp<String>>,
    /// Terraform reference in that module to the VPC id, e.g. `var.vpc_id`.
    pub vpc_id: Option<Sp<String>>,
    /// Terraform reference in that module to the private subnet ids.
    pub subnet_ids: Option<Sp<String>>,
    /// Node type; its usable memory (75%) must hold redis.memory.max (default
    /// `cache.t3.small`).
    pub node_type: Option<Sp<String>>,
    /// Nodes: a primary and up to 5 replicas (default 1).
    #[schemars(range(min = rules::NODES.min, max = rules::NODES.max))]
    pub nodes: Option<Sp<Int>>,
    /// Multi-AZ with automatic failover: needs 2+ nodes, not a t1 node.
    pub multi_az: Option<Sp<bool>>,
    /// Days of automatic snapshots, 0 to 35 (default 1).
    #[schemars(range(min = rules::SNAPSHOT_RETENTION_DAYS.min, max = rules::SNAPSHOT_RETENTION_DAYS.max))]
    pub snapshot_retention_days: Option<Sp<Int>>,
    /// Overrides the price table's on-demand USD per node-hour in the cost report.
    pub hourly_price_usd: Option<Sp<f64>>,
    /// Weekly maintenance window in UTC, `ddd:hh:mm-ddd:hh:mm`, at least 60 minutes
    /// (default `sun:05:00-sun:06:00`).
    #[schemars(regex(pattern = rules::WEEKLY_WINDOW_PATTERN))]
    pub maintenance_window: Option<Sp<String>>,
    /// Daily snapshot window in UTC, `hh:mm-hh:mm`, at least 60 minutes, not
    /// overlapping the maintenance window (default `03:00-04:00`).
    #[schemars(regex(pattern = rules::DAILY_WINDOW_PATTERN))]
    pub snapshot_window: Option<Sp<String>>,
    /// Apply Redis minor-version upgrades in the maintenance window (default true).
    pub auto_minor_version_upgrade: Option<Sp<bool>>,
    /// Apply a change to the replication group (node type, node count, engine version,
    /// parameters) as soon as Terraform makes it, rather than in the next maintenance
    /// window (default false: a node replacement then happens off-peak, not during the
    /// day's calls; until then the plan shows the change as still to make).
    pub apply_immediately: Option<Sp<bool>>,
    /// Take a snapshot when the replication group is deleted, e.g. when the environment
    /// moves back to the host (default true). Fixed when the group is created.
    pub final_snapshot: Option<Sp<bool>>,
}

/// Redis itself.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisLayer {
    /// Where Redis runs: on the Asterisk host or on ElastiCache (default
    /// `self_hosted`). Flip it per environment to cut over or roll back.
    #[schemars(extend("enum" = rules::Mode::NAMES))]
    pub mode: Option<Sp<String>>,
    /// The server: `redis` or `valkey` (default `redis`). Switching a running host
    /// carries the data over; on ElastiCache the replication group is modified in place.
    #[schemars(extend("enum" = rules::Engine::NAMES))]
    pub engine: Option<Sp<String>>,
    /// The engine's version, quoted: Redis 7.x or 8.x, Valkey 7.2, 8.0 or 8.1 (default
    /// "7.0" for Redis, "8.0" for Valkey). On the host the oldest accepted release; on
    /// ElastiCache the engine version.
    #[schemars(regex(pattern = rules::VERSION_PATTERN))]
    pub version: Option<Sp<String>>,
    /// TCP port, 1024 to 65535 (default 6379).
    #[schemars(range(min = rules::PORT.min, max = rules::PORT.max))]
    pub port: Option<Sp<Int>>,
    /// Addresses Redis listens on (default [0.0.0.0]; the security group filters).
    pub bind: Option<Sp<Vec<Sp<String>>>>,
    /// CIDRs that may reach the port besides the consumers: `vpc` or a CIDR, never
    /// 0.0.0.0/0 or ::/0 (default [vpc]).
    pub allowed_sources: Option<Sp<Vec<Sp<String>>>>,
    /// Commands refused to every client (default [FLUSHALL, FLUSHDB]).
    pub blocked_commands: Option<Sp<Vec<Sp<String>>>>,
    pub auth: Option<AuthLayer>,
    pub tls: Option<TlsLayer>,
    pub memory: Option<MemoryLayer>,
    pub persistence: Option<PersistenceLayer>,
}

/// Encryption in transit. ElastiCache always encrypts (AUTH and users require it); on
/// the host the role keeps a private CA and the server's certificate, renewed before
/// expiry, and publishes the CA certificate for consumers to verify the server with.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsLayer {
    /// Serve TLS on `redis.port` and close the plaintext port to the network (default
    /// true). false: plaintext on the network (the opt-out; say why in the blueprint).
    pub enabled: Option<Sp<bool>>,
    /// Days the host's server certificate is valid, 7 to 825 (default 90); it is
    /// renewed when a third of that is left.
    #[schemars(range(min = rules::TLS_CERT_DAYS.min, max = rules::TLS_CERT_DAYS.max))]
    pub cert_days: Option<Sp<Int>>,
    /// A second, plaintext port for consumers that have not moved to TLS yet (the
    /// migration of a running deployment); remove it once they have.
    #[schemars(range(min = rules::PORT.min, max = rules::PORT.max))]
    pub plaintext_port: Option<Sp<Int>>,
}

/// The AUTH password and its secret.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthLayer {
    /// Length of the generated password, 32 to 128 (default 32).
    #[schemars(range(min = rules::PASSWORD_LENGTH.min, max = rules::PASSWORD_LENGTH.max))]
    pub password_length: Option<Sp<Int>>,
    /// Add the specials `!&#$^<>-` (safe in redis.conf and as an ElastiCache AUTH
    /// token) to letters and digits (default false).
    pub password_specials: Option<Sp<bool>>,
    /// Secrets Manager secret name (default `<name>/<env>/redis-password`).
    pub secret_name: Option<Sp<String>>,
    /// Days a deleted secret stays recoverable: 0, or 7 to 30 (default 7).
    #[schemars(
        range(min = rules::SECRET_RECOVERY_DAYS.min, max = rules::SECRET_RECOVERY_DAYS.max),
        extend("not" = rules::SECRET_RECOVERY_DAYS.gap_schema())
    )]
    pub secret_recovery_days: Option<Sp<Int>>,
    /// A customer KMS key for the secret (default: the AWS-managed key).
    pub kms_key_arn: Option<Sp<String>>,
    /// Keep the one password every consumer shared before each had its own user (the
    /// `default` user): true only while consumers move to their own credentials
    /// (default false: the `default` user is off).
    pub shared_password: Option<Sp<bool>>,
}

/// Memory limit and eviction.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryLayer {
    /// maxmemory in Redis units: b, k (1000), kb (1024), m, mb, g, gb (default 512mb).
    #[schemars(regex(pattern = rules::MEMORY_PATTERN))]
    pub max: Option<Sp<String>>,
    /// Eviction policy (default allkeys-lru).
    #[schemars(extend("enum" = rules::EvictionPolicy::NAMES))]
    pub policy: Option<Sp<String>>,
}

/// RDB snapshots and the append-only file.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersistenceLayer {
    /// RDB snapshot rules; [] turns RDB off (default Redis 7's 3600 1, 300 100, 60 10000).
    pub rdb_snapshots: Option<Sp<Vec<SnapshotRule>>>,
    /// Append-only file (default true).
    pub aof: Option<Sp<bool>>,
    /// AOF fsync policy (default everysec).
    #[schemars(extend("enum" = rules::AppendFsync::NAMES))]
    pub appendfsync: Option<Sp<String>>,
}

/// `save <seconds> <changes>`: snapshot when at least `min_changes` keys changed within
/// `after_seconds`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRule {
    #[schemars(range(min = rules::SAVE_NUMBER.min, max = rules::SAVE_NUMBER.max))]
    pub after_seconds: Sp<Int>,
    #[schemars(range(min = rules::SAVE_NUMBER.min, max = rules::SAVE_NUMBER.max))]
    pub min_changes: Sp<Int>,
}

/// A YAML mapping kept in the order it was written, with located keys.
#[derive(Debug)]
pub struct Ordered<V>(pub Vec<(Sp<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of environment names to overrides")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<Sp<String>, V>()? {
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(OrderedVisitor(PhantomData))
    }
}

/// Environment names (lower-case, safe in paths) to their overrides.
impl<V: JsonSchema> JsonSchema for Ordered<V> {
    fn schema_name() -> Cow<'static, str> {
        format!("Environments_{}", V::schema_name()).into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "minProperties": 1,
            "propertyNames": { "pattern": rules::ENV_NAME_PATTERN },
            "additionalProperties": generator.subschema_for::<V>(),
        })
    }
}

/// The blueprint's JSON Schema (draft 2020-12), pretty-printed.
pub fn json_schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<Blueprint>();
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
