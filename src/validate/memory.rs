//! Memory: maxmemory as Redis reads it, and the eviction policy.

use super::resolver::Resolver;
use crate::diag::Code;
use crate::field::Field;
use crate::model::{MemSize, Val};
use crate::rules::{EvictionPolicy, MAX_MEMORY_BYTES, MIN_MEMORY_BYTES};

/// The memory part of the `redis` section.
pub(super) struct Memory {
    pub max: Val<MemSize>,
    pub policy: Val<EvictionPolicy>,
}

const MEMORY_HELP: &str = "a whole number with a Redis unit: b, k (1000), kb (1024), m, mb, g, gb, e.g. `512mb`; at least 1mb";

impl Resolver<'_> {
    pub(super) fn memory(&mut self) -> Option<Memory> {
        let raw = self.or(
            Field::MemoryMax,
            |l| l.redis.as_ref()?.memory.as_ref()?.max.as_ref(),
            "512mb".to_string(),
        );
        let max = match MemSize::parse(&raw.value) {
            Some(m) if (MIN_MEMORY_BYTES..=MAX_MEMORY_BYTES).contains(&m.bytes) => {
                Some(raw.map(|_| m))
            }
            parsed => {
                let message = match parsed {
                    Some(m) if m.bytes > MAX_MEMORY_BYTES => format!(
                        "`{}` is more memory than any EC2 instance or ElastiCache node has",
                        raw.value
                    ),
                    Some(_) => format!(
                        "`{}` is below 1mb; Redis cannot run a useful cache in that",
                        raw.value
                    ),
                    None => format!("`{}` is not a memory size Redis understands", raw.value),
                };
                self.err(Code::MemorySize, &raw, message, MEMORY_HELP);
                None
            }
        };
        let policy_raw = self.or(
            Field::MemoryPolicy,
            |l| l.redis.as_ref()?.memory.as_ref()?.policy.as_ref(),
            EvictionPolicy::AllKeysLru.as_str().to_string(),
        );
        let policy = self
            .one_of(Code::Policy, &policy_raw, EvictionPolicy::NAMES, |v| {
                format!("`{v}` is not a Redis 7 eviction policy")
            })
            .then(|| EvictionPolicy::parse(&policy_raw.value))
            .flatten()
            .map(|p| policy_raw.map(|_| p));
        Some(Memory {
            max: max?,
            policy: policy?,
        })
    }
}
