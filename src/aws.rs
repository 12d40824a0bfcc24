//! Facts about AWS that validation needs, kept as tables in the code (with their
//! sources) so that a change is a reviewed diff.

/// An ElastiCache node type: memory in GiB as AWS lists it, and whether it supports
/// Multi-AZ automatic failover (every current type; T2 gained it in 2018, only the
/// previous-generation T1 lacks it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheNode {
    pub name: &'static str,
    pub memory_gib: f64,
    pub failover: bool,
}

/// ElastiCache reserves 25% of a node's memory by default (`reserved-memory-percent`).
pub const RESERVED_MEMORY_PERCENT: u64 = 25;

/// Node types and their memory, from the ElastiCache "supported node types" table.
pub const CACHE_NODES: &[CacheNode] = &[
    node("cache.t1.micro", 0.213, false),
    node("cache.t2.micro", 0.555, true),
    node("cache.t2.small", 1.55, true),
    node("cache.t2.medium", 3.22, true),
    node("cache.t3.micro", 0.5, true),
    node("cache.t3.small", 1.37, true),
    node("cache.t3.medium", 3.09, true),
    node("cache.t4g.micro", 0.5, true),
    node("cache.t4g.small", 1.37, true),
    node("cache.t4g.medium", 3.09, true),
    node("cache.m5.large", 6.38, true),
    node("cache.m5.xlarge", 12.93, true),
    node("cache.m6g.large", 6.38, true),
    node("cache.m6g.xlarge", 12.93, true),
    node("cache.m7g.large", 6.38, true),
    node("cache.m7g.xlarge", 12.93, true),
    node("cache.r5.large", 13.07, true),
    node("cache.r5.xlarge", 26.32, true),
    node("cache.r6g.large", 13.07, true),
    node("cache.r6g.xlarge", 26.32, true),
    node("cache.r7g.large", 13.07, true),
    node("cache.r7g.xlarge", 26.32, true),
];

const fn node(name: &'static str, memory_gib: f64, failover: bool) -> CacheNode {
    CacheNode {
        name,
        memory_gib,
        failover,
    }
}

impl CacheNode {
    pub fn find(name: &str) -> Option<&'static CacheNode> {
        CACHE_NODES.iter().find(|n| n.name == name)
    }

    /// Bytes of the node's memory.
    pub fn memory_bytes(&self) -> u64 {
        (self.memory_gib * (1u64 << 30) as f64) as u64
    }

    /// Bytes left for data after the default reservation.
    pub fn usable_bytes(&self) -> u64 {
        self.memory_bytes() / 100 * (100 - RESERVED_MEMORY_PERCENT)
    }
}

/// A size in MiB, exact to one decimal: for arithmetic a reader can check.
pub fn mib(bytes: u64) -> String {
    // In u128: `bytes * 10` overflows u64 for sizes above 1.8 EB (`1000000000g`).
    let tenths = (u128::from(bytes) * 10).div_ceil(1 << 20);
    if tenths.is_multiple_of(10) {
        format!("{} MiB", tenths / 10)
    } else {
        format!("{}.{} MiB", tenths / 10, tenths % 10)
    }
}

/// Human-readable size: MiB below 1 GiB, GiB with two decimals above.
pub fn human_bytes(bytes: u64) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    const GIB: f64 = (1u64 << 30) as f64;
    let b = bytes as f64;
    if b < GIB {
        format!("{:.0} MiB", b / MIB)
    } else {
        format!("{:.2} GiB", b / GIB)
    }
}

/// When the ElastiCache prices below were recorded. A blueprint overrides a price with
/// `elasticache.hourly_price_usd`.
pub const CACHE_PRICES_AS_OF: &str = "2026-11";

