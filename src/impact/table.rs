//! The consequences of changing each blueprint field, in each mode: one table, the only
//! place this knowledge lives (`docs/IMPACT.md` is generated from it by a test, and a
//! test checks that every field of the blueprint's schema has a row for both modes).
//!
//! The facts behind the rows: the generated role changes the running Redis live where
//! Redis allows (CONFIG SET, ACL SETUSER; MODIFIABLE_CONFIG in Redis 7.0-8.x's config.c)
//! and systemd allows (set-property for MemoryMax and the weights), and restarts only
//! for `disable-thp` (IMMUTABLE_CONFIG), the unit's OOM score and CPU placement, or a
//! new binary (a booted-host test checks each live row keeps the Redis process);
//! `random_password` only makes the first password (later ones come from a rotation); on `aws_elasticache_replication_group`, `port`, `kms_key_id`,
//! `subnet_group_name` and `replication_group_id` force a new group (provider 5.x
//! schema), while node type, node count, Multi-AZ, windows and the parameter group's
//! values are modified in place. `engine` redis -> valkey is modified in place
//! (`resourceReplicationGroupUpdate` sends Engine with the EngineVersion it requires);
//! valkey -> redis forces a new group (`customizeDiffEngineVersionForceNewOnDowngrade`:
//! every Valkey version is above Redis OSS's 7.1; 6.x adds a ForceNewIf on `engine`).
//! The plan tests check both on provider 5.100.0.

use crate::field::Field;
use serde::Serialize;

/// How severe a consequence is; ordered from harmless to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Nothing running changes: documents, alarm settings, the cost report.
    #[serde(rename = "none")]
    Nothing,
    /// Applied in place; nothing restarts (network rules, IAM, alarms, timers,
    /// ElastiCache modifications that keep the data).
    Reload,
    /// Redis restarts: connections drop for seconds and clients reconnect.
    Restart,
    /// Consumers must change: a new port, endpoint or access; redeploy them.
    Consumers,
    /// A resource is destroyed and created: a new name, ARN or id.
    Replaced,
    /// Cached data, backups or durability can be lost.
    DataAtRisk,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::Nothing,
        Level::Reload,
        Level::Restart,
        Level::Consumers,
        Level::Replaced,
        Level::DataAtRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Nothing => "none",
            Level::Reload => "reload",
            Level::Restart => "restart",
            Level::Consumers => "consumers",
            Level::Replaced => "replaced",
            Level::DataAtRisk => "data-at-risk",
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Level::Nothing => {
                "nothing running changes (documents, alarm settings, the cost report)"
            }
            Level::Reload => "applied in place, nothing restarts",
            Level::Restart => "Redis restarts: connections drop for seconds, clients reconnect",
            Level::Consumers => {
                "consumers must change (port, endpoint or access) and be redeployed"
            }
            Level::Replaced => "a resource is destroyed and created (new name, ARN or id)",
            Level::DataAtRisk => "cached data, backups or durability can be lost",
        }
    }
}

/// The modes a row applies to: the environment's mode after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Modes {
    Both,
    SelfHosted,
    ElastiCache,
}

/// Which changes of the field a row describes. A row for a direction wins over the
/// field's `Any` row when the change goes that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    Any,
    /// A number or size goes up / down.
    Up,
    Down,
    /// A boolean turns on / off.
    On,
    Off,
    /// A list gains / loses an item.
    Added,
    Removed,
    /// A string becomes this value.
    To(&'static str),
}

/// One consequence.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Row {
    pub field: Field,
    pub modes: Modes,
    pub when: When,
    pub level: Level,
    /// What happens when it is applied.
    pub effect: &'static str,
    /// What people must do; empty when nothing.
    pub action: &'static str,
}

const fn row(
    field: Field,
    modes: Modes,
    when: When,
    level: Level,
    effect: &'static str,
    action: &'static str,
) -> Row {
    Row {
        field,
        modes,
        when,
        level,
        effect,
        action,
    }
}

use Level::{Consumers, DataAtRisk, Nothing, Reload, Replaced, Restart};
use Modes::{Both, ElastiCache, SelfHosted};
use When::{Added, Any, Down, Off, On, Removed, To};

