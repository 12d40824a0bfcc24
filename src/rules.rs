//! Field rules, each defined once: the blueprint's JSON Schema (`src/blueprint.rs`,
//! through `schemars` attributes that name these constants) and validation
//! (`src/validate/`) read the same ranges, value lists and patterns, so the two cannot
//! disagree. `tests/it/real_tools.rs` proves it on generated edge values with a real
//! JSON Schema validator.

use crate::field::Field;

/// An integer field: its accepted values (one or more inclusive ranges, and a step).
#[derive(Debug, Clone, Copy)]
pub struct IntRule {
    /// The field's path in the blueprint, e.g. `redis.port`.
    pub field: Field,
    /// Smallest and largest accepted values (the schema's `minimum`/`maximum`).
    pub min: i64,
    pub max: i64,
    /// A gap inside the range, as `(first excluded, last excluded)`: Secrets Manager's
    /// recovery window is 0 or 7 to 30 days.
    pub except: Option<(i64, i64)>,
    /// Accepted values are multiples of this (the schema's `multipleOf`).
    pub step: i64,
    pub default: i64,
    /// What is accepted, for the diagnostic.
    pub help: &'static str,
}

impl IntRule {
    /// The gap as a JSON Schema (for a `not`), or an impossible one without a gap.
    pub fn gap_schema(&self) -> serde_json::Value {
        match self.except {
            Some((a, b)) => serde_json::json!({ "minimum": a, "maximum": b }),
            None => serde_json::json!(false),
        }
    }

    pub fn accepts(&self, v: i64) -> bool {
        (self.min..=self.max).contains(&v)
            && v % self.step == 0
            && !self.except.is_some_and(|(a, b)| (a..=b).contains(&v))
    }
}

const fn int(field: Field, min: i64, max: i64, default: i64, help: &'static str) -> IntRule {
    IntRule {
        field,
        min,
        max,
        except: None,
        step: 1,
        default,
        help,
    }
}

pub const PORT: IntRule = int(
    Field::RedisPort,
    1024,
    65535,
    6379,
    "a TCP port from 1024 to 65535 (Redis runs unprivileged and cannot bind below 1024)",
);
pub const PASSWORD_LENGTH: IntRule = int(
    Field::AuthPasswordLength,
    32,
    128,
    32,
    "32 to 128 characters (128 is the ElastiCache AUTH token limit)",
);
pub const SECRET_RECOVERY_DAYS: IntRule = IntRule {
    except: Some((1, 6)),
    ..int(
        Field::AuthSecretRecoveryDays,
        0,
        30,
        7,
        "0 (delete at once) or 7 to 30 days",
    )
};
/// Redis reads `save` numbers as C ints: larger ones wrap silently (`save 60
/// 4294967297` becomes `save 60 1`).
pub const SAVE_NUMBER: IntRule = int(
    Field::RdbSnapshots,
    1,
    i32::MAX as i64,
    1,
    "a positive whole number that Redis can hold (a 32-bit int)",
);
pub const NODES: IntRule = int(
    Field::EcNodes,
    1,
    6,
    1,
    "1 to 6 (a primary and up to 5 replicas)",
);
pub const SNAPSHOT_RETENTION_DAYS: IntRule = int(
    Field::EcSnapshotRetentionDays,
    0,
    35,
    1,
    "0 (no backups) to 35 days",
);
pub const MEMORY_ALERT_PERCENT: IntRule = int(
    Field::MonMemoryAlertPercent,
    1,
    100,
    80,
    "1 to 100 (default 80)",
);
pub const INTERVAL_SECONDS: IntRule = IntRule {
    step: 60,
    ..int(
        Field::MonIntervalSeconds,
        60,
        3600,
        60,
        "a multiple of 60 from 60 to 3600",
    )
};

