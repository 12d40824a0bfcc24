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
//! Over 500 lines: one test per scenario; the `Host` harness (boot, SSH, converge,
//! stop) is `support/host.rs`, the local AWS `support/moto.rs`.

use crate::apply::Deployment;
use crate::common::{GOOD_BLUEPRINTS, SHIPPED, Test, redis_cli, repo, text};
use crate::support::host::{
    Converge, Host, PRE_TLS, VerifiedTree, assert_same_state, aws_extra_vars, aws_extra_vars_tls,
    serial,
};
use crate::support::infra_repo::{STAND_IN_PASSWORD, terraform};
use crate::support::moto::Aws;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

pub(crate) fn shipped() -> String {
    std::fs::read_to_string(repo().join(SHIPPED)).unwrap()
}

/// The bucket Terraform would create for dev: <name>-<env>-redis-backups-<account id>
/// (moto's account is 123456789012).
const DEV_BUCKET: &str = "voice-campaign-dev-redis-backups-123456789012";

/// The shipped blueprint generated, a booted Debian 12 host, and the host's moto with
/// dev's backup bucket.
pub(crate) fn shipped_on_bookworm() -> (Test, Host, Aws) {
    let out = generated(&shipped());
    let host = Host::boot("bookworm");
    let aws = host.moto(&[]);
    aws.aws("make-bucket", &["us-east-1", DEV_BUCKET]);
    (out, host, aws)
}

/// `blueprint` (text) generated into `out/` of a work directory with the real binary
/// (its `out/ansible/` is what converges).
pub(crate) fn generated(blueprint: &str) -> Test {
    Test::new().blueprint_text(blueprint).generated()
}

/// As the role's admin user (the application user may not read the config), with its
/// per-host password read from the host's root-only file.
pub(crate) fn config_get(host: &Host, key: &str) -> String {
    let pw = host.on_host("cat /etc/infragen/redis-admin.password");
    let out = redis_cli(
        6379,
        Some(&pw),
        &["--user", "infragen-admin", "CONFIG", "GET", key],
    );
    out.lines().nth(1).unwrap_or_default().to_string()
}

/// Runs the metrics publisher once (it must succeed) and returns what the local AWS
/// holds of the namespace, one entry per metric.
fn publish_metrics(host: &Host, aws: &Aws) -> Value {
    host.on_host("systemctl start redis-metrics.service");
    assert_eq!(
        systemd_prop(host, "redis-metrics.service", "Result"),
        "success"
    );
    serde_json::from_str(&aws.aws("metrics", &["us-east-1", "VoiceCampaign/Redis"])).unwrap()
}

pub(crate) fn systemd_prop(host: &Host, unit: &str, prop: &str) -> String {
    host.on_host(&format!("systemctl show -P {prop} {unit}"))
}