/// A field that only the other mode uses: changing it does nothing now.
const UNUSED: &str = "not used in this mode: nothing changes until the environment switches";

/// A field that has no effect on environments in `modes`.
const fn unused(field: Field, modes: Modes) -> Row {
    row(field, modes, Any, Nothing, UNUSED, "")
}

const LIVE_CONF: &str = "the playbook changes the running Redis (CONFIG SET), then redis.conf; nothing restarts, connections stay open";

/// A redis.conf setting Redis changes live on the host: nothing more.
const fn live(field: Field) -> Row {
    row(field, SelfHosted, Any, Reload, LIVE_CONF, "")
}

/// Every consequence, in blueprint order.
pub const ROWS: &[Row] = &[
    row(
        Field::Name,
        SelfHosted,
        Any,
        Replaced,
        "everything named after it is renamed: the alarms, topic, dashboard, metric dimension, default secret name (a new secret with the same password and a new ARN) and the generated backup bucket (the new one starts empty)",
        "redeploy consumers that read the secret by name or ARN; copy the backups you want to keep",
    ),
    row(
        Field::Name,
        ElastiCache,
        Any,
        DataAtRisk,
        "the replication group id `<name>-<env>` changes: the group is destroyed and a new, empty one created; alarms, topic, dashboard and default secret are renamed",
        "consumers read the new endpoint from the outputs; the cache repopulates from PostgreSQL",
    ),
    row(
        Field::AwsRegion,
        Both,
        Any,
        Replaced,
        "every regional resource (secret, alarms, topic, rules, ElastiCache) is planned in the other region; the plan stops if the provider's region differs",
        "deploy with a provider for that region; consumers must use the new region's secret",
    ),
    row(
        Field::AwsVpcCidr,
        Both,
        Any,
        Reload,
        "where `allowed_sources` lists `vpc`, the ingress rules for the old range are replaced by rules for the new one",
        "clients outside the new range lose access",
    ),
    row(
        Field::HostTerraformModule,
        Both,
        Any,
        Replaced,
        "the host's Redis resources (secret, rules, policies, bucket) move to another module: without `moved` blocks Terraform destroys and re-creates them, and a re-created secret is a new password",
        "add `moved` blocks for the secret and the bucket before applying",
    ),
    row(
        Field::HostInstance,
        Both,
        Any,
        Reload,
        "the outputs and endpoint follow the other instance; Redis on the old host is not removed",
        "run the playbook on the new host; consumers use the new endpoint",
    ),
    row(
        Field::HostSecurityGroup,
        Both,
        Any,
        Reload,
        "the Redis ingress rules move to the other security group",
        "make sure the instance carries the new security group",
    ),
    row(
        Field::HostIamRole,
        Both,
        Any,
        Reload,
        "the policies for the secret, metrics and backups move to the other role",
        "",
    ),
    row(
        Field::HostAnsibleGroup,
        SelfHosted,
        Any,
        Reload,
        "the group_vars move to the new group's directory; the playbook targets the new group",
        "put the hosts in the new inventory group before running the playbook",
    ),
    unused(Field::HostAnsibleGroup, ElastiCache),
    row(
        Field::HostInstanceType,
        SelfHosted,
        Any,
        Nothing,
        "only the capacity check and the cost report change: infragen does not resize the instance",
        "resize the instance yourself",
    ),
    unused(Field::HostInstanceType, ElastiCache),
    row(
        Field::HostAsteriskReserve,
        SelfHosted,
        Any,
        Nothing,
        "only the capacity check changes",
        "",
    ),
    unused(Field::HostAsteriskReserve, ElastiCache),
    row(
        Field::HostOvercommitMemory,
        SelfHosted,
        Any,
        Reload,
        "the sysctl file changes and is applied live; nothing restarts",
        "",
    ),
    row(
        Field::HostOvercommitMemory,
        SelfHosted,
        Off,
        Reload,
        "`vm.overcommit_memory = 1` is no longer written: a BGSAVE or AOF rewrite fork can fail on a busy host, and then persistence fails",
        "watch the persistence-failed alarm",
    ),
    unused(Field::HostOvercommitMemory, ElastiCache),
    row(
        Field::HostDisableThp,
        SelfHosted,
        Any,
        Restart,
        "Redis reads disable-thp only when it starts: the playbook restarts it (held while redis_hold_restart is true, and reported on every run until a maintenance window); measured with a redis-py client at 200 requests a second: about 20 requests fail (connection refused, LOADING) within a tenth of a second (docs/BENCHMARKS.md)",
        "",
    ),
    unused(Field::HostDisableThp, ElastiCache),
    row(
        Field::Consumers,
        Both,
        Any,
        Reload,
        "a consumer's ingress rule and secret-read policy move to its new security group or role; its user's keys and commands change in place (ACL SETUSER on the host, the ElastiCache user modified): a key or command it loses is refused from the next call",
        "check the consumer needs no key or command it loses",
    ),
    row(
        Field::Consumers,
        Both,
        Added,
        Reload,
        "a new consumer gets an ingress rule, its own Redis user and secret, and a policy to read only that secret and the CA certificate: it can connect after the apply and the playbook; no other consumer is touched",
        "deploy the consumer with its environment from the output redis_consumer_environments",
    ),
    row(
        Field::Consumers,
        Both,
        Removed,
        Consumers,
        "a removed consumer loses its ingress rule, its Redis user (its connections are closed) and its secret at once; no other consumer is touched",
        "retire the consumer first, or its calls fail after apply",
    ),
    row(
        Field::RedisMode,
        Both,
        Any,
        DataAtRisk,
        "the environment moves between the host and ElastiCache",
        "",
    ),
    row(
        Field::RedisMode,
        Both,
        To("elasticache"),
        DataAtRisk,
        "a replication group is created and starts empty (the cache repopulates from PostgreSQL); the endpoint moves to ElastiCache with TLS; the host's Redis is left running with its data; the same password",
        "redeploy consumers with the new endpoint and TLS from the outputs; follow docs/<env>/MIGRATION.md",
    ),
    row(
        Field::RedisMode,
        Both,
        To("self_hosted"),
        DataAtRisk,
        "the replication group is destroyed (a final snapshot is kept when `final_snapshot` is on); Redis on the host serves what it has on disk, which may be stale; the endpoint moves to the host without TLS",
        "redeploy consumers with the host endpoint; run the playbook first; follow docs/<env>/MIGRATION.md",
    ),
    row(
        Field::RedisEngine,
        SelfHosted,
        Any,
        Restart,
        "the role switches the host's engine with its data: it checks the new engine reads the running one's RDB format (and stops before touching anything if not), saves the dataset on stop, loads it in a private instance of the new engine and proves every key is there, then starts the new service and removes the old one; until the new service serves, a failure starts the old engine again on what it saved; same port, password and endpoint",
        "run the playbook in a quiet hour: no server answers from the stop to the start (a save, a check, a copy and a load of the dataset); docs/<env>/REDIS_RUNBOOK.md, \"Switch the engine\"",
    ),
    row(
        Field::RedisEngine,
        ElastiCache,
        Any,
        DataAtRisk,
        "the replication group changes engine: in place only towards Valkey (the rows below); any other change replaces the group, which starts empty",
        "see the direction's row",
    ),
    row(
        Field::RedisEngine,
        ElastiCache,
        To("valkey"),
        Restart,
        "the replication group is modified in place to Valkey (the provider sends Engine and EngineVersion in one ModifyReplicationGroup: AWS's cross-engine upgrade keeps the group, its endpoint, password and data; nodes restart one by one, and with apply_immediately false it waits for the maintenance window); a parameter group of the Valkey family is created first and the old one deleted after; the nodes cost 20% less",
        "let clients reconnect (the endpoint stays); the monthly cost below falls",
    ),
    row(
        Field::RedisEngine,
        ElastiCache,
        To("redis"),
        DataAtRisk,
        "the replication group is replaced and starts empty: AWS has no engine change back to Redis OSS and the provider forces a new group (Redis OSS's newest ElastiCache version, 7.1, is below every Valkey version, a downgrade; provider 6.x also forces it on the engine itself); the old group is deleted (with its final snapshot when enabled), the new one created under the same id; the nodes cost 25% more",
        "move the data yourself (export from the Valkey group, load into the new one) or accept an empty cache; plan a window: clients fail until the new group is available",
    ),
    row(
        Field::RedisVersion,
        SelfHosted,
        Any,
        Restart,
        "the role checks the installed server is this version and stops if not: installing the new version restarts Redis",
        "upgrade the redis-server package on the host",
    ),
    row(
        Field::RedisVersion,
        ElastiCache,
        Any,
        Restart,
        "the engine is upgraded in place (nodes restart one by one; a downgrade replaces the group)",
        "",
    ),
    row(
        Field::RedisPort,
        SelfHosted,
        Any,
        Consumers,
        "Redis moves to the new port live (CONFIG SET port; open connections stay); the ingress rules are replaced; the old port stops accepting connections",
        "redeploy every consumer with the new REDIS_PORT",
    ),
    row(
        Field::RedisPort,
        ElastiCache,
        Any,
        DataAtRisk,
        "the replication group's port cannot change in place: the group is replaced and starts empty",
        "redeploy every consumer with the new port and endpoint",
    ),
    live(Field::RedisBind),
    row(
        Field::RedisBind,
        SelfHosted,
        Removed,
        Consumers,
        "Redis stops listening on a removed address at once (CONFIG SET bind)",
        "clients that used that address must move",
    ),
    unused(Field::RedisBind, ElastiCache),
    row(
        Field::RedisAllowedSources,
        Both,
        Any,
        Reload,
        "the ingress rules for the listed sources are replaced in place",
        "",
    ),
    row(
        Field::RedisAllowedSources,
        Both,
        Removed,
        Consumers,
        "clients from a removed source are refused at once",
        "move those clients or keep the source",
    ),
    row(
        Field::RedisBlockedCommands,
        SelfHosted,
        Any,
        Reload,
        "the application user's ACL changes live (ACL SETUSER); nothing restarts",
        "",
    ),
    row(
        Field::RedisBlockedCommands,
        SelfHosted,
        Removed,
        Reload,
        "a command is allowed again (FLUSHALL, FLUSHDB and CONFIG can wipe or reconfigure the cache)",
        "",
    ),
    row(
        Field::RedisBlockedCommands,
        SelfHosted,
        Added,
        Consumers,
        "Redis refuses a newly blocked command to every client at once",
        "check no consumer uses it",
    ),
    row(
        Field::RedisBlockedCommands,
        ElastiCache,
        Any,
        Nothing,
        "ElastiCache manages its own command set: nothing changes",
        "",
    ),
    row(
        Field::AuthPasswordLength,
        Both,
        Any,
        Nothing,
        "only the passwords of later rotations change length (the runbook's `redis_password.py add --length`); the current password stays",
        "",
    ),
    row(
        Field::AuthPasswordSpecials,
        Both,
        Any,
        Nothing,
        "only the character set of later rotations' passwords changes; the current password stays",
        "",
    ),
    row(
        Field::AuthSecretName,
        Both,
        Any,
        Replaced,
        "a new secret holds the same password; the old one is scheduled for deletion after its recovery window; the ARN the consumers were granted changes",
        "consumers that read the secret by name or ARN must be redeployed with the new ARN",
    ),
    row(
        Field::AuthSecretRecoveryDays,
        Both,
        Any,
        Nothing,
        "only the secret's recovery window on deletion changes",
        "",
    ),
    row(
        Field::AuthKmsKeyArn,
        SelfHosted,
        Any,
        Reload,
        "the secret is re-encrypted with the other key; the host's role gets decrypt on it",
        "consumers' roles need decrypt on the new key",
    ),
    row(
        Field::AuthKmsKeyArn,
        ElastiCache,
        Any,
        DataAtRisk,
        "the replication group's at-rest key cannot change in place: the group is replaced and starts empty; the secret is re-encrypted",
        "consumers' roles need decrypt on the new key; redeploy them with the new endpoint",
    ),
    row(
        Field::AuthSharedPassword,
        Both,
        Any,
        Consumers,
        "whether the `default` user accepts the one password all consumers shared, beside each consumer's own user: off, a client that still authenticates with it is refused from its next connection",
        "before it goes off, move every consumer to its own user (REDIS_USER and its secret from redis_consumer_environments)",
    ),
    row(
        Field::AuthSharedPassword,
        Both,
        On,
        Reload,
        "the `default` user accepts the shared password again, beside every consumer's own user (on the host ACL SETUSER, on ElastiCache the default user is modified in place)",
        "only while consumers move to their own users; turn it off once none uses it",
    ),
    row(
        Field::AuthSharedPassword,
        Both,
        Off,
        Consumers,
        "the `default` user is switched off: a client that still authenticates with the shared password is refused from its next connection",
        "move every consumer to its own user first (REDIS_USER and its secret from redis_consumer_environments)",
    ),
    row(
        Field::TlsEnabled,
        SelfHosted,
        Any,
        Consumers,
        "Redis restarts with TLS or plaintext on its port: clients that connect the other way fail from their next connection",
        "turning it on: keep the port consumers use as `tls.plaintext_port` and give TLS a new port while they move; turning it off: redeploy consumers with REDIS_TLS=false",
    ),
    row(
        Field::TlsEnabled,
        SelfHosted,
        On,
        Consumers,
        "Redis restarts with TLS on its port and plaintext only on a local socket: a plaintext client is refused from its next connection",
        "while consumers move, keep the port they use as `tls.plaintext_port` and give TLS a new port (runbook, \"Move consumers off the shared password\"); redeploy each with its entry of redis_consumer_environments",
    ),
    row(
        Field::TlsEnabled,
        SelfHosted,
        Off,
        Consumers,
        "Redis restarts with plaintext on its port: TLS clients fail from their next connection; the password crosses the network in clear",
        "deploy consumers with REDIS_TLS=false",
    ),
    row(
        Field::TlsEnabled,
        ElastiCache,
        Any,
        Nothing,
        "ElastiCache always encrypts in transit (users and AUTH require it): nothing changes",
        "",
    ),
    row(
        Field::TlsCertDays,
        SelfHosted,
        Any,
        Reload,
        "the next certificate the host issues has the new lifetime (the current one stays until its renewal); the renewal and the expiry alarm move with it; nothing restarts",
        "",
    ),
    unused(Field::TlsCertDays, ElastiCache),
    row(
        Field::TlsPlaintextPort,
        SelfHosted,
        Any,
        Reload,
        "a plaintext listener opens, moves or closes beside the TLS port, live (CONFIG SET port; at the restart when TLS is turned on in the same change); only the consumers' security groups are admitted to it; a consumer still on it when it closes is refused",
        "when removing it, move every consumer to TLS first",
    ),
    unused(Field::TlsPlaintextPort, ElastiCache),
    row(
        Field::MemoryMax,
        SelfHosted,
        Any,
        Reload,
        "maxmemory, the client-buffer cap and the service's MemoryMax change live (CONFIG SET, systemd set-property); nothing restarts",
        "",
    ),
    row(
        Field::MemoryMax,
        SelfHosted,
        Down,
        DataAtRisk,
        "less memory at once: when the data in use is larger, keys are evicted right away (or, with `noeviction`, writes fail)",
        "check used_memory in the dashboard before applying",
    ),
    row(
        Field::MemoryMax,
        ElastiCache,
        Any,
        Nothing,
        "ElastiCache sizes memory by node type: only the fit check changes",
        "",
    ),
    live(Field::MemoryPolicy),
    row(
        Field::MemoryPolicy,
        SelfHosted,
        To("noeviction"),
        Consumers,
        "when memory is full, writes fail instead of evicting, from the next playbook run",
        "consumers must handle OOM errors on writes",
    ),
    row(
        Field::MemoryPolicy,
        ElastiCache,
        Any,
        Reload,
        "the parameter group's maxmemory-policy is modified in place",
        "",
    ),
    live(Field::RdbSnapshots),
    row(
        Field::RdbSnapshots,
        SelfHosted,
        Removed,
        DataAtRisk,
        "fewer RDB snapshot rules: more writes are lost on a crash when AOF is off",
        "",
    ),
    unused(Field::RdbSnapshots, ElastiCache),
    live(Field::Aof),
    row(
        Field::Aof,
        SelfHosted,
        On,
        Reload,
        "the role switches AOF on live and waits for the rewrite to hold the whole dataset before writing redis.conf: no key is lost, nothing restarts",
        "",
    ),
    row(
        Field::Aof,
        SelfHosted,
        Off,
        DataAtRisk,
        "durability drops at once: a crash loses every write since the last RDB snapshot",
        "accept it, or keep AOF on",
    ),
    unused(Field::Aof, ElastiCache),
    live(Field::Appendfsync),
    row(
        Field::Appendfsync,
        SelfHosted,
        To("no"),
        DataAtRisk,
        "the kernel decides when the AOF reaches the disk: a crash can lose about 30 seconds of writes",
        "",
    ),
    unused(Field::Appendfsync, ElastiCache),
    row(
        Field::EcTerraformModule,
        SelfHosted,
        Any,
        Nothing,
        "the ElastiCache module's inputs move; nothing runs there in this mode",
        "move the wiring of the module's redis inputs",
    ),
    row(
        Field::EcTerraformModule,
        ElastiCache,
        Any,
        DataAtRisk,
        "the replication group moves to another module: without a `moved` block it is destroyed and a new, empty one created",
        "add `moved` blocks before applying",
    ),
    unused(Field::EcVpcId, SelfHosted),
    row(
        Field::EcVpcId,
        ElastiCache,
        Any,
        DataAtRisk,
        "the cache's security group and subnet group move to the other VPC: the replication group is replaced and starts empty",
        "consumers must reach the new VPC",
    ),
    unused(Field::EcSubnetIds, SelfHosted),
    row(
        Field::EcSubnetIds,
        ElastiCache,
        Any,
        Reload,
        "the subnet group's subnets are modified in place",
        "",
    ),
    row(
        Field::EcNodeType,
        SelfHosted,
        Any,
        Nothing,
        "only the cost report's comparison changes",
        "",
    ),
    row(
        Field::EcNodeType,
        ElastiCache,
        Any,
        Restart,
        "the nodes are scaled online to the new type (a failover on Multi-AZ; seconds of refused writes)",
        "",
    ),
    row(
        Field::EcNodeType,
        ElastiCache,
        Down,
        DataAtRisk,
        "the nodes are scaled down online; data that no longer fits is evicted",
        "check the memory in use first",
    ),
    row(
        Field::EcNodes,
        SelfHosted,
        Any,
        Nothing,
        "only the cost report's comparison changes",
        "",
    ),
    row(
        Field::EcNodes,
        ElastiCache,
        Any,
        Reload,
        "replicas are added or removed in place; the primary keeps its data",
        "",
    ),
    unused(Field::EcMultiAz, SelfHosted),
    row(
        Field::EcMultiAz,
        ElastiCache,
        Any,
        Reload,
        "automatic failover and Multi-AZ are modified in place",
        "",
    ),
    row(
        Field::EcMultiAz,
        ElastiCache,
        Off,
        Reload,
        "a failed primary is no longer replaced automatically",
        "",
    ),
    unused(Field::EcSnapshotRetentionDays, SelfHosted),
    row(
        Field::EcSnapshotRetentionDays,
        ElastiCache,
        Any,
        Reload,
        "the automatic snapshot retention is modified in place",
        "",
    ),
    row(
        Field::EcSnapshotRetentionDays,
        ElastiCache,
        Down,
        DataAtRisk,
        "older automatic snapshots are deleted (0: no snapshots at all)",
        "",
    ),
    row(
        Field::EcHourlyPriceUsd,
        Both,
        Any,
        Nothing,
        "only the cost report changes",
        "",
    ),
    unused(Field::EcMaintenanceWindow, SelfHosted),
    row(
        Field::EcMaintenanceWindow,
        ElastiCache,
        Any,
        Reload,
        "the weekly maintenance window moves",
        "",
    ),
    unused(Field::EcSnapshotWindow, SelfHosted),
    row(
        Field::EcSnapshotWindow,
        ElastiCache,
        Any,
        Reload,
        "the daily snapshot window moves",
        "",
    ),
    unused(Field::EcAutoMinorVersionUpgrade, SelfHosted),
    row(
        Field::EcAutoMinorVersionUpgrade,
        ElastiCache,
        Any,
        Reload,
        "minor engine upgrades in the maintenance window are switched on or off",
        "",
    ),
    unused(Field::EcApplyImmediately, SelfHosted),
    row(
        Field::EcApplyImmediately,
        ElastiCache,
        Any,
        Nothing,
        "nothing changes now; later changes to the replication group apply at once (true) or in the maintenance window (false)",
        "",
    ),
    unused(Field::EcFinalSnapshot, SelfHosted),
    row(
        Field::EcFinalSnapshot,
        ElastiCache,
        Any,
        Nothing,
        "fixed when the group is created (Terraform ignores later changes): nothing changes for an existing group",
        "",
    ),
    row(
        Field::MonNamespace,
        SelfHosted,
        Any,
        Reload,
        "the publisher sends to the new namespace and the alarms and dashboard read it; the old namespace's history stays behind",
        "",
    ),
    row(
        Field::MonNamespace,
        ElastiCache,
        Any,
        Nothing,
        "ElastiCache's metrics keep their namespace: nothing changes",
        "",
    ),
    row(
        Field::MonMemoryAlertPercent,
        Both,
        Any,
        Nothing,
        "the memory alarm's threshold is updated in place",
        "",
    ),
    row(
        Field::MonIntervalSeconds,
        SelfHosted,
        Any,
        Reload,
        "the publisher's timer and the alarms' period change",
        "",
    ),
    row(
        Field::MonIntervalSeconds,
        ElastiCache,
        Any,
        Nothing,
        "the alarms' period is updated in place",
        "",
    ),
    row(
        Field::MonSnsTopicArn,
        Both,
        Any,
        Replaced,
        "the alarms notify another topic: infragen's own topic, key and subscriptions are created or destroyed",
        "confirm the subscriptions of a new topic",
    ),
    row(
        Field::MonNotify,
        Both,
        Any,
        Reload,
        "the topic's subscriptions change",
        "",
    ),
    row(
        Field::MonNotify,
        Both,
        Added,
        Reload,
        "a subscription is created; an email address receives a confirmation mail",
        "the new subscriber must confirm, or receives nothing",
    ),
    row(
        Field::MonNotify,
        Both,
        Removed,
        Reload,
        "a subscription is deleted: that address stops receiving alarms",
        "",
    ),
    row(
        Field::MonSnsKmsKeyArn,
        Both,
        Any,
        Reload,
        "the topic is encrypted with another key (infragen's own key is created or scheduled for deletion)",
        "the key's policy must let cloudwatch.amazonaws.com use it, or alarms stop notifying",
    ),
    row(
        Field::MonLatencyAlertUsec,
        Both,
        Any,
        Nothing,
        "the latency alarm's threshold is updated in place",
        "",
    ),
    row(
        Field::MonHitRateAlertPercent,
        Both,
        Any,
        Nothing,
        "the hit-rate alarm's threshold is updated in place (0 removes it)",
        "",
    ),
    unused(Field::MonCpuAlertPercent, SelfHosted),
    row(
        Field::MonCpuAlertPercent,
        ElastiCache,
        Any,
        Nothing,
        "the engine CPU alarm's threshold is updated in place",
        "",
    ),
    unused(Field::MonConnectionsAlert, SelfHosted),
    row(
        Field::MonConnectionsAlert,
        ElastiCache,
        Any,
        Nothing,
        "the connections alarm's threshold is updated in place",
        "",
    ),
    row(
        Field::BackupEnabled,
        SelfHosted,
        Any,
        Reload,
        "the backup timer, its ACL user (ACL SETUSER or DELUSER, live) and its bucket change; nothing restarts",
        "",
    ),
    row(
        Field::BackupEnabled,
        Both,
        Off,
        DataAtRisk,
        "no more off-host backups; the plan fails rather than destroy the bucket that holds them (prevent_destroy), and the backup age alarm goes",
        "copy the backups you want to keep, then `terraform state rm` the bucket and delete it by hand",
    ),
    row(
        Field::BackupEnabled,
        ElastiCache,
        Any,
        Nothing,
        "ElastiCache keeps its own snapshots; the bucket for the self-hosted side's backups is created (kept through a rollback, so the backups are there on the way back)",
        "",
    ),
    row(
        Field::BackupBucket,
        Both,
        Any,
        Replaced,
        "new backups go to the other bucket; the backups already taken stay where they are (the plan fails rather than destroy a generated bucket: prevent_destroy)",
        "copy the backups you want to keep; retire the old generated bucket by hand (`terraform state rm`)",
    ),
    row(
        Field::BackupIntervalHours,
        SelfHosted,
        Any,
        Reload,
        "the backup timer's interval changes",
        "",
    ),
    unused(Field::BackupIntervalHours, ElastiCache),
    row(
        Field::BackupRetentionDays,
        Both,
        Any,
        Reload,
        "the bucket's lifecycle rule keeps backups for a different time",
        "",
    ),
    row(
        Field::BackupRetentionDays,
        Both,
        Down,
        DataAtRisk,
        "backups older than the new retention are deleted by the bucket's lifecycle rule",
        "",
    ),
    row(
        Field::BackupMaxAgeHours,
        SelfHosted,
        Any,
        Nothing,
        "the backup age alarm's threshold is updated in place",
        "",
    ),
    unused(Field::BackupMaxAgeHours, ElastiCache),
];

