//! Validation: resolves the blueprint's layers per environment and checks every rule,
//! collecting all problems at once. The result is the typed [`Model`] or the list of
//! [`Diagnostic`]s, each pointing at the line that set the bad value.

use crate::aws::{CacheNode, human_bytes, mib};
use crate::blueprint::{Blueprint, Layer, Sp};
use crate::diag::{Diagnostic, Pos};
use crate::model::{
    BLOCKABLE_COMMANDS, CacheSizing, Consumer, EVICTION_POLICIES, ElastiCacheEnv,
    ElastiCacheShared, Env, FSYNC_MODES, Guard, Host, MemSize, Mode, Model, Monitoring, Origin,
    Redis, Snapshot, Val,
};
use crate::suggest::did_you_mean;
use std::net::IpAddr;

/// Where each field of a resolved section was set (defaults have no position).
type Shared = Vec<Val<String>>;

/// Builds the model from a parsed blueprint, or returns every problem found.
pub fn build(bp: Blueprint, source: &str) -> Result<Model, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let crate::blueprint::Layers {
        name,
        base,
        environments,
    } = bp.into_layers();

    let name = match name {
        None => {
            diags.push(
                Diagnostic::new(
                    Some(Pos { line: 1, column: 1 }),
                    "name",
                    "missing required field `name`",
                )
                .help("a lower-case name such as `redis-on-asterisk`"),
            );
            String::new()
        }
        Some(n) => {
            if !is_slug(&n.value, 40) {
                diags.push(
                    Diagnostic::new(Some(Pos::of(&n.referenced)), "name", format!("`{}` is not a valid name", n.value))
                        .help("1-40 characters: lower-case letters, digits and `-`, starting with a letter"),
                );
            }
            n.value
        }
    };

    let mut envs = Vec::new();
    let mut shared: Vec<Shared> = Vec::new();
    match &environments {
        None => diags.push(
            Diagnostic::new(
                Some(Pos { line: 1, column: 1 }),
                "environments",
                "no environments defined",
            )
            .help("an `environments:` mapping with at least one entry, e.g. `dev: {}`"),
        ),
        Some(list) if list.value.0.is_empty() => diags.push(
            Diagnostic::new(
                Some(Pos::of(&list.referenced)),
                "environments",
                "no environments defined",
            )
            .help("at least one entry, e.g. `dev: {}`"),
        ),
        Some(list) => {
            let mut seen = std::collections::HashSet::new();
            for (env_name, layer) in &list.value.0 {
                let pos = Pos::of(&env_name.referenced);
                if !is_slug(&env_name.value, 32) {
                    diags.push(
                        Diagnostic::new(
                            Some(pos),
                            format!("environments.{}", env_name.value),
                            format!("environment name `{}` is not safe in file paths", env_name.value),
                        )
                        .help("1-32 characters: lower-case letters, digits and `-`, starting with a letter"),
                    );
                }
                if !seen.insert(env_name.value.as_str()) {
                    diags.push(Diagnostic::new(
                        Some(pos),
                        format!("environments.{}", env_name.value),
                        format!("environment `{}` is defined twice", env_name.value),
                    ));
                }
                let mut r = Resolver {
                    env: &env_name.value,
                    env_pos: pos,
                    base: &base,
                    over: layer,
                    name: &name,
                    diags: &mut diags,
                };
                if let Some((env, env_shared)) = r.env() {
                    envs.push(env);
                    shared.push(env_shared);
                }
            }
        }
    }

    // Module code and the role are shared by all environments, so the values they are
    // written from must be the same in every environment that uses them.
    let mut first: Vec<&Val<String>> = Vec::new();
    for v in shared.iter().flatten() {
        match first.iter().find(|f| f.field == v.field) {
            None => first.push(v),
            Some(f) if f.value != v.value => diags.push(
                Diagnostic::new(
                    v.pos(),
                    v.path(),
                    format!(
                        "`{}` differs from `{}` in environment `{}`; the generated module code and Ansible role are shared by every environment",
                        v.value, f.value, f.env
                    ),
                )
                .help(format!("the same value in every environment (set `{}` once at the top level)", v.field)),
            ),
            Some(_) => {}
        }
    }
    let get = |field: &str| {
        first
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.value.clone())
    };
    let host = (|| {
        Some(Host {
            terraform_module: get("host.terraform_module")?,
            instance: get("host.instance")?,
            security_group: get("host.security_group")?,
            iam_role: get("host.iam_role")?,
            ansible_group: get("host.ansible_group")?,
        })
    })();
    let elasticache = (|| {
        Some(ElastiCacheShared {
            terraform_module: get("elasticache.terraform_module")?,
            vpc_id: get("elasticache.vpc_id")?,
            subnet_ids: get("elasticache.subnet_ids")?,
        })
    })();
    if let (Some(e), Some(h)) = (&elasticache, &host)
        && h.terraform_module == e.terraform_module
        && let Some(v) = first
            .iter()
            .find(|f| f.field == "elasticache.terraform_module")
    {
        diags.push(
            Diagnostic::new(
                v.pos(),
                v.path(),
                format!(
                    "module `{}` is also `host.terraform_module`",
                    e.terraform_module
                ),
            )
            .help("the module that owns ElastiCache (e.g. `data`), not the Asterisk host's module"),
        );
    }

    dedupe(&mut diags);
    match host {
        Some(host) if diags.is_empty() => Ok(Model {
            name,
            source: source.to_string(),
            host,
            elasticache,
            consumers: envs
                .first()
                .map(|e: &Env| e.consumers.clone())
                .unwrap_or_default(),
            envs,
        }),
        _ => Err(diags),
    }
}

/// A problem in a base value is found once per environment: keep one.
fn dedupe(diags: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((d.pos, d.path.clone(), d.message.clone())));
}

/// Resolves one environment: override, else top level, else default.
struct Resolver<'a> {
    env: &'a str,
    /// Where the environment is declared: missing values are reported there.
    env_pos: Pos,
    base: &'a Layer,
    over: &'a Layer,
    name: &'a str,
    diags: &'a mut Vec<Diagnostic>,
}