pub const LATENCY_ALERT_USEC: IntRule = int(
    Field::MonLatencyAlertUsec,
    1,
    10_000_000,
    1000,
    "1 to 10000000 microseconds of average command latency (default 1000)",
);
pub const HIT_RATE_ALERT_PERCENT: IntRule = int(
    Field::MonHitRateAlertPercent,
    0,
    100,
    50,
    "0 (no alarm) to 100 percent (default 50)",
);
pub const CPU_ALERT_PERCENT: IntRule = int(
    Field::MonCpuAlertPercent,
    1,
    100,
    90,
    "1 to 100 percent of the Redis engine's CPU (default 90)",
);
pub const CONNECTIONS_ALERT: IntRule = int(
    Field::MonConnectionsAlert,
    1,
    65_000,
    5000,
    "1 to 65000 client connections (default 5000)",
);
pub const BACKUP_INTERVAL_HOURS: IntRule = int(
    Field::BackupIntervalHours,
    1,
    168,
    24,
    "1 to 168 hours between backups (default 24)",
);
pub const BACKUP_RETENTION_DAYS: IntRule = int(
    Field::BackupRetentionDays,
    1,
    3650,
    14,
    "1 to 3650 days that a backup is kept (default 14)",
);
/// The default of `backup.max_age_hours` is `interval_hours` plus this slack.
pub const BACKUP_MAX_AGE_SLACK_HOURS: i64 = 2;
pub const BACKUP_MAX_AGE_HOURS: IntRule = int(
    Field::BackupMaxAgeHours,
    2,
    720,
    26,
    "2 to 720 hours, more than the backup interval (default: the interval + 2)",
);

pub const TLS_CERT_DAYS: IntRule = int(
    Field::TlsCertDays,
    7,
    825,
    90,
    "7 to 825 days (default 90); renewed when a third is left",
);

/// Every integer rule, for the schema agreement test.
pub const INT_RULES: &[IntRule] = &[
    PORT,
    TLS_CERT_DAYS,
    PASSWORD_LENGTH,
    SECRET_RECOVERY_DAYS,
    NODES,
    SNAPSHOT_RETENTION_DAYS,
    MEMORY_ALERT_PERCENT,
    INTERVAL_SECONDS,
    LATENCY_ALERT_USEC,
    HIT_RATE_ALERT_PERCENT,
    CPU_ALERT_PERCENT,
    CONNECTIONS_ALERT,
    BACKUP_INTERVAL_HOURS,
    BACKUP_RETENTION_DAYS,
    BACKUP_MAX_AGE_HOURS,
];

/// Defines a closed set of string values as an enum: its variants, their spellings in
/// the blueprint, `NAMES` (the schema's `enum` and the validator's list) and `parse`.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            #[allow(clippy::should_implement_trait)]
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

string_enum! {
    /// Where Redis runs in an environment.
    Mode {
        /// On the Asterisk host, configured by the Ansible role.
        SelfHosted = "self_hosted",
        /// On an ElastiCache replication group.
        ElastiCache = "elasticache",
    }
}

string_enum! {
    /// The server an environment runs: Redis or Valkey (its fork since Redis's 2024
    /// licence change; same protocol, commands and configuration syntax).
    Engine {
        Redis = "redis",
        Valkey = "valkey",
    }
}

