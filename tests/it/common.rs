//! The one test harness every module uses (modelled on just's `tests/test.rs`):
//!
//! - [`Test`]: a temporary work directory holding a blueprint as `blueprint.yaml`, and
//!   the real binary run in it: `Test::with("tests/fixtures/x.yaml")` or
//!   `Test::new().blueprint_text(..)`, `.edit(from, to)` on the blueprint, `.generate()`,
//!   `.check()`, `.check_as("json")`, `.run(&[..])`, or `.cmd(&[..])` for a run with
//!   environment variables or a deadline;
//! - [`Run`]: what one run did (`code`, `stdout`, `stderr`), with `expect_code`;
//! - [`compile`], [`model`], [`render`]: a blueprint compiled and rendered in-process;
//! - [`edit`], [`edit_with`], [`tree`]: files of a tree changed, or read whole.
//!
//! The Terraform, moto and host harnesses of the `#[ignore]`d tests are in `support/`.

use infragen::model::Model;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The shipped blueprint, whose output is committed in `generated/`.
pub const SHIPPED: &str = "blueprints/redis-on-asterisk.yaml";

/// Blueprints that must validate and render: the shipped one and the fixtures.
pub const GOOD_BLUEPRINTS: &[&str] = &[
    SHIPPED,
    "tests/fixtures/three-envs.yaml",
    "tests/fixtures/cache-only.yaml",
    "tests/fixtures/elasticache.yaml",
    "tests/fixtures/valkey.yaml",
];

/// The blueprint's name in a [`Test`]'s work directory.
pub const BP: &str = "blueprint.yaml";

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

impl Run {
    fn of(out: &Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit code (the message shows the whole run); `self` for chaining.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "{self:?}");
        self
    }
}

/// One run of the real `infragen` binary: arguments, environment variables, a deadline.
/// Its stdin is empty; stdout and stderr are captured.
pub struct Cmd {
    cwd: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    removed: Vec<OsString>,
    deadline: Option<Duration>,
}

impl Cmd {
    pub fn new(cwd: &Path, args: &[&str]) -> Cmd {
        Cmd {
            cwd: cwd.to_path_buf(),
            args: args.iter().map(OsString::from).collect(),
            envs: Vec::new(),
            removed: Vec::new(),
            deadline: None,
        }
    }

    /// Runs without `key` in the environment.
    pub fn env_remove(mut self, key: &str) -> Cmd {
        self.removed.push(key.into());
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Cmd {
        self.envs.push((key.into(), value.as_ref().to_owned()));
        self
    }

    /// A hang is a failure, not a stuck test run: killed and failed after `limit`.
    pub fn within(mut self, limit: Duration) -> Cmd {
        self.deadline = Some(limit);
        self
    }

    pub fn run(self) -> Run {
        let mut c = Command::new(env!("CARGO_BIN_EXE_infragen"));
        for key in &self.removed {
            c.env_remove(key);
        }
        c.args(&self.args)
            .current_dir(&self.cwd)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        let Some(limit) = self.deadline else {
            return Run::of(&c.output().expect("run infragen"));
        };
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run infragen");
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("infragen {:?} still running after {limit:?}", self.args);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Run::of(&child.wait_with_output().unwrap())
    }
}

/// Runs the real `infragen` binary in `cwd`.
pub fn infragen(cwd: &Path, args: &[&str]) -> Run {
    Cmd::new(cwd, args).run()
}

/// A temporary work directory with a blueprint as `blueprint.yaml`, generated into
/// `out/` by `gen` and compared by `check`.
pub struct Test {
    dir: tempfile::TempDir,
}

impl Test {
    /// An empty work directory.
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A work directory holding a copy of the repo's `blueprint`.
    pub fn with(blueprint: &str) -> Test {
        Test::new().blueprint(blueprint)
    }

    /// Copies the repo's `blueprint` in as `blueprint.yaml`.
    pub fn blueprint(self, blueprint: &str) -> Test {
        std::fs::copy(repo().join(blueprint), self.join(BP)).expect("copy blueprint");
        self
    }

    /// Writes `text` as `blueprint.yaml`.
    pub fn blueprint_text(self, text: &str) -> Test {
        self.write(BP, text);
        self
    }

