//! An engine switch on a host, judged by the data it must carry: the old engine's
//! dataset is an RDB file of the format its release writes, and the new engine starts
//! on it only if its release reads that format (`rules::Engine::rdb_writes` and
//! `reads_rdb`).
//!
//! Which releases are on the host is not in the blueprint: `redis.version` is the
//! oldest release accepted, and a host installs its Debian release's package
//! (`Engine::host_packages`). So the old engine may be any of its packages at or above
//! the recorded version, and the new engine any of its packages at or above the new
//! version. A switch is refused ([`Survival::Never`], IG413) only when no old release
//! writes a format some new release reads: then the data cannot survive on any host,
//! whatever its Debian release or upgrade history. When only some pairings fail it is a
//! warning ([`Survival::Depends`]): the role checks the formats on the host before it
//! touches anything. Pure: recorded values and the model in, a judgement out.
//!
//! Out of scope: an environment on ElastiCache before or after the edit (AWS performs
//! its own engine change), and a version change of the same engine (the blueprint's
//! version does not change the installed package, and a newer release of an engine
//! reads its older formats).

use crate::diag::{Code, Diagnostic};
use crate::field::Field;
use crate::model::{Env, Model};
use crate::rules::{Engine, HostPackage, Mode, Version};
use serde::Serialize;
use serde_json::Value as Json;

/// Whether an environment's data survives its engine switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Survival {
    /// On every host: every new release reads what every old release writes.
    Always,
    /// On some hosts only ([`EngineSwitch::unreadable`] says where not).
    Depends,
    /// On no host: no new release reads what any old release writes.
    Never,
}

/// An old engine's package whose dataset some new releases cannot read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    /// The old release, e.g. `Redis 8.0.2 (Debian 13)`.
    pub written_by: String,
    /// The RDB format it writes.
    pub rdb: u32,
    /// The new releases that cannot read it, e.g. `Valkey 8.1.1 (Debian 13)`.
    pub not_read_by: Vec<String>,
}

/// A self-hosted environment's engine switch and what its data makes of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineSwitch {
    pub from: &'static str,
    pub to: &'static str,
    pub survival: Survival,
    /// Every old release with a new release that cannot read its data (empty when
    /// the data always survives).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Unreadable>,
}

fn release(engine: Engine, p: &HostPackage) -> String {
    format!("{} {} (Debian {})", engine.title(), p.version, p.debian)
}

/// The host packages of `engine` that a `version` of it accepts.
fn installable(engine: Engine, version: Version) -> Vec<&'static HostPackage> {
    engine
        .host_packages()
        .iter()
        .filter(|p| p.version >= version)
        .collect()
}

/// The switch from `from` at `from_version` (the recorded values) to `to` at
/// `to_version`; `None` when the engine stays or a side has no host package to judge
/// by (a version no Debian host installs, which validation reports on its own).
pub fn judge(
    from: Engine,
    from_version: Version,
    to: Engine,
    to_version: Version,
) -> Option<EngineSwitch> {
    if from == to {
        return None;
    }
    let (old, new) = (installable(from, from_version), installable(to, to_version));
    if old.is_empty() || new.is_empty() {
        return None;
    }
    let mut unreadable = Vec::new();
    let mut some_pair_works = false;
    for o in &old {
        let rdb = from.rdb_writes(o.version);
        let not_read_by: Vec<String> = new
            .iter()
            .filter(|n| !to.reads_rdb(n.version, rdb))
            .map(|n| release(to, n))
            .collect();
        some_pair_works |= not_read_by.len() < new.len();
        if !not_read_by.is_empty() {
            unreadable.push(Unreadable {
                written_by: release(from, o),
                rdb,
                not_read_by,
            });
        }
    }
    let survival = match (unreadable.is_empty(), some_pair_works) {
        (true, _) => Survival::Always,
        (false, true) => Survival::Depends,
        (false, false) => Survival::Never,
    };
    Some(EngineSwitch {
        from: from.as_str(),
        to: to.as_str(),
        survival,
        unreadable,
    })
}

fn recorded(values: &[(String, Json)], field: Field) -> Option<&str> {
    values
        .iter()
        .find(|(f, _)| f == field.path())
        .and_then(|(_, v)| v.as_str())
}

/// The engine switch of environment `e` against its recorded `values`: `None` unless
/// the environment is self-hosted before and after and its engine changes. A tree
/// recorded before `redis.engine` existed ran Redis.
pub fn switch_of(values: &[(String, Json)], e: &Env) -> Option<EngineSwitch> {
    let was_self_hosted = recorded(values, Field::RedisMode) == Some(Mode::SelfHosted.as_str());
    if !was_self_hosted || e.mode.value != Mode::SelfHosted {
        return None;
    }
    let from = match recorded(values, Field::RedisEngine) {
        None => Engine::Redis,
        Some(name) => Engine::parse(name)?,
    };
    let from_version = Version::parse(recorded(values, Field::RedisVersion)?)?;
    let to_version = Version::parse(&e.redis.version.value)?;
    judge(from, from_version, e.redis.engine.value, to_version)
}