impl Engine {
    /// The engine's own name, for people.
    pub fn title(self) -> &'static str {
        match self {
            Engine::Redis => "Redis",
            Engine::Valkey => "Valkey",
        }
    }

    /// The RDB format version the engine's release `version` writes: Redis 7.0 writes
    /// 10, 7.2 writes 11, 7.4 and 8.x write 12; Valkey 7.2 to 8.x write 11 and Valkey 9
    /// its own 80 (rdb.h's `RDB_VERSION` of each release).
    pub fn rdb_writes(self, version: Version) -> u32 {
        match self {
            Engine::Redis if version < Version(7, 2, 0) => 10,
            Engine::Redis if version < Version(7, 4, 0) => 11,
            Engine::Redis => 12,
            Engine::Valkey if version < Version(9, 0, 0) => 11,
            Engine::Valkey => 80,
        }
    }

    /// Whether the release `version` loads an RDB file of format `rdb`. Each engine
    /// reads every format up to the one it writes; Valkey refuses Redis's 12 ("Can't
    /// handle RDB format version 12": its relaxed check is not a safe switch) and
    /// Valkey 9 reads Redis's formats up to 11 beside its own.
    pub fn reads_rdb(self, version: Version, rdb: u32) -> bool {
        match self {
            Engine::Redis => rdb <= self.rdb_writes(version),
            Engine::Valkey => rdb <= 11 || rdb == self.rdb_writes(version),
        }
    }

    /// The newest release of the engine a supported Debian host installs, and from
    /// where: the host's version guard accepts an installed server of the blueprint's
    /// version or later, so a version above all of these cannot run on a host.
    pub fn host_packages(self) -> &'static [HostPackage] {
        match self {
            Engine::Redis => &[
                HostPackage {
                    debian: "12",
                    version: Version(7, 0, 15),
                    source: "bookworm",
                },
                HostPackage {
                    debian: "13",
                    version: Version(8, 0, 2),
                    source: "trixie",
                },
            ],
            Engine::Valkey => &[
                HostPackage {
                    debian: "12",
                    version: Version(8, 0, 1),
                    source: "bookworm-backports",
                },
                HostPackage {
                    debian: "13",
                    version: Version(8, 1, 1),
                    source: "trixie",
                },
            ],
        }
    }

    /// The oldest release infragen writes configuration for: Redis 7 (ACL selectors,
    /// `disable-thp`), Valkey's first release 7.2.
    pub fn oldest(self) -> Version {
        match self {
            Engine::Redis => Version(7, 0, 0),
            Engine::Valkey => Version(7, 2, 0),
        }
    }

    /// ElastiCache's engine versions of this engine and their parameter-group family.
    pub fn elasticache_versions(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Engine::Redis => &[("7.0", "redis7"), ("7.1", "redis7")],
            Engine::Valkey => &[("7.2", "valkey7"), ("8.0", "valkey8"), ("8.1", "valkey8")],
        }
    }
}

/// A Debian release's package of an engine.
#[derive(Debug, Clone, Copy)]
pub struct HostPackage {
    /// Debian's release number.
    pub debian: &'static str,
    pub version: Version,
    /// The suite the package comes from.
    pub source: &'static str,
}

