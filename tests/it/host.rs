//! The role, run for real: booted Debian hosts (`scripts/host/`: debootstrap root file
//! systems cached between runs, systemd-nspawn with systemd as PID 1, sshd on a loopback
//! port), the generated playbook converged over SSH with `become`, the password read by
//! the role's own `amazon.aws.secretsmanager_secret` lookup from a local AWS endpoint
//! (moto), and the result checked from the controller and on the host.
//!
//! These tests boot hosts and download Debian packages: they are `#[ignore]`d in a plain
//! `cargo test` and run by the README's test command (`--include-ignored`), which also
//! installs what they need. They run one at a time (the hosts share the machine's
//! network, so two Redis servers would want one port). Every host is stopped by its
//! PIDs when its test ends, passes or fails, and a run first stops what a killed run
//! left behind.
//!
//! Over 500 lines: the `Host` harness (boot, SSH, converge, stop) and the scenarios that
//! use it belong together; each scenario is one test.

use crate::common::{infragen, redis_cli, repo, text};
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

fn script(name: &str) -> PathBuf {
    repo().join("scripts/host").join(name)
}

fn serial() -> MutexGuard<'static, ()> {
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
/// fake credentials stand in for the instance profile.
fn aws_extra_vars(endpoint: &str) -> String {
    let creds = serde_json::json!({
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    });
    serde_json::json!({
        "redis_metrics_endpoint_url": endpoint,
        "redis_metrics_environment": creds,
        "redis_backup_endpoint_url": endpoint,
        "redis_backup_environment": creds,
    })
    .to_string()
}

/// A booted Debian host; stopped (by PID) when dropped.
struct Host {
    work: tempfile::TempDir,
    suite: &'static str,
}

/// What one converge did.
#[derive(Debug)]
struct Converge {
    code: i32,
    changed: u32,
    failed: u32,
    log: String,
}

