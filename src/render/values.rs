//! The resolved values of every environment, as recorded in the generated tree
//! (`infragen-values.json`): what `check` and `gen` compare the blueprint against to
//! tell a reviewer what a change will do. One line per value, keys in blueprint order,
//! so the file's own diff reads as the list of what changed.

use crate::field::Field;
use crate::model::{Env, Model};
use serde_json::{Value as Json, json};
use std::fmt::Write as _;

/// The file's path in the output tree.
pub const FILE: &str = "infragen-values.json";

/// A field that is not a blueprint field: what the environment adds per month, in
/// dollars (the cost report's figure), recorded so a change can show its cost.
pub const COST: &str = "cost.added_monthly_usd";

/// One environment's values: (field, value) in blueprint order. A field that does not
/// apply to the environment's mode (ElastiCache's windows on a self-hosted one), or an
/// optional field left unset, is absent.
pub type Values = Vec<(String, Json)>;

/// Every resolved value of `e` ([`Model::resolved`]), and what it adds per month.
pub fn of_env(model: &Model, e: &Env) -> Values {
    let mut out: Values = model
        .resolved(e)
        .into_iter()
        .map(|r| (r.field.path().to_string(), r.value))
        .collect();
    let cents = crate::cost::row(e).added_monthly_cents;
    out.push((
        COST.into(),
        json!(format!("{}.{:02}", cents / 100, cents % 100)),
    ));
    out
}

/// The values `model` records, environment by environment.
pub fn now(model: &Model) -> Recorded {
    model
        .envs
        .iter()
        .map(|e| (e.name.clone(), of_env(model, e)))
        .collect()
}

/// The file's body (the renderer adds the marker as its first key): environments in
/// blueprint order, one value per line.
pub fn render(model: &Model) -> String {
    let mut s = String::from("{\n");
    s.push_str(
        "  \"about\": \"The values each environment resolved to when this tree was generated. infragen check and gen compare them with the blueprint to report what a change will do.\",\n",
    );
    s.push_str("  \"environments\": {\n");
    for (i, e) in model.envs.iter().enumerate() {
        let _ = writeln!(s, "    {}: {{", Json::String(e.name.clone()));
        let values = of_env(model, e);
        for (j, (field, value)) in values.iter().enumerate() {
            let comma = if j + 1 < values.len() { "," } else { "" };
            let _ = writeln!(
                s,
                "      {}: {}{comma}",
                Json::String(field.clone()),
                inline(value)
            );
        }
        let comma = if i + 1 < model.envs.len() { "," } else { "" };
        let _ = writeln!(s, "    }}{comma}");
    }
    s.push_str("  }\n}");
    s
}

/// A value on one line; list items separated by `, `.
fn inline(v: &Json) -> String {
    match v {
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(Json::to_string).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// The environments of a recorded file, in the file's order.
pub type Recorded = Vec<(String, Values)>;

/// Limits of a recorded file: it is read from a tree a pull request may have written.
pub const MAX_ENVIRONMENTS: usize = 20_000;
pub const MAX_FIELDS: usize = 256;
pub const MAX_ITEMS: usize = 4_096;
pub const MAX_STRING: usize = 8_192;

/// The JSON kind of a value, as a message names it.
fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

/// Checks a recorded file against what infragen records: sizes and counts within the
/// limits above, environment names infragen accepts, only fields infragen records, and
/// each value of the kind infragen writes for its field (the kind the blueprint's own
/// value has now, where an environment has the field). A file that fails is not used:
/// a forged `redis.persistence.aof: true` must not turn a data-at-risk change into a
/// harmless one.
pub fn check_recorded(recorded: &Recorded, model: &Model) -> Result<(), String> {
    if recorded.len() > MAX_ENVIRONMENTS {
        return Err(format!(
            "{} environments (infragen records at most {MAX_ENVIRONMENTS})",
            recorded.len()
        ));
    }
    let mut kinds: std::collections::HashMap<String, &'static str> =
        std::collections::HashMap::new();
    let now = now(model);
    for (_, values) in &now {
        for (field, v) in values {
            kinds.entry(field.clone()).or_insert(kind(v));
        }
    }
    let shown = |s: &str| crate::diag::shorten(s, crate::diag::MAX_SHOWN);
    for (env, values) in recorded {
        if !crate::rules::is_slug(env, crate::rules::ENV_NAME_MAX) {
            return Err(format!(
                "`{}` is not an environment name infragen writes",
                shown(env)
            ));
        }
        if values.len() > MAX_FIELDS {
            return Err(format!(
                "environment `{env}` has {} fields (at most {MAX_FIELDS})",
                values.len()
            ));
        }
        for (field, v) in values {
            let known = kinds.contains_key(field) || field == COST || Field::parse(field).is_some();
            if !known {
                return Err(format!(
                    "environment `{env}` records `{}`, which is not a field infragen records",
                    shown(field)
                ));
            }
            let ok_shape = match v {
                Json::String(s) => s.len() <= MAX_STRING,
                Json::Bool(_) | Json::Number(_) => true,
                Json::Array(items) => {
                    items.len() <= MAX_ITEMS
                        && items
                            .iter()
                            .all(|i| i.as_str().is_some_and(|s| s.len() <= MAX_STRING))
                }
                Json::Null | Json::Object(_) => false,
            };
            if !ok_shape {
                return Err(format!(
                    "`{env}`.`{}` is {} infragen never records there",
                    shown(field),
                    kind(v)
                ));
            }
            if field == COST
                && !v.as_str().is_some_and(|s| {
                    s.split_once('.').is_some_and(|(d, c)| {
                        !d.is_empty()
                            && d.len() <= 12
                            && c.len() == 2
                            && d.bytes().chain(c.bytes()).all(|b| b.is_ascii_digit())
                    })
                })
            {
                return Err(format!(
                    "`{env}`.`{COST}` is not an amount of dollars and cents"
                ));
            }
            if let Some(want) = kinds.get(field)
                && *want != kind(v)
            {
                return Err(format!(
                    "`{env}`.`{}` is {}, where infragen records {want}",
                    shown(field),
                    kind(v)
                ));
            }
        }
    }
    Ok(())
}

/// A JSON object read in the file's order, with duplicate keys refused (serde_json's
/// own map sorts its keys and keeps the last of two).
struct InOrder<V>(Vec<(String, V)>);

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for InOrder<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<V>(std::marker::PhantomData<V>);
        impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<V> {
            type Value = InOrder<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                while let Some((k, v)) = m.next_entry::<String, V>()? {
                    if !seen.insert(k.clone()) {
                        return Err(serde::de::Error::custom(format!(
                            "`{}` is there twice",
                            crate::diag::shorten(&k, crate::diag::MAX_SHOWN)
                        )));
                    }
                    out.push((k, v));
                }
                Ok(InOrder(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// Reads a recorded file back, environments in the file's order (the blueprint's), in
/// one pass. Field order within an environment is not needed (the comparison follows
/// the blueprint's order).
pub fn parse(text: &str) -> Result<Recorded, String> {
    #[derive(serde::Deserialize)]
    struct File {
        environments: InOrder<InOrder<Json>>,
    }
    let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(file
        .environments
        .0
        .into_iter()
        .map(|(env, values)| (env, values.0))
        .collect())
}
