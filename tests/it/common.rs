//! Helpers shared by the test modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Blueprints that must validate and render: the shipped one and the fixtures.
pub const GOOD_BLUEPRINTS: &[&str] = &[
    "blueprints/redis-on-asterisk.yaml",
    "tests/fixtures/three-envs.yaml",
    "tests/fixtures/cache-only.yaml",
    "tests/fixtures/elasticache.yaml",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real `infragen` binary in `cwd`.
pub fn infragen(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_infragen"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run infragen");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A temporary work directory holding a copy of `blueprint` as `blueprint.yaml`.
pub fn workdir(blueprint: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(repo().join(blueprint), dir.path().join("blueprint.yaml"))
        .expect("copy blueprint");
    dir
}

/// Every file under `dir`, with its bytes (to prove a tree was left untouched).
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Renders a blueprint in-process, with its repo-relative path in the markers.
pub fn render(blueprint: &str) -> Vec<infragen::render::OutputFile> {
    let src = std::fs::read_to_string(repo().join(blueprint)).expect("read blueprint");
    let model = infragen::pipeline::compile_str(blueprint, &src)
        .unwrap_or_else(|e| panic!("{}", e.render()));
    infragen::render::render(&model).expect("render")
}

/// A process's exit code, stdout and stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// redis-cli against 127.0.0.1:`port` (the test hosts share the controller's network);
/// the password goes through REDISCLI_AUTH, never the command line. Its stdout and
/// stderr, trimmed.
pub fn redis_cli(port: u16, password: Option<&str>, args: &[&str]) -> String {
    let mut c = Command::new("redis-cli");
    c.args([
        "--no-auth-warning",
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
    ])
    .args(args)
    .env_remove("REDISCLI_AUTH")
    .stdin(Stdio::null());
    if let Some(p) = password {
        c.env("REDISCLI_AUTH", p);
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}"));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .trim()
    .to_string()
}
