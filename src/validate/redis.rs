//! Redis itself: the version the configuration is written for and the commands refused
//! to every client; and the assembly of the `redis` section from its parts
//! (`network`, `auth`, `memory`, `persistence`).

use super::resolver::{Resolver, default_sp, item_pos};
use super::syntax::is_redis7;
use crate::diag::Code;
use crate::field::Field;
use crate::model::{Redis, Val};
use crate::rules::BLOCKABLE_COMMANDS;
use crate::suggest::did_you_mean;

impl Resolver<'_> {
    /// The whole `redis` section of one environment. Every part is checked before any
    /// failure stops the assembly, so all problems are reported.
    pub(super) fn redis(&mut self, vpc_cidr: Option<&Val<String>>) -> Option<Redis> {
        let version = self.version();
        let network = self.network(vpc_cidr);
        let blocked_commands = self.blocked_commands();
        let auth = self.auth();
        let memory = self.memory();
        let persistence = self.persistence();
        let (network, auth, memory, persistence) = (network?, auth?, memory?, persistence?);
        Some(Redis {
            version: version?,
            port: network.port,
            bind: network.bind,
            allowed_sources: network.allowed_sources,
            allowed_ipv4: network.allowed_ipv4,
            allowed_ipv6: network.allowed_ipv6,
            blocked_commands: blocked_commands?,
            password_length: auth.password_length,
            password_specials: auth.password_specials,
            secret_name: auth.secret_name,
            secret_recovery_days: auth.secret_recovery_days,
            kms_key_arn: auth.kms_key_arn,
            maxmemory: memory.max,
            maxmemory_policy: memory.policy,
            snapshots: persistence.snapshots,
            aof: persistence.aof,
            appendfsync: persistence.appendfsync,
        })
    }

    fn version(&mut self) -> Option<Val<String>> {
        let version = self.or(
            Field::RedisVersion,
            |l| l.redis.as_ref()?.version.as_ref(),
            "7.0".to_string(),
        );
        self.ensure(
            is_redis7(&version.value),
            Code::Version,
            &version,
            || format!("Redis version `{}` is not supported", version.value),
            "a Redis 7.x version such as `7.0` or `7.2` (quoted)",
        )
        .then_some(version)
    }

    /// Commands refused to every client, upper case, each once.
    fn blocked_commands(&mut self) -> Option<Val<Vec<String>>> {
        let raw = self.or(
            Field::RedisBlockedCommands,
            |l| l.redis.as_ref()?.blocked_commands.as_ref(),
            vec![default_sp("FLUSHALL"), default_sp("FLUSHDB")],
        );
        let mut ok = true;
        let mut blocked = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for c in &raw.value {
            let upper = c.value.to_ascii_uppercase();
            let pos = item_pos(c, &raw);
            let message = if !BLOCKABLE_COMMANDS.contains(&upper.as_str()) {
                format!(
                    "`{}` is not a command infragen can block{}",
                    c.value,
                    did_you_mean(&upper, BLOCKABLE_COMMANDS.iter().copied())
                )
            } else if !seen.insert(upper.clone()) {
                format!("`{}` is listed twice", c.value)
            } else {
                blocked.push(upper);
                continue;
            };
            let help = if message.ends_with("twice") {
                "each command once".to_string()
            } else {
                format!("one of {}", BLOCKABLE_COMMANDS.join(", "))
            };
            self.err_at(Code::BlockedCommand, pos, raw.path(), message, &help);
            ok = false;
        }
        ok.then(|| raw.map(|_| blocked))
    }
}