pub(crate) fn assert_converged(c: &Converge, what: &str) {
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
    let (out, host, aws) = shipped_on_bookworm();
    let ansible = out.path().join("out/ansible");
    let endpoint = aws.endpoint().to_string();
    let bucket = DEV_BUCKET;
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
    assert_eq!(config_get(&host, "port"), "6379");
    assert_eq!(config_get(&host, "maxmemory"), (256u64 << 20).to_string());
    assert_eq!(config_get(&host, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(config_get(&host, "save"), "3600 1 300 100 60 10000");
    assert_eq!(config_get(&host, "appendonly"), "yes");
    assert_eq!(config_get(&host, "appendfsync"), "everysec");
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
    // Counters are sent as the change since the previous run: hits and misses happen
    // between the two runs, whenever the timer's own first run came (under load it may
    // come after the reads above, and then no run saw them change).
    host.on_host("systemctl start redis-metrics.service");
    for i in 0..20 {
        redis_cli(6379, Some(&pw), &["GET", &format!("k{}", i * 2)]);
    }
    let metrics = publish_metrics(&host, &aws);
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
        // TLS is off in this run (`aws_extra_vars`): no certificate, no days left; the
        // TLS test checks that metric.
        if name == "TlsCertificateDaysLeft" {
            continue;
        }
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
    let keys: Vec<String> = serde_json::from_str(&aws.aws(
        "list-objects",
        &["us-east-1", bucket, "voice-campaign/dev/"],
    ))
    .unwrap();
    // Each backup is an RDB and the checksum the backup wrote beside it.
    let rdbs: Vec<&String> = keys.iter().filter(|k| k.ends_with(".rdb")).collect();
    assert!(rdbs.len() >= 2, "the first backup and this one: {keys:?}");
    for rdb in &rdbs {
        assert!(
            keys.contains(&format!("{rdb}.sha256")),
            "{rdb} has no checksum: {keys:?}"
        );
    }
    assert_eq!(keys.len(), 2 * rdbs.len(), "{keys:?}");
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
    assert_eq!(config_get(&host, "appendonly"), "yes");
    host.on_host("systemctl restart redis-server");
    assert_eq!(
        redis_cli(6379, Some(&pw), &["DBSIZE"]),
        before,
        "lost on the next restart"
    );

    // Day two on the same host: the blueprint switches dev to Valkey. The newest backup
    // so far was taken by Redis (names sort by time).
    let newest = rdbs.iter().max().unwrap();
    switch_to_valkey_keeps_every_key(&host, &extra, &format!("s3://{bucket}/{newest}"));
}

/// `redis.engine: valkey` on a Debian 12 host running the role's Redis 7.0.15 (RDB 10):
/// Valkey 8.0 comes from bookworm-backports. A switch whose new engine fails to start
/// leaves Redis running with every key; the next run switches, keeps every key (and
/// its TTL), ends with AOF on, removes redis-server but keeps its data directory,
/// converges again with nothing to change, and a backup taken under Redis restores
/// into Valkey.
fn switch_to_valkey_keeps_every_key(host: &Host, extra: &[&str], redis_backup: &str) {
    let pw = host.password("dev");
    let filler = "for i = 1, 500 do redis.call('SET', 'switch:' .. i, 'v' .. i) end return 500";
    assert_eq!(redis_cli(6379, Some(&pw), &["EVAL", filler, "0"]), "500");
    assert_eq!(
        redis_cli(6379, Some(&pw), &["SET", "ttl", "x", "EX", "3600"]),
        "OK"
    );
    let before = redis_cli(6379, Some(&pw), &["DBSIZE"]);
    let valkey = generated(&on_valkey("8.0"));
    assert!(
        std::fs::read_to_string(
            valkey
                .path()
                .join("out/ansible/inventory/dev/group_vars/asterisk/redis.yml")
        )
        .unwrap()
        .contains("redis_engine: \"valkey\"")
    );
    let ansible = valkey.path().join("out/ansible");

    // Midway failure: the new engine cannot start (as a broken unit or a port taken
    // would). Redis must run again, on its own data.
    host.on_host(
        "mkdir -p /etc/systemd/system/valkey-server.service.d && printf '[Service]\\nExecStartPre=/bin/false\\n' > /etc/systemd/system/valkey-server.service.d/zz-test-broken.conf",
    );
    let failed = host.converge(&ansible, "dev", extra);
    assert_ne!(
        failed.code, 0,
        "the broken start must fail the run:\n{}",
        failed.log
    );
    assert!(
        failed
            .log
            .contains("redis-server runs again on its own data"),
        "{}",
        failed.log
    );
    assert_eq!(systemd_prop(host, "redis-server", "ActiveState"), "active");
    assert_eq!(redis_cli(6379, Some(&pw), &["DBSIZE"]), before);
    assert!(host.on_host("test -e /usr/sbin/policy-rc.d || echo gone") == "gone");

    host.on_host(
        "rm /etc/systemd/system/valkey-server.service.d/zz-test-broken.conf && systemctl daemon-reload",
    );
    let switched = host.converge(&ansible, "dev", extra);
    assert_converged(&switched, "the switch to Valkey");
    assert!(
        switched
            .log
            .contains("Switch the engine with the data to valkey"),
        "{}",
        switched.log
    );
    assert!(host.on_host("valkey-server --version").contains("v=8.0"));
    assert_eq!(systemd_prop(host, "valkey-server", "ActiveState"), "active");
    assert_eq!(
        host.on_host("dpkg-query -W -f '${db:Status-Status}' redis-server"),
        "config-files",
        "redis-server is removed, its configuration kept"
    );
    assert!(host.on_host("ls /var/lib/redis").contains("dump.rdb"));
    assert_eq!(redis_cli(6379, Some(&pw), &["DBSIZE"]), before, "keys lost");
    assert_eq!(redis_cli(6379, Some(&pw), &["GET", "switch:500"]), "v500");
    let ttl: i64 = redis_cli(6379, Some(&pw), &["TTL", "ttl"]).parse().unwrap();
    assert!(ttl > 3000, "the TTL was not carried: {ttl}");
    assert_eq!(config_get(host, "appendonly"), "yes");
    // From the AOF now: the next start loads everything.
    host.on_host("systemctl restart valkey-server");
    assert_eq!(
        redis_cli(6379, Some(&pw), &["DBSIZE"]),
        before,
        "lost on restart"
    );
    let again = host.converge(&ansible, "dev", extra);
    assert_converged(&again, "after the switch");
    assert_eq!(again.changed, 0, "{}", again.log);
    // The jobs follow the engine: a backup (valkey-check-rdb on the snapshot) and a
    // metrics run against Valkey succeed.
    for unit in ["redis-backup.service", "redis-metrics.service"] {
        host.on_host(&format!("systemctl start {unit}"));
        assert_eq!(systemd_prop(host, unit, "Result"), "success", "{unit}");
    }
    let settings = host.on_host("cat /etc/infragen/redis-backup.env");
    for line in [
        "REDIS_CHECK_RDB=valkey-check-rdb",
        "REDIS_CLI=valkey-cli",
        "REDIS_SERVICE=valkey-server",
        "REDIS_DATA_DIR=/var/lib/valkey",
    ] {
        assert!(settings.contains(line), "{line}: {settings}");
    }

    // A backup taken under Redis restores into Valkey.
    assert_eq!(
        redis_cli(6379, Some(&pw), &["SET", "after-switch", "x"]),
        "OK"
    );
    let restored = host.on_host(&format!("infragen-redis-restore {redis_backup}"));
    assert!(restored.contains("AOF rebuilt"), "{restored}");
    assert_eq!(
        redis_cli(6379, Some(&pw), &["EXISTS", "after-switch"]),
        "0",
        "{restored}"
    );
    assert_eq!(
        redis_cli(6379, Some(&pw), &["GET", "backup:300"]),
        "value 300"
    );
    assert_eq!(systemd_prop(host, "valkey-server", "ActiveState"), "active");
}

/// A run that fails after writing the config (here: a bad path in a later task, as a
/// typo or a package mirror hiccup would) used to leave Redis on the old config for
/// good: the next run found nothing to change. Now what can change live already has
/// (before the file was written), and what needs a restart is found again by the next
/// run from the running server itself, which restarts into it.
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn a_converge_that_failed_after_the_config_is_repaired_by_the_next_run() {
    let _one = serial();
    let before = generated(&shipped());
    let host = Host::boot("bookworm");
    assert_converged(
        &host.converge(&before.path().join("out/ansible"), "dev", PRE_TLS),
        "first",
    );
    assert_eq!(config_get(&host, "maxmemory"), (256u64 << 20).to_string());
    assert_eq!(config_get(&host, "disable-thp"), "yes");

    let changed = shipped()
        .replacen("        max: 256mb", "        max: 300mb", 1)
        .replacen("disable_thp: true ", "disable_thp: false", 1);
    assert_ne!(changed, shipped());
    let after = generated(&changed);
    let ansible = after.path().join("out/ansible");
    let broken = host.converge(
        &ansible,
        "dev",
        &[
            PRE_TLS,
            &[
                "-e",
                "redis_sysctl_file=/proc/infragen-no-such-dir/60-redis.conf",
            ],
        ]
        .concat(),
    );
    assert_ne!(
        broken.code, 0,
        "the injected failure did not fail:\n{}",
        broken.log
    );
    assert!(broken.log.contains("Write redis.conf"), "{}", broken.log);
    // The live part is in place; the restart never happened.
    assert_eq!(config_get(&host, "maxmemory"), (300u64 << 20).to_string());
    assert_eq!(config_get(&host, "disable-thp"), "yes");

    let fixed = host.converge(&ansible, "dev", PRE_TLS);
    assert_converged(&fixed, "the fixed run");
    assert_eq!(
        fixed.task("Restart Redis for what only a restart applies"),
        Some("changed"),
        "{}",
        fixed.log
    );
    assert_eq!(config_get(&host, "disable-thp"), "no");
    assert_eq!(config_get(&host, "maxmemory"), (300u64 << 20).to_string());
    assert!(redis_cli(6379, None, &["PING"]).contains("NOAUTH"));
    let again = host.converge(&ansible, "dev", PRE_TLS);
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
    let off = generated(&rdb_only);
    assert_converged(
        &host.converge(&off.path().join("out/ansible"), "dev", PRE_TLS),
        "AOF off",
    );
    let pw = host.password("dev");
    assert_eq!(config_get(&host, "appendonly"), "no");
    let script = "for i = 1, 500 do redis.call('SET', 'key:' .. i, 'value ' .. i) end return 500";
    assert_eq!(redis_cli(6379, Some(&pw), &["EVAL", script, "0"]), "500");
    // SAVE is an admin command: the role's user, not a consumer.
    assert_eq!(as_admin(&host, &["SAVE"]), "OK");

    let on = generated(&shipped());
    let c = host.converge(&on.path().join("out/ansible"), "dev", PRE_TLS);
    assert_converged(&c, "AOF on");
    assert!(
        c.log
            .contains("Switch AOF on in the running Redis before the config says so"),
        "{}",
        c.log
    );
    assert_eq!(config_get(&host, "appendonly"), "yes");
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
    let out = generated(&shipped());
    let host = Host::boot("bullseye");
    let c = host.converge(&out.path().join("out/ansible"), "dev", PRE_TLS);
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
/// Redis 8 writes RDB format 12, which no Valkey reads: a switch to Valkey is refused
/// before anything is touched (no package installed, Redis running with its keys).
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn debian_13_converges_with_redis_8_and_refuses_a_switch_to_valkey() {
    let _one = serial();
    let (host, pw, _) = trixie_converged_twice(&shipped());
    assert!(host.on_host("redis-server --version").contains("v=8."));
    assert!(redis_cli(6379, None, &["PING"]).contains("NOAUTH"));
    assert_eq!(config_get(&host, "maxmemory"), (256u64 << 20).to_string());
    assert!(redis_cli(6379, Some(&pw), &["FLUSHALL"]).contains("NOPERM"));

    assert_eq!(redis_cli(6379, Some(&pw), &["SET", "kept", "1"]), "OK");
    let conf = host.on_host("sha256sum /etc/redis/redis.conf");
    let valkey = generated(&on_valkey("8.0"));
    let refused = host.converge(&valkey.path().join("out/ansible"), "dev", PRE_TLS);
    assert_ne!(
        refused.code, 0,
        "the switch must be refused:\n{}",
        refused.log
    );
    assert!(
        refused
            .log
            .contains("cannot load the data of Redis 8.0.2: it writes RDB format 12"),
        "{}",
        refused.log
    );
    assert!(
        refused.log.contains("Nothing was touched"),
        "{}",
        refused.log
    );
    assert_eq!(systemd_prop(&host, "redis-server", "ActiveState"), "active");
    assert_eq!(redis_cli(6379, Some(&pw), &["GET", "kept"]), "1");
    assert_eq!(host.on_host("sha256sum /etc/redis/redis.conf"), conf);
    assert_eq!(
        host.on_host(
            "dpkg-query -W -f '${db:Status-Status}' valkey-server 2>/dev/null || echo absent"
        ),
        "absent"
    );
}

/// Debian 13 ships Valkey 8.1: `redis.engine: valkey` converges a new host twice (the
/// second run changes nothing) under Valkey's own names, and the checks pass.
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn debian_13_converges_with_valkey_8_1() {
    let _one = serial();
    let (host, pw, out) = trixie_converged_twice(&on_valkey("8.1"));
    assert!(host.on_host("valkey-server --version").contains("v=8.1"));
    assert_eq!(
        systemd_prop(&host, "valkey-server", "ActiveState"),
        "active"
    );
    assert_eq!(
        host.on_host("stat -c '%U:%G %a' /etc/valkey/valkey.conf"),
        "root:valkey 640"
    );
    assert!(
        host.on_host("cat /etc/systemd/system/valkey-server.service.d/infragen-guard.conf")
            .contains("MemoryMax=")
    );
    assert_eq!(
        host.on_host(
            "dpkg-query -W -f '${db:Status-Status}' redis-server 2>/dev/null || echo absent"
        ),
        "absent"
    );
    assert!(redis_cli(6379, None, &["PING"]).contains("NOAUTH"));
    assert_eq!(config_get(&host, "maxmemory"), (256u64 << 20).to_string());
    assert_eq!(config_get(&host, "appendonly"), "yes");
    assert!(redis_cli(6379, Some(&pw), &["FLUSHALL"]).contains("NOPERM"));

    // infragen verify reads Valkey 8.1 (plaintext, the shared password) as converged,
    // from the tree the host was converged with: nothing on the host differs but the
    // publisher's failures (this test gives it no AWS; no apply made the bucket either:
    // the AWS side's findings are not this test's).
    let aws = host.moto(&[]);
    let before = host.state();
    let tree = VerifiedTree {
        cwd: out.path(),
        blueprint: Path::new(crate::common::BP),
        out: Path::new("out"),
    };
    let (code, doc, _) = host.verify(&tree, "dev", aws.endpoint(), "us-east-1", PRE_TLS);
    assert_same_state(&before, &host.state(), "verify");
    assert!(code == 1 || code == 2, "{doc:#}");
    let env = &doc["environments"][0];
    let name = host.inventory_name();
    let on_host: Vec<&Value> = env["findings"]
        .as_array()
        .unwrap()
        .iter()
        .chain(env["trouble"].as_array().unwrap())
        .filter(|f| f["target"] == name.as_str())
        .filter(|f| f["item"] != "redis-metrics.service last run")
        .collect();
    assert!(
        on_host.is_empty(),
        "the converged Valkey host differs: {on_host:#?}"
    );
    assert!(env["checked"].as_u64().unwrap() >= 100, "{doc:#}");
    assert!(
        env["targets"]
            .as_array()
            .unwrap()
            .contains(&Value::from(name)),
        "{doc:#}"
    );
}

/// A new Debian 13 host converged twice with `blueprint`'s dev (the second run must
/// change nothing); the host, dev's application password and the generated tree.
fn trixie_converged_twice(blueprint: &str) -> (Host, String, Test) {
    let out = generated(blueprint);
    let ansible = out.path().join("out/ansible");
    let host = Host::boot("trixie");
    assert_converged(&host.converge(&ansible, "dev", PRE_TLS), "first");
    let second = host.converge(&ansible, "dev", PRE_TLS);
    assert_converged(&second, "second");
    assert_eq!(second.changed, 0, "{}", second.log);
    let pw = host.password("dev");
    (host, pw, out)
}

/// The shipped blueprint with `redis.engine: valkey` at `version`.
fn on_valkey(version: &str) -> String {
    let line = shipped()
        .lines()
        .find(|l| l.starts_with("  version: "))
        .unwrap()
        .to_string();
    let changed = shipped().replacen(
        &line,
        &format!("  engine: valkey\n  version: \"{version}\""),
        1,
    );
    assert_ne!(changed, shipped());
    changed
}

/// The role's admin password on the host (root-only file), for the test's own checks.
fn admin_pw(host: &Host) -> String {
    host.on_host("cat /etc/infragen/redis-admin.password")
}

fn as_admin(host: &Host, args: &[&str]) -> String {
    let mut all = vec!["--user", "infragen-admin"];
    all.extend_from_slice(args);
    redis_cli(6379, Some(&admin_pw(host)), &all)
}

/// Runs `redis-cli` on the host as the role's admin user (the password from its file on
/// standard input, as the role does it).
fn host_admin(host: &Host, args: &str) -> String {
    host.on_host(&format!(
        "redis-cli --no-auth-warning --user infragen-admin --askpass {args} < /etc/infragen/redis-admin.password"
    ))
}

/// `calls` of a command in INFO commandstats, as the admin user sees it.
fn calls(host: &Host, command: &str) -> u64 {
    as_admin(host, &["INFO", "commandstats"])
        .lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// What a managed cache promised without being asked, on a booted Debian 12 host, the
/// day after the deploy (issue 21; each step names the promise it checks):
/// consumers cannot administer the server; nothing running as `redis` can reach root's
/// settings; no password reaches a command line or a log; a dry run on a converged host
/// passes and changes nothing; a backup taken while Redis writes and saves is one whole
/// snapshot, checked before it counts; a failing save is reported at once, not retried;
/// a save meeting an AOF rewrite waits for it; a corrupt or unverifiable backup is
/// refused before Redis is touched, and a replacement host finds the environment's
/// newest backup; the jobs run inside the guard; a save child, not the server, is the
/// OOM killer's first choice.
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn day_two_operations_keep_their_promises() {
    let _one = serial();
    let (out, host, aws) = shipped_on_bookworm();
    let ansible = out.path().join("out/ansible");
    let endpoint = aws.endpoint().to_string();
    let bucket = DEV_BUCKET;
    // A rotated secret may hold a space, quotes and a backslash: redis.conf must load.
    let pw = r#"Rotated "by hand" pass\word 42"#;
    std::fs::write(host.dir().join("redis-password-dev"), pw).unwrap();
    // A slow upload (5 MB/s), so that saves replace dump.rdb while a backup is sent.
    let mut vars: Value = serde_json::from_str(&aws_extra_vars(&endpoint)).unwrap();
    vars["redis_backup_max_bandwidth"] = "5MB/s".into();
    let vars = vars.to_string();
    let first = host.converge(&ansible, "dev", &["-e", &vars, "-vvv"]);
    assert_converged(&first, "first converge");
    assert_eq!(redis_cli(6379, Some(pw), &["PING"]), "PONG");
    let admin = admin_pw(&host);
    let monitor = host.on_host("cat /etc/infragen/redis-monitor.password");
    let backup = host.on_host("cat /etc/infragen/redis-backup.password");

    // No password on a command line, in Ansible's most verbose output or in sudo's log.
    let journal = host.on_host("journalctl --no-pager -o cat 2>/dev/null || true");
    for (what, secret) in [
        ("application", pw),
        ("admin", admin.as_str()),
        ("monitor", monitor.as_str()),
        ("backup", backup.as_str()),
    ] {
        for (source, text) in [("the -vvv log", &first.log), ("the journal", &journal)] {
            let found: Vec<String> = text
                .lines()
                .filter(|l| l.contains(secret))
                .take(3)
                .map(|l| {
                    // The words around it, with the password masked.
                    let at = l.find(secret).unwrap();
                    let from = l[..at].char_indices().rev().nth(200).map_or(0, |(i, _)| i);
                    l[from..]
                        .replace(secret, "<password>")
                        .chars()
                        .take(400)
                        .collect()
                })
                .collect();
            assert!(
                found.is_empty(),
                "the {what} password is in {source}:\n{found:#?}"
            );
        }
    }
    let conf = host.on_host("cat /etc/redis/redis.conf");
    for secret in [pw, admin.as_str(), monitor.as_str(), backup.as_str()] {
        assert!(!conf.contains(secret), "a password in redis.conf");
    }

    // A consumer holds the application password and administers nothing.
    let before = redis_cli(6379, Some(pw), &["DBSIZE"]);
    for args in [
        &["CONFIG", "SET", "maxmemory", "1"][..],
        &["ACL", "SETUSER", "default", "nopass"],
        &["SWAPDB", "0", "1"],
        &["SHUTDOWN", "NOSAVE"],
        &["REPLICAOF", "127.0.0.1", "1"],
        &["SCRIPT", "FLUSH"],
        &["FUNCTION", "FLUSH"],
        &["CLIENT", "KILL", "ID", "1"],
        &["MIGRATE", "127.0.0.1", "1", "k", "0", "1"],
        &["BGSAVE"],
    ] {
        let reply = redis_cli(6379, Some(pw), args);
        assert!(reply.contains("NOPERM"), "a consumer ran {args:?}: {reply}");
    }
    assert_eq!(redis_cli(6379, Some(pw), &["DBSIZE"]), before);
    assert_eq!(systemd_prop(&host, "redis-server", "ActiveState"), "active");

    // Nothing running as redis reaches root's settings or rewrites redis.conf.
    assert_eq!(
        host.on_host("stat -c '%U:%G %a' /etc/infragen"),
        "root:root 700"
    );
    // Root's, also after a package upgrade (Debian's postinst re-applies its own
    // ownership unless dpkg records another): reinstalling the package keeps it.
    host.on_host("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall redis-server redis-tools >/dev/null");
    assert_eq!(
        host.on_host("stat -c '%U:%G %a' /etc/redis/redis.conf /etc/redis"),
        "root:redis 640\nroot:redis 2750"
    );
    for attempt in [
        "ls /etc/infragen",
        "mv /etc/infragen/redis-backup.env /tmp/taken",
        "sh -c 'echo PYTHONPATH=/tmp > /etc/infragen/redis-backup.env'",
        "sh -c 'echo loadmodule /tmp/x.so >> /etc/redis/redis.conf'",
        "mv /etc/redis/redis.conf /etc/redis/redis.conf.old",
    ] {
        let o = host.ssh(&format!("runuser -u redis -- {attempt}"));
        assert!(!o.status.success(), "the redis user could: {attempt}");
    }
    assert!(
        as_admin(&host, &["CONFIG", "REWRITE"]).contains("ERR"),
        "Redis rewrote its own config"
    );
    assert!(
        !host.on_host("ls /etc/redis").contains(".env"),
        "env files left in /etc/redis"
    );
    for unit in ["redis-backup.service", "redis-metrics.service"] {
        let exec = systemd_prop(&host, unit, "ExecStart");
        assert!(exec.contains("python3 -E -s"), "{unit}: {exec}");
        assert!(
            systemd_prop(&host, unit, "EnvironmentFiles").contains("/etc/infragen/"),
            "{unit}"
        );
    }

    // The latency monitor records something for the runbook's LATENCY DOCTOR.
    assert_eq!(config_get(&host, "latency-monitor-threshold"), "100");
    assert!(!as_admin(&host, &["LATENCY", "DOCTOR"]).contains("disabled"));
    assert_eq!(
        config_get(&host, "maxmemory-clients"),
        (64u64 << 20).to_string()
    );

    // A dry run of a change says what it would do and does none of it. (A converged
    // host, read without a change: `infragen verify` in the apply chain test, which also
    // proves the host unchanged byte for byte.)
    let second = host.converge(&ansible, "dev", &["-e", &vars]);
    assert_converged(&second, "second converge");
    assert_eq!(second.changed, 0, "{}", second.log);
    let conf_sum = host.on_host("sha256sum /etc/redis/redis.conf");
    let bigger = generated(&shipped().replacen("        max: 256mb", "        max: 300mb", 1));
    let dry = host.converge(
        &bigger.path().join("out/ansible"),
        "dev",
        &["-e", &vars, "--check", "--diff"],
    );
    assert_converged(&dry, "--check of a change");
    assert!(
        dry.log
            .contains("--check: a real run would change live: maxmemory"),
        "{}",
        dry.log
    );
    assert_eq!(host.on_host("sha256sum /etc/redis/redis.conf"), conf_sum);
    assert_eq!(config_get(&host, "maxmemory"), (256u64 << 20).to_string());

    // A backup of a dataset large enough for a multipart upload, taken while clients
    // write and saves replace dump.rdb under it, is one whole snapshot.
    // Values of hex digests: an RDB's LZF cannot shrink them, so the snapshot is about
    // 60 MB (many 8 MB parts), not the few MB that repeated characters compress to.
    let fill = "local v = '' for j = 1, 24 do v = v .. redis.sha1hex(ARGV[1] .. j) end \
        for i = ARGV[1], ARGV[1] + 9999 do redis.call('SET', 'big:' .. i, redis.sha1hex(i) .. v) end return 1";
    for batch in 0..6 {
        let first = (batch * 10_000 + 1).to_string();
        assert_eq!(redis_cli(6379, Some(pw), &["EVAL", fill, "0", &first]), "1");
    }
    let churn = "while :; do redis-cli --no-auth-warning --user infragen-admin --askpass EVAL \
        \"for i = 1, 3000 do redis.call('SET', 'big:' .. math.random(1, 60000), string.rep('y', 1000)) end\" 0 \
        < /etc/infragen/redis-admin.password >/dev/null; redis-cli --no-auth-warning --user infragen-admin \
        --askpass BGSAVE < /etc/infragen/redis-admin.password >/dev/null; sleep 0.5; done";
    host.on_host(&format!(
        "systemd-run --unit=infragen-churn --property=KillMode=control-group sh -c {}",
        shell_quote(churn)
    ));
    let saves_before = calls(&host, "bgsave");
    let started = std::time::Instant::now();
    let run = host.ssh("systemctl start redis-backup.service");
    let took = started.elapsed();
    host.on_host("systemctl stop infragen-churn.service");
    assert!(
        run.status.success(),
        "the backup failed:\n{}",
        host.on_host("journalctl --no-pager -o cat -u redis-backup.service | tail -n 20")
    );
    let saves_during = calls(&host, "bgsave") - saves_before;
    assert!(
        saves_during >= 3,
        "the churn saved only {saves_during} times during the {took:?} backup"
    );
    let report = host.on_host("journalctl --no-pager -o cat -u redis-backup.service | grep 'redis-backup: s3://' | tail -n 1");
    let url = report
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no upload reported: {report}"));
    let key = url
        .trim_start_matches(&format!("s3://{bucket}/"))
        .to_string();
    let local = host.dir().join("backup.rdb");
    aws.aws(
        "get-object",
        &["us-east-1", bucket, &key, local.to_str().unwrap()],
    );
    let object_size = std::fs::metadata(&local).unwrap().len();
    assert!(
        // The churn rewrites keys with compressible values, so the size depends on when
        // the snapshot was taken (50-57 MB seen); past 24 MiB it is at least 3 parts.
        object_size > 24 << 20,
        "a multipart-sized backup: {object_size} bytes"
    );
    let check = Command::new("redis-check-rdb")
        .arg(&local)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("RDB looks OK"),
        "the backup object is not one snapshot:\n{}",
        text(&check)
    );
    let sums = host.dir().join("backup.rdb.sha256");
    aws.aws(
        "get-object",
        &[
            "us-east-1",
            bucket,
            &format!("{key}.sha256"),
            sums.to_str().unwrap(),
        ],
    );
    let want = std::fs::read_to_string(&sums).unwrap();
    let have = Command::new("sha256sum").arg(&local).output().unwrap();
    assert_eq!(
        want.split_whitespace().next(),
        String::from_utf8_lossy(&have.stdout)
            .split_whitespace()
            .next(),
        "the checksum beside the backup is not the backup's"
    );
    eprintln!(
        "day two: {report} (upload under churn took {took:?}, {saves_during} saves meanwhile)"
    );

    // A save that fails is reported at once, never retried into a fork storm.
    let state_before = host.on_host("cat /var/lib/infragen/redis-backup-last");
    let mode = host.on_host("stat -c %a /var/lib/redis");
    host.on_host("chmod 0555 /var/lib/redis");
    let saves_before = calls(&host, "bgsave");
    let started = std::time::Instant::now();
    let failed = host.ssh("systemctl start redis-backup.service");
    let took = started.elapsed();
    host.on_host(&format!("chmod {mode} /var/lib/redis"));
    assert!(
        !failed.status.success(),
        "a failed save was reported as a backup"
    );
    assert_eq!(
        calls(&host, "bgsave") - saves_before,
        1,
        "BGSAVE asked more than once"
    );
    assert!(
        took < std::time::Duration::from_secs(60),
        "{took:?} to notice a failed save"
    );
    assert_eq!(
        host.on_host("cat /var/lib/infragen/redis-backup-last"),
        state_before
    );
    assert!(
        host.on_host("journalctl --no-pager -o cat -u redis-backup.service | tail -n 5")
            .contains("background save failed"),
        "the failure is not said"
    );
    // Redis saves again once it can (stop-writes-on-bgsave-error clears).
    as_admin(&host, &["BGSAVE"]);

    // A backup that meets an AOF rewrite waits for it (BGSAVE SCHEDULE).
    host_admin(&host, "CONFIG SET rdb-key-save-delay 100");
    host_admin(&host, "BGREWRITEAOF");
    assert!(as_admin(&host, &["INFO", "persistence"]).contains("aof_rewrite_in_progress:1"));
    // While a child runs: it, not the server, is the OOM killer's first choice.
    let main_pid = systemd_prop(&host, "redis-server", "MainPID");
    let child = host.on_host(&format!("pgrep -P {main_pid} | head -n 1"));
    assert_eq!(
        host.on_host(&format!("cat /proc/{child}/oom_score_adj")),
        "1000"
    );
    assert_eq!(
        host.on_host(&format!("cat /proc/{main_pid}/oom_score_adj")),
        "500"
    );
    let during = host.ssh("systemctl start redis-backup.service");
    host_admin(&host, "CONFIG SET rdb-key-save-delay 0");
    assert!(
        during.status.success(),
        "a backup during an AOF rewrite failed:\n{}",
        host.on_host("journalctl --no-pager -o cat -u redis-backup.service | tail -n 5")
    );

    // The jobs run inside the guard: on Redis's CPUs, niced, below Asterisk's weights.
    for unit in ["redis-backup.service", "redis-metrics.service"] {
        assert_eq!(
            systemd_prop(&host, unit, "CPUAffinity"),
            systemd_prop(&host, "redis-server", "CPUAffinity"),
            "{unit}"
        );
        assert_eq!(systemd_prop(&host, unit, "Nice"), "10", "{unit}");
        assert_eq!(systemd_prop(&host, unit, "CPUWeight"), "20", "{unit}");
        assert_eq!(systemd_prop(&host, unit, "IOWeight"), "20", "{unit}");
    }
    // What the jobs cost the host, measured here (the README quotes it).
    let cost = |unit: &str| {
        host.on_host(&format!(
            "set -a; . /etc/infragen/{env}; set +a; export CREDENTIALS_DIRECTORY=$(mktemp -d); \
             cp /etc/infragen/redis-monitor.password $CREDENTIALS_DIRECTORY/redis-monitor-password; \
             python3 -c 'import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); \
             r = resource.getrusage(resource.RUSAGE_CHILDREN); print(f\"{{r.ru_utime + r.ru_stime:.2f}} s CPU, {{r.ru_maxrss // 1024}} MiB peak\")' \
             python3 -E -s /usr/local/lib/infragen/{unit}",
            env = if unit.contains("backup") { "redis-backup.env" } else { "redis-metrics.env" },
        ))
    };
    eprintln!(
        "day two: host cost per metrics run {}; per backup of {} keys {}",
        cost("redis_metrics.py"),
        redis_cli(6379, Some(pw), &["DBSIZE"]),
        cost("redis_backup.py")
    );

    // Restores: a corrupt backup (whole and checksummed, but not an RDB) and one that does
    // not match its checksum are refused before Redis is touched.
    let good = std::fs::read(&local).unwrap();
    let keys_now = redis_cli(6379, Some(pw), &["DBSIZE"]);
    let pid_now = systemd_prop(&host, "redis-server", "MainPID");
    let corrupt = host.dir().join("corrupt.rdb");
    std::fs::write(&corrupt, &good[..good.len() / 2]).unwrap();
    let put = |key: &str, file: &Path, sum_of: &Path| {
        aws.aws(
            "put-object",
            &["us-east-1", bucket, key, file.to_str().unwrap()],
        );
        let sum = String::from_utf8(
            Command::new("sha256sum")
                .arg(sum_of)
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let sum = sum.split_whitespace().next().unwrap().to_string();
        aws.aws(
            "put-object",
            &[
                "us-east-1",
                bucket,
                &format!("{key}.sha256"),
                "--text",
                &format!("{sum}  x.rdb\n"),
            ],
        );
    };
    for (name, file, sum_of, why) in [
        (
            "dump-29990101T000000Z.rdb",
            &corrupt,
            &corrupt,
            "fails redis-check-rdb",
        ),
        (
            "dump-29990102T000000Z.rdb",
            &local,
            &corrupt,
            "does not match its checksum",
        ),
    ] {
        put(
            &format!("voice-campaign/dev/other-host/{name}"),
            file,
            sum_of,
        );
        let o = host.ssh("infragen-redis-restore latest");
        let said = text(&o);
        assert!(!o.status.success(), "a bad backup was restored:\n{said}");
        assert!(
            said.contains(why) && said.contains("Redis was not touched"),
            "{said}"
        );
        assert_eq!(
            systemd_prop(&host, "redis-server", "MainPID"),
            pid_now,
            "Redis restarted"
        );
        assert_eq!(redis_cli(6379, Some(pw), &["DBSIZE"]), keys_now);
    }
    // A replacement instance (another host name) restores the environment's newest.
    put(
        "voice-campaign/dev/replaced-host/dump-29990103T000000Z.rdb",
        &local,
        &local,
    );
    host.on_host(
        "systemctl stop redis-server && rm -rf /var/lib/redis/* && systemctl start redis-server",
    );
    assert_eq!(redis_cli(6379, Some(pw), &["DBSIZE"]), "0");
    let restored = host.on_host("infragen-redis-restore latest");
    assert!(
        restored.contains("replaced-host/dump-29990103T000000Z.rdb"),
        "{restored}"
    );
    assert!(
        redis_cli(6379, Some(pw), &["DBSIZE"])
            .parse::<u64>()
            .unwrap()
            >= 60_000,
        "{restored}"
    );
    assert_eq!(systemd_prop(&host, "redis-server", "ActiveState"), "active");
}

/// `s` as one POSIX shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The seed's checklist, chained: Terraform applies the shipped blueprint's dev (the
/// example repo with the generated files wired in) to the host's local AWS; the playbook
/// converges the host with the secret that apply created (the test plants none); a
/// consumer finds the port and the password from the apply's outputs alone; the backup
/// job uploads to the bucket the apply created; every alarm the apply created on the
/// host's metrics watches a metric the host's publisher sends.
#[test]
#[ignore = "boots Debian hosts and applies against a local AWS; run by scripts/test.sh"]
fn the_apply_feeds_the_playbook_and_a_consumer() {
    let _one = serial();
    let t = terraform();
    let host = Host::boot("bookworm");
    // The host's moto, with the AWS-managed IAM policies the example repo attaches.
    let aws = host.moto(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let endpoint = aws.endpoint().to_string();
    let d = Deployment::at(&t, &repo().join(GOOD_BLUEPRINTS[0]), "dev", &aws);
    let bucket = d
        .apply_and_use()
        .expect("the shipped dev has a backup bucket");
    let outputs = d.outputs();
    let region = d.env.region.value.clone();

    // The generated configuration as it is: TLS with the host's CA, one user per consumer.
    let extra_vars = aws_extra_vars_tls(&endpoint);
    let c = host.converge_with(
        &d.ansible_dir(),
        "dev",
        &["-e", extra_vars.as_str()],
        &[("INFRAGEN_SECRET_FROM_AWS", "1")],
    );
    assert_converged(&c, "converge with the applied secrets");

    // A consumer as its Lambda function is wired: its entry of the output
    // redis_consumer_environments and nothing else (its secret, its user, the CA's
    // parameter, TLS with the server verified).
    let env = &outputs["redis_consumer_environments"]["value"]["campaign-dialer"];
    assert_eq!(env["REDIS_TLS"], "true", "{env}");
    assert_eq!(env["REDIS_USER"], "campaign-dialer", "{env}");
    let arn = env["REDIS_PASSWORD_SECRET_ARN"].as_str().unwrap();
    let pw = aws.aws("get-secret", &[&region, arn]);
    assert_eq!(
        pw,
        format!("{STAND_IN_PASSWORD}-campaign-dialer"),
        "the applied secret"
    );
    assert_eq!(
        host.consumer_password("dev", "campaign-dialer"),
        pw,
        "the role read another secret for campaign-dialer"
    );
    let shared = outputs["redis_password_secret_arn"]["value"]
        .as_str()
        .unwrap();
    assert_ne!(
        aws.aws("get-secret", &[&region, shared]),
        pw,
        "the consumer's password is the shared one"
    );
    let parameter = env["REDIS_TLS_CA_PARAMETER"].as_str().unwrap();
    let got = Command::new(crate::support::moto::venv_python())
        .arg(repo().join("scripts/host/helper.py"))
        .args(["get-parameter", &endpoint, &region, parameter])
        .output()
        .unwrap();
    assert!(got.status.success(), "{}", text(&got));
    let work = tempfile::tempdir().unwrap();
    let ca = work.path().join("ca.pem");
    std::fs::write(&ca, &got.stdout).unwrap();
    let pw_file = work.path().join("pw");
    std::fs::write(&pw_file, &pw).unwrap();
    let port = env["REDIS_PORT"].as_str().unwrap().to_string();
    let did: Value = serde_json::from_str(&tls_client(
        &[
            "can",
            "127.0.0.1",
            &port,
            ca.to_str().unwrap(),
            "campaign-dialer",
            pw_file.to_str().unwrap(),
        ],
        Some(r#"[["SET", "campaign:chain", "from-the-apply"], ["GET", "campaign:chain"], ["GET", "call:1"]]"#),
    ))
    .unwrap();
    assert_eq!(did["SET campaign:chain from-the-apply"], "ok", "{did}");
    assert_eq!(did["GET campaign:chain"], "ok", "{did}");
    assert_ne!(did["GET call:1"], "ok", "a key outside its patterns: {did}");

    // The backup goes to the applied bucket (its TLS-only policy lifted for the run: moto
    // denies whatever a Deny's condition says; see apply.rs).
    let policy = host.dir().join("lifted-policy.json");
    let policy = policy.to_str().unwrap();
    aws.aws("lift-policy", &[&region, &bucket, policy]);
    let run = host.ssh("systemctl start redis-backup.service");
    aws.aws("put-policy", &[&region, &bucket, policy]);
    assert!(
        run.status.success(),
        "the backup to the applied bucket failed:\n{}\n{}",
        text(&run),
        host.on_host("journalctl --no-pager -o cat -u redis-backup.service | tail -n 20")
    );
    let objects: Vec<String> =
        serde_json::from_str(&aws.aws("list-objects", &[&region, &bucket, ""])).unwrap();
    assert!(
        objects.iter().any(|k| k.ends_with(".rdb")),
        "no backup in the applied bucket: {objects:?}"
    );

    // Each alarm on the host's namespace watches what the publisher sends.
    host.on_host("systemctl start redis-metrics.service");
    host.on_host("systemctl start redis-metrics.service");
    let published: Value =
        serde_json::from_str(&aws.aws("metrics", &[&region, "VoiceCampaign/Redis"])).unwrap();
    let sent: Vec<(String, Value)> = published
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["dimensions"].clone(),
            )
        })
        .collect();
    let state = d.state_json();
    let mut watched = 0;
    for alarm in resources_of(
        &state["values"]["root_module"],
        "aws_cloudwatch_metric_alarm",
    ) {
        let v = &alarm["values"];
        let metrics: Vec<&Value> = if v["metric_name"].is_string() {
            vec![v]
        } else {
            v["metric_query"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|q| q["metric"].as_array().and_then(|m| m.first()))
                .collect()
        };
        for m in metrics {
            if m["namespace"] != "VoiceCampaign/Redis" {
                continue;
            }
            watched += 1;
            let want = (
                m["metric_name"].as_str().unwrap().to_string(),
                m["dimensions"].clone(),
            );
            assert!(
                sent.contains(&want),
                "alarm {} watches {want:?}, which the host does not send; sent: {sent:?}",
                alarm["address"]
            );
        }
    }
    assert!(
        watched >= 5,
        "only {watched} alarm metrics on the host's namespace"
    );

    // infragen verify, on this deployment: the converged host and the applied AWS match
    // the tree (exit 0), each kind of drift is found (exit 1), and verify changes nothing
    // on the host either time. It compares with a current tree: the infra repo's own has
    // the password stand-ins, so a fresh `gen` of the same blueprint (the same Ansible).
    let blueprint = repo().join(GOOD_BLUEPRINTS[0]);
    let tree = work.path().join("tree");
    let generated = crate::common::infragen(
        work.path(),
        &[
            "gen",
            "--blueprint",
            blueprint.to_str().unwrap(),
            "--out",
            tree.to_str().unwrap(),
        ],
    );
    assert_eq!(generated.code, 0, "{generated:?}");
    let verify = |what: &str| {
        // The bucket's TLS-only policy lifted for the run (moto denies on any Deny's
        // condition, see apply.rs), put back after.
        aws.aws("lift-policy", &[&region, &bucket, policy]);
        let before = host.state();
        let (code, doc, stderr) = host.verify(
            &VerifiedTree {
                cwd: work.path(),
                blueprint: &blueprint,
                out: &tree,
            },
            "dev",
            &endpoint,
            &region,
            &["-e", extra_vars.as_str()],
        );
        let after = host.state();
        aws.aws("put-policy", &[&region, &bucket, policy]);
        assert_same_state(&before, &after, &format!("verify ({what})"));
        assert!(
            !stderr.contains(&pw) && !doc.to_string().contains(&pw),
            "a password in verify's output"
        );
        (code, doc)
    };
    let (code, doc) = verify("converged");
    assert_eq!(code, 0, "a converged host: {doc:#}");
    let checked = doc["environments"][0]["checked"].as_u64().unwrap();
    assert!(checked >= 100, "only {checked} comparisons: {doc:#}");

    // Six kinds of drift, made as an operator would.
    let admin = "redis-cli --no-auth-warning --user infragen-admin -a \"$(cat /etc/infragen/redis-admin.password)\" -s /run/redis/redis-server.sock";
    host.on_host(&format!(
        "{admin} CONFIG SET maxmemory 1gb && {admin} ACL SETUSER campaign-dialer +@all \
         && rm /etc/systemd/system/redis-server.service.d/infragen-guard.conf \
         && systemctl disable --now redis-backup.timer \
         && sed -i 's/^maxmemory-policy .*/maxmemory-policy noeviction/' /etc/redis/redis.conf"
    ));
    aws.aws("lift-policy", &[&region, &bucket, policy]);
    let aged = aws.aws("age-backups", &[&region, &bucket, "voice-campaign/dev/"]);
    aws.aws("put-policy", &[&region, &bucket, policy]);
    assert_ne!(aged, "0", "no backup to age");
    let (code, doc) = verify("drifted");
    assert_eq!(code, 1, "a drifted host: {doc:#}");
    let found: std::collections::BTreeSet<(String, String)> = doc["environments"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["area"].as_str().unwrap().into(),
                f["item"].as_str().unwrap().into(),
            )
        })
        .collect();
    let guard = "/etc/systemd/system/redis-server.service.d/infragen-guard.conf";
    let wanted: std::collections::BTreeSet<(String, String)> = [
        ("config", "maxmemory"),
        ("acl", "user campaign-dialer commands"),
        ("guard", guard),
        ("file", guard),
        ("timer", "redis-backup.timer"),
        ("config-file", "maxmemory-policy"),
        ("file", "/etc/redis/redis.conf"),
    ]
    .iter()
    .map(|(a, i)| (a.to_string(), i.to_string()))
    .chain([(
        "backup".to_string(),
        format!("newest backup of {}", host.on_host("hostname")),
    )])
    .collect();
    // systemd may also say the unit changed on disk since it was loaded (the drop-in).
    let allowed = (
        "guard".to_string(),
        "redis-server.service on disk".to_string(),
    );
    assert!(
        wanted.is_subset(&found) && found.iter().all(|f| wanted.contains(f) || *f == allowed),
        "found {found:#?}\nwanted {wanted:#?}"
    );
    let maxmemory = doc["environments"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["item"] == "maxmemory")
        .unwrap();
    assert_eq!(
        (
            &maxmemory["blueprint"],
            &maxmemory["live"],
            &maxmemory["fix"]["kind"]
        ),
        (
            &Value::from("256mb"),
            &Value::from("1073741824"),
            &Value::from("config-set")
        ),
        "{maxmemory:#}"
    );
    d.destroy();
}

/// Every resource of `kind` in a state's module tree.
fn resources_of<'a>(module: &'a Value, kind: &str) -> Vec<&'a Value> {
    let mut out: Vec<&Value> = module["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["type"] == kind)
        .collect();
    for child in module["child_modules"].as_array().into_iter().flatten() {
        out.extend(resources_of(child, kind));
    }
    out
}

