//! The registries the code names things by: every blueprint field once
//! (`src/field.rs`), and no field's data path written anywhere else in `src/`.

use crate::common::repo;
use infragen::field::Field;
use std::collections::BTreeSet;

/// Every leaf field of the blueprint's JSON Schema, as a data path (`redis.memory.max`);
/// lists (of consumers, of snapshot rules) are leaves; `environments` holds overrides
/// of the same fields and is not one.
pub fn schema_leaves() -> BTreeSet<String> {
    fn resolve<'a>(
        defs: &'a serde_json::Value,
        mut n: &'a serde_json::Value,
    ) -> &'a serde_json::Value {
        loop {
            if let Some(r) = n.get("$ref").and_then(|r| r.as_str()) {
                n = &defs[r.rsplit('/').next().unwrap()];
            } else if let Some(any) = n.get("anyOf").and_then(|a| a.as_array()) {
                n = any.iter().find(|a| a["type"] != "null").unwrap();
            } else {
                return n;
            }
        }
    }
    fn walk(
        defs: &serde_json::Value,
        n: &serde_json::Value,
        path: &str,
        out: &mut BTreeSet<String>,
    ) {
        let n = resolve(defs, n);
        match n.get("properties").and_then(|p| p.as_object()) {
            Some(props) if n["type"] == "object" => {
                for (k, v) in props {
                    if path.is_empty() && k == "environments" {
                        continue;
                    }
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(defs, v, &p, out);
                }
            }
            _ => {
                out.insert(path.to_string());
            }
        }
    }
    let schema: serde_json::Value =
        serde_json::from_str(&infragen::blueprint::json_schema()).unwrap();
    let mut out = BTreeSet::new();
    walk(&schema["$defs"], &schema, "", &mut out);
    out
}

/// The field registry and the blueprint's serde types name the same fields: a field
/// added to one without the other fails here.
#[test]
fn the_field_registry_is_the_schema() {
    let leaves = schema_leaves();
    let registered: BTreeSet<String> = Field::ALL.iter().map(|f| f.path().to_string()).collect();
    let unregistered: Vec<_> = leaves.difference(&registered).collect();
    let unknown: Vec<_> = registered.difference(&leaves).collect();
    assert!(
        unregistered.is_empty() && unknown.is_empty(),
        "blueprint fields missing from src/field.rs: {unregistered:?}; registered but not in the blueprint: {unknown:?}"
    );
}

/// Every Rust file under `dir`.
fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text inside the string literals of a line (joined by spaces), escapes kept.
fn literals(line: &str) -> String {
    let mut out = String::new();
    let (mut inside, mut escaped) = (false, false);
    for c in line.chars() {
        match (inside, escaped, c) {
            (true, false, '\\') => escaped = true,
            (_, false, '"') => {
                inside = !inside;
                out.push(' ');
            }
            (true, _, c) => {
                escaped = false;
                out.push(c);
            }
            (false, ..) => {}
        }
    }
    out
}

/// No data path of a field (`redis.port`, `backup.enabled`) is written in `src/` outside
/// `src/field.rs`, in code or in a message: code names a field by its `Field`, so a
/// misspelt name cannot compile. Comments may name fields. (Single-word fields, `name`
/// and `consumers`, are ordinary words and are not searched for.)
#[test]
fn no_field_path_is_written_outside_the_registry() {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 30, "{files:?}");
    let dotted: Vec<&str> = Field::ALL
        .iter()
        .map(|f| f.path())
        .filter(|p| p.contains('.'))
        .collect();
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with("src/field.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            // String literals only: code names fields by `Field`; a comment may name one.
            let code = literals(line);
            for path in &dotted {
                let hit = code.match_indices(path).any(|(i, _)| {
                    let before = code[..i].chars().next_back();
                    let after = code[i + path.len()..].chars().next();
                    !before.is_some_and(is_name) && !after.is_some_and(is_name)
                });
                if hit {
                    found.push(format!(
                        "{}:{}: `{path}`: {}",
                        file.strip_prefix(repo()).unwrap().display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "field paths written outside src/field.rs (name the Field instead):\n{}",
        found.join("\n")
    );
}
