//! The shared host: Redis's worst case (maxmemory doubled by a fork, plus overhead) and
//! the memory kept for Asterisk must fit the instance; the kernel settings Redis needs.

use super::resolver::Resolver;
use crate::aws::mib;
use crate::diag::{Code, Diagnostic};
use crate::field::Field;
use crate::model::{Guard, MemSize, Origin, Redis};
use crate::rules::MAX_MEMORY_BYTES;
use crate::suggest::did_you_mean;

impl Resolver<'_> {
    /// How Redis shares the host: the capacity rule and the kernel settings.
    pub(super) fn guard(&mut self, redis: &Redis) -> Option<Guard> {
        let instance_type = self.required(
            Field::HostInstanceType,
            |l| l.host.as_ref()?.instance_type.as_ref(),
            "`instance_type: t3.medium`",
        )?;
        let reserve_raw = self.or(
            Field::HostAsteriskReserve,
            |l| l.host.as_ref()?.asterisk_reserve.as_ref(),
            "1gb".to_string(),
        );
        let overcommit_memory = self.or(
            Field::HostOvercommitMemory,
            |l| l.host.as_ref()?.overcommit_memory.as_ref(),
            true,
        );
        let disable_thp = self.or(
            Field::HostDisableThp,
            |l| l.host.as_ref()?.disable_thp.as_ref(),
            true,
        );
        let Some(reserve) =
            MemSize::parse(&reserve_raw.value).filter(|m| m.bytes <= MAX_MEMORY_BYTES)
        else {
            self.err(
                Code::Reserve,
                &reserve_raw,
                format!("`{}` is not a memory size", reserve_raw.value),
                "a whole number with a unit: b, k, kb, m, mb, g, gb, e.g. `1gb`",
            );
            return None;
        };
        let Some(ram) = crate::aws::ec2_memory_bytes(&instance_type.value) else {
            let known: Vec<&str> = crate::aws::EC2_MEMORY_GIB.iter().map(|(n, _)| *n).collect();
            self.err(
                Code::InstanceType,
                &instance_type,
                format!(
                    "`{}` is not an instance type infragen knows{}",
                    instance_type.value,
                    did_you_mean(&instance_type.value, known.iter().copied())
                ),
                &known.join(", "),
            );
            return None;
        };
        let max = &redis.maxmemory;
        // Both sizes are at most MAX_MEMORY_BYTES, so nothing below can overflow.
        let memory_max_bytes = max
            .value
            .bytes
            .saturating_mul(2)
            .saturating_add(crate::aws::REDIS_OVERHEAD_BYTES);
        let needed = memory_max_bytes.saturating_add(reserve.bytes);
        if needed > ram {
            // Point at whichever of the three the environment set itself, else at maxmemory.
            let at = [
                (
                    instance_type.origin.clone(),
                    instance_type.pos(),
                    instance_type.path(),
                ),
                (
                    reserve_raw.origin.clone(),
                    reserve_raw.pos(),
                    reserve_raw.path(),
                ),
            ]
            .into_iter()
            .find(|(o, _, _)| matches!(o, Origin::Env(_)))
            .map(|(_, p, path)| (p, path))
            .unwrap_or((
                max.pos().or(instance_type.pos()),
                if max.pos().is_some() {
                    max.path()
                } else {
                    instance_type.path()
                },
            ));
            self.diags.push(
                Diagnostic::new(
                    Code::Capacity,
                    at.0,
                    at.1,
                    format!(
                        "Redis's worst case does not fit {}: 2 x {} (maxmemory, doubled by a fork for RDB/AOF rewrites) + {} overhead + {} Asterisk reserve = {} > {} of RAM",
                        instance_type.value,
                        mib(max.value.bytes),
                        mib(crate::aws::REDIS_OVERHEAD_BYTES),
                        mib(reserve.bytes),
                        mib(needed),
                        mib(ram)
                    ),
                )
                .help(format!(
                    "a smaller {}, a smaller {}, or a larger {}",
                    Field::MemoryMax,
                    Field::HostAsteriskReserve,
                    Field::HostInstanceType
                )),
            );
            return None;
        }
        Some(Guard {
            instance_type,
            instance_bytes: ram,
            asterisk_reserve: reserve_raw.map(|_| reserve),
            overcommit_memory,
            disable_thp,
            memory_max_bytes,
        })
    }
}