impl Resolver<'_> {
    fn pick<T: Clone>(
        &self,
        field: &'static str,
        get: impl Fn(&Layer) -> Option<&Sp<T>>,
    ) -> Option<Val<T>> {
        let (sp, origin): (&Sp<T>, fn(Pos) -> Origin) = if let Some(v) = get(self.over) {
            (v, Origin::Env)
        } else {
            (get(self.base)?, Origin::Base)
        };
        Some(Val {
            value: sp.value.clone(),
            origin: origin(Pos::of(&sp.referenced)),
            field,
            env: self.env.to_string(),
        })
    }

    fn or<T: Clone>(
        &self,
        field: &'static str,
        get: impl Fn(&Layer) -> Option<&Sp<T>>,
        default: T,
    ) -> Val<T> {
        self.pick(field, get).unwrap_or_else(|| Val {
            value: default,
            origin: Origin::Default,
            field,
            env: self.env.to_string(),
        })
    }

    fn required<T: Clone>(
        &mut self,
        field: &'static str,
        get: impl Fn(&Layer) -> Option<&Sp<T>>,
        example: &str,
    ) -> Option<Val<T>> {
        let v = self.pick(field, get);
        if v.is_none() {
            self.diags.push(
                Diagnostic::new(
                    Some(self.env_pos),
                    format!("environments.{}", self.env),
                    format!(
                        "missing required field `{field}`: environment `{}` gets no value",
                        self.env
                    ),
                )
                .help(format!(
                    "set it at the top level or under `environments.{}`, e.g. {example}",
                    self.env
                )),
            );
        }
        v
    }

    fn err<T>(&mut self, v: &Val<T>, message: String, help: &str) {
        self.diags
            .push(Diagnostic::new(v.pos(), v.path(), message).help(help));
    }

    fn err_at(&mut self, pos: Pos, path: String, message: String, help: &str) {
        self.diags
            .push(Diagnostic::new(Some(pos), path, message).help(help));
    }

    fn env(&mut self) -> Option<(Env, Shared)> {
        let region = self.required(
            "aws.region",
            |l| l.aws.as_ref()?.region.as_ref(),
            "`region: us-east-1`",
        );
        let vpc_cidr = self.required(
            "aws.vpc_cidr",
            |l| l.aws.as_ref()?.vpc_cidr.as_ref(),
            "`vpc_cidr: 10.0.0.0/16`",
        );
        let host = self.host();
        let redis = self.redis(vpc_cidr.as_ref());
        let mode = self.mode();
        let sizing = self.cache_sizing();
        let in_cache = mode.as_ref().is_some_and(|m| m.value == Mode::ElastiCache);
        let placement = self.placement(in_cache);
        let elasticache = match (&redis, &sizing) {
            (Some(r), Some(s)) if in_cache => Some(self.elasticache(r, s)),
            _ => None,
        };
        let guard = match (&mode, &redis) {
            (Some(m), Some(r)) if m.value == Mode::SelfHosted => Some(self.guard(r)),
            _ => None,
        };
        let monitoring = self.monitoring();
        let consumers = self.consumers();

        if let Some(region) = &region
            && !is_region(&region.value)
        {
            self.err(
                region,
                format!("`{}` is not an AWS region name", region.value),
                "a region such as `us-east-1` or `eu-west-2`",
            );
        }
        if let Some(v) = &vpc_cidr {
            match parse_cidr(&v.value) {
                Ok((IpAddr::V4(_), prefix)) if (16..=28).contains(&prefix) => {}
                Ok((IpAddr::V4(_), prefix)) => self.err(
                    v,
                    format!("a VPC CIDR must have a prefix between /16 and /28, not /{prefix}"),
                    "an IPv4 CIDR such as `10.0.0.0/16`",
                ),
                Ok(_) => self.err(
                    v,
                    format!("`{}` is not an IPv4 CIDR", v.value),
                    "an IPv4 CIDR such as `10.0.0.0/16`",
                ),
                Err(e) => self.err(v, e, "an IPv4 CIDR such as `10.0.0.0/16`"),
            }
        }
        let mut shared = host?;
        shared.extend(placement.ok()?.unwrap_or_default());
        let elasticache = match elasticache {
            Some(e) => Some(e?),
            None => None,
        };
        let guard = match guard {
            Some(g) => Some(g?),
            None => None,
        };
        let (consumers, consumers_key) = consumers?;
        if let Some(r) = &redis
            && r.allowed_ipv4.is_empty()
            && r.allowed_ipv6.is_empty()
            && consumers.is_empty()
        {
            self.err(
                &r.allowed_sources,
                "no client could reach Redis: `redis.allowed_sources` and `consumers` are both empty".into(),
                "`allowed_sources: [vpc]`, CIDRs, or `consumers` with their security groups",
            );
            return None;
        }
        shared.push(consumers_key);
        Some((
            Env {
                name: self.env.to_string(),
                mode: mode?,
                sizing: sizing?,
                elasticache,
                guard,
                monitoring: monitoring?,
                consumers,
                region: region?,
                vpc_cidr: vpc_cidr?,
                redis: redis?,
            },
            shared,
        ))
    }

    fn host(&mut self) -> Option<Shared> {
        let module = self.required(
            "host.terraform_module",
            |l| l.host.as_ref()?.terraform_module.as_ref(),
            "`terraform_module: compute`",
        );
        let instance = self.required(
            "host.instance",
            |l| l.host.as_ref()?.instance.as_ref(),
            "`instance: aws_instance.asterisk`",
        );
        let sg = self.required(
            "host.security_group",
            |l| l.host.as_ref()?.security_group.as_ref(),
            "`security_group: aws_security_group.asterisk`",
        );
        let role = self.required(
            "host.iam_role",
            |l| l.host.as_ref()?.iam_role.as_ref(),
            "`iam_role: aws_iam_role.asterisk`",
        );
        let group = self.required(
            "host.ansible_group",
            |l| l.host.as_ref()?.ansible_group.as_ref(),
            "`ansible_group: asterisk`",
        );

        if let Some(m) = &module
            && !is_identifier(&m.value)
        {
            self.err(m, format!("`{}` is not a Terraform module directory name", m.value), "letters, digits, `_` and `-`, starting with a letter (the directory under terraform/modules/)");
        }
        for (v, kind) in [
            (&instance, "aws_instance"),
            (&sg, "aws_security_group"),
            (&role, "aws_iam_role"),
        ] {
            if let Some(v) = v
                && !is_address(&v.value, kind)
            {
                self.err(
                    v,
                    format!("`{}` is not the address of an `{kind}` resource", v.value),
                    &format!("`{kind}.<name>`, the resource as the module declares it"),
                );
            }
        }
        if let Some(g) = &group {
            if !is_identifier(&g.value) || g.value.contains('-') {
                self.err(
                    g,
                    format!("`{}` is not a valid Ansible group name", g.value),
                    "letters, digits and `_`, starting with a letter",
                );
            } else if is_yaml_special(&g.value) {
                self.err(
                    g,
                    format!(
                        "`{}` reads as a boolean or null in YAML, not as a group name",
                        g.value
                    ),
                    "a name that YAML reads as a string, e.g. `asterisk`",
                );
            }
        }
        Some(vec![module?, instance?, sg?, role?, group?])
    }

    fn mode(&mut self) -> Option<Val<Mode>> {
        let raw = self.or(
            "redis.mode",
            |l| l.redis.as_ref()?.mode.as_ref(),
            "self_hosted".to_string(),
        );
        match raw.value.as_str() {
            "self_hosted" => Some(raw.map(|_| Mode::SelfHosted)),
            "elasticache" => Some(raw.map(|_| Mode::ElastiCache)),
            other => {
                self.err(
                    &raw,
                    format!(
                        "`{other}` is not a place Redis can run{}",
                        did_you_mean(other, ["self_hosted", "elasticache"])
                    ),
                    "`self_hosted` (on the Asterisk host) or `elasticache`",
                );
                None
            }
        }
    }

    /// The node type, count and price: used by ElastiCache mode and by the cost report.
    fn cache_sizing(&mut self) -> Option<CacheSizing> {
        let node_type = self.or(
            "elasticache.node_type",
            |l| l.elasticache.as_ref()?.node_type.as_ref(),
            "cache.t3.small".to_string(),
        );
        let nodes_raw = self.or(
            "elasticache.nodes",
            |l| l.elasticache.as_ref()?.nodes.as_ref(),
            1,
        );
        let price = self.pick("elasticache.hourly_price_usd", |l| {
            l.elasticache.as_ref()?.hourly_price_usd.as_ref()
        });
        let mut ok = true;
        if CacheNode::find(&node_type.value).is_none() {
            let known: Vec<&str> = crate::aws::CACHE_NODES.iter().map(|n| n.name).collect();
            self.err(
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
        if !(1..=6).contains(&nodes_raw.value) {
            self.err(
                &nodes_raw,
                format!("{} nodes is out of range", nodes_raw.value),
                "1 to 6 (a primary and up to 5 replicas)",
            );
            ok = false;
        }
        let hourly_price_usd = match price {
            Some(p) if p.value.is_finite() && p.value > 0.0 && p.value < 1000.0 => p,
            Some(p) => {
                self.err(
                    &p,
                    format!("{} is not an hourly price", p.value),
                    "a positive number of US dollars per node-hour, e.g. 0.034",
                );
                return None;
            }
            None => Val {
                value: crate::aws::cache_price(&node_type.value).unwrap_or(0.0),
                origin: Origin::Default,
                field: "elasticache.hourly_price_usd",
                env: self.env.to_string(),
            },
        };
        ok.then(|| CacheSizing {
            node_type,
            nodes: nodes_raw.map(|n| *n as u32),
            hourly_price_usd,
        })
    }

    /// Where ElastiCache goes: the module that owns it and the VPC and subnet references
    /// inside it. Required in ElastiCache mode; optional otherwise (then both references
    /// or neither). `Ok(None)` when the environment places no ElastiCache.
    fn placement(&mut self, required: bool) -> Result<Option<Shared>, ()> {
        let module = self.or(
            "elasticache.terraform_module",
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
                self.required("elasticache.vpc_id", vpc_get, "`vpc_id: var.vpc_id`"),
                self.required(
                    "elasticache.subnet_ids",
                    subnets_get,
                    "`subnet_ids: var.private_subnet_ids`",
                ),
            )
        } else {
            let vpc_id = self.pick("elasticache.vpc_id", vpc_get);
            let subnets = self.pick("elasticache.subnet_ids", subnets_get);
            match (&vpc_id, &subnets) {
                (None, None) => return Ok(None),
                (Some(set), None) | (None, Some(set)) => {
                    let missing = if vpc_id.is_none() {
                        "vpc_id"
                    } else {
                        "subnet_ids"
                    };
                    self.err(
                        set,
                        format!("`{}` is set but `elasticache.{missing}` is not", set.field),
                        "both `elasticache.vpc_id` and `elasticache.subnet_ids` (where ElastiCache goes), or neither",
                    );
                    return Err(());
                }
                _ => (vpc_id, subnets),
            }
        };
        let mut ok = true;
        if !is_identifier(&module.value) {
            self.err(
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
    fn elasticache(&mut self, redis: &Redis, sizing: &CacheSizing) -> Option<ElastiCacheEnv> {
        let node = CacheNode::find(&sizing.node_type.value)?;
        let multi_az = self.or(
            "elasticache.multi_az",
            |l| l.elasticache.as_ref()?.multi_az.as_ref(),
            sizing.nodes.value >= 2 && node.failover,
        );
        let retention_raw = self.or(
            "elasticache.snapshot_retention_days",
            |l| l.elasticache.as_ref()?.snapshot_retention_days.as_ref(),
            1,
        );
        let maintenance_window = self.or(
            "elasticache.maintenance_window",
            |l| l.elasticache.as_ref()?.maintenance_window.as_ref(),
            "sun:05:00-sun:06:00".to_string(),
        );
        let snapshot_window = self.or(
            "elasticache.snapshot_window",
            |l| l.elasticache.as_ref()?.snapshot_window.as_ref(),
            "03:00-04:00".to_string(),
        );
        let auto_minor_version_upgrade = self.or(
            "elasticache.auto_minor_version_upgrade",
            |l| l.elasticache.as_ref()?.auto_minor_version_upgrade.as_ref(),
            true,
        );
        let final_snapshot = self.or(
            "elasticache.final_snapshot",
            |l| l.elasticache.as_ref()?.final_snapshot.as_ref(),
            true,
        );
        let mut ok = true;

        if !(0..=35).contains(&retention_raw.value) {
            self.err(
                &retention_raw,
                format!("{} days of snapshots is out of range", retention_raw.value),
                "0 (no backups) to 35 days",
            );
            ok = false;
        }
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
                    self.err(v, format!("`{}` is not a time window", v.value), form);
                    ok = false;
                }
                Some(w) if w.minutes() < 60 => {
                    self.err(
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
                &snapshot_window,
                format!(
                    "the snapshot window `{}` overlaps the maintenance window `{}`",
                    snapshot_window.value, maintenance_window.value
                ),
                "a daily window outside the weekly maintenance window",
            );
            ok = false;
        }
        let engine_version = match redis.version.value.split('.').take(2).collect::<Vec<_>>()[..] {
            ["7"] | ["7", "0"] => Some("7.0"),
            ["7", "1"] => Some("7.1"),
            _ => None,
        };
        if engine_version.is_none() {
            self.err(
                &redis.version,
                format!(
                    "ElastiCache for Redis has no version {}",
                    redis.version.value
                ),
                "`7.0` or `7.1` for an environment in ElastiCache mode",
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
                    pos,
                    path,
                    format!(
                        "redis.memory.max {} ({}) does not fit {}: {} GiB of memory, {}% reserved by ElastiCache, leaves {} usable",
                        max.value.text,
                        human_bytes(max.value.bytes),
                        node.name,
                        node.memory_gib,
                        crate::aws::RESERVED_MEMORY_PERCENT,
                        human_bytes(usable)
                    ),
                )
                .help("a larger node type, or a smaller redis.memory.max"),
            );
            ok = false;
        }
        if multi_az.value && !node.failover {
            self.err(
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
            snapshot_retention_days: retention_raw.map(|n| *n as u32),
            engine_version: engine_version?.to_string(),
            maintenance_window,
            snapshot_window,
            auto_minor_version_upgrade,
            final_snapshot,
        })
    }

    /// How Redis shares the host: the capacity rule and the kernel settings.
    fn guard(&mut self, redis: &Redis) -> Option<Guard> {
        let instance_type = self.required(
            "host.instance_type",
            |l| l.host.as_ref()?.instance_type.as_ref(),
            "`instance_type: t3.medium`",
        )?;
        let reserve_raw = self.or(
            "host.asterisk_reserve",
            |l| l.host.as_ref()?.asterisk_reserve.as_ref(),
            "1gb".to_string(),
        );
        let overcommit_memory = self.or(
            "host.overcommit_memory",
            |l| l.host.as_ref()?.overcommit_memory.as_ref(),
            true,
        );
        let disable_thp = self.or(
            "host.disable_thp",
            |l| l.host.as_ref()?.disable_thp.as_ref(),
            true,
        );
        let Some(reserve) =
            MemSize::parse(&reserve_raw.value).filter(|m| m.bytes <= MAX_MEMORY_BYTES)
        else {
            self.err(
                &reserve_raw,
                format!("`{}` is not a memory size", reserve_raw.value),
                "a whole number with a unit: b, k, kb, m, mb, g, gb, e.g. `1gb`",
            );
            return None;
        };
        let Some(ram) = crate::aws::ec2_memory_bytes(&instance_type.value) else {
            let known: Vec<&str> = crate::aws::EC2_MEMORY_GIB.iter().map(|(n, _)| *n).collect();
            self.err(
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
                .help("a smaller redis.memory.max, a smaller host.asterisk_reserve, or a larger host.instance_type"),
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

    fn monitoring(&mut self) -> Option<Monitoring> {
        let namespace = self.or(
            "monitoring.namespace",
            |l| l.monitoring.as_ref()?.namespace.as_ref(),
            "Infragen/Redis".to_string(),
        );
        let pct = self.or(
            "monitoring.memory_alert_percent",
            |l| l.monitoring.as_ref()?.memory_alert_percent.as_ref(),
            80,
        );
        let interval = self.or(
            "monitoring.interval_seconds",
            |l| l.monitoring.as_ref()?.interval_seconds.as_ref(),
            60,
        );
        let topic = self.pick("monitoring.sns_topic_arn", |l| {
            l.monitoring.as_ref()?.sns_topic_arn.as_ref()
        });
        let mut ok = true;
        let ns_ok = !namespace.value.is_empty()
            && namespace.value.len() <= 255
            && !namespace.value.starts_with("AWS/")
            && namespace
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c));
        if !ns_ok {
            self.err(
                &namespace,
                format!("`{}` is not a custom CloudWatch namespace", namespace.value),
                "letters, digits and ._-/#: (not starting with AWS/), e.g. `VoiceCampaign/Redis`",
            );
            ok = false;
        }
        if !(1..=100).contains(&pct.value) {
            self.err(
                &pct,
                format!("{}% is not a percentage of maxmemory", pct.value),
                "1 to 100 (default 80)",
            );
            ok = false;
        }
        if !(60..=3600).contains(&interval.value) || interval.value % 60 != 0 {
            self.err(
                &interval,
                format!("{} seconds is not a metric period", interval.value),
                "a multiple of 60 from 60 to 3600",
            );
            ok = false;
        }
        if let Some(t) = &topic
            && !is_sns_arn(&t.value)
        {
            self.err(
                t,
                format!("`{}` is not an SNS topic ARN", t.value),
                "`arn:aws:sns:<region>:<account>:<topic>`, or leave it out to create a topic",
            );
            ok = false;
        }
        ok.then(|| Monitoring {
            namespace,
            memory_alert_percent: pct.map(|v| *v as u32),
            interval_seconds: interval.map(|v| *v as u32),
            sns_topic_arn: topic,
        })
    }

    /// The consumers, as one shared value (module code names them) plus the list.
    fn consumers(&mut self) -> Option<(Vec<Consumer>, Val<String>)> {
        let list = self.or("consumers", |l| l.consumers.as_ref(), Vec::new());
        let mut out: Vec<Consumer> = Vec::new();
        let mut ok = true;
        for c in &list.value {
            let name_pos = Pos::of(&c.name.referenced);
            if !is_slug(&c.name.value, 32) {
                self.err_at(
                    name_pos,
                    list.path(),
                    format!("consumer name `{}` is not valid", c.name.value),
                    "lower-case letters, digits and `-`, e.g. `dialer`",
                );
                ok = false;
            } else if out.iter().any(|o| o.name == c.name.value) {
                self.err_at(
                    name_pos,
                    list.path(),
                    format!("consumer `{}` is listed twice", c.name.value),
                    "each consumer once",
                );
                ok = false;
            }
            for (field, v) in [
                ("security_group", &c.security_group),
                ("iam_role", &c.iam_role),
            ] {
                if !is_reference(&v.value) {
                    self.err_at(
                        Pos::of(&v.referenced),
                        list.path(),
                        format!("{field} `{}` is not a Terraform reference", v.value),
                        "a reference valid in the root module, e.g. `module.lambda.dialer_security_group_id` or `aws_iam_role.dialer.name`",
                    );
                    ok = false;
                }
            }
            out.push(Consumer {
                name: c.name.value.clone(),
                security_group: c.security_group.value.clone(),
                iam_role: c.iam_role.value.clone(),
            });
        }
        let key: Vec<String> = out
            .iter()
            .map(|c| format!("{} ({}, {})", c.name, c.security_group, c.iam_role))
            .collect();
        let shared = list.map(|_| key.join("; "));
        ok.then_some((out, shared))
    }

    fn redis(&mut self, vpc_cidr: Option<&Val<String>>) -> Option<Redis> {
        let mut ok = true;
        let version = self.or(
            "redis.version",
            |l| l.redis.as_ref()?.version.as_ref(),
            "7.0".to_string(),
        );
        if !is_redis7(&version.value) {
            self.err(
                &version,
                format!("Redis version `{}` is not supported", version.value),
                "a Redis 7.x version such as `7.0` or `7.2` (quoted)",
            );
            ok = false;
        }

        let port_raw = self.or("redis.port", |l| l.redis.as_ref()?.port.as_ref(), 6379);
        let port = port_raw.map(|p| u16::try_from(*p).unwrap_or(0));
        if !(1024..=65535).contains(&port_raw.value) {
            self.err(
                &port_raw,
                format!("port {} is out of range", port_raw.value),
                "a TCP port from 1024 to 65535 (Redis runs unprivileged and cannot bind below 1024)",
            );
            ok = false;
        }

        let bind_raw = self.or(
            "redis.bind",
            |l| l.redis.as_ref()?.bind.as_ref(),
            vec![default_sp("0.0.0.0")],
        );
        if bind_raw.value.is_empty() {
            self.err(
                &bind_raw,
                "`bind` is empty".into(),
                "one or more IP addresses, e.g. `[0.0.0.0]`",
            );
            ok = false;
        }
        for b in &bind_raw.value {
            if b.value.parse::<IpAddr>().is_err() {
                let pos = item_pos(b, &bind_raw);
                self.err_at(
                    pos,
                    bind_raw.path(),
                    format!("`{}` is not an IP address", b.value),
                    "IPv4 or IPv6 addresses, e.g. `0.0.0.0` or `10.0.1.5`",
                );
                ok = false;
            }
        }
        // Redis binds each address in turn and aborts ("address already in use") on an
        // address listed twice, or on one that a wildcard of its family already covers
        // (0.0.0.0 and :: are separate: Redis binds :: as IPv6-only).
        let mut seen: Vec<IpAddr> = Vec::new();
        for b in &bind_raw.value {
            let Ok(ip) = b.value.parse::<IpAddr>() else {
                continue;
            };
            let clash = seen.iter().find(|other| {
                **other == ip
                    || (other.is_ipv4() == ip.is_ipv4()
                        && (other.is_unspecified() || ip.is_unspecified()))
            });
            if let Some(other) = clash {
                let pos = item_pos(b, &bind_raw);
                self.err_at(
                    pos,
                    bind_raw.path(),
                    format!(
                        "`{}` overlaps `{other}`, also in `bind`: Redis would fail to start (address already in use)",
                        b.value
                    ),
                    "each address once; a wildcard (0.0.0.0 or ::) alone for its family",
                );
                ok = false;
            }
            seen.push(ip);
        }
        let bind = bind_raw.map(|v| v.iter().map(|s| s.value.clone()).collect());

        let sources = self.or(
            "redis.allowed_sources",
            |l| l.redis.as_ref()?.allowed_sources.as_ref(),
            vec![default_sp("vpc")],
        );
        let (mut allowed_ipv4, mut allowed_ipv6) = (Vec::new(), Vec::new());
        let help_src =
            "`vpc` (the VPC CIDR) or a CIDR such as `10.0.1.0/24`; never 0.0.0.0/0 or ::/0";
        for s in &sources.value {
            let pos = item_pos(s, &sources);
            let cidr = if s.value == "vpc" {
                // An invalid VPC CIDR is reported once, at aws.vpc_cidr.
                match vpc_cidr {
                    Some(v) if parse_cidr(&v.value).is_ok() => v.value.clone(),
                    _ => continue,
                }
            } else {
                s.value.clone()
            };
            match parse_cidr(&cidr) {
                Ok((_, 0)) => {
                    self.err_at(
                        pos,
                        sources.path(),
                        format!("`{cidr}` would open the Redis port to the whole internet"),
                        help_src,
                    );
                    ok = false;
                }
                Ok((ip, _)) => {
                    let list = if ip.is_ipv4() {
                        &mut allowed_ipv4
                    } else {
                        &mut allowed_ipv6
                    };
                    if list.contains(&cidr) {
                        self.err_at(
                            pos,
                            sources.path(),
                            format!("`{}` is listed twice (as `{cidr}`)", s.value),
                            help_src,
                        );
                        ok = false;
                    } else {
                        list.push(cidr);
                    }
                }
                Err(e) => {
                    self.err_at(pos, sources.path(), e, help_src);
                    ok = false;
                }
            }
        }

        for (family, list) in [("IPv4", &allowed_ipv4), ("IPv6", &allowed_ipv6)] {
            if list.len() > 1 && covers_everything(list) {
                self.err(
                    &sources,
                    format!(
                        "together, {} cover every {family} address: the Redis port would be open to the whole internet",
                        list.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                    ),
                    help_src,
                );
                ok = false;
            }
        }

        let blocked_raw = self.or(
            "redis.blocked_commands",
            |l| l.redis.as_ref()?.blocked_commands.as_ref(),
            vec![default_sp("FLUSHALL"), default_sp("FLUSHDB")],
        );
        let mut blocked = Vec::new();
        for c in &blocked_raw.value {
            let upper = c.value.to_ascii_uppercase();
            let pos = item_pos(c, &blocked_raw);
            if !BLOCKABLE_COMMANDS.contains(&upper.as_str()) {
                self.err_at(
                    pos,
                    blocked_raw.path(),
                    format!(
                        "`{}` is not a command infragen can block{}",
                        c.value,
                        did_you_mean(&upper, BLOCKABLE_COMMANDS.iter().copied())
                    ),
                    &format!("one of {}", BLOCKABLE_COMMANDS.join(", ")),
                );
                ok = false;
            } else if blocked.contains(&upper) {
                self.err_at(
                    pos,
                    blocked_raw.path(),
                    format!("`{}` is listed twice", c.value),
                    "each command once",
                );
                ok = false;
            } else {
                blocked.push(upper);
            }
        }
        let blocked_commands = blocked_raw.map(|_| blocked);

        let len_raw = self.or(
            "redis.auth.password_length",
            |l| l.redis.as_ref()?.auth.as_ref()?.password_length.as_ref(),
            32,
        );
        if !(32..=128).contains(&len_raw.value) {
            self.err(
                &len_raw,
                format!("password length {} is out of range", len_raw.value),
                "32 to 128 characters (128 is the ElastiCache AUTH token limit)",
            );
            ok = false;
        }
        let password_length = len_raw.map(|v| u32::try_from(*v).unwrap_or(0));
        let password_specials = self.or(
            "redis.auth.password_specials",
            |l| l.redis.as_ref()?.auth.as_ref()?.password_specials.as_ref(),
            false,
        );
        let secret_name = self.or(
            "redis.auth.secret_name",
            |l| l.redis.as_ref()?.auth.as_ref()?.secret_name.as_ref(),
            format!("{}/{}/redis-password", self.name, self.env),
        );
        if !is_secret_name(&secret_name.value) {
            self.err(
                &secret_name,
                format!(
                    "`{}` is not a valid Secrets Manager secret name",
                    secret_name.value
                ),
                "1-512 characters: letters, digits and /_+=.@-",
            );
            ok = false;
        }
        let days_raw = self.or(
            "redis.auth.secret_recovery_days",
            |l| {
                l.redis
                    .as_ref()?
                    .auth
                    .as_ref()?
                    .secret_recovery_days
                    .as_ref()
            },
            7,
        );
        if !(days_raw.value == 0 || (7..=30).contains(&days_raw.value)) {
            self.err(
                &days_raw,
                format!(
                    "recovery window of {} days is not allowed by Secrets Manager",
                    days_raw.value
                ),
                "0 (delete at once) or 7 to 30 days",
            );
            ok = false;
        }
        let secret_recovery_days = days_raw.map(|v| u32::try_from(*v).unwrap_or(0));
        let kms_key_arn = self.pick("redis.auth.kms_key_arn", |l| {
            l.redis.as_ref()?.auth.as_ref()?.kms_key_arn.as_ref()
        });
        if let Some(k) = &kms_key_arn
            && !is_kms_arn(&k.value)
        {
            self.err(
                k,
                format!("`{}` is not a KMS key ARN", k.value),
                "`arn:aws:kms:<region>:<account>:key/<key-id>`",
            );
            ok = false;
        }

        let mem_raw = self.or(
            "redis.memory.max",
            |l| l.redis.as_ref()?.memory.as_ref()?.max.as_ref(),
            "512mb".to_string(),
        );
        let mem_help = "a whole number with a Redis unit: b, k (1000), kb (1024), m, mb, g, gb, e.g. `512mb`; at least 1mb";
        let maxmemory = match MemSize::parse(&mem_raw.value) {
            Some(m) if m.bytes > MAX_MEMORY_BYTES => {
                self.err(
                    &mem_raw,
                    format!(
                        "`{}` is more memory than any EC2 instance or ElastiCache node has",
                        mem_raw.value
                    ),
                    mem_help,
                );
                None
            }
            Some(m) if m.bytes >= 1024 * 1024 => Some(mem_raw.map(|_| m)),
            Some(_) => {
                self.err(
                    &mem_raw,
                    format!(
                        "`{}` is below 1mb; Redis cannot run a useful cache in that",
                        mem_raw.value
                    ),
                    mem_help,
                );
                None
            }
            None => {
                self.err(
                    &mem_raw,
                    format!("`{}` is not a memory size Redis understands", mem_raw.value),
                    mem_help,
                );
                None
            }
        };
        let policy = self.or(
            "redis.memory.policy",
            |l| l.redis.as_ref()?.memory.as_ref()?.policy.as_ref(),
            "allkeys-lru".to_string(),
        );
        if !EVICTION_POLICIES.contains(&policy.value.as_str()) {
            self.err(
                &policy,
                format!(
                    "`{}` is not a Redis 7 eviction policy{}",
                    policy.value,
                    did_you_mean(&policy.value, EVICTION_POLICIES.iter().copied())
                ),
                &EVICTION_POLICIES.join(", "),
            );
            ok = false;
        }

        let snaps_raw = self.pick("redis.persistence.rdb_snapshots", |l| {
            l.redis
                .as_ref()?
                .persistence
                .as_ref()?
                .rdb_snapshots
                .as_ref()
        });
        let snapshots = match snaps_raw {
            None => Val {
                value: vec![snap(3600, 1), snap(300, 100), snap(60, 10000)],
                origin: Origin::Default,
                field: "redis.persistence.rdb_snapshots",
                env: self.env.to_string(),
            },
            Some(v) => {
                let mut out = Vec::new();
                for rule in &v.value {
                    // Redis reads both as C ints: larger numbers wrap silently
                    // (`save 60 4294967297` becomes `save 60 1`).
                    let mut get = |n: &Sp<i64>, what: &str| -> u64 {
                        match u64::try_from(n.value) {
                            Ok(v) if (1..=REDIS_INT_MAX).contains(&v) => v,
                            _ => {
                                self.err_at(
                                    Pos::of(&n.referenced),
                                    v.path(),
                                    format!(
                                        "`{what}` must be from 1 to {REDIS_INT_MAX}, not {}",
                                        n.value
                                    ),
                                    "a positive whole number that Redis can hold (a 32-bit int)",
                                );
                                ok = false;
                                0
                            }
                        }
                    };
                    let after_seconds = get(&rule.after_seconds, "after_seconds");
                    let min_changes = get(&rule.min_changes, "min_changes");
                    out.push(snap(after_seconds, min_changes));
                }
                v.map(|_| out)
            }
        };
        let aof = self.or(
            "redis.persistence.aof",
            |l| l.redis.as_ref()?.persistence.as_ref()?.aof.as_ref(),
            true,
        );
        let appendfsync = self.or(
            "redis.persistence.appendfsync",
            |l| l.redis.as_ref()?.persistence.as_ref()?.appendfsync.as_ref(),
            "everysec".to_string(),
        );
        if !FSYNC_MODES.contains(&appendfsync.value.as_str()) {
            self.err(
                &appendfsync,
                format!(
                    "`{}` is not an appendfsync mode{}",
                    appendfsync.value,
                    did_you_mean(&appendfsync.value, FSYNC_MODES.iter().copied())
                ),
                &FSYNC_MODES.join(", "),
            );
            ok = false;
        }

        if !ok {
            return None;
        }
        Some(Redis {
            version,
            port,
            bind,
            allowed_sources: sources.map(|v| v.iter().map(|s| s.value.clone()).collect()),
            allowed_ipv4,
            allowed_ipv6,
            blocked_commands,
            password_length,
            password_specials,
            secret_name,
            secret_recovery_days,
            kms_key_arn,
            maxmemory: maxmemory?,
            maxmemory_policy: policy,
            snapshots,
            aof,
            appendfsync,
        })
    }
}

fn snap(after_seconds: u64, min_changes: u64) -> Snapshot {
    Snapshot {
        after_seconds,
        min_changes,
    }
}

fn default_sp(s: &str) -> Sp<String> {
    Sp::new(s.to_string(), serde_saphyr::Location::UNKNOWN)
}

/// Position of a list item, falling back to the list's own position for defaults.
fn item_pos<T>(item: &Sp<String>, list: &Val<T>) -> Pos {
    if item.referenced == serde_saphyr::Location::UNKNOWN {
        list.pos().unwrap_or(Pos { line: 1, column: 1 })
    } else {
        Pos::of(&item.referenced)
    }
}

/// Parses `addr/prefix`, requiring the canonical network address (no host bits set).
pub fn parse_cidr(s: &str) -> Result<(IpAddr, u8), String> {
    let bad = || format!("`{s}` is not a CIDR block");
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    let canonical = match ip {
        IpAddr::V4(v4) => {
            if prefix > 32 {
                return Err(bad());
            }
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            if prefix > 128 {
                return Err(bad());
            }
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    };
    if canonical != ip {
        return Err(format!(
            "`{s}` has host bits set; did you mean `{canonical}/{prefix}`?"
        ));
    }
    if canonical.to_string() != addr {
        return Err(format!(
            "`{s}` is not written canonically; write `{canonical}/{prefix}`"
        ));
    }
    Ok((ip, prefix))
}

/// A maintenance (weekly, `ddd:hh:mm-ddd:hh:mm`) or snapshot (daily, `hh:mm-hh:mm`)
/// window, as minutes from the start of the week (weekly) or of the day (daily).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    start: u32,
    end: u32,
    weekly: bool,
}

const WEEK: u32 = 7 * 24 * 60;
const DAY: u32 = 24 * 60;

impl Window {
    fn period(&self) -> u32 {
        if self.weekly { WEEK } else { DAY }
    }

    /// Length in minutes; a window may wrap past midnight or the end of the week.
    fn minutes(&self) -> u32 {
        (self.end + self.period() - self.start) % self.period()
    }

    /// Whether a daily window overlaps this weekly one on any day of the week.
    fn overlaps_daily(&self, daily: &Window) -> bool {
        (0..7).any(|day| {
            let start = day * DAY + daily.start;
            let len = daily.minutes();
            // Two intervals on a circle of WEEK minutes overlap when either starts inside the other.
            let inside = |a: u32, from: u32, len: u32| (a + WEEK - from) % WEEK < len;
            inside(start, self.start, self.minutes()) || inside(self.start, start % WEEK, len)
        })
    }
}

fn parse_window(s: &str, weekly: bool) -> Option<Window> {
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let point = |p: &str| -> Option<u32> {
        let (day, time) = if weekly {
            let (d, t) = p.split_once(':')?;
            (DAYS.iter().position(|x| *x == d)? as u32, t)
        } else {
            (0, p)
        };
        let (h, m) = time.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(day * DAY + h * 60 + m)
    };
    let (a, b) = s.split_once('-')?;
    Some(Window {
        start: point(a)?,
        end: point(b)?,
        weekly,
    })
}

fn is_slug(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= max
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_address(s: &str, kind: &str) -> bool {
    match s.split_once('.') {
        Some((t, name)) => {
            t == kind && is_identifier(name.trim_start_matches('_')) && !name.contains('.')
        }
        None => false,
    }
}

/// A Terraform reference such as `var.vpc_id`, `aws_vpc.main.id` or
/// `aws_subnet.private[*].id` (no functions, no operators).
fn is_reference(s: &str) -> bool {
    let mut parts = s.split('.');
    let first = parts.next().unwrap_or_default();
    !s.is_empty()
        && s.len() <= 200
        && is_identifier(first)
        && parts.clone().count() >= 1
        && parts.all(|p| {
            let name = p.strip_suffix("[*]").unwrap_or(p);
            let name = match name.split_once('[') {
                Some((n, idx)) => {
                    if !(idx.ends_with(']')
                        && idx[..idx.len() - 1].chars().all(|c| c.is_ascii_digit())
                        && idx.len() > 1)
                    {
                        return false;
                    }
                    n
                }
                None => name,
            };
            is_identifier(name) || (name.starts_with('_') && is_identifier(&name[1..]))
        })
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

fn is_redis7(s: &str) -> bool {
    let mut parts = s.split('.');
    parts.next() == Some("7")
        && parts.clone().count() <= 2
        && parts.all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()))
}

fn is_secret_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 512
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
}

/// No size infragen computes with is larger (64 TiB, above any EC2 instance's memory), so
/// sums and doubled sizes always fit a u64.
const MAX_MEMORY_BYTES: u64 = 64 << 40;

/// Redis's limit for the numbers of a `save` rule (C `int`).
const REDIS_INT_MAX: u64 = i32::MAX as u64;

/// `arn:<partition>:<service>:<region>:<12-digit account>:<resource>`, each part
/// checked (the resource by the caller). Quotes, `${`, spaces and newlines never pass.
fn arn_parts<'a>(s: &'a str, service: &str) -> Option<&'a str> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, svc, region, account, resource] = parts[..] else {
        return None;
    };
    let partition_ok = matches!(
        partition,
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
    );
    (arn == "arn"
        && partition_ok
        && svc == service
        && is_region(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit()))
    .then_some(resource)
}