impl EngineSwitch {
    /// The old releases and what cannot read their data, in one sentence's clauses.
    pub fn reasons(&self) -> String {
        self.unreadable
            .iter()
            .map(|u| {
                format!(
                    "{} writes RDB format {}, which {} cannot read",
                    u.written_by,
                    u.rdb,
                    u.not_read_by.join(" and ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The warning of a switch whose data survives on some hosts only.
    pub fn warning(&self) -> Option<String> {
        (self.survival == Survival::Depends).then(|| {
            let (from, to) = (title(self.from), title(self.to));
            format!(
                "the data may not survive the switch from {from} to {to} on every host: {}. The role re-checks on the host before touching anything: where {to} cannot read the data, it stops and leaves {from} running on it",
                self.reasons()
            )
        })
    }
}

fn title(name: &str) -> &'static str {
    Engine::parse(name).map_or("the engine", Engine::title)
}

/// IG413 for `e`'s switch when its data cannot survive it, at the blueprint's
/// `redis.engine`.
pub fn refusal(switch: &EngineSwitch, model: &Model, env: &str) -> Option<Diagnostic> {
    if switch.survival != Survival::Never {
        return None;
    }
    let e = model.envs.iter().find(|e| e.name == env)?;
    let (from, to) = (title(switch.from), title(switch.to));
    Some(
        Diagnostic::new(
            Code::EngineSwitch,
            e.redis.engine.pos(),
            e.redis.engine.path(),
            format!(
                "environment `{env}` runs {from} on its host (recorded in the tree) and its data cannot survive a switch to {to}: {}",
                switch.reasons()
            ),
        )
        .help(format!(
            "keep `{}: {}` for `{env}`; {to} on this host could only start without the data",
            Field::RedisEngine,
            switch.from
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn survival(from: Engine, fv: &str, to: Engine, tv: &str) -> Option<Survival> {
        judge(from, v(fv), to, v(tv)).map(|s| s.survival)
    }

    #[test]
    fn switches_are_judged_by_every_pairing_of_host_packages() {
        use Engine::{Redis, Valkey};
        use Survival::{Always, Depends, Never};
        let table = [
            // Debian 12's Redis 7.0.15 writes 10 (Valkey reads it); Debian 13's 8.0.2
            // writes 12 (no Valkey reads it).
            (Redis, "7.0", Valkey, "8.0", Some(Depends)),
            (Redis, "7.0", Valkey, "8.1", Some(Depends)),
            // Only Redis 8.0.2 is at or above 8.0: format 12, unreadable by any Valkey.
            (Redis, "8.0", Valkey, "8.0", Some(Never)),
            (Redis, "8.0", Valkey, "7.2", Some(Never)),
            // Valkey 8 writes 11: Redis 8.0.2 reads it, Redis 7.0.15 does not.
            (Valkey, "8.0", Redis, "8.0", Some(Always)),
            (Valkey, "8.0", Redis, "7.0", Some(Depends)),
            (Valkey, "7.2", Redis, "7.0", Some(Depends)),
            // Not a switch.
            (Redis, "7.0", Redis, "8.0", None),
            (Valkey, "8.1", Valkey, "7.2", None),
            // No host package to judge by.
            (Redis, "9.0", Valkey, "8.0", None),
        ];
        for (from, fv, to, tv, want) in table {
            assert_eq!(
                survival(from, fv, to, tv),
                want,
                "{from:?} {fv} -> {to:?} {tv}"
            );
        }
    }

    #[test]
    fn a_partial_switch_names_the_debian_releases_where_it_fails() {
        let s = judge(Engine::Redis, v("7.0"), Engine::Valkey, v("8.0")).unwrap();
        assert_eq!(
            s.reasons(),
            "Redis 8.0.2 (Debian 13) writes RDB format 12, which Valkey 8.0.1 (Debian 12) and Valkey 8.1.1 (Debian 13) cannot read"
        );
        let w = s.warning().unwrap();
        assert!(w.contains("re-checks on the host"), "{w}");
        let back = judge(Engine::Valkey, v("8.0"), Engine::Redis, v("7.0")).unwrap();
        assert_eq!(
            back.reasons(),
            "Valkey 8.0.1 (Debian 12) writes RDB format 11, which Redis 7.0.15 (Debian 12) cannot read; Valkey 8.1.1 (Debian 13) writes RDB format 11, which Redis 7.0.15 (Debian 12) cannot read"
        );
        let never = judge(Engine::Redis, v("8.0"), Engine::Valkey, v("8.0")).unwrap();
        assert_eq!(never.warning(), None);
    }
}