impl Modes {
    pub fn includes(self, self_hosted: bool) -> bool {
        match self {
            Modes::Both => true,
            Modes::SelfHosted => self_hosted,
            Modes::ElastiCache => !self_hosted,
        }
    }
}

/// The rows for `field` in a mode: the matching direction rows, else the `Any` rows.
/// A mode-specific `Any` row overrides a `Both` one.
/// Whether the table knows `field` (every field infragen records has a row).
pub fn knows(field: Field) -> bool {
    ROWS.iter().any(|r| r.field == field)
}

pub fn lookup(field: Field, self_hosted: bool, holds: impl Fn(When) -> bool) -> Vec<&'static Row> {
    let rows: Vec<&'static Row> = ROWS
        .iter()
        .filter(|r| r.field == field && r.modes.includes(self_hosted))
        .collect();
    let directed: Vec<&'static Row> = rows
        .iter()
        .filter(|r| r.when != When::Any && holds(r.when))
        .copied()
        .collect();
    if !directed.is_empty() {
        return directed;
    }
    let any: Vec<&'static Row> = rows
        .iter()
        .filter(|r| r.when == When::Any)
        .copied()
        .collect();
    let specific: Vec<&'static Row> = any
        .iter()
        .filter(|r| r.modes != Modes::Both)
        .copied()
        .collect();
    if specific.is_empty() { any } else { specific }
}

