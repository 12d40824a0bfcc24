//! The structure the next engineer relies on: every blueprint field named once
//! (`src/field.rs`) and nowhere else in `src/`, and the dependency direction
//! ARCHITECTURE.md states being the real one.

use crate::common::repo;
use infragen::field::Field;
use std::collections::BTreeSet;

/// Every leaf field of the blueprint's JSON Schema, as a data path (`redis.memory.max`);
/// lists (of consumers, of snapshot rules) are leaves; `environments` holds overrides
/// of the same fields and is not one.
fn schema_leaves() -> BTreeSet<String> {
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

/// The layers ARCHITECTURE.md states, bottom first: the lines of its `layers` block,
/// `N. module, module`.
fn stated_layers() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).unwrap();
    let start = doc
        .find("<!-- layers -->")
        .expect("ARCHITECTURE.md has no layers block");
    let end = doc[start..].find("<!-- /layers -->").unwrap() + start;
    doc[start..end]
        .lines()
        .filter_map(|l| l.split_once(". "))
        .filter(|(n, _)| n.trim().parse::<u32>().is_ok())
        .map(|(_, mods)| {
            mods.split(',')
                .map(|m| m.trim().trim_matches('`').to_string())
                .collect()
        })
        .collect()
}

/// The top-level modules of `src/` each file of `src/` names (`crate::x`, or `x` in a
/// `use crate::{x, ...}` list), comments left out.
fn real_imports() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.iter().next().unwrap().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut names = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            if let Some(list) = rest.strip_prefix('{') {
                let list = &list[..list.find('}').unwrap_or(list.len())];
                for item in list.split(',') {
                    let name = item.trim().split("::").next().unwrap_or("").trim();
                    if !name.is_empty() {
                        names.insert(name.to_string());
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.insert(name);
            }
        }
        names.remove(&module);
        out.entry(module).or_default().extend(names);
    }
    out
}

/// Every module of `src/` is in ARCHITECTURE.md's layers, and imports only modules of
/// the layers below its own: no arrow runs sideways or back up, so there is no cycle.
#[test]
fn modules_import_only_the_layers_below_them() {
    let layers = stated_layers();
    assert!(layers.len() >= 5, "{layers:?}");
    let layer_of = |m: &str| layers.iter().position(|l| l.iter().any(|x| x == m));
    let imports = real_imports();
    let mut wrong = Vec::new();
    for (module, names) in &imports {
        let Some(mine) = layer_of(module) else {
            wrong.push(format!("`{module}` is in no layer of ARCHITECTURE.md"));
            continue;
        };
        for name in names {
            match layer_of(name) {
                Some(theirs) if theirs < mine => {}
                Some(theirs) => wrong.push(format!(
                    "`{module}` (layer {}) imports `{name}` (layer {})",
                    mine + 1,
                    theirs + 1
                )),
                None => wrong.push(format!("`{module}` imports `{name}`, in no layer")),
            }
        }
    }
    for m in layers.iter().flatten() {
        if !imports.contains_key(m) && !repo().join("src").join(format!("{m}.rs")).exists() {
            wrong.push(format!("ARCHITECTURE.md names `{m}`, not a module of src/"));
        }
    }
    assert!(
        wrong.is_empty(),
        "the dependency direction in ARCHITECTURE.md is not the code's:\n{}",
        wrong.join("\n")
    );
}

/// Only the modules at the edges touch the world: `load` and `paths` read the blueprint
/// and walk paths, `sync` reads and writes the tree, `commands` and `cli` run it all,
/// `report` writes to the streams it is given. Everything between (validation, the
/// model, render, impact, cost) is pure: no file, process, environment or socket.
#[test]
fn only_the_edges_do_io() {
    const EDGES: &[&str] = &[
        "cli", "commands", "load", "paths", "probe", "sync", "main", "lib",
    ];
    const IO: &[&str] = &[
        "std::fs",
        "std::env",
        "std::process",
        "File::",
        "OpenOptions",
        "TcpStream",
        "UdpSocket",
        "std::io::stdin",
        "std::io::stdout",
        "std::io::stderr",
    ];
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let module = rel.iter().next().unwrap().to_string_lossy();
        if EDGES.contains(&module.trim_end_matches(".rs")) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for io in IO {
                if line.contains(io) {
                    found.push(format!("src/{}:{}: {}", rel.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(files.len() > 30);
    assert!(
        found.is_empty(),
        "I/O outside the edges:\n{}",
        found.join("\n")
    );
}