/// The host test harness's TLS client (`scripts/host/tls_client.py`, redis-py), run with
/// the host venv's Python; `stdin` for `can`.
fn tls_client(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut c = Command::new(crate::support::moto::venv_python());
    c.arg(repo().join("scripts/host/tls_client.py")).args(args);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or("").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "tls_client {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// This machine's first non-loopback IPv4 address (the host container shares it).
fn outside_address() -> String {
    let out = Command::new("hostname").arg("-I").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| a.contains('.') && !a.starts_with("127."))
        .expect("a non-loopback IPv4 address")
        .to_string()
}

/// The shipped blueprint's call-results entry, made read-only.
const RESULTS_READ_ONLY: &str = "  - name: call-results\n    security_group: module.lambda.call_results_security_group_id\n    iam_role: module.lambda.call_results_role_name\n    # Writes call outcomes, reads the campaigns it reports on.\n    keys: [\"call:*\", \"campaign:*\"]\n    access: read_only\n";

/// Issue 27 on Debian 12, with the blueprint as shipped (TLS on, `default` off, one user
/// per consumer) but call-results read-only: converged twice (changed=0); the CA read
/// back from SSM (moto) verifies the server over TLS, another CA does not; plaintext
/// from a non-loopback address gets nothing; each consumer (read-write and read-only)
/// can do exactly what its entry allows; a forced renewal under a
/// client that keeps its TLS connection busy fails no request and new connections see
/// the new certificate; revoking one consumer leaves the other's open connection and
/// new ones working and refuses the revoked one.
#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn tls_and_consumer_users_keep_their_promises() {
    let _one = serial();
    let read_write = RESULTS_READ_ONLY.replace("access: read_only", "access: read_write");
    let blueprint = shipped().replacen(&read_write, RESULTS_READ_ONLY, 1);
    assert_ne!(blueprint, shipped());
    let out = generated(&blueprint);
    let host = Host::boot("bookworm");
    let aws = host.moto(&[]);
    aws.aws("make-bucket", &["us-east-1", DEV_BUCKET]);
    let ansible = out.path().join("out/ansible");
    let endpoint = aws.endpoint().to_string();
    let extra_vars = aws_extra_vars_tls(&endpoint);
    let extra = ["-e", extra_vars.as_str()];

    let first = host.converge(&ansible, "dev", &extra);
    assert_converged(&first, "first converge");
    let second = host.converge(&ansible, "dev", &extra);
    assert_converged(&second, "second converge");
    assert_eq!(
        second.changed, 0,
        "the second run changed something:\n{}",
        second.log
    );
    for consumer in ["campaign-dialer", "call-results"] {
        let pw = host.consumer_password("dev", consumer);
        assert!(
            !first.log.contains(&pw) && !second.log.contains(&pw),
            "{consumer}'s password is in the log"
        );
    }

    // The publisher reaches the server over loopback TLS and sends the days left of the
    // served certificate (dev: cert_days 90, just issued).
    let metrics = publish_metrics(&host, &aws);
    let days = metrics
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "TlsCertificateDaysLeft")
        .unwrap_or_else(|| panic!("no TlsCertificateDaysLeft in {metrics:#}"))["maximum"]
        .as_f64()
        .unwrap();
    assert!((89.0..=90.0).contains(&days), "days left: {days}");

    // (a) The CA bundle as consumers get it: from the SSM parameter Terraform names.
    let work = tempfile::tempdir().unwrap();
    let ca = work.path().join("ca.pem");
    let helper = repo().join("scripts/host/helper.py");
    let got = Command::new(crate::support::moto::venv_python())
        .arg(&helper)
        .args([
            "get-parameter",
            &endpoint,
            "us-east-1",
            "/voice-campaign/dev/redis-tls-ca",
        ])
        .output()
        .unwrap();
    assert!(got.status.success(), "{}", text(&got));
    std::fs::write(&ca, &got.stdout).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got.stdout).trim(),
        host.on_host("cat /etc/infragen-redis-tls/ca.pem").trim(),
        "SSM holds the host's CA bundle"
    );
    let ca = ca.to_str().unwrap();
    let pwfile = |consumer: &str| {
        let p = work.path().join(format!("{consumer}.pw"));
        std::fs::write(&p, host.consumer_password("dev", consumer)).unwrap();
        p.to_str().unwrap().to_string()
    };
    let dialer_pw = pwfile("campaign-dialer");
    let results_pw = pwfile("call-results");
    let fingerprint = tls_client(&["cert", "127.0.0.1", "6379", ca], None);
    assert_eq!(fingerprint.len(), 64);
    // A CA of someone else's: the handshake fails.
    let other = work.path().join("other");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-days", "2", "-subj", "/CN=other CA", "-keyout"])
        .arg(other.with_extension("key"))
        .arg("-out")
        .arg(other.with_extension("pem"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made));
    let refused = Command::new(crate::support::moto::venv_python())
        .arg(repo().join("scripts/host/tls_client.py"))
        .args(["cert", "127.0.0.1", "6379"])
        .arg(other.with_extension("pem"))
        .output()
        .unwrap();
    assert!(
        !refused.status.success() && text(&refused).contains("CERTIFICATE_VERIFY_FAILED"),
        "a client trusting another CA was not refused: {}",
        text(&refused)
    );

    // (b) No plaintext: from a non-loopback address of the host the port speaks TLS only,
    // and no plaintext port is open.
    let outside = outside_address();
    let plain = tls_client(&["plain", &outside, "6379"], None);
    assert!(
        plain.starts_with("refused"),
        "plaintext from {outside}: {plain}"
    );
    assert_eq!(
        host_admin(&host, "-s /run/redis/redis-server.sock CONFIG GET port")
            .lines()
            .nth(1),
        Some("0")
    );

    // (d) Each consumer, command by command and key pattern by key pattern (call:1
    // written by the admin: the read-only consumer may read it, not write it).
    host_admin(&host, "-s /run/redis/redis-server.sock SET call:1 v");
    let checks = serde_json::json!([
        ["SET", "campaign:1", "v"],
        ["GET", "campaign:1"],
        ["SET", "dialer:1", "v"],
        ["SET", "call:1", "v"],
        ["GET", "call:1"],
        ["GET", "other:1"],
        ["SET", "other:1", "v"],
        ["CONFIG", "GET", "maxmemory"],
        ["FLUSHALL"],
        ["FLUSHDB"],
        ["KEYS", "*"],
        ["SHUTDOWN"],
        ["ACL", "WHOAMI"],
        ["ACL", "SETUSER", "x"],
        ["DEBUG", "SLEEP", "0"],
        ["SCRIPT", "FLUSH"],
        ["SCRIPT", "DEBUG", "SYNC"],
        ["SCAN", "0"],
        ["RANDOMKEY"],
        ["INFO", "server"],
        ["EVAL", "return 1", "0"],
        ["DEL", "campaign:none"],
        ["PING"]
    ])
    .to_string();
    let allowed = |user: &str, pw: &str| -> Value {
        serde_json::from_str(&tls_client(
            &["can", "127.0.0.1", "6379", ca, user, pw],
            Some(&checks),
        ))
        .unwrap()
    };
    let dialer = allowed("campaign-dialer", &dialer_pw);
    let results = allowed("call-results", &results_pw);
    let ok = |v: &Value, cmd: &str| v[cmd] == "ok";
    for cmd in [
        "SET campaign:1 v",
        "GET campaign:1",
        "SET dialer:1 v",
        "EVAL return 1 0",
    ] {
        assert!(ok(&dialer, cmd), "campaign-dialer {cmd}: {dialer}");
    }
    // Read-only: reads within its patterns, and no write, script or delete anywhere.
    for cmd in ["GET campaign:1", "GET call:1"] {
        assert!(ok(&results, cmd), "call-results {cmd}: {results}");
    }
    for cmd in [
        "SET campaign:1 v",
        "SET call:1 v",
        "EVAL return 1 0",
        "DEL campaign:none",
    ] {
        assert!(
            !ok(&results, cmd),
            "read-only call-results may {cmd}: {results}"
        );
    }
    assert!(
        !ok(&dialer, "SET call:1 v") && !ok(&dialer, "GET call:1"),
        "{dialer}"
    );
    for (who, v) in [("campaign-dialer", &dialer), ("call-results", &results)] {
        for cmd in [
            "GET other:1",
            "SET other:1 v",
            "CONFIG GET maxmemory",
            "FLUSHALL",
            "FLUSHDB",
            "KEYS *",
            "SHUTDOWN",
            "ACL WHOAMI",
            "ACL SETUSER x",
            "DEBUG SLEEP 0",
            "SCRIPT FLUSH",
            "SCRIPT DEBUG SYNC",
            "SCAN 0",
            "RANDOMKEY",
        ] {
            assert!(!ok(v, cmd), "{who} may run {cmd}: {v}");
        }
        assert!(ok(v, "PING") && ok(v, "INFO server"), "{who}: {v}");
    }
    assert_eq!(
        host_admin(&host, "-s /run/redis/redis-server.sock DBSIZE"),
        "3",
        "the refused commands changed nothing"
    );

    // (c) A forced renewal under a client that keeps its TLS connection busy.
    let hold = |user: &str, pw: &str, key: &str, tag: &str| {
        let stop = work.path().join(format!("stop-{tag}"));
        let result = work.path().join(format!("hold-{tag}.json"));
        let child = Command::new(crate::support::moto::venv_python())
            .arg(repo().join("scripts/host/tls_client.py"))
            .args(["hold", "127.0.0.1", "6379", ca, user, pw, key])
            .arg(&stop)
            .arg(&result)
            .spawn()
            .unwrap();
        (child, stop, result)
    };
    let finish = |(mut child, stop, result): (
        std::process::Child,
        std::path::PathBuf,
        std::path::PathBuf,
    )|
     -> Value {
        std::fs::write(&stop, "").unwrap();
        assert!(child.wait().unwrap().success());
        serde_json::from_str(&std::fs::read_to_string(result).unwrap()).unwrap()
    };
    let busy = hold("campaign-dialer", &dialer_pw, "campaign:busy", "renew");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let renewed = host.on_host(
        "/usr/bin/python3 -E -s /usr/local/lib/infragen/redis_tls.py ensure --settings /etc/infragen/redis-tls.json --force",
    );
    assert!(
        renewed.contains("the running server loaded it"),
        "{renewed}"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    let counts = finish(busy);
    assert!(counts["requests"].as_u64().unwrap() > 50, "{counts}");
    assert_eq!(
        counts["failed"], 0,
        "requests failed across the renewal: {counts}"
    );
    let after = tls_client(&["cert", "127.0.0.1", "6379", ca], None);
    assert_ne!(
        after, fingerprint,
        "new connections still get the old certificate"
    );

    // (e) Revoke call-results: the dialer keeps its open connection and new ones; the
    // revoked user is refused. (f) The converge after the change changes the users only,
    // and the next one nothing.
    let dialer_busy = hold("campaign-dialer", &dialer_pw, "campaign:revoke", "revoke");
    std::thread::sleep(std::time::Duration::from_secs(1));
    out.edit(RESULTS_READ_ONLY, "");
    out.generate().expect_code(0);
    let revoked = host.converge(&ansible, "dev", &extra);
    assert_converged(&revoked, "the converge that revokes call-results");
    assert!(
        revoked.log.contains("user call-results: removed"),
        "{}",
        revoked.log
    );
    let counts = finish(dialer_busy);
    assert_eq!(
        counts["failed"], 0,
        "the dialer's open connection failed: {counts}"
    );
    let dialer = allowed("campaign-dialer", &dialer_pw);
    assert!(ok(&dialer, "SET campaign:1 v"), "{dialer}");
    let gone: Value = serde_json::from_str(&tls_client(
        &["can", "127.0.0.1", "6379", ca, "call-results", &results_pw],
        Some(r#"[["PING"]]"#),
    ))
    .unwrap();
    assert!(
        gone["PING"]
            .as_str()
            .unwrap_or("")
            .contains("invalid username-password"),
        "the revoked user still authenticates: {gone}"
    );
    let again = host.converge(&ansible, "dev", &extra);
    assert_converged(&again, "the converge after the revocation");
    assert_eq!(again.changed, 0, "{}", again.log);
}