impl Modes {
    fn label(self) -> &'static str {
        match self {
            Modes::Both => "both",
            Modes::SelfHosted => "self-hosted",
            Modes::ElastiCache => "ElastiCache",
        }
    }
}

impl When {
    fn label(self) -> String {
        match self {
            When::Any => "any change".into(),
            When::Up => "goes up".into(),
            When::Down => "goes down".into(),
            When::On => "turns on".into(),
            When::Off => "turns off".into(),
            When::Added => "an item is added".into(),
            When::Removed => "an item is removed".into(),
            When::To(v) => format!("becomes `{v}`"),
        }
    }
}

/// The levels and the table as Markdown: the body of `docs/IMPACT.md`.
pub fn markdown() -> String {
    let mut s = String::from("| level | meaning |\n| --- | --- |\n");
    for l in Level::ALL {
        s.push_str(&format!("| `{}` | {} |\n", l.as_str(), l.meaning()));
    }
    s.push_str("\n| field | mode | when | level | what happens | what to do |\n");
    s.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for r in ROWS {
        s.push_str(&format!(
            "| `{}` | {} | {} | `{}` | {} | {} |\n",
            r.field,
            r.modes.label(),
            r.when.label(),
            r.level.as_str(),
            r.effect.replace('|', "\\|"),
            r.action.replace('|', "\\|")
        ));
    }
    s
}
