//! Redis itself: the version the configuration is written for and the commands refused
//! to every client; and the assembly of the `redis` section from its parts
//! (`network`, `auth`, `memory`, `persistence`).

use super::resolver::{Resolver, default_sp, item_pos};
use crate::diag::Code;
use crate::field::Field;
use crate::model::{Redis, Val};
use crate::rules::{BLOCKABLE_COMMANDS, Engine, Version};
use crate::suggest::did_you_mean;

impl Resolver<'_> {
    /// The whole `redis` section of one environment. Every part is checked before any
    /// failure stops the assembly, so all problems are reported.
    pub(super) fn redis(&mut self, vpc_cidr: Option<&Val<String>>) -> Option<Redis> {
        let engine = self.engine();
        let version = engine.as_ref().and_then(|e| self.version(e.value));
        let network = self.network(vpc_cidr);
        let blocked_commands = self.blocked_commands();
        let auth = self.auth();
        let tls = self.tls(network.as_ref().map(|n| &n.port));
        let memory = self.memory();
        let persistence = self.persistence();
        let (network, auth, tls, memory, persistence) =
            (network?, auth?, tls?, memory?, persistence?);
        Some(Redis {
            engine: engine?,
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
            shared_password: auth.shared_password,
            tls_enabled: tls.enabled,
            tls_cert_days: tls.cert_days,
            plaintext_port: tls.plaintext_port,
            maxmemory: memory.max,
            maxmemory_policy: memory.policy,
            snapshots: persistence.snapshots,
            aof: persistence.aof,
            appendfsync: persistence.appendfsync,
        })
    }

    /// `redis.engine`: which server runs.
    fn engine(&mut self) -> Option<Val<Engine>> {
        let raw = self.or(
            Field::RedisEngine,
            |l| l.redis.as_ref()?.engine.as_ref(),
            Engine::Redis.as_str().to_string(),
        );
        match Engine::parse(&raw.value) {
            Some(engine) => Some(raw.map(|_| engine)),
            None => {
                self.err(
                    Code::Engine,
                    &raw,
                    format!(
                        "`{}` is not an engine infragen configures{}",
                        raw.value,
                        did_you_mean(&raw.value, Engine::NAMES.iter().copied())
                    ),
                    "`redis` or `valkey`",
                );
                None
            }
        }
    }

    /// `redis.version`: a release of the engine infragen writes configuration for.
    fn version(&mut self, engine: Engine) -> Option<Val<String>> {
        let default = match engine {
            Engine::Redis => "7.0",
            Engine::Valkey => "8.0",
        };
        let version = self.or(
            Field::RedisVersion,
            |l| l.redis.as_ref()?.version.as_ref(),
            default.to_string(),
        );
        let known = Version::parse(&version.value).is_some_and(|v| {
            v >= engine.oldest() && engine.host_packages().iter().any(|p| v.0 <= p.version.0)
        });
        self.ensure(
            known,
            Code::Version,
            &version,
            || {
                format!(
                    "{} version `{}` is not supported",
                    engine.title(),
                    version.value
                )
            },
            match engine {
                Engine::Redis => "a Redis 7.x or 8.x version such as `7.0` or `8.0` (quoted)",
                Engine::Valkey => "a Valkey 7.2 or 8.x version such as `8.0` or `8.1` (quoted)",
            },
        )
        .then_some(version)
    }

    /// On the host: some supported Debian release installs this engine at the version
    /// or later (the role's version guard refuses an older server before touching it).
    pub(super) fn host_release(&mut self, redis: &Redis) -> bool {
        let engine = redis.engine.value;
        let Some(wanted) = Version::parse(&redis.version.value) else {
            return false;
        };
        let packages = engine.host_packages();
        if packages.iter().any(|p| p.version >= wanted) {
            return true;
        }
        let offered = packages
            .iter()
            .map(|p| format!("Debian {}: {} ({})", p.debian, p.version, p.source))
            .collect::<Vec<_>>()
            .join("; ");
        self.err(
            Code::HostPackage,
            &redis.version,
            format!(
                "no supported Debian host installs {} {} ({offered})",
                engine.title(),
                redis.version.value,
            ),
            &format!(
                "a version up to {} for a self-hosted environment, or `{}: elasticache`",
                packages
                    .iter()
                    .map(|p| p.version)
                    .max()
                    .unwrap_or(Version(0, 0, 0)),
                Field::RedisMode
            ),
        );
        false
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