/// On-demand hourly list prices in USD, us-east-1, for ElastiCache for Redis OSS nodes.
pub const CACHE_PRICES: &[(&str, f64)] = &[
    ("cache.t1.micro", 0.02),
    ("cache.t2.micro", 0.017),
    ("cache.t2.small", 0.034),
    ("cache.t2.medium", 0.068),
    ("cache.t3.micro", 0.017),
    ("cache.t3.small", 0.034),
    ("cache.t3.medium", 0.068),
    ("cache.t4g.micro", 0.016),
    ("cache.t4g.small", 0.032),
    ("cache.t4g.medium", 0.065),
    ("cache.m5.large", 0.156),
    ("cache.m5.xlarge", 0.311),
    ("cache.m6g.large", 0.149),
    ("cache.m6g.xlarge", 0.297),
    ("cache.m7g.large", 0.158),
    ("cache.m7g.xlarge", 0.315),
    ("cache.r5.large", 0.216),
    ("cache.r5.xlarge", 0.431),
    ("cache.r6g.large", 0.206),
    ("cache.r6g.xlarge", 0.411),
    ("cache.r7g.large", 0.219),
    ("cache.r7g.xlarge", 0.437),
];

/// When the Valkey prices below were recorded, and where from.
pub const VALKEY_PRICES_AS_OF: &str = "2026-11";
pub const VALKEY_PRICES_SOURCE: &str = "https://aws.amazon.com/elasticache/pricing/ (node-based ElastiCache for Valkey is priced 20% below Redis OSS per node-hour since Valkey's launch on ElastiCache, October 2024)";

/// On-demand hourly list prices in USD, us-east-1, for ElastiCache for Valkey nodes:
/// 20% below Redis OSS's for the same node type (a unit test holds every row to that).
pub const VALKEY_CACHE_PRICES: &[(&str, f64)] = &[
    ("cache.t1.micro", 0.016),
    ("cache.t2.micro", 0.0136),
    ("cache.t2.small", 0.0272),
    ("cache.t2.medium", 0.0544),
    ("cache.t3.micro", 0.0136),
    ("cache.t3.small", 0.0272),
    ("cache.t3.medium", 0.0544),
    ("cache.t4g.micro", 0.0128),
    ("cache.t4g.small", 0.0256),
    ("cache.t4g.medium", 0.052),
    ("cache.m5.large", 0.1248),
    ("cache.m5.xlarge", 0.2488),
    ("cache.m6g.large", 0.1192),
    ("cache.m6g.xlarge", 0.2376),
    ("cache.m7g.large", 0.1264),
    ("cache.m7g.xlarge", 0.252),
    ("cache.r5.large", 0.1728),
    ("cache.r5.xlarge", 0.3448),
    ("cache.r6g.large", 0.1648),
    ("cache.r6g.xlarge", 0.3288),
    ("cache.r7g.large", 0.1752),
    ("cache.r7g.xlarge", 0.3496),
];

/// Hours in a billing month, as AWS's calculator counts them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The Redis OSS price of a node type.
pub fn cache_price(node_type: &str) -> Option<f64> {
    CACHE_PRICES
        .iter()
        .find(|(n, _)| *n == node_type)
        .map(|(_, p)| *p)
}

/// The Valkey price of a node type.
pub fn valkey_cache_price(node_type: &str) -> Option<f64> {
    VALKEY_CACHE_PRICES
        .iter()
        .find(|(n, _)| *n == node_type)
        .map(|(_, p)| *p)
}

/// EC2 instance types a host may be, with their memory in GiB.
pub const EC2_MEMORY_GIB: &[(&str, u64)] = &[
    ("t3.micro", 1),
    ("t3.small", 2),
    ("t3.medium", 4),
    ("t3.large", 8),
    ("t3.xlarge", 16),
    ("t3.2xlarge", 32),
    ("t3a.micro", 1),
    ("t3a.small", 2),
    ("t3a.medium", 4),
    ("t3a.large", 8),
    ("t3a.xlarge", 16),
    ("t4g.micro", 1),
    ("t4g.small", 2),
    ("t4g.medium", 4),
    ("t4g.large", 8),
    ("t4g.xlarge", 16),
    ("m5.large", 8),
    ("m5.xlarge", 16),
    ("m5.2xlarge", 32),
    ("m6i.large", 8),
    ("m6i.xlarge", 16),
    ("m6g.large", 8),
    ("m6g.xlarge", 16),
    ("m7g.large", 8),
    ("m7g.xlarge", 16),
    ("c5.large", 4),
    ("c5.xlarge", 8),
    ("c5.2xlarge", 16),
    ("c6i.large", 4),
    ("c6i.xlarge", 8),
    ("c6g.large", 4),
    ("c6g.xlarge", 8),
    ("c7g.large", 4),
    ("c7g.xlarge", 8),
    ("r5.large", 16),
    ("r5.xlarge", 32),
    ("r6i.large", 16),
    ("r6g.large", 16),
];