/// A release number, `major.minor.patch` (missing parts are 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// `8`, `8.1` or `8.1.1`; each part at most three digits.
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = [0u32; 3];
        for (n, p) in s.split('.').enumerate() {
            if n == 3 || p.is_empty() || p.len() > 3 || !p.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            parts[n] = p.parse().ok()?;
        }
        Some(Version(parts[0], parts[1], parts[2]))
    }

    /// `major.minor`, as ElastiCache names its engine versions.
    pub fn line(self) -> String {
        format!("{}.{}", self.0, self.1)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

string_enum! {
    /// Redis 7's `maxmemory-policy` values.
    EvictionPolicy {
        NoEviction = "noeviction",
        AllKeysLru = "allkeys-lru",
        AllKeysLfu = "allkeys-lfu",
        AllKeysRandom = "allkeys-random",
        VolatileLru = "volatile-lru",
        VolatileLfu = "volatile-lfu",
        VolatileRandom = "volatile-random",
        VolatileTtl = "volatile-ttl",
    }
}

string_enum! {
    /// What a consumer's own Redis user may do with its keys.
    ConsumerAccess {
        /// Read and write commands, transactions, scripts on its keys.
        ReadWrite = "read_write",
        /// Read commands only.
        ReadOnly = "read_only",
    }
}

/// A consumer's key pattern: a Redis glob without spaces or the ACL rule prefixes, up to
/// 128 characters (checked by `validate::consumers`).
pub const KEY_PATTERN_MAX: usize = 128;

string_enum! {
    /// `appendfsync` values.
    AppendFsync {
        Always = "always",
        EverySec = "everysec",
        No = "no",
    }
}

/// Commands a blueprint may block (ACL `-command` on the default user). Limited to real
/// Redis 7 commands: an unknown name in an ACL rule stops Redis from starting. Written
/// in upper case; the blueprint may use any case.
pub const BLOCKABLE_COMMANDS: &[&str] = &[
    "BGREWRITEAOF",
    "BGSAVE",
    "CLIENT",
    "CONFIG",
    "DEBUG",
    "EVAL",
    "EVALSHA",
    "FLUSHALL",
    "FLUSHDB",
    "FUNCTION",
    "KEYS",
    "MIGRATE",
    "MODULE",
    "MONITOR",
    "REPLICAOF",
    "SAVE",
    "SCRIPT",
    "SHUTDOWN",
    "SLAVEOF",
    "SWAPDB",
];

/// No memory size infragen computes with is larger (64 TiB, above any EC2 instance's
/// memory), so sums and doubled sizes always fit a u64.
pub const MAX_MEMORY_BYTES: u64 = 64 << 40;
/// The smallest `redis.memory.max` that makes a useful cache.
pub const MIN_MEMORY_BYTES: u64 = 1 << 20;

/// `name`: lower-case letters, digits and `-`, starting with a letter, not ending with
/// `-`, at most 40 characters (it goes into resource names).
pub const NAME_PATTERN: &str = "^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$";
pub const NAME_MAX: usize = 40;
/// Environment names: the same, at most 32 characters (they go into file paths).
pub const ENV_NAME_PATTERN: &str = "^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$";
pub const ENV_NAME_MAX: usize = 32;

/// A name safe in file paths and AWS names: lower-case letters, digits and `-`,
/// starting with a letter, not ending with `-`, at most `max` bytes (`name`,
/// environment and consumer names).
pub fn is_slug(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= max
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
}

/// The generated backup bucket is `<name>-<env>` + this + the 12-digit account id.
pub const GENERATED_BUCKET_INFIX: &str = "-redis-backups-";
/// `redis.version`: 7 or 8, 7.x or 7.x.y (each engine's oldest release and the host
/// packages narrow it further: validation, not the schema, knows the engine).
pub const VERSION_PATTERN: &str = "^[78](?:\\.[0-9]{1,3}){0,2}$";
/// `redis.memory.max`: a whole number with a Redis unit.
pub const MEMORY_PATTERN: &str = "^[0-9]+(?:[bB]|[kKmMgG][bB]?)?$";
/// `elasticache.maintenance_window`: `ddd:hh:mm-ddd:hh:mm` (UTC).
pub const WEEKLY_WINDOW_PATTERN: &str = "^(?:mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]-(?:mon|tue|wed|thu|fri|sat|sun):[0-2][0-9]:[0-5][0-9]$";
/// `elasticache.snapshot_window`: `hh:mm-hh:mm` (UTC).
pub const DAILY_WINDOW_PATTERN: &str = "^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_rules_accept_their_edges_only() {
        for r in INT_RULES {
            assert!(r.accepts(r.min), "{}", r.field);
            assert!(r.accepts(r.max), "{}", r.field);
            assert!(!r.accepts(r.min - 1), "{}", r.field);
            assert!(!r.accepts(r.max + 1), "{}", r.field);
            assert!(r.accepts(r.default), "{}", r.field);
        }
        assert!(!SECRET_RECOVERY_DAYS.accepts(3));
        assert!(SECRET_RECOVERY_DAYS.accepts(7));
        assert!(!INTERVAL_SECONDS.accepts(90));
    }

    #[test]
    fn string_enums_round_trip() {
        for m in Mode::ALL {
            assert_eq!(Mode::parse(m.as_str()), Some(*m));
        }
        assert_eq!(EvictionPolicy::NAMES.len(), EvictionPolicy::ALL.len());
        assert_eq!(AppendFsync::parse("sometimes"), None);
    }
}
