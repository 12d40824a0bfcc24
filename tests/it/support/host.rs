//! A booted Debian host for the host tests (`scripts/host/boot.sh`), one at a time,
//! stopped by its recorded PIDs when dropped (also when a test panics) with the moto of
//! its run; and converges of the generated playbook on it.

use crate::common::text;
use crate::support::moto::{Aws, script, start_in};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, Once};

/// One host at a time.
static HOSTS: Mutex<()> = Mutex::new(());
static CLEANUP: Once = Once::new();

/// Where host work directories live, so a later run can find and stop leftovers.
fn runs_dir() -> PathBuf {
    std::env::temp_dir().join("infragen-host-runs")
}

pub(crate) fn serial() -> MutexGuard<'static, ()> {
    let guard = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
    CLEANUP.call_once(|| {
        // A killed test process never ran its Drop: stop what it left, by its PIDs.
        if let Ok(entries) = std::fs::read_dir(runs_dir()) {
            for e in entries.flatten() {
                let _ = Command::new(script("stop.sh")).arg(e.path()).status();
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    });
    guard
}

/// Role variables that point the publisher and the backups at the local AWS endpoint;
/// fake credentials stand in for the instance profile. The tests written before issue 27
/// speak plaintext with the shared password: they keep that shape (`redis_tls: false`,
/// `redis_shared_password: true`, the unix socket for the role all the same);
/// [`aws_extra_vars_tls`] is the blueprint's own (TLS, one user per consumer).
pub(crate) fn aws_extra_vars(endpoint: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&aws_extra_vars_tls(endpoint)).unwrap();
    v["redis_tls"] = false.into();
    v["redis_shared_password"] = true.into();
    v.to_string()
}

/// The shape of the tests written before issue 27, for converges that reach no AWS at
/// all: plaintext with the shared password (TLS would publish its CA to SSM).
pub(crate) const PRE_TLS: &[&str] = &[
    "-e",
    r#"{"redis_tls": false, "redis_shared_password": true}"#,
];

/// [`aws_extra_vars`] with the blueprint's TLS and per-consumer users left as generated.
pub(crate) fn aws_extra_vars_tls(endpoint: &str) -> String {
    let creds = serde_json::json!({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    });
    serde_json::json!({
        "redis_metrics_endpoint_url": endpoint,
        "redis_metrics_environment": creds,
        "redis_backup_endpoint_url": endpoint,
        "redis_backup_environment": creds,
        "redis_tls_ssm_endpoint_url": endpoint,
        "redis_tls_environment": creds,
    })
    .to_string()
}

/// Fails with the lines that differ when two [`Host::state`]s are not the same.
#[track_caller]
pub(crate) fn assert_same_state(before: &str, after: &str, what: &str) {
    let gone: Vec<&str> = before
        .lines()
        .filter(|l| !after.lines().any(|a| a == *l))
        .collect();
    let new: Vec<&str> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "{what} changed the host:\nbefore: {gone:#?}\nafter: {new:#?}"
    );
}

/// A tree `infragen verify` compares with: run in `cwd`, with `blueprint` and `out` as
/// `gen` was given them (the blueprint's name is in every file's marker).
pub(crate) struct VerifiedTree<'a> {
    pub(crate) cwd: &'a Path,
    pub(crate) blueprint: &'a Path,
    pub(crate) out: &'a Path,
}

/// A booted Debian host; stopped (by PID) when dropped.
pub(crate) struct Host {
    work: tempfile::TempDir,
    suite: &'static str,
}

/// What one converge did.
#[derive(Debug)]
pub(crate) struct Converge {
    pub(crate) code: i32,
    pub(crate) changed: u32,
    pub(crate) failed: u32,
    pub(crate) log: String,
}

impl Converge {
    /// What the task named `name` did on its last run in this converge (`ok`,
    /// `changed`, `skipping`, `fatal`), from the log's first result line after its
    /// header; None if it never ran.
    pub(crate) fn task(&self, name: &str) -> Option<&str> {
        let header = format!("TASK [redis : {name}]");
        let at = self.log.rfind(&header)?;
        self.log[at..]
            .lines()
            .skip(1)
            .find_map(|l| {
                ["ok:", "changed:", "skipping:", "fatal:"]
                    .iter()
                    .find(|s| l.starts_with(*s))
            })
            .map(|s| s.trim_end_matches(':'))
    }
}