/// Memory of an EC2 instance type in bytes.
pub fn ec2_memory_bytes(instance_type: &str) -> Option<u64> {
    EC2_MEMORY_GIB
        .iter()
        .find(|(n, _)| *n == instance_type)
        .map(|(_, g)| g << 30)
}

/// Why AWS would refuse an ElastiCache identifier (replication group, cache cluster,
/// parameter group, subnet group, snapshot), or `None`: 1 to `max` letters, digits
/// and hyphens, starting with a letter, no two hyphens in a row, no hyphen at the end.
/// The provider checks the same at plan time, and the API at apply time.
pub fn elasticache_id_problem(id: &str, max: usize) -> Option<String> {
    if id.is_empty() || id.len() > max {
        return Some(format!(
            "is {} characters; ElastiCache allows 1 to {max}",
            id.len()
        ));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some("does not start with a letter".into());
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Some("may hold only letters, digits and `-`".into());
    }
    if id.contains("--") {
        return Some("contains two hyphens in a row".into());
    }
    if id.ends_with('-') {
        return Some("ends with a hyphen".into());
    }
    None
}

/// ElastiCache for Redis metrics the generated dashboard and alarms read (namespace
/// `AWS/ElastiCache`, dimension `CacheClusterId`), from the ElastiCache user guide's
/// "Host-level metrics" and "Metrics for Redis OSS".
pub const ELASTICACHE_METRICS: &[&str] = &[
    "CacheHitRate",
    "CurrConnections",
    "DatabaseMemoryUsagePercentage",
    "EngineCPUUtilization",
    "Evictions",
    "GetTypeCmds",
    "SetTypeCmds",
    "StringBasedCmdsLatency",
];

/// What Redis needs beyond its dataset for the process itself, buffers and
/// fragmentation; counted once on top of the fork's doubling.
pub const REDIS_OVERHEAD_BYTES: u64 = 128 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_never_overflow() {
        assert_eq!(mib(u64::MAX), "17592186044416 MiB");
        assert_eq!(mib(1 << 20), "1 MiB");
        assert_eq!(mib(3 << 19), "1.5 MiB");
    }

    #[test]
    fn elasticache_ids_follow_the_provider() {
        assert_eq!(elasticache_id_problem("voice-campaign-dev", 40), None);
        assert!(elasticache_id_problem(&"a".repeat(41), 40).is_some());
        assert!(
            elasticache_id_problem("voice--dev", 40)
                .unwrap()
                .contains("two hyphens")
        );
        assert!(elasticache_id_problem("dev-", 40).unwrap().contains("ends"));
        assert!(
            elasticache_id_problem("1dev", 40)
                .unwrap()
                .contains("letter")
        );
        assert!(elasticache_id_problem("a_b", 40).is_some());
        assert!(elasticache_id_problem("", 40).is_some());
    }

    #[test]
    fn t3_micro_leaves_384_mib() {
        let n = CacheNode::find("cache.t3.micro").unwrap();
        assert_eq!(human_bytes(n.usable_bytes()), "384 MiB");
        assert!(n.usable_bytes() < 512 << 20);
        // Automatic failover: T2 since 2018, only T1 without it.
        assert!(CacheNode::find("cache.t2.micro").unwrap().failover);
        assert!(!CacheNode::find("cache.t1.micro").unwrap().failover);
        assert_eq!(cache_price("cache.m6g.xlarge"), Some(0.297));
        assert_eq!(valkey_cache_price("cache.t3.micro"), Some(0.0136));
        // Every node type has a Valkey price, 20% below its Redis OSS price.
        assert_eq!(CACHE_PRICES.len(), VALKEY_CACHE_PRICES.len());
        for (node, redis) in CACHE_PRICES {
            let valkey = valkey_cache_price(node).unwrap_or_else(|| panic!("{node}"));
            assert!(
                (valkey - redis * 0.8).abs() < 1e-9,
                "{node}: {valkey} vs {redis}"
            );
        }
    }
}
