//! The blueprint as written: serde types that mirror the YAML file.
//!
//! Every field is optional and carries its source location ([`Spanned`]), because the
//! same types describe two layers: the top-level blueprint and each environment's
//! overrides. [`crate::model`] resolves the layers into concrete values per environment;
//! [`crate::validate`] uses the locations to point at the line that set a bad value.
//! Unknown keys are rejected everywhere (`deny_unknown_fields`).

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;
use std::marker::PhantomData;

/// A located value as read from the blueprint.
pub type Sp<T> = Spanned<T>;

/// The whole blueprint file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blueprint {
    /// Name of the deployment; used in resource names, descriptions and tags.
    pub name: Option<Sp<String>>,
    pub aws: Option<AwsLayer>,
    pub host: Option<HostLayer>,
    pub elasticache: Option<ElastiCacheLayer>,
    pub consumers: Option<Sp<Vec<Consumer>>>,
    pub monitoring: Option<MonitoringLayer>,
    pub redis: Option<RedisLayer>,
    /// Environments in the order they are written; each overrides any field of the base.
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

/// One layer of settings: the base blueprint or one environment's overrides.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub aws: Option<AwsLayer>,
    pub host: Option<HostLayer>,
    pub elasticache: Option<ElastiCacheLayer>,
    pub consumers: Option<Sp<Vec<Consumer>>>,
    pub monitoring: Option<MonitoringLayer>,
    pub redis: Option<RedisLayer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsLayer {
    pub region: Option<Sp<String>>,
    pub vpc_cidr: Option<Sp<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostLayer {
    pub terraform_module: Option<Sp<String>>,
    pub instance: Option<Sp<String>>,
    pub security_group: Option<Sp<String>>,
    pub iam_role: Option<Sp<String>>,
    pub ansible_group: Option<Sp<String>>,
    /// EC2 instance type of the host (its RAM bounds what Redis may use).
    pub instance_type: Option<Sp<String>>,
    /// Memory kept free for Asterisk and the OS, in Redis units (`1gb`).
    pub asterisk_reserve: Option<Sp<String>>,
    /// Kernel settings Redis's docs recommend; each can be switched off.
    pub overcommit_memory: Option<Sp<bool>>,
    pub disable_thp: Option<Sp<bool>>,
}

/// Who uses Redis: a Lambda function (or any client) with its security group and role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    pub name: Sp<String>,
    /// Terraform reference, in the root module, to the consumer's security group id.
    pub security_group: Sp<String>,
    /// Terraform reference, in the root module, to the consumer's IAM role name.
    pub iam_role: Sp<String>,
}

/// Alarms and the metrics they read.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringLayer {
    pub namespace: Option<Sp<String>>,
    pub memory_alert_percent: Option<Sp<i64>>,
    pub interval_seconds: Option<Sp<i64>>,
    /// An existing SNS topic for notifications; without it one is created.
    pub sns_topic_arn: Option<Sp<String>>,
}

/// Where Redis runs when an environment sets `redis.mode: elasticache`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElastiCacheLayer {
    pub terraform_module: Option<Sp<String>>,
    pub vpc_id: Option<Sp<String>>,
    pub subnet_ids: Option<Sp<String>>,
    pub node_type: Option<Sp<String>>,
    pub nodes: Option<Sp<i64>>,
    pub multi_az: Option<Sp<bool>>,
    pub snapshot_retention_days: Option<Sp<i64>>,
    /// Overrides the price table's on-demand hourly price of the node type (USD).
    pub hourly_price_usd: Option<Sp<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisLayer {
    pub mode: Option<Sp<String>>,
    pub version: Option<Sp<String>>,
    pub port: Option<Sp<i64>>,
    pub bind: Option<Sp<Vec<Sp<String>>>>,
    pub allowed_sources: Option<Sp<Vec<Sp<String>>>>,
    pub blocked_commands: Option<Sp<Vec<Sp<String>>>>,
    pub auth: Option<AuthLayer>,
    pub memory: Option<MemoryLayer>,
    pub persistence: Option<PersistenceLayer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthLayer {
    pub password_length: Option<Sp<i64>>,
    pub password_specials: Option<Sp<bool>>,
    pub secret_name: Option<Sp<String>>,
    pub secret_recovery_days: Option<Sp<i64>>,
    pub kms_key_arn: Option<Sp<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryLayer {
    pub max: Option<Sp<String>>,
    pub policy: Option<Sp<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistenceLayer {
    pub rdb_snapshots: Option<Sp<Vec<SnapshotRule>>>,
    pub aof: Option<Sp<bool>>,
    pub appendfsync: Option<Sp<String>>,
}

/// `save <seconds> <changes>`: snapshot when at least `changes` keys changed in `seconds`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRule {
    pub after_seconds: Sp<i64>,
    pub min_changes: Sp<i64>,
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
