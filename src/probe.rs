//! The edge `verify` reads the live deployment through: it runs the tree's
//! `ansible/redis_verify.yml` with `ansible-playbook --check`, its output in the
//! `ansible.posix.json` callback's JSON, and hands back what it printed. Nothing here
//! judges; `crate::verify` does.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One run of the verify playbook.
#[derive(Debug)]
pub struct PlaybookCall {
    pub ansible_playbook: PathBuf,
    pub inventory: String,
    pub playbook: PathBuf,
    /// The `redis_verify` extra variable (JSON).
    pub request: String,
    /// The user's own arguments (after `--`).
    pub args: Vec<String>,
    pub timeout: Duration,
}

/// What the run printed.
#[derive(Debug)]
pub struct RawRun {
    pub status: Option<i32>,
    pub stdout: String,
    /// The last lines of its standard error.
    pub stderr_tail: String,
}

/// Why there is no run to judge.
#[derive(Debug)]
pub enum RunError {
    /// ansible-playbook could not be started.
    Tool(String),
    /// It ran past the limit and was stopped (by its own PID).
    Timeout(Duration),
}

/// Reads up to `cap` bytes of `r`, then drains the rest (the child must not block).
fn read_capped(mut r: impl Read, cap: usize) -> String {
    let mut buf = Vec::new();
    let _ = r.by_ref().take(cap as u64).read_to_end(&mut buf);
    let _ = std::io::copy(&mut r, &mut std::io::sink());
    String::from_utf8_lossy(&buf).into_owned()
}

pub fn run(call: &PlaybookCall) -> Result<RawRun, RunError> {
    let mut cmd = Command::new(&call.ansible_playbook);
    cmd.env("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")
        .env("ANSIBLE_SHOW_CUSTOM_STATS", "1")
        .env("ANSIBLE_JSON_INDENT", "0")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        // Modules over SSH's stdin: no module file (some with the rendered redis.conf as
        // their input) is written to the host's temporary directory.
        .env("ANSIBLE_PIPELINING", "1")
        .arg("--check")
        .arg("--diff")
        .arg("-i")
        .arg(&call.inventory)
        .arg(&call.playbook)
        .arg("-e")
        .arg(format!("{{\"redis_verify\": {}}}", call.request))
        .args(&call.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a timeout stops its workers and SSH connections too.
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| {
        RunError::Tool(format!(
            "cannot run {}: {e}",
            call.ansible_playbook.display()
        ))
    })?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || read_capped(stdout, crate::verify::MAX_STDOUT + 1));
    let err = std::thread::spawn(move || read_capped(stderr, 1 << 20));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > call.timeout => {
                // Its own process group (its PID), never a name; kill(1) rather than
                // unsafe code.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Timeout(call.timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => {
                return Err(RunError::Tool(format!(
                    "cannot wait for ansible-playbook: {e}"
                )));
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
    Ok(RawRun {
        status: status.code(),
        stdout,
        stderr_tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}