impl Host {
    fn boot(suite: &'static str) -> Host {
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

    fn dir(&self) -> &Path {
        self.work.path()
    }

    /// Runs a shell command on the host as root.
    fn ssh(&self, command: &str) -> Output {
        Command::new(self.dir().join("ssh"))
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs a command on the host and returns its stdout, failing the test if it fails.
    fn on_host(&self, command: &str) -> String {
        let out = self.ssh(command);
        assert!(
            out.status.success(),
            "{}: `{command}` failed:\n{}",
            self.suite,
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The local AWS endpoint (moto) of this host's run.
    fn aws_endpoint(&self) -> String {
        let out = Command::new(script("moto.sh"))
            .arg("start")
            .arg(self.dir())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "moto: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs the generated playbook of `env` from `ansible_dir` against the host, as users
    /// do, with `extra` passed to ansible-playbook.
    fn converge(&self, ansible_dir: &Path, env: &str, extra: &[&str]) -> Converge {
        let mut c = Command::new(script("converge.sh"));
        c.arg(self.dir())
            .arg(env)
            .arg("--")
            .args(extra)
            .env("INFRAGEN_ANSIBLE_DIR", ansible_dir)
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
    fn inventory_name(&self) -> String {
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(self.dir().join("host.json")).unwrap())
                .unwrap();
        json["HOST_NAME"].as_str().unwrap().to_string()
    }

    /// Runs scripts/host/helper.py (boto3 against the local AWS endpoint); its stdout.
    fn aws(&self, args: &[&str]) -> String {
        let venv =
            String::from_utf8(Command::new(script("venv.sh")).output().unwrap().stdout).unwrap();
        let out = Command::new(PathBuf::from(venv.trim()).join("bin/python"))
            .arg(script("helper.py"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "helper.py {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The password the role read from the local Secrets Manager for `env`.
    fn password(&self, env: &str) -> String {
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

/// Generates `blueprint` (text) into a temporary tree with the real binary; returns the
/// tree (its `ansible/` is what converges).
fn generate(blueprint: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blueprint.yaml"), blueprint).unwrap();
    let run = infragen(
        dir.path(),
        &["gen", "--blueprint", "blueprint.yaml", "--out", "out"],
    );
    assert_eq!(run.code, 0, "gen: {run:?}");
    dir
}

fn shipped() -> String {
    std::fs::read_to_string(repo().join("blueprints/redis-on-asterisk.yaml")).unwrap()
}

fn config_get(port: u16, password: &str, key: &str) -> String {
    let out = redis_cli(port, Some(password), &["CONFIG", "GET", key]);
    out.lines().nth(1).unwrap_or_default().to_string()
}

fn systemd_prop(host: &Host, unit: &str, prop: &str) -> String {
    host.on_host(&format!("systemctl show -P {prop} {unit}"))
}

fn assert_converged(c: &Converge, what: &str) {
    assert!(
        c.code == 0 && c.failed == 0,
        "{what}: the converge failed:\n{}",
        c.log
    );
}

/// Debian 12: the whole role converges twice (the second run changes nothing), and the
/// running server, the guard, the kernel setting and the publisher are what the
/// blueprint says.
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn debian_12_converges_twice_to_the_blueprint() {
    let _one = serial();
    let out = generate(&shipped());
    let ansible = out.path().join("out/ansible");
    let host = Host::boot("bookworm");
    let endpoint = host.aws_endpoint();
    // The bucket Terraform would create: <name>-<env>-redis-backups-<account id> (moto's
    // account is 123456789012).
    let bucket = "voice-campaign-dev-redis-backups-123456789012";
    host.aws(&["make-bucket", &endpoint, "us-east-1", bucket]);
    let extra_vars = aws_extra_vars(&endpoint);
    let extra = ["-e", extra_vars.as_str()];

    let first = host.converge(&ansible, "dev", &extra);
    assert_converged(&first, "first converge");
    assert!(first.changed > 0, "{}", first.log);
    // The container may not set vm.overcommit_memory: the role says so and goes on.
    assert!(
        first.log.contains("may not set vm.overcommit_memory"),
        "{}",
        first.log
    );
    let second = host.converge(&ansible, "dev", &extra);
    assert_converged(&second, "second converge");
    assert_eq!(
        second.changed, 0,
        "the second run changed something:\n{}",
        second.log
    );

    // The password is the one the role's lookup read from the local Secrets Manager,
    // and it is nowhere in the playbook's output.
    let pw = host.password("dev");
    assert!(
        !first.log.contains(&pw) && !second.log.contains(&pw),
        "the password is in the log"
    );

    // The running server is the blueprint's (dev: 256mb, port 6379, allkeys-lru, AOF
    // everysec, Redis 7's save rules, FLUSHALL/FLUSHDB blocked).
    assert_eq!(systemd_prop(&host, "redis-server", "ActiveState"), "active");
    assert!(redis_cli(6379, None, &["PING"]).contains("NOAUTH"));
    assert!(redis_cli(6379, Some("wrong-password"), &["PING"]).contains("WRONGPASS"));
    assert_eq!(redis_cli(6379, Some(&pw), &["PING"]), "PONG");
    assert_eq!(config_get(6379, &pw, "port"), "6379");
    assert_eq!(
        config_get(6379, &pw, "maxmemory"),
        (256u64 << 20).to_string()
    );
    assert_eq!(config_get(6379, &pw, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(config_get(6379, &pw, "save"), "3600 1 300 100 60 10000");
    assert_eq!(config_get(6379, &pw, "appendonly"), "yes");
    assert_eq!(config_get(6379, &pw, "appendfsync"), "everysec");
    for command in ["FLUSHALL", "FLUSHDB"] {
        let refused = redis_cli(6379, Some(&pw), &[command]);
        assert!(refused.contains("NOPERM"), "{command}: {refused}");
    }
    // Started by systemd with the generated file.
    let main_pid = systemd_prop(&host, "redis-server", "MainPID");
    let cmdline = host.on_host(&format!("tr '\\0' ' ' < /proc/{main_pid}/cmdline"));
    assert!(cmdline.contains("6379"), "{cmdline}");
    assert!(
        host.on_host("head -n 1 /etc/redis/redis.conf")
            .contains("Code generated by infragen"),
        "not the generated config"
    );

    // The guard: systemd reads the drop-in; the kernel applies the OOM score.
    let memory_max: u64 = systemd_prop(&host, "redis-server", "MemoryMax")
        .parse()
        .unwrap();
    assert_eq!(memory_max, 2 * (256u64 << 20) + (128 << 20));
    assert_eq!(systemd_prop(&host, "redis-server", "CPUWeight"), "50");
    assert_eq!(systemd_prop(&host, "redis-server", "IOWeight"), "50");
    assert_eq!(systemd_prop(&host, "redis-server", "OOMScoreAdjust"), "500");
    assert_eq!(
        host.on_host(&format!("cat /proc/{main_pid}/oom_score_adj")),
        "500"
    );
    // CPU placement: Redis (and every fork, which inherits it) on the upper half of
    // the vCPUs, so the lower half never waits behind it (docs/BENCHMARKS.md).
    let vcpus: usize = host.on_host("nproc --all").parse().unwrap();
    let placed = host.on_host(&format!(
        "grep Cpus_allowed_list /proc/{main_pid}/status | cut -f2"
    ));
    let expected = match (vcpus / 2, vcpus - 1) {
        (0, _) => "0".to_string(), // one vCPU: no placement
        (lo, hi) if lo == hi => lo.to_string(),
        (lo, hi) => format!("{lo}-{hi}"),
    };
    assert_eq!(placed, expected, "Redis's CPUs on a {vcpus}-vCPU host");
    assert_eq!(
        host.on_host("cat /etc/sysctl.d/60-redis.conf | grep -v '^#'"),
        "vm.overcommit_memory = 1"
    );

    // The publisher: its timer is active, and one run puts the metrics into the local
    // CloudWatch, read back here: every metric the publisher declares (the dashboard is
    // checked against the same list), with the deployment's dimensions.
    assert_eq!(
        systemd_prop(&host, "redis-metrics.timer", "ActiveState"),
        "active"
    );
    for i in 0..50 {
        redis_cli(6379, Some(&pw), &["SET", &format!("k{i}"), "v"]);
        redis_cli(6379, Some(&pw), &["GET", &format!("k{}", i * 2)]);
    }
    // A first backup (the timer takes one five minutes after boot; this host is new).
    host.on_host("systemctl start redis-backup.service");
    assert_eq!(
        systemd_prop(&host, "redis-backup.service", "Result"),
        "success"
    );
    host.on_host("systemctl start redis-metrics.service");
    host.on_host("systemctl start redis-metrics.service");
    assert_eq!(
        systemd_prop(&host, "redis-metrics.service", "Result"),
        "success"
    );
    let metrics: Value = serde_json::from_str(&host.aws(&[
        "metrics",
        &endpoint,
        "us-east-1",
        "VoiceCampaign/Redis",
    ]))
    .unwrap();
    let by_name = |name: &str| {
        metrics
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("no metric {name} in {metrics:#}"))
            .clone()
    };
    let declared = host.on_host("python3 /usr/local/lib/infragen/redis_metrics.py --describe");
    let declared: Value = serde_json::from_str(&declared).unwrap();
    for name in declared["metrics"].as_array().unwrap() {
        let m = by_name(name.as_str().unwrap());
        assert_eq!(
            m["dimensions"],
            serde_json::json!({"Name": "voice-campaign", "Environment": "dev"}),
            "{m}"
        );
        assert!(m["samples"].as_f64().unwrap() >= 1.0, "{m}");
    }
    assert_eq!(by_name("Up")["maximum"], 1.0);
    let used = by_name("UsedMemoryPercent")["maximum"].as_f64().unwrap();
    assert!((0.0..100.0).contains(&used), "{used}");
    assert_eq!(by_name("PersistenceFailed")["maximum"], 0.0);
    let hit_rate = by_name("CacheHitRate")["maximum"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&hit_rate), "{hit_rate}");
    assert!(by_name("OpsPerSecond")["maximum"].as_f64().unwrap() >= 0.0);
    assert!(
        by_name("LatencyAvgMicroseconds")["maximum"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let age = by_name("BackupAgeSeconds")["maximum"].as_f64().unwrap();
    assert!(
        (0.0..600.0).contains(&age),
        "the newest backup is minutes old: {age}"
    );

    // Off-host backup and restore, as the runbook says: write keys, back up, lose
    // everything on the host, restore, the keys are back (on the AOF-enabled service).
    let filler =
        "for i = 1, 300 do redis.call('SET', 'backup:' .. i, 'value ' .. i) end return 300";
    assert_eq!(redis_cli(6379, Some(&pw), &["EVAL", filler, "0"]), "300");
    host.on_host("systemctl start redis-backup.service");
    assert_eq!(
        systemd_prop(&host, "redis-backup.service", "Result"),
        "success"
    );
    let keys: Vec<String> = serde_json::from_str(&host.aws(&[
        "list-objects",
        &endpoint,
        "us-east-1",
        bucket,
        "voice-campaign/dev/",
    ]))
    .unwrap();
    assert!(keys.len() >= 2, "the first backup and this one: {keys:?}");
    assert!(keys.iter().all(|k| k.ends_with(".rdb")), "{keys:?}");
    let before = redis_cli(6379, Some(&pw), &["DBSIZE"]);
    host.on_host(
        "systemctl stop redis-server && rm -rf /var/lib/redis/* && systemctl start redis-server",
    );
    assert_eq!(
        redis_cli(6379, Some(&pw), &["DBSIZE"]),
        "0",
        "the host lost its data"
    );
    let restored = host.on_host("infragen-redis-restore latest");
    assert!(restored.contains("AOF rebuilt"), "{restored}");
    assert_eq!(
        redis_cli(6379, Some(&pw), &["DBSIZE"]),
        before,
        "{restored}"
    );
    assert_eq!(
        redis_cli(6379, Some(&pw), &["GET", "backup:300"]),
        "value 300"
    );
    assert_eq!(config_get(6379, &pw, "appendonly"), "yes");
    host.on_host("systemctl restart redis-server");
    assert_eq!(
        redis_cli(6379, Some(&pw), &["DBSIZE"]),
        before,
        "lost on the next restart"
    );
}

/// A run that fails after writing the config (here: a bad path in a later task, as a
/// typo or a package mirror hiccup would) used to leave Redis on the old config for
/// good: the next run found nothing to change. The fixed run must restart into it.
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn a_converge_that_failed_after_the_config_is_repaired_by_the_next_run() {
    let _one = serial();
    let before = generate(&shipped());
    let host = Host::boot("bookworm");
    assert_converged(
        &host.converge(&before.path().join("out/ansible"), "dev", &[]),
        "first",
    );
    let pw = host.password("dev");
    assert_eq!(
        config_get(6379, &pw, "maxmemory"),
        (256u64 << 20).to_string()
    );

    let bigger = shipped().replacen("        max: 256mb", "        max: 300mb", 1);
    assert_ne!(bigger, shipped());
    let after = generate(&bigger);
    let ansible = after.path().join("out/ansible");
    let broken = host.converge(
        &ansible,
        "dev",
        &[
            "-e",
            "redis_sysctl_file=/proc/infragen-no-such-dir/60-redis.conf",
        ],
    );
    assert_ne!(
        broken.code, 0,
        "the injected failure did not fail:\n{}",
        broken.log
    );
    assert!(broken.log.contains("Write redis.conf"), "{}", broken.log);
    // The failed run wrote the config and never restarted.
    assert_eq!(
        config_get(6379, &pw, "maxmemory"),
        (256u64 << 20).to_string()
    );

    let fixed = host.converge(&ansible, "dev", &[]);
    assert_converged(&fixed, "the fixed run");
    assert!(
        fixed
            .log
            .contains("Restart Redis into the configuration an interrupted run wrote"),
        "{}",
        fixed.log
    );
    assert_eq!(
        config_get(6379, &pw, "maxmemory"),
        (300u64 << 20).to_string()
    );
    assert!(redis_cli(6379, None, &["PING"]).contains("NOAUTH"));
    let again = host.converge(&ansible, "dev", &[]);
    assert_converged(&again, "the run after");
    assert_eq!(again.changed, 0, "{}", again.log);
}

/// Switching AOF on for a running Redis with an RDB dataset, through the role and the
/// real systemd service: the dataset survives (a plain edit and restart would start
/// Redis from an empty AOF).
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn switching_aof_on_keeps_the_dataset_on_the_real_service() {
    let _one = serial();
    let rdb_only = shipped().replacen("    aof: true", "    aof: false", 1);
    assert_ne!(rdb_only, shipped());
    let host = Host::boot("bookworm");
    let off = generate(&rdb_only);
    assert_converged(
        &host.converge(&off.path().join("out/ansible"), "dev", &[]),
        "AOF off",
    );
    let pw = host.password("dev");
    assert_eq!(config_get(6379, &pw, "appendonly"), "no");
    let script = "for i = 1, 500 do redis.call('SET', 'key:' .. i, 'value ' .. i) end return 500";
    assert_eq!(redis_cli(6379, Some(&pw), &["EVAL", script, "0"]), "500");
    assert_eq!(redis_cli(6379, Some(&pw), &["SAVE"]), "OK");

    let on = generate(&shipped());
    let c = host.converge(&on.path().join("out/ansible"), "dev", &[]);
    assert_converged(&c, "AOF on");
    assert!(
        c.log
            .contains("Switch AOF on in the running Redis before the config says so"),
        "{}",
        c.log
    );
    assert_eq!(config_get(6379, &pw, "appendonly"), "yes");
    assert_eq!(
        redis_cli(6379, Some(&pw), &["DBSIZE"]),
        "500",
        "the dataset was lost"
    );
    assert_eq!(redis_cli(6379, Some(&pw), &["GET", "key:500"]), "value 500");
    // And it survives a restart, now from the AOF.
    host.on_host("systemctl restart redis-server");
    assert_eq!(
        redis_cli(6379, Some(&pw), &["DBSIZE"]),
        "500",
        "lost on restart"
    );
}

/// Debian 11 ships Redis 6.0, which cannot load the configuration: the role refuses,
/// names the host and both versions, and leaves the running Redis as it was.
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn debian_11_is_refused_and_its_redis_left_alone() {
    let _one = serial();
    let out = generate(&shipped());
    let host = Host::boot("bullseye");
    let c = host.converge(&out.path().join("out/ansible"), "dev", &[]);
    assert_ne!(c.code, 0, "Debian 11 must be refused:\n{}", c.log);
    let name = host.inventory_name();
    assert!(
        c.log.contains(&format!("{name} has Redis 6.0.16")),
        "{}",
        c.log
    );
    assert!(c.log.contains("older than 7.0"), "{}", c.log);
    assert!(c.log.contains("Nothing was written"), "{}", c.log);
    assert!(!c.log.contains("Write redis.conf"), "{}", c.log);
    // Debian's own Redis, untouched: the package's config, no password, running.
    assert!(
        !host
            .on_host("cat /etc/redis/redis.conf")
            .contains("Code generated by infragen"),
        "the config was written"
    );
    assert_eq!(systemd_prop(&host, "redis-server", "ActiveState"), "active");
    assert_eq!(host.on_host("redis-cli ping"), "PONG");
}

/// Debian 13 ships Redis 8.0: the 7.x configuration loads there; the role converges.
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn debian_13_converges_with_redis_8() {
    let _one = serial();
    let out = generate(&shipped());
    let ansible = out.path().join("out/ansible");
    let host = Host::boot("trixie");
    assert_converged(&host.converge(&ansible, "dev", &[]), "first");
    let second = host.converge(&ansible, "dev", &[]);
    assert_converged(&second, "second");
    assert_eq!(second.changed, 0, "{}", second.log);
    let pw = host.password("dev");
    assert!(host.on_host("redis-server --version").contains("v=8."));
    assert!(redis_cli(6379, None, &["PING"]).contains("NOAUTH"));
    assert_eq!(
        config_get(6379, &pw, "maxmemory"),
        (256u64 << 20).to_string()
    );
    assert!(redis_cli(6379, Some(&pw), &["FLUSHALL"]).contains("NOPERM"));
}
