//! Facts about AWS that validation needs, kept as tables in the code (with their
//! sources) so that a change is a reviewed diff.

/// An ElastiCache node type: memory in GiB as AWS lists it, and whether it supports
/// Multi-AZ automatic failover (t1/t2 nodes do not).
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
    node("cache.t2.micro", 0.555, false),
    node("cache.t2.small", 1.55, false),
    node("cache.t2.medium", 3.22, false),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t3_micro_leaves_384_mib() {
        let n = CacheNode::find("cache.t3.micro").unwrap();
        assert_eq!(human_bytes(n.usable_bytes()), "384 MiB");
        assert!(n.usable_bytes() < 512 << 20);
        assert!(!CacheNode::find("cache.t2.micro").unwrap().failover);
    }
}