fn is_kms_arn(s: &str) -> bool {
    let Some(resource) = arn_parts(s, "kms") else {
        return false;
    };
    let name_ok = |n: &str, extra: &str| {
        !n.is_empty()
            && n.len() <= 256
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    };
    match resource.split_once('/') {
        // A key id (a UUID, or mrk-<hex> for a multi-Region key).
        Some(("key", id)) => name_ok(id, "-"),
        Some(("alias", name)) => name_ok(name, "/_-"),
        _ => false,
    }
}

/// An SNS topic ARN: a topic name of 1-256 letters, digits, `-` and `_` (and `.fifo`).
fn is_sns_arn(s: &str) -> bool {
    arn_parts(s, "sns").is_some_and(|topic| {
        let name = topic.strip_suffix(".fifo").unwrap_or(topic);
        !name.is_empty()
            && topic.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// YAML 1.1 spellings of booleans and null: a bare scalar with one of these is not a
/// string to every YAML reader.
fn is_yaml_special(s: &str) -> bool {
    const WORDS: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null"];
    WORDS.contains(&s.to_ascii_lowercase().as_str())
}

/// Whether the CIDRs (all of one family, canonical) together cover every address of
/// that family.
fn covers_everything(cidrs: &[String]) -> bool {
    let mut ranges: Vec<(u128, u128)> = Vec::new();
    let mut bits = 32;
    for c in cidrs {
        let Ok((ip, prefix)) = parse_cidr(c) else {
            continue;
        };
        let (start, width) = match ip {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        };
        bits = width;
        let size_minus_one = if u32::from(prefix) >= width {
            0
        } else {
            (u128::MAX >> (128 - width)) >> prefix
        };
        ranges.push((start, start.saturating_add(size_minus_one)));
    }
    let top = u128::MAX >> (128 - bits);
    ranges.sort();
    let mut next = 0u128; // the first address not yet covered
    for (start, end) in ranges {
        if start > next {
            return false;
        }
        if end >= next {
            if end == top {
                return true;
            }
            next = end + 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_that_cover_every_address() {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(covers_everything(&v(&["0.0.0.0/1", "128.0.0.0/1"])));
        assert!(covers_everything(&v(&[
            "128.0.0.0/1",
            "0.0.0.0/2",
            "64.0.0.0/2"
        ])));
        assert!(!covers_everything(&v(&["0.0.0.0/1", "128.0.0.0/2"])));
        assert!(!covers_everything(&v(&["10.0.0.0/8", "172.16.0.0/12"])));
        assert!(covers_everything(&v(&["::/1", "8000::/1"])));
        assert!(!covers_everything(&v(&["::/1", "8000::/2"])));
    }

    #[test]
    fn arns_are_strict() {
        assert!(is_sns_arn("arn:aws:sns:eu-central-1:123456789012:oncall"));
        assert!(!is_sns_arn(
            "arn:aws:sns:eu-central-1:123456789012:on\"call"
        ));
        assert!(!is_sns_arn("arn:aws:sns:eu-central-1:123456789012:${x}"));
        assert!(!is_sns_arn("arn:aws:sns:eu-central-1:12345:oncall"));
        assert!(!is_sns_arn("arn:aws:sqs:eu-central-1:123456789012:oncall"));
        assert!(is_kms_arn(
            "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
        assert!(is_kms_arn("arn:aws:kms:us-east-1:123456789012:alias/redis"));
        assert!(!is_kms_arn("arn:aws:kms:us-east-1:123456789012:key/a b"));
        assert!(!is_kms_arn(
            "arn:aws-evil:kms:us-east-1:123456789012:key/abc"
        ));
    }

    #[test]
    fn windows() {
        let m = parse_window("sun:05:00-sun:06:00", true).unwrap();
        assert_eq!(m.minutes(), 60);
        assert_eq!(
            parse_window("sat:23:30-sun:00:30", true).unwrap().minutes(),
            60
        );
        assert_eq!(parse_window("23:30-00:30", false).unwrap().minutes(), 60);
        assert!(parse_window("sun:5:00-sun:06:00", true).is_none());
        assert!(parse_window("xyz:05:00-sun:06:00", true).is_none());
        assert!(parse_window("03:00-24:00", false).is_none());
        let snap = |s| parse_window(s, false).unwrap();
        assert!(!m.overlaps_daily(&snap("03:00-04:00")));
        assert!(m.overlaps_daily(&snap("05:30-06:30")));
        assert!(m.overlaps_daily(&snap("04:30-05:30")));
        assert!(m.overlaps_daily(&snap("04:00-07:00")));
        assert!(!m.overlaps_daily(&snap("06:00-07:00")));
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("10.0.0.0/16").is_ok());
        assert!(
            parse_cidr("10.0.0.1/16")
                .unwrap_err()
                .contains("did you mean `10.0.0.0/16`")
        );
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("2001:db8::/32").is_ok());
        assert!(parse_cidr("10.0.0.0").is_err());
        assert_eq!(parse_cidr("0.0.0.0/0").unwrap().1, 0);
    }

    #[test]
    fn names() {
        assert!(
            is_region("us-east-1")
                && is_region("us-gov-west-1")
                && !is_region("us-east")
                && !is_region("US-east-1")
        );
        assert!(
            is_redis7("7.0")
                && is_redis7("7.2.4")
                && is_redis7("7")
                && !is_redis7("6.2")
                && !is_redis7("7.x")
        );
        assert!(
            is_address("aws_instance.asterisk", "aws_instance")
                && !is_address("aws_instance", "aws_instance")
        );
        assert!(!is_address("aws_security_group.a", "aws_instance"));
        assert!(
            is_slug("dev", 32) && !is_slug("../x", 32) && !is_slug("Dev", 32) && !is_slug("", 32)
        );
    }
}
