//! A local AWS endpoint (moto_server, through `scripts/host/moto.sh`) for the apply and
//! host tests, and calls of it through `scripts/host/helper.py`. moto runs in a work
//! directory that records its PID; it is stopped by that PID when its owner is dropped
//! (also when a test panics): [`Moto`] for the apply tests, the booted host (whose
//! `stop.sh` stops the moto of its directory too) for the host tests.

use crate::common::{repo, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;

/// A script of `scripts/host/`.
pub(crate) fn script(name: &str) -> PathBuf {
    repo().join("scripts/host").join(name)
}

/// Starts moto in `work` (`moto.sh start`, with `envs`), or finds the one already
/// running there; stopping it is the caller's (`moto.sh stop` or `stop.sh` on `work`).
pub(crate) fn start_in(work: &Path, envs: &[(&str, &str)]) -> Aws {
    // The helper's Python first: nothing can fail between moto's start and its owner.
    let python = venv_python();
    let out = Command::new(script("moto.sh"))
        .arg("start")
        .arg(work)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "moto.sh start: {}", text(&out));
    Aws {
        endpoint: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        python,
    }
}

/// The Python of the host venv (`scripts/host/venv.sh`), which has boto3.
pub(crate) fn venv_python() -> PathBuf {
    let venv = Command::new(script("venv.sh")).output().unwrap();
    assert!(venv.status.success(), "venv.sh: {}", text(&venv));
    PathBuf::from(String::from_utf8_lossy(&venv.stdout).trim()).join("bin/python")
}

/// Where each test's moto keeps its PID file: a killed test process never ran its Drop,
/// so the next run stops what it left, by those PIDs.
fn runs_dir() -> PathBuf {
    repo().join("target/apply-runs")
}

static CLEANUP: Once = Once::new();

/// A local AWS on a loopback port; stopped by PID when dropped.
pub(crate) struct Moto {
    work: tempfile::TempDir,
    aws: Aws,
}

/// Calls of a local AWS endpoint through `scripts/host/helper.py` (boto3, host venv).
#[derive(Clone)]
pub(crate) struct Aws {
    endpoint: String,
    python: PathBuf,
}

impl Aws {
    /// The endpoint, `http://127.0.0.1:PORT`.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `helper.py CMD ENDPOINT ARGS...`; its stdout.
    pub(crate) fn aws(&self, cmd: &str, args: &[&str]) -> String {
        let out = Command::new(&self.python)
            .arg(script("helper.py"))
            .arg(cmd)
            .arg(&self.endpoint)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helper.py {cmd} {args:?}: {}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub(crate) fn bucket(&self, region: &str, bucket: &str) -> Value {
        serde_json::from_str(&self.aws("bucket-state", &[region, bucket])).unwrap()
    }
}

impl std::ops::Deref for Moto {
    type Target = Aws;
    fn deref(&self) -> &Aws {
        &self.aws
    }
}

impl Moto {
    pub(crate) fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// [`Moto::start`] with `envs` for moto.sh (`INFRAGEN_MOTO_PLUS=1`: moto_plus.py, the
    /// ElastiCache reads moto lacks).
    pub(crate) fn start_with(envs: &[(&str, &str)]) -> Moto {
        CLEANUP.call_once(|| {
            if let Ok(entries) = std::fs::read_dir(runs_dir()) {
                for e in entries.flatten() {
                    let _ = Command::new(script("moto.sh"))
                        .arg("stop")
                        .arg(e.path())
                        .status();
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        });
        std::fs::create_dir_all(runs_dir()).unwrap();
        let work = tempfile::Builder::new()
            .prefix("moto-")
            .tempdir_in(runs_dir())
            .unwrap();
        // The example attaches AWS-managed policies (AmazonSSMManagedInstanceCore).
        let mut all = vec![("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")];
        all.extend_from_slice(envs);
        let aws = start_in(work.path(), &all);
        Moto { work, aws }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let out = Command::new(script("moto.sh"))
            .arg("stop")
            .arg(self.work.path())
            .stdin(Stdio::null())
            .output();
        if let Ok(o) = out
            && !o.status.success()
        {
            eprintln!("moto.sh stop: {}", text(&o));
        }
    }
}
