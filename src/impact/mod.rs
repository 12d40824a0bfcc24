//! What a change will do when it is applied: the values each environment resolved to
//! when the tree was generated (recorded in the tree by [`values`]) against what the
//! blueprint resolves to now, each difference looked up in the consequences table
//! ([`table`]), most severe first. Pure: the caller hands in the recorded file's text.

pub mod engine;
pub mod table;
pub mod upgrade;

use crate::field::Field;
use crate::model::{MemSize, Mode, Model};
use crate::render::values::{self, COST, Recorded, now};
use serde::Serialize;
use serde_json::Value as Json;
pub use table::Level;
use table::When;

/// One consequence of one changed field.
#[derive(Debug, Clone, Serialize)]
pub struct Consequence {
    pub field: Field,
    /// The recorded value; `None`: the field was not set (or did not apply).
    pub from: Option<Json>,
    pub to: Option<Json>,
    pub level: Level,
    pub effect: &'static str,
    /// What people must do; empty when nothing.
    pub action: &'static str,
}

/// How an environment changed as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Unchanged,
    Changed,
    /// Not in the recorded tree: everything is created.
    New,
    /// In the recorded tree, not in the blueprint: its files are removed.
    Removed,
    /// The recorded values match the blueprint, yet the environment's own value files
    /// change: the recorded file does not describe this tree (edited, or from another
    /// infragen), so the impact cannot be told from it.
    Unverified,
}

/// One environment's impact.
#[derive(Debug, Clone, Serialize)]
pub struct EnvImpact {
    pub env: String,
    pub status: Status,
    /// The most severe level of its consequences (`none` when there are none).
    pub level: Level,
    /// Most severe first; within a level, in blueprint order.
    pub consequences: Vec<Consequence>,
    /// What the environment adds per month, recorded and now, when they differ.
    pub monthly_cost_usd: Option<(String, String)>,
    /// With [`Status::Unverified`]: the environment's files that change unexplained.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unexplained: Vec<String>,
    /// A self-hosted engine switch and whether its data survives it ([`engine`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_switch: Option<engine::EngineSwitch>,
    /// Fields left to a default that would cut consumers off this running deployment,
    /// generated before the field existed ([`upgrade`]): refused until set.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unset_defaults: Vec<Field>,
}

/// What writing the blueprint does to one file of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAction {
    Create,
    Update,
    Remove,
    Unchanged,
    /// Anything else (a file kept, no longer listed): not a change of values.
    Other,
}

/// One file of the tree as the impact sees it; `commands` builds these from the sync
/// plan, so the comparison never depends on how the tree is read.
#[derive(Debug, Clone)]
pub struct TreeFile<'a> {
    pub path: &'a str,
    pub action: FileAction,
    /// The file's text in the tree, when it exists, differs and was read.
    pub old: Option<&'a str>,
    /// Why an existing file was not read (a link, too large).
    pub unread: Option<String>,
}

/// The impact of the blueprint on a tree.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Impact {
    /// The tree holds no recorded values (first generation, or a tree from an earlier
    /// infragen): nothing to compare.
    NotRecorded,
    /// The recorded values could not be read.
    Unreadable { reason: String },
    /// Environments in blueprint order, then removed ones in recorded order.
    Known { environments: Vec<EnvImpact> },
}

impl Impact {
    /// The impact of writing `model` over a tree whose files `tree` describes (every
    /// generated path that the write creates, updates or removes; paths left out are
    /// unchanged).
    pub fn of(model: &Model, tree: &[TreeFile]) -> Impact {
        let change = tree.iter().find(|c| c.path == values::FILE);
        let known = |recorded: &Recorded| Impact::Known {
            environments: cross_check(compare(recorded, model), recorded, tree),
        };
        match change {
            // Unchanged (streaming plans keep only differences): the recorded values
            // are the blueprint's.
            None => known(&now(model)),
            Some(c) => match (c.action, c.old) {
                (FileAction::Unchanged, _) => known(&now(model)),
                // An empty tree: every environment is new.
                (FileAction::Create, _) if tree.iter().all(|c| c.action == FileAction::Create) => {
                    Impact::Known {
                        environments: compare(&Recorded::new(), model),
                    }
                }
                (FileAction::Create, _) => Impact::NotRecorded,
                (_, Some(text)) => {
                    match values::parse(text)
                        .and_then(|r| values::check_recorded(&r, model).map(|()| r))
                    {
                        Ok(recorded) => known(&recorded),
                        Err(reason) => Impact::Unreadable { reason },
                    }
                }
                (_, None) => Impact::Unreadable {
                    reason: c
                        .unread
                        .as_ref()
                        .map_or_else(|| "it was not read".to_string(), |why| format!("it {why}")),
                },
            },
        }
    }

