//! Validation: resolves the blueprint's layers per environment and checks every rule,
//! collecting all problems at once. The result is the typed [`Model`] or the list of
//! [`Diagnostic`]s, each pointing at the line that set the bad value.
//!
//! One file per blueprint section, each adding its part to the [`Resolver`]:
//! `host` (the host, the AWS account, the mode), `network` (port, bind, sources),
//! `redis` (version, blocked commands), `auth`, `memory`, `persistence`, `elasticache`
//! (placement, sizing, lifecycle), `guard` (the shared host's capacity), `monitoring`,
//! `backup`, `consumers`. `resolver` picks each value; `syntax` holds the pure checks. Field
//! ranges, value lists and patterns come from [`crate::rules`], which the JSON Schema
//! reads too.

mod auth;
mod backup;
mod consumers;
mod elasticache;
mod guard;
mod host;
mod memory;
mod monitoring;
mod network;
mod persistence;
mod redis;
mod resolver;
pub mod syntax;
mod tls;

use crate::blueprint::Blueprint;
use crate::diag::{Code, Diagnostic, Pos};
use crate::field::Field;
use crate::model::{ElastiCacheShared, Env, Host, Model, Val};
use crate::rules::{ENV_NAME_MAX, Mode, NAME_MAX};
use resolver::{Resolver, Shared};
use syntax::is_slug;

