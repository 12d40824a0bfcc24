//! ElastiCache: where it goes (the placement, which decides whether the ElastiCache
//! module's inputs exist), what it runs on (node type, count, price, also used by the
//! cost report in self-hosted mode), and, for environments in ElastiCache mode, the
//! lifecycle settings and the identifiers AWS derives from the names.

use super::resolver::{Resolver, Shared};
use super::syntax::{is_identifier, is_reference, parse_window};
use crate::aws::{CacheNode, human_bytes};
use crate::blueprint::{Layer, Sp};
use crate::diag::{Code, Diagnostic};
use crate::field::Field;
use crate::model::{CacheSizing, ElastiCacheEnv, Origin, Redis};
use crate::rules::{Engine, NODES, SNAPSHOT_RETENTION_DAYS, Version};
use crate::suggest::did_you_mean;

impl Resolver<'_> {
    /// The node type, count and price: used by ElastiCache mode and by the cost report.
    /// The price table's price is the engine's (Valkey's nodes cost 20% less); with the
    /// engine unknown (its own error is reported), Redis OSS's.
    pub(super) fn cache_sizing(&mut self, engine: Option<Engine>) -> Option<CacheSizing> {
        let node_type = self.or(
            Field::EcNodeType,
            |l| l.elasticache.as_ref()?.node_type.as_ref(),
            "cache.t3.small".to_string(),
        );
        let nodes = self.int(
            &NODES,
            Code::Nodes,
            |l| l.elasticache.as_ref()?.nodes.as_ref(),
            |n| format!("{n} nodes is out of range"),
        );
        let price = self.pick(Field::EcHourlyPriceUsd, |l| {
            l.elasticache.as_ref()?.hourly_price_usd.as_ref()
        });
        let mut ok = true;
        if CacheNode::find(&node_type.value).is_none() {
            let known: Vec<&str> = crate::aws::CACHE_NODES.iter().map(|n| n.name).collect();
            self.err(
                Code::NodeType,
                &node_type,
                format!(
                    "`{}` is not a node type infragen knows{}",
                    node_type.value,
                    did_you_mean(&node_type.value, known.iter().copied())
                ),
                &known.join(", "),
            );
            ok = false;
        }
        let hourly_price_usd = match price {
            Some(p) if p.value.is_finite() && p.value > 0.0 && p.value < 1000.0 => p,
            Some(p) => {
                self.err(
                    Code::Price,
                    &p,
                    format!("{} is not an hourly price", p.value),
                    "a positive number of US dollars per node-hour, e.g. 0.034",
                );
                return None;
            }
            // Every node type in the table has a price (a unit test proves it).
            None => self.default(
                Field::EcHourlyPriceUsd,
                match engine {
                    Some(Engine::Valkey) => crate::aws::valkey_cache_price(&node_type.value)?,
                    _ => crate::aws::cache_price(&node_type.value)?,
                },
            ),
        };
        Some(CacheSizing {
            node_type: ok.then_some(node_type)?,
            nodes: nodes?,
            hourly_price_usd,
        })
    }

    /// Where ElastiCache goes: the module that owns it and the VPC and subnet references
    /// inside it. Required in ElastiCache mode; optional otherwise (then both references
    /// or neither). `Ok(None)` when the environment places no ElastiCache.
    pub(super) fn placement(&mut self, required: bool) -> Result<Option<Shared>, ()> {
        let module = self.or(
            Field::EcTerraformModule,
            |l| l.elasticache.as_ref()?.terraform_module.as_ref(),
            "data".to_string(),
        );
        fn vpc_get(l: &Layer) -> Option<&Sp<String>> {
            l.elasticache.as_ref()?.vpc_id.as_ref()
        }
        fn subnets_get(l: &Layer) -> Option<&Sp<String>> {
            l.elasticache.as_ref()?.subnet_ids.as_ref()
        }
        let (vpc_id, subnets) = if required {
            (
                self.required(Field::EcVpcId, vpc_get, "`vpc_id: var.vpc_id`"),
                self.required(
                    Field::EcSubnetIds,
                    subnets_get,
                    "`subnet_ids: var.private_subnet_ids`",
                ),
            )
        } else {
            let vpc_id = self.pick(Field::EcVpcId, vpc_get);
            let subnets = self.pick(Field::EcSubnetIds, subnets_get);
            match (&vpc_id, &subnets) {
                (None, None) => return Ok(None),
                (Some(set), None) | (None, Some(set)) => {
                    let missing = if vpc_id.is_none() {
                        Field::EcVpcId
                    } else {
                        Field::EcSubnetIds
                    };
                    self.err(
                        Code::Placement,
                        set,
                        format!("`{}` is set but `{missing}` is not", set.field),
                        &format!(
                            "both `{}` and `{}` (where ElastiCache goes), or neither",
                            Field::EcVpcId,
                            Field::EcSubnetIds
                        ),
                    );
                    return Err(());
                }
                _ => (vpc_id, subnets),
            }
        };
        let mut ok = true;
        if !is_identifier(&module.value) || super::syntax::is_reserved_name(&module.value) {
            self.err(
                Code::ModuleName,
                &module,
                format!(
                    "`{}` is not a Terraform module directory name",
                    module.value
                ),
                "letters, digits, `_` and `-`",
            );
            ok = false;
        }
        for v in [&vpc_id, &subnets].into_iter().flatten() {
            if !is_reference(&v.value) {
                self.err(
                    Code::Reference,
                    v,
                    format!("`{}` is not a Terraform reference", v.value),
                    "a reference inside the module, such as `var.vpc_id`, `aws_vpc.main.id` or `aws_subnet.private[*].id`",
                );
                ok = false;
            }
        }
        match (vpc_id, subnets) {
            (Some(v), Some(s)) if ok => Ok(Some(vec![module, v, s])),
            _ => Err(()),
        }
    }

    /// ElastiCache settings for an environment in ElastiCache mode: sizing, windows
    /// and the identifiers AWS derives from the names.
    pub(super) fn elasticache(
        &mut self,
        redis: &Redis,
        sizing: &CacheSizing,
    ) -> Option<ElastiCacheEnv> {
        let node = CacheNode::find(&sizing.node_type.value)?;
        let multi_az = self.or(
            Field::EcMultiAz,
            |l| l.elasticache.as_ref()?.multi_az.as_ref(),
            sizing.nodes.value >= 2 && node.failover,
        );
        let retention = self.int(
            &SNAPSHOT_RETENTION_DAYS,
            Code::Retention,
            |l| l.elasticache.as_ref()?.snapshot_retention_days.as_ref(),
            |n| format!("{n} days of snapshots is out of range"),
        );
        let maintenance_window = self.or(
            Field::EcMaintenanceWindow,
            |l| l.elasticache.as_ref()?.maintenance_window.as_ref(),
            "sun:05:00-sun:06:00".to_string(),
        );
        let snapshot_window = self.or(
            Field::EcSnapshotWindow,
            |l| l.elasticache.as_ref()?.snapshot_window.as_ref(),
            "03:00-04:00".to_string(),
        );
        let auto_minor_version_upgrade = self.or(
            Field::EcAutoMinorVersionUpgrade,
            |l| l.elasticache.as_ref()?.auto_minor_version_upgrade.as_ref(),
            true,
        );
        let apply_immediately = self.or(
            Field::EcApplyImmediately,
            |l| l.elasticache.as_ref()?.apply_immediately.as_ref(),
            false,
        );
        let final_snapshot = self.or(
            Field::EcFinalSnapshot,
            |l| l.elasticache.as_ref()?.final_snapshot.as_ref(),
            true,
        );
        let mut ok = true;
        let weekly = parse_window(&maintenance_window.value, true);
        let daily = parse_window(&snapshot_window.value, false);
        for (v, w, form) in [
            (
                &maintenance_window,
                &weekly,
                "`ddd:hh:mm-ddd:hh:mm` in UTC, e.g. `sun:05:00-sun:06:00`",
            ),
            (
                &snapshot_window,
                &daily,
                "`hh:mm-hh:mm` in UTC, e.g. `03:00-04:00`",
            ),
        ] {
            match w {
                None => {
                    self.err(
                        Code::Window,
                        v,
                        format!("`{}` is not a time window", v.value),
                        form,
                    );
                    ok = false;
                }
                Some(w) if w.minutes() < 60 => {
                    self.err(
                        Code::Window,
                        v,
                        format!(
                            "the window `{}` is {} minutes long; ElastiCache needs at least 60",
                            v.value,
                            w.minutes()
                        ),
                        form,
                    );
                    ok = false;
                }
                Some(_) => {}
            }
        }
        if let (Some(m), Some(d)) = (&weekly, &daily)
            && m.minutes() >= 60
            && d.minutes() >= 60
            && m.overlaps_daily(d)
        {
            self.err(
                Code::Window,
                &snapshot_window,
                format!(
                    "the snapshot window `{}` overlaps the maintenance window `{}`",
                    snapshot_window.value, maintenance_window.value
                ),
                "a daily window outside the weekly maintenance window",
            );
            ok = false;
        }
        let engine = redis.engine.value;
        let line = Version::parse(&redis.version.value).map(Version::line);
        let offered = engine.elasticache_versions();
        let release = offered
            .iter()
            .find(|(v, _)| line.as_deref() == Some(*v))
            .copied();
        if release.is_none() {
            self.err(
                Code::EngineVersion,
                &redis.version,
                format!(
                    "ElastiCache for {} has no version {}",
                    engine.title(),
                    redis.version.value
                ),
                &format!(
                    "{} for an environment in ElastiCache mode",
                    offered
                        .iter()
                        .map(|(v, _)| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            ok = false;
        }
        // The identifiers the generated Terraform derives from `name` and the
        // environment, against the rules AWS applies to each.
        let group = format!("{}-{}", self.name, self.env);
        let last_member = format!("{group}-{:03}", sizing.nodes.value.max(1));
        for (what, id, max) in [
            ("replication group id", group.clone(), 40),
            ("cache cluster id", last_member, 50),
            ("parameter group name", format!("{group}-redis7"), 255),
            ("subnet group name", format!("{group}-redis"), 255),
        ] {
            if let Some(problem) = crate::aws::elasticache_id_problem(&id, max) {
                let env_pos = self.env_pos;
                self.err_at(
                    Code::Identifier,
                    env_pos,
                    format!("environments.{}", self.env),
                    format!(
                        "the ElastiCache {what} `{id}` (from `name` and the environment) {problem}"
                    ),
                    "a shorter `name` or environment name, without `--`",
                );
                ok = false;
                break;
            }
        }
        let usable = node.usable_bytes();
        let max = &redis.maxmemory;
        if max.value.bytes > usable {
            // Point at whichever of the two the environment set itself.
            let node_type = &sizing.node_type;
            let (pos, path) = match (&node_type.origin, max.pos()) {
                (Origin::Env(_), _) | (_, None) => (node_type.pos(), node_type.path()),
                _ => (max.pos(), max.path()),
            };
            self.diags.push(
                Diagnostic::new(
                    Code::Sizing,
                    pos,
                    path,
                    format!(
                        "{} {} ({}) does not fit {}: {} GiB of memory, {}% reserved by ElastiCache, leaves {} usable",
                        Field::MemoryMax,
                        max.value.text,
                        human_bytes(max.value.bytes),
                        node.name,
                        node.memory_gib,
                        crate::aws::RESERVED_MEMORY_PERCENT,
                        human_bytes(usable)
                    ),
                )
                .help(format!("a larger node type, or a smaller {}", Field::MemoryMax)),
            );
            ok = false;
        }
        if multi_az.value && !node.failover {
            self.err(
                Code::MultiAz,
                &multi_az,
                format!(
                    "{} does not support Multi-AZ automatic failover (previous-generation t1 nodes)",
                    node.name
                ),
                "`multi_az: false`, or a current node type",
            );
            ok = false;
        }
        if multi_az.value && sizing.nodes.value < 2 {
            self.err(
                Code::MultiAz,
                &multi_az,
                format!(
                    "Multi-AZ needs at least 2 nodes, and nodes is {}",
                    sizing.nodes.value
                ),
                "`nodes: 2` or more, or `multi_az: false`",
            );
            ok = false;
        }
        if !ok {
            return None;
        }
        Some(ElastiCacheEnv {
            multi_az,
            snapshot_retention_days: retention?,
            engine: engine.as_str().to_string(),
            engine_version: release?.0.to_string(),
            parameter_family: release?.1.to_string(),
            maintenance_window,
            snapshot_window,
            auto_minor_version_upgrade,
            apply_immediately,
            final_snapshot,
        })
    }
}