impl Host {
    pub(crate) fn boot(suite: &'static str) -> Host {
        std::fs::create_dir_all(runs_dir()).unwrap();
        let work = tempfile::Builder::new()
            .prefix(&format!("{suite}-"))
            .tempdir_in(runs_dir())
            .unwrap();
        let host = Host { work, suite };
        let out = Command::new(script("boot.sh"))
            .arg(suite)
            .arg(host.work.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "boot.sh {suite} failed:\n{}",
            text(&out)
        );
        host
    }

    pub(crate) fn dir(&self) -> &Path {
        self.work.path()
    }

    /// Runs a shell command on the host as root.
    pub(crate) fn ssh(&self, command: &str) -> Output {
        Command::new(self.dir().join("ssh"))
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs a command on the host and returns its stdout, failing the test if it fails.
    pub(crate) fn on_host(&self, command: &str) -> String {
        let out = self.ssh(command);
        assert!(
            out.status.success(),
            "{}: `{command}` failed:\n{}",
            self.suite,
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `infragen verify --env ENV --format json` in `cwd` of the tree `out` (generated
    /// from `blueprint`, named as `gen` was given it: the name is in every file's
    /// marker) against this host, the way converge.sh runs the playbook: the
    /// inventory of the last converge of ENV, its ansible.cfg, the moto endpoint with the
    /// fake credentials, and `extra` after `--`. The key id `INFRAGENVERIFY` tells its
    /// AWS calls apart in moto's log.
    pub(crate) fn verify(
        &self,
        tree: &VerifiedTree,
        env: &str,
        endpoint: &str,
        region: &str,
        extra: &[&str],
    ) -> (i32, serde_json::Value, String) {
        let real = crate::support::moto::venv_python()
            .parent()
            .unwrap()
            .join("ansible-playbook");
        // INFRAGEN_VERIFY_RECORD=DIR: each run's JSON report is kept there (the runs
        // tests/fixtures/verify/ holds are recorded so).
        let record = std::env::var_os("INFRAGEN_VERIFY_RECORD");
        let playbook = if record.is_some() {
            crate::common::repo().join("tests/fixtures/verify/record-ansible-playbook")
        } else {
            real.clone()
        };
        let inventory = self.dir().join(format!("inventory-{env}"));
        let mut args: Vec<String> = [
            "verify",
            "--blueprint",
            &tree.blueprint.display().to_string(),
            "--out",
            &tree.out.display().to_string(),
            "--env",
            env,
            "--inventory",
            &inventory.display().to_string(),
            "--ansible-playbook",
            &playbook.display().to_string(),
            "--format",
            "json",
            "--",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_infragen"))
            .args(&args)
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "INFRAGENVERIFY")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", region)
            .env("ANSIBLE_CONFIG", self.dir().join("ansible.cfg"))
            .env("INFRAGEN_REAL_ANSIBLE_PLAYBOOK", &real)
            .current_dir(tree.cwd)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout).to_string();
        let stderr = String::from_utf8_lossy(&run.stderr).to_string();
        let doc = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("verify printed no JSON ({e}):\n{stdout}\n{stderr}"));
        (run.status.code().unwrap_or(-1), doc, stderr)
    }

    /// What `verify` must leave as it found it: the files under /etc, /usr/local and the
    /// role's state (paths, types, modes, owners, sizes, times; and the contents of the
    /// role's own), runtime unit changes, the units and timers, the kernel setting, no
    /// reference-server directory left, nothing left under /root/.ansible (Ansible's
    /// remote temporary files), and Redis's run, configuration and users.
    /// Not compared, each for a reason: /var/log and the journal (SSH logins), the
    /// publisher's state (its timer), /var/lib/redis (automatic saves).
    pub(crate) fn state(&self) -> String {
        self.on_host(
            r#"set -e
E=redis; [ -e /run/valkey/valkey-server.sock ] && E=valkey
find /etc /usr/local /var/lib/infragen /run/systemd/system.control /run/systemd/transient -xdev \
  -printf '%p %y %m %U:%G %s %T@\n' 2>/dev/null | sort
find /etc/$E /etc/infragen /etc/systemd/system /usr/local/lib/infragen -type f -print0 \
  | xargs -0 sha256sum | sort
for u in $E-server redis-metrics.timer redis-backup.timer redis-tls.timer; do
  systemctl show "$u" -p MainPID,InvocationID,ActiveState,UnitFileState,MemoryMax,CPUWeight,IOWeight,NeedDaemonReload
done
cat /proc/sys/vm/overcommit_memory
ls -d /tmp/infragen-verify-* 2>/dev/null || echo "no reference-server directory"
# Ansible's own remote files: none left (its file tasks make a directory under tmp and
# remove it, so tmp's own time is not compared).
find /root/.ansible -printf '%p %y %T@\n' 2>/dev/null | grep -v '^/root/.ansible/tmp d ' | sort || true
P=$(cat /etc/infragen/redis-admin.password)
C="$E-cli --no-auth-warning --user infragen-admin -a $P -s /run/$E/$E-server.sock"
$C INFO server | grep -E '^(run_id|process_id)'
$C CONFIG GET '*' | paste - - | sort | sha256sum
$C ACL LIST | sha256sum"#,
        )
    }

    /// The local AWS (moto) of this host's run, started with `envs` if it is not
    /// running yet; the host's `stop.sh` stops it with the host.
    pub(crate) fn moto(&self, envs: &[(&str, &str)]) -> Aws {
        start_in(self.dir(), envs)
    }

    /// Runs the generated playbook of `env` from `ansible_dir` against the host, as users
    /// do, with `extra` passed to ansible-playbook.
    pub(crate) fn converge(&self, ansible_dir: &Path, env: &str, extra: &[&str]) -> Converge {
        self.converge_with(ansible_dir, env, extra, &[])
    }

    /// [`Host::converge`] with environment variables for `converge.sh`.
    pub(crate) fn converge_with(
        &self,
        ansible_dir: &Path,
        env: &str,
        extra: &[&str],
        vars: &[(&str, &str)],
    ) -> Converge {
        let mut c = Command::new(script("converge.sh"));
        c.arg(self.dir())
            .arg(env)
            .arg("--")
            .args(extra)
            .env("INFRAGEN_ANSIBLE_DIR", ansible_dir)
            .envs(vars.iter().copied())
            .stdin(Stdio::null());
        let out = c.output().unwrap();
        let logs: Vec<PathBuf> = {
            let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir())
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        n.to_string_lossy().starts_with(&format!("converge-{env}-"))
                    })
                })
                .collect();
            v.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
            v
        };
        let log = logs
            .last()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .unwrap_or_else(|| text(&out));
        let recap = log
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let count = |key: &str| -> u32 {
            recap
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{key}=")))
                .and_then(|n| n.parse().ok())
                .unwrap_or(u32::MAX)
        };
        Converge {
            code: out.status.code().unwrap_or(-1),
            changed: count("changed"),
            failed: count("failed"),
            log,
        }
    }

    /// The host's name in the inventory (what Ansible's messages call it).
    pub(crate) fn inventory_name(&self) -> String {
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(self.dir().join("host.json")).unwrap())
                .unwrap();
        json["HOST_NAME"].as_str().unwrap().to_string()
    }

    /// The password of `consumer`'s own user in `env` (its secret in the local
    /// Secrets Manager).
    pub(crate) fn consumer_password(&self, env: &str, consumer: &str) -> String {
        std::fs::read_to_string(self.dir().join(format!("redis-password-{env}-{consumer}")))
            .unwrap()
            .trim()
            .to_string()
    }

    /// The password the role read from the local Secrets Manager for `env`.
    pub(crate) fn password(&self, env: &str) -> String {
        std::fs::read_to_string(self.dir().join(format!("redis-password-{env}")))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let out = Command::new(script("stop.sh"))
            .arg(self.dir())
            .stdin(Stdio::null())
            .output();
        if let Ok(o) = out
            && !o.status.success()
        {
            eprintln!("stop.sh {}:\n{}", self.dir().display(), text(&o));
        }
    }
}