/// Builds the model from a parsed blueprint, or returns every problem found. `source`
/// is the blueprint's path as shown to users (it goes into the markers).
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
                    Code::Missing,
                    Some(Pos { line: 1, column: 1 }),
                    "name",
                    "missing required field `name`",
                )
                .help("a lower-case name such as `redis-on-asterisk`"),
            );
            String::new()
        }
        Some(n) => {
            if !is_slug(&n.value, NAME_MAX) {
                diags.push(
                    Diagnostic::new(
                        Code::Name,
                        Some(Pos::of(&n.referenced)),
                        "name",
                        format!("`{}` is not a valid name", n.value),
                    )
                    .help("1-40 characters: lower-case letters, digits and `-`, starting with a letter"),
                );
            }
            n.value
        }
    };

    let mut envs = Vec::new();
    let mut shared: Vec<Shared> = Vec::new();
    let environments_at = environments.as_ref().map(|l| Pos::of(&l.referenced));
    match &environments {
        None => diags.push(
            Diagnostic::new(
                Code::NoEnvironments,
                Some(Pos { line: 1, column: 1 }),
                "environments",
                "no environments defined",
            )
            .help("an `environments:` mapping with at least one entry, e.g. `dev: {}`"),
        ),
        Some(list) if list.value.0.is_empty() => diags.push(
            Diagnostic::new(
                Code::NoEnvironments,
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
                let problem = if syntax::is_reserved_name(&env_name.value) {
                    Some((
                        "is a device name on Windows: its directories could not be checked out there",
                        "any other name: con, prn, aux, nul, com1-com9 and lpt1-lpt9 are reserved",
                    ))
                } else if !is_slug(&env_name.value, ENV_NAME_MAX) {
                    Some((
                        "is not safe in file paths",
                        "1-32 characters: lower-case letters, digits and `-`, starting with a letter",
                    ))
                } else {
                    None
                };
                if let Some((what, help)) = problem {
                    diags.push(
                        Diagnostic::new(
                            Code::EnvName,
                            Some(pos),
                            format!("environments.{}", env_name.value),
                            format!("environment name `{}` {what}", env_name.value),
                        )
                        .help(help),
                    );
                }
                if !seen.insert(env_name.value.as_str()) {
                    diags.push(Diagnostic::new(
                        Code::EnvTwice,
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

    let first = agree(&shared, &mut diags);
    let get = |field: Field| {
        first
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.value.clone())
    };
    let host = (|| {
        Some(Host {
            terraform_module: get(Field::HostTerraformModule)?,
            instance: get(Field::HostInstance)?,
            security_group: get(Field::HostSecurityGroup)?,
            iam_role: get(Field::HostIamRole)?,
            ansible_group: get(Field::HostAnsibleGroup)?,
        })
    })();
    let elasticache = (|| {
        Some(ElastiCacheShared {
            terraform_module: get(Field::EcTerraformModule)?,
            vpc_id: get(Field::EcVpcId)?,
            subnet_ids: get(Field::EcSubnetIds)?,
        })
    })();
    if let (Some(e), Some(h)) = (&elasticache, &host)
        && h.terraform_module.eq_ignore_ascii_case(&e.terraform_module)
        && let Some(v) = first.iter().find(|f| f.field == Field::EcTerraformModule)
    {
        diags.push(
            Diagnostic::new(
                Code::ModulesClash,
                v.pos(),
                v.path(),
                if h.terraform_module == e.terraform_module {
                    format!("module `{}` is also `{}`", e.terraform_module, Field::HostTerraformModule)
                } else {
                    format!(
                        "module `{}` and `{}` `{}` differ only in case: one directory on a case-insensitive file system (macOS, Windows)",
                        e.terraform_module,
                        Field::HostTerraformModule,
                        h.terraform_module
                    )
                },
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
            environments_at,
        }),
        _ => Err(diags),
    }
}

/// Module code and the role are shared by all environments, so the values they are
/// written from must be the same in every environment that uses them. Returns each
/// field's first value.
fn agree<'a>(shared: &'a [Shared], diags: &mut Vec<Diagnostic>) -> Vec<&'a Val<String>> {
    let mut first: Vec<&Val<String>> = Vec::new();
    for v in shared.iter().flatten() {
        match first.iter().find(|f| f.field == v.field) {
            None => first.push(v),
            Some(f) if f.value != v.value => diags.push(
                Diagnostic::new(
                    Code::SharedDiffers,
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
    first
}

/// A problem in a base value is found once per environment: keep one.
fn dedupe(diags: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diags.retain(|d| seen.insert((d.pos, d.path.clone(), d.message.clone())));
}

impl Resolver<'_> {
    /// Resolves and checks one environment; with it, the values of shared code it
    /// resolved (for [`agree`]).
    fn env(&mut self) -> Option<(Env, Shared)> {
        let (region, vpc_cidr) = self.aws();
        let host = self.host();
        let redis = self.redis(vpc_cidr.as_ref());
        let mode = self.mode();
        let sizing = self.cache_sizing(redis.as_ref().map(|r| r.engine.value));
        let in_cache = mode.as_ref().is_some_and(|m| m.value == Mode::ElastiCache);
        let placement = self.placement(in_cache);
        let elasticache = match (&redis, &sizing) {
            (Some(r), Some(s)) if in_cache => Some(self.elasticache(r, s)),
            _ => None,
        };
        let self_hosted = mode.as_ref().is_some_and(|m| m.value == Mode::SelfHosted);
        let guard = match &redis {
            Some(r) if self_hosted => Some(self.guard(r)),
            _ => None,
        };
        let packaged = match &redis {
            Some(r) if self_hosted => self.host_release(r),
            _ => true,
        };
        // In every mode: the bucket holds the self-hosted side's backups, which a rollback
        // to ElastiCache (and a return) must keep; only the timer and alarm need the host.
        let backup = self.backup();
        let monitoring = self.monitoring();
        let consumers = self.consumers();

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
        let backup = backup.ok()?;
        if !packaged {
            return None;
        }
        let (consumers, consumers_key) = consumers?;
        // `vpc` among the sources with no usable VPC CIDR (reported where it is set, or
        // missing) leaves the sources unresolved: nothing is concluded from them.
        let vpc_unresolved = vpc_cidr
            .as_ref()
            .is_none_or(|v| syntax::parse_cidr(&v.value).is_err());
        if let Some(r) = &redis
            && !(vpc_unresolved && r.allowed_sources.value.iter().any(|s| s == "vpc"))
            && r.allowed_ipv4.is_empty()
            && r.allowed_ipv6.is_empty()
            && consumers.is_empty()
        {
            self.err(
                Code::Unreachable,
                &r.allowed_sources,
                format!(
                    "no client could reach Redis: `{}` and `{}` are both empty",
                    Field::RedisAllowedSources,
                    Field::Consumers
                ),
                "`allowed_sources: [vpc]`, CIDRs, or `consumers` with their security groups",
            );
            return None;
        }
        shared.push(consumers_key);
        Some((
            Env {
                name: self.env.to_string(),
                at: self.env_pos,
                mode: mode?,
                sizing: sizing?,
                elasticache,
                guard,
                backup,
                monitoring: monitoring?,
                consumers,
                region: region?,
                vpc_cidr: vpc_cidr?,
                redis: redis?,
            },
            shared,
        ))
    }
}