    /// IG413 for each self-hosted environment whose data cannot survive its engine
    /// switch, and IG415 for each field an environment leaves to a default that would
    /// cut its consumers off, located in `model` (the model the impact was computed for).
    pub fn refusals(&self, model: &Model) -> Vec<crate::diag::Diagnostic> {
        let Impact::Known { environments } = self else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in environments {
            if let Some(d) = e
                .engine_switch
                .as_ref()
                .and_then(|s| engine::refusal(s, model, &e.env))
            {
                out.push(d);
            }
            if let Some(env) = model.envs.iter().find(|m| m.name == e.env) {
                out.extend(e.unset_defaults.iter().map(|f| upgrade::refusal(*f, env)));
            }
        }
        out
    }

    /// The environments with something to say (changed, new, removed).
    pub fn notable(&self) -> Vec<&EnvImpact> {
        match self {
            Impact::Known { environments } => environments
                .iter()
                .filter(|e| e.status != Status::Unchanged)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The files that hold nothing but an environment's values: a change to one of them is a
/// change of values, which the recorded file must explain.
fn value_files_of(env: &str, path: &str) -> bool {
    path.strip_prefix("terraform/environments/")
        .or_else(|| path.strip_prefix("ansible/inventory/"))
        .and_then(|rest| rest.strip_prefix(env))
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The fields whose change costs the most, with the key each has in the environment's
/// own value files as infragen writes them (group_vars: `key: value`; tfvars: the
/// `redis` object's `key = value`): what [`cross_check`] reads the truth from.
const WITNESSES: &[(Field, &str, &str)] = &[
    (Field::RedisMode, "tfvars", "mode"),
    (Field::RedisMode, "group_vars", "redis_mode"),
    (Field::RedisPort, "tfvars", "port"),
    (Field::RedisPort, "group_vars", "redis_port"),
    (Field::RedisEngine, "group_vars", "redis_engine"),
    (Field::RedisVersion, "group_vars", "redis_version"),
    (Field::AwsRegion, "tfvars", "region"),
    (Field::AuthSecretName, "tfvars", "secret_name"),
    (Field::AuthPasswordLength, "tfvars", "password_length"),
    (Field::AuthPasswordSpecials, "tfvars", "password_specials"),
    (Field::MemoryMax, "group_vars", "redis_maxmemory"),
    (Field::MemoryPolicy, "tfvars", "maxmemory_policy"),
    (Field::MemoryPolicy, "group_vars", "redis_maxmemory_policy"),
    (Field::Aof, "group_vars", "redis_appendonly"),
    (Field::Appendfsync, "group_vars", "redis_appendfsync"),
    (Field::BackupEnabled, "group_vars", "redis_backup_enabled"),
];

/// The values a value file states, as infragen writes it (JSON-style scalars):
/// group_vars' top-level `key: value` (and the `redis_save` list, as the recorded
/// snapshot rules); tfvars' `redis` attributes, `key` at two spaces and `block.key` at
/// four inside a `block = {`.
fn value_file_values(path: &str, text: &str) -> Vec<(&'static str, String, Json)> {
    let mut out = Vec::new();
    if path.starts_with("terraform/") {
        let mut block: Option<String> = None;
        for line in text.lines() {
            if let Some(name) = line
                .strip_prefix("  ")
                .and_then(|l| l.strip_suffix(" = {"))
                .filter(|n| !n.starts_with(' '))
            {
                block = Some(name.trim().to_string());
                continue;
            }
            if line == "  }" {
                block = None;
                continue;
            }
            let (indent, prefix) = match &block {
                Some(b) => ("    ", format!("{b}.")),
                None => ("  ", String::new()),
            };
            if let Some((k, v)) = line
                .strip_prefix(indent)
                .filter(|l| !l.starts_with(' '))
                .and_then(|l| l.split_once('='))
                && let Ok(v) = serde_json::from_str::<Json>(v.trim())
                && !v.is_object()
            {
                out.push(("tfvars", format!("{prefix}{}", k.trim()), v));
            }
        }
        return out;
    }
    let mut save: Option<Vec<Json>> = None;
    let mut after: Option<String> = None;
    for line in text.lines() {
        if let Some(list) = save.as_mut() {
            if let Some(n) = line.strip_prefix("  - after_seconds: ") {
                after = Some(n.trim().to_string());
                continue;
            }
            if let Some(n) = line.strip_prefix("    min_changes: ")
                && let Some(a) = after.take()
            {
                list.push(Json::String(format!("{a} {}", n.trim())));
                continue;
            }
            let list = save.take().unwrap_or_default();
            out.push(("group_vars", "redis_save".to_string(), Json::Array(list)));
        }
        if line == "redis_save:" {
            save = Some(Vec::new());
            continue;
        }
        if let Some((k, v)) = Some(line)
            .filter(|l| !l.starts_with([' ', '#', '-']))
            .and_then(|l| l.split_once(": "))
            && let Ok(v) = serde_json::from_str::<Json>(v.trim())
            && !v.is_object()
        {
            out.push(("group_vars", k.trim().to_string(), v));
        }
    }
    if let Some(list) = save {
        out.push(("group_vars", "redis_save".to_string(), Json::Array(list)));
    }
    out
}

/// The recorded fields a value file's key states: the witnesses above, and in tfvars
/// every key whose dotted name is the field's own (`backup.retention_days`,
/// `elasticache.node_type`, `monitoring.memory_alert_percent`) or its top-level name
/// under `redis.`, `redis.auth.` or `aws.` (`port`, `password_length`, `region`).
fn fields_stated(kind: &str, key: &str) -> Vec<Field> {
    let mut out: Vec<Field> = WITNESSES
        .iter()
        .filter(|(_, k, name)| *k == kind && *name == key)
        .map(|(f, _, _)| *f)
        .collect();
    if kind == "group_vars" && key == "redis_save" {
        out.push(Field::RdbSnapshots);
    }
    if kind == "tfvars" {
        out.extend(Field::parse(key));
        if !key.contains('.') {
            for section in ["redis", "redis.auth", "aws"] {
                out.extend(Field::parse(&format!("{section}.{key}")));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Never trusts the recorded file to lower a consequence. An environment is
/// [`Status::Unverified`] when the recorded values disagree with the environment's own
/// value files as they are in the tree (for the fields that cost the most, read back
/// from them), when the recorded file leaves out a field those files hold, when it is
/// called new while its value files exist, or when it is called unchanged while its
/// value files change.
fn cross_check(
    mut environments: Vec<EnvImpact>,
    recorded: &Recorded,
    tree: &[TreeFile],
) -> Vec<EnvImpact> {
    for e in &mut environments {
        let files: Vec<&TreeFile> = tree
            .iter()
            .filter(|c| value_files_of(&e.env, c.path))
            .filter(|c| {
                matches!(
                    c.action,
                    FileAction::Create | FileAction::Update | FileAction::Remove
                )
            })
            .collect();
        if files.is_empty() {
            continue;
        }
        let mut why: Vec<String> = Vec::new();
        let existing: Vec<&&TreeFile> = files
            .iter()
            .filter(|c| c.action != FileAction::Create)
            .collect();
        if e.status == Status::Unchanged {
            why.extend(files.iter().map(|c| c.path.to_string()));
        } else if e.status == Status::New && !existing.is_empty() {
            why.extend(existing.iter().map(|c| c.path.to_string()));
        } else if let Some((_, values)) = recorded.iter().find(|(n, _)| *n == e.env) {
            // One entry per field (a file may repeat a key), values shortened: the list
            // is bounded by the number of fields.
            let mut wrong: std::collections::BTreeMap<String, String> =
                std::collections::BTreeMap::new();
            let shown = |v: &Json| crate::diag::shorten(&v.to_string(), crate::diag::MAX_SHOWN);
            for c in &existing {
                let Some(old) = c.old else {
                    // Not read (a link, too large): nothing vouches for the recorded values.
                    wrong.insert(
                        format!("({})", c.path),
                        format!(
                            "{}: not read, so the recorded values cannot be checked",
                            c.path
                        ),
                    );
                    continue;
                };
                for (kind, key, truth) in value_file_values(c.path, old) {
                    for field in fields_stated(kind, &key) {
                        let recorded_value = get(values, field.path());
                        let known = recorded_value.is_some()
                            || WITNESSES.iter().any(|(f, _, _)| *f == field)
                            || field == Field::RdbSnapshots;
                        if !known || recorded_value == Some(&truth) {
                            continue;
                        }
                        wrong.entry(field.path().to_string()).or_insert_with(|| {
                            format!(
                                "{} ({field}: the tree says {}, the recorded values {})",
                                c.path,
                                shown(&truth),
                                recorded_value.map_or("nothing".to_string(), shown)
                            )
                        });
                    }
                }
            }
            why.extend(wrong.into_values());
        }
        if !why.is_empty() {
            e.status = Status::Unverified;
            e.unexplained = why;
        }
    }
    environments
}

/// Compares recorded values with `model`, environment by environment.
pub fn compare(recorded: &Recorded, model: &Model) -> Vec<EnvImpact> {
    let mut out = Vec::new();
    for e in &model.envs {
        let current = values::of_env(model, e);
        let Some((_, old)) = recorded.iter().find(|(name, _)| *name == e.name) else {
            out.push(EnvImpact {
                env: e.name.clone(),
                status: Status::New,
                level: Level::Nothing,
                consequences: Vec::new(),
                monthly_cost_usd: cost_change(None, &current),
                unexplained: Vec::new(),
                engine_switch: None,
                unset_defaults: Vec::new(),
            });
            continue;
        };
        let mut env = compare_env(&e.name, old, &current, e.mode.value == Mode::SelfHosted);
        env.engine_switch = engine::switch_of(old, e);
        env.unset_defaults = upgrade::cut_off(old, e);
        out.push(env);
    }
    for (name, old) in recorded {
        if !model.envs.iter().any(|e| e.name == *name) {
            out.push(EnvImpact {
                env: name.clone(),
                status: Status::Removed,
                level: Level::Nothing,
                consequences: Vec::new(),
                monthly_cost_usd: get(old, COST)
                    .map(text)
                    .filter(|c| c != "0.00")
                    .map(|c| (c, "0.00".to_string())),
                unexplained: Vec::new(),
                engine_switch: None,
                unset_defaults: Vec::new(),
            });
        }
    }
    out
}

fn get<'a>(values: &'a [(String, Json)], field: &str) -> Option<&'a Json> {
    values.iter().find(|(f, _)| f == field).map(|(_, v)| v)
}

fn text(v: &Json) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn cost_change(old: Option<&[(String, Json)]>, new: &[(String, Json)]) -> Option<(String, String)> {
    let before = old
        .and_then(|o| get(o, COST))
        .map_or("0.00".to_string(), text);
    let after = get(new, COST).map_or("0.00".to_string(), text);
    (before != after).then_some((before, after))
}

fn compare_env(
    env: &str,
    old: &[(String, Json)],
    new: &[(String, Json)],
    self_hosted: bool,
) -> EnvImpact {
    // A switch brings in and drops the fields that exist only when it is on: the
    // switch's own consequence says what that means.
    let mode_changed = get(old, Field::RedisMode.path()) != get(new, Field::RedisMode.path());
    let backup_switched =
        get(old, Field::BackupEnabled.path()) != get(new, Field::BackupEnabled.path());
    // Fields in blueprint order: the current ones, then those only recorded.
    // (The cost is not a field: its change is reported on its own.)
    let mut fields: Vec<Field> = new.iter().filter_map(|(f, _)| Field::parse(f)).collect();
    for f in old.iter().filter_map(|(f, _)| Field::parse(f)) {
        if !fields.contains(&f) {
            fields.push(f);
        }
    }
    let mut consequences = Vec::new();
    for field in fields {
        let (from, to) = (get(old, field.path()), get(new, field.path()));
        if from == to {
            continue;
        }
        let appears_or_goes = from.is_none() || to.is_none();
        if appears_or_goes && (mode_changed || (backup_switched && field.is_in("backup"))) {
            continue;
        }
        let facts = Facts::of(field, from, to);
        for row in table::lookup(field, self_hosted, |w| facts.holds(w)) {
            consequences.push(Consequence {
                field,
                from: from.cloned(),
                to: to.cloned(),
                level: row.level,
                effect: row.effect,
                action: row.action,
            });
        }
    }
    consequences.sort_by_key(|c| std::cmp::Reverse(c.level));
    EnvImpact {
        env: env.to_string(),
        status: if consequences.is_empty() {
            Status::Unchanged
        } else {
            Status::Changed
        },
        level: consequences.first().map_or(Level::Nothing, |c| c.level),
        consequences,
        monthly_cost_usd: cost_change(Some(old), new),
        unexplained: Vec::new(),
        engine_switch: None,
        unset_defaults: Vec::new(),
    }
}

/// Which ways a change goes.
#[derive(Debug, Default)]
struct Facts {
    up: bool,
    down: bool,
    on: bool,
    off: bool,
    added: bool,
    removed: bool,
    to: Option<String>,
}

impl Facts {
    fn of(field: Field, from: Option<&Json>, to: Option<&Json>) -> Facts {
        let mut f = Facts {
            to: to.and_then(Json::as_str).map(str::to_string),
            ..Facts::default()
        };
        match (from, to) {
            (Some(Json::Bool(a)), Some(Json::Bool(b))) => {
                f.on = !a && *b;
                f.off = *a && !b;
            }
            (Some(Json::Array(a)), Some(Json::Array(b))) => {
                // A consumer is `<name> sg=... role=...`: it is added or removed by name.
                let key = |v: &Json| match (field, v.as_str()) {
                    (Field::Consumers, Some(s)) => {
                        Json::String(s.split(' ').next().unwrap_or(s).into())
                    }
                    _ => v.clone(),
                };
                let (ka, kb): (Vec<Json>, Vec<Json>) =
                    (a.iter().map(key).collect(), b.iter().map(key).collect());
                f.added = kb.iter().any(|v| !ka.contains(v));
                f.removed = ka.iter().any(|v| !kb.contains(v));
            }
            (Some(a), Some(b)) => {
                if let (Some(x), Some(y)) = (magnitude(field, a), magnitude(field, b)) {
                    f.up = y > x;
                    f.down = y < x;
                }
            }
            _ => {}
        }
        f
    }

    fn holds(&self, w: When) -> bool {
        match w {
            When::Any => true,
            When::Up => self.up,
            When::Down => self.down,
            When::On => self.on,
            When::Off => self.off,
            When::Added => self.added,
            When::Removed => self.removed,
            When::To(v) => self.to.as_deref() == Some(v),
        }
    }
}

/// A comparable size: numbers, memory sizes, node types by their memory.
fn magnitude(field: Field, v: &Json) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let s = v.as_str()?;
    match field {
        Field::MemoryMax | Field::HostAsteriskReserve => MemSize::parse(s).map(|m| m.bytes as f64),
        Field::EcNodeType => crate::aws::CacheNode::find(s).map(|n| n.memory_gib),
        _ => None,
    }
}