    /// Runs `gen`, which must succeed.
    pub fn generated(self) -> Test {
        self.generate().expect_code(0);
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let p = self.join(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    pub fn write(&self, rel: impl AsRef<Path>, text: impl AsRef<[u8]>) {
        std::fs::write(self.join(rel), text).unwrap();
    }

    /// Replaces the first `from` in the blueprint by `to` (`from` must be there).
    pub fn edit(&self, from: &str, to: &str) -> &Test {
        edit(&self.join(BP), from, to);
        self
    }

    /// Every file under the work directory, with its bytes.
    pub fn tree(&self) -> BTreeMap<String, Vec<u8>> {
        tree(self.path())
    }

    /// `infragen ARGS` in the work directory.
    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).run()
    }

    /// `infragen ARGS` in the work directory, to be given environment variables or a
    /// deadline before it runs.
    pub fn cmd(&self, args: &[&str]) -> Cmd {
        Cmd::new(self.path(), args)
    }

    /// `infragen gen --blueprint blueprint.yaml --out out`.
    pub fn generate(&self) -> Run {
        self.generate_with(&[])
    }

    /// [`Test::generate`] with `extra` arguments.
    pub fn generate_with(&self, extra: &[&str]) -> Run {
        self.run(&on_tree("gen", extra))
    }

    /// `infragen check --blueprint blueprint.yaml --out out`.
    pub fn check(&self) -> Run {
        self.check_with(&[])
    }

    /// [`Test::check`] with `--format FORMAT`.
    pub fn check_as(&self, format: &str) -> Run {
        self.check_with(&["--format", format])
    }

    /// [`Test::check`] with `extra` arguments.
    pub fn check_with(&self, extra: &[&str]) -> Run {
        self.run(&on_tree("check", extra))
    }

    /// `infragen check --blueprint blueprint.yaml --out out --format FORMAT`, to be given
    /// environment variables or a deadline.
    pub fn check_cmd(&self, format: &str) -> Cmd {
        self.cmd(&on_tree("check", &["--format", format]))
    }
}

/// `COMMAND --blueprint blueprint.yaml --out out EXTRA...`.
fn on_tree<'a>(command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![command, "--blueprint", BP, "--out", "out"];
    args.extend_from_slice(extra);
    args
}

/// Replaces the first `from` in the file at `path` by `to`; `from` must be there.
#[track_caller]
pub fn edit(path: &Path, from: &str, to: &str) {
    edit_with(path, |text| {
        assert!(
            text.contains(from),
            "{} does not contain {from:?}",
            path.display()
        );
        text.replacen(from, to, 1)
    });
}

/// Rewrites the file at `path` with `f`.
pub fn edit_with(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::write(path, f(text)).unwrap();
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

/// Compiles blueprint `text`, named `name` in messages and markers; it must be valid.
pub fn compile(name: &str, text: &str) -> Model {
    infragen::pipeline::compile_str(name, text)
        .unwrap_or_else(|e| panic!("{name} does not compile:\n{}", e.render()))
}

/// Compiles the blueprint at `blueprint` (relative to the repo, or absolute), named by
/// that path in the markers.
pub fn model(blueprint: impl AsRef<Path>) -> Model {
    let path = blueprint.as_ref();
    let src = std::fs::read_to_string(repo().join(path)).expect("read blueprint");
    compile(&path.display().to_string(), &src)
}

/// Renders a blueprint in-process, with its repo-relative path in the markers.
pub fn render(blueprint: &str) -> Vec<infragen::render::OutputFile> {
    infragen::render::render(&model(blueprint)).expect("render")
}

/// Renders `blueprint` into a fresh temporary directory, as `gen` would (in-process, so
/// the markers name its repo-relative path).
pub fn render_into(blueprint: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in render(blueprint) {
        infragen::sync::write_atomic(&dir.path().join(&f.path), &f.contents).unwrap();
    }
    dir
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

/// Makes the tree in `out` look as an infragen from before `fields` existed wrote it:
/// takes them out of every environment of its recorded values (pretty JSON, one field per
/// line) and records the file's new hash in the manifest, as that infragen would have.
/// Returns how many lines were taken out.
pub fn unrecord(out: &Path, fields: &[&str]) -> usize {
    use sha2::Digest;
    let path = out.join("infragen-values.json");
    let text = std::fs::read_to_string(&path).expect("the tree's recorded values");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            !fields
                .iter()
                .any(|f| l.trim_start().starts_with(&format!("\"{f}\":")))
        })
        .collect();
    let removed = text.lines().count() - kept.len();
    let new = kept.join("\n") + "\n";
    std::fs::write(&path, &new).unwrap();
    let hash: String = sha2::Sha256::digest(new.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    edit_with(&out.join(".infragen-manifest"), |m| {
        m.lines()
            .map(|l| match l.split_once("  ") {
                Some((_, "infragen-values.json")) => format!("{hash}  infragen-values.json"),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    });
    removed
}
