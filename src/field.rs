//! Every blueprint field, named once.
//!
//! A field's data path (`redis.memory.max`) is written here and nowhere else: validation
//! resolves a value for a [`Field`], the model's values remember it (`Val::field`), and
//! `explain`, the recorded values (`infragen-values.json`) and the impact table all name
//! fields by it, so a misspelt field is a compile error, not a lookup that finds
//! nothing. A test keeps [`Field::ALL`] equal to the leaves of the blueprint's JSON
//! Schema, so a field added to the serde types without a registration (or the reverse)
//! fails the build's tests.
//!
//! Adding a field: its serde type in `blueprint.rs`, one line here, its rule in
//! `validate/`, its value in the model, and its rows in `impact/table.rs` (a test asks
//! for a row in both modes).

use std::fmt;

macro_rules! fields {
    ($($variant:ident = $path:literal;)+) => {
        /// A blueprint field, by its data path without the environment prefix.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Field {
            $($variant),+
        }

        impl Field {
            /// Every field, in blueprint order.
            pub const ALL: &'static [Field] = &[$(Field::$variant),+];

            /// The data path, e.g. `redis.memory.max`.
            pub const fn path(self) -> &'static str {
                match self {
                    $(Field::$variant => $path),+
                }
            }
        }
    };
}

fields! {
    Name = "name";
    AwsRegion = "aws.region";
    AwsVpcCidr = "aws.vpc_cidr";
    HostTerraformModule = "host.terraform_module";
    HostInstance = "host.instance";
    HostSecurityGroup = "host.security_group";
    HostIamRole = "host.iam_role";
    HostAnsibleGroup = "host.ansible_group";
    HostInstanceType = "host.instance_type";
    HostAsteriskReserve = "host.asterisk_reserve";
    HostOvercommitMemory = "host.overcommit_memory";
    HostDisableThp = "host.disable_thp";
    Consumers = "consumers";
    RedisMode = "redis.mode";
    RedisEngine = "redis.engine";
    RedisVersion = "redis.version";
    RedisPort = "redis.port";
    RedisBind = "redis.bind";
    RedisAllowedSources = "redis.allowed_sources";
    RedisBlockedCommands = "redis.blocked_commands";
    AuthPasswordLength = "redis.auth.password_length";
    AuthPasswordSpecials = "redis.auth.password_specials";
    AuthSecretName = "redis.auth.secret_name";
    AuthSecretRecoveryDays = "redis.auth.secret_recovery_days";
    AuthKmsKeyArn = "redis.auth.kms_key_arn";
    AuthSharedPassword = "redis.auth.shared_password";
    TlsEnabled = "redis.tls.enabled";
    TlsCertDays = "redis.tls.cert_days";
    TlsPlaintextPort = "redis.tls.plaintext_port";
    MemoryMax = "redis.memory.max";
    MemoryPolicy = "redis.memory.policy";
    RdbSnapshots = "redis.persistence.rdb_snapshots";
    Aof = "redis.persistence.aof";
    Appendfsync = "redis.persistence.appendfsync";
    EcTerraformModule = "elasticache.terraform_module";
    EcVpcId = "elasticache.vpc_id";
    EcSubnetIds = "elasticache.subnet_ids";
    EcNodeType = "elasticache.node_type";
    EcNodes = "elasticache.nodes";
    EcHourlyPriceUsd = "elasticache.hourly_price_usd";
    EcMultiAz = "elasticache.multi_az";
    EcSnapshotRetentionDays = "elasticache.snapshot_retention_days";
    EcMaintenanceWindow = "elasticache.maintenance_window";
    EcSnapshotWindow = "elasticache.snapshot_window";
    EcAutoMinorVersionUpgrade = "elasticache.auto_minor_version_upgrade";
    EcApplyImmediately = "elasticache.apply_immediately";
    EcFinalSnapshot = "elasticache.final_snapshot";
    MonNamespace = "monitoring.namespace";
    MonMemoryAlertPercent = "monitoring.memory_alert_percent";
    MonIntervalSeconds = "monitoring.interval_seconds";
    MonSnsTopicArn = "monitoring.sns_topic_arn";
    MonNotify = "monitoring.notify";
    MonSnsKmsKeyArn = "monitoring.sns_kms_key_arn";
    MonLatencyAlertUsec = "monitoring.latency_alert_usec";
    MonHitRateAlertPercent = "monitoring.hit_rate_alert_percent";
    MonCpuAlertPercent = "monitoring.cpu_alert_percent";
    MonConnectionsAlert = "monitoring.connections_alert";
    BackupEnabled = "backup.enabled";
    BackupBucket = "backup.bucket";
    BackupIntervalHours = "backup.interval_hours";
    BackupRetentionDays = "backup.retention_days";
    BackupMaxAgeHours = "backup.max_age_hours";
}

impl Field {
    /// The field a data path names, if any.
    pub fn parse(path: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.path() == path)
    }

    /// Whether the field sits in the blueprint's `section` (`backup`, `redis.auth`).
    pub fn is_in(self, section: &str) -> bool {
        self.path()
            .strip_prefix(section)
            .is_some_and(|rest| rest.starts_with('.'))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

impl serde::Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::Field;

    #[test]
    fn paths_are_distinct_and_parse_back() {
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(Field::parse(f.path()), Some(*f));
            assert!(Field::ALL[..i].iter().all(|g| g.path() != f.path()));
        }
        assert!(Field::RdbSnapshots.is_in("redis.persistence"));
        assert!(Field::RdbSnapshots.is_in("redis"));
        assert!(!Field::RedisPort.is_in("redis.persistence"));
        assert_eq!(Field::parse("redis.nope"), None);
    }
}
