//! Changes to a running cache (issue 25), on a booted Debian 12 host with the consumer
//! stand-in (`support::consumer`) running throughout: each change is made twice, once
//! with the role as earlier releases ran it (`redis_live_changes: false`: every change
//! restarts Redis) and once as it runs now (live where Redis and systemd allow), and
//! each time the stand-in's failed requests, reconnects and longest gap, and whether the
//! Redis process changed, are recorded. The live runs must cost clients nothing and keep
//! the process; the earlier ones must restart it (which proves the measurement sees a
//! restart). Then a full password rotation, a held restart and its release.
//!
//! The table this prints (and writes to `target/live-changes.md`) is the one in
//! `docs/BENCHMARKS.md`: `INFRAGEN_LIVE_BENCHMARK=1 cargo test --test it live -- --ignored
//! --nocapture` (without it, the test suite makes only the first change the earlier way:
//! enough to prove the measurement sees a restart, about 2 minutes less).

use crate::common::{redis_cli, repo};
use crate::host::{assert_converged, config_get, generated, shipped, shipped_on_bookworm};
use crate::support::consumer::{Consumer, Seen, Target};
use crate::support::host::{Converge, Host, PRE_TLS, serial};
use infragen::field::Field;
use infragen::impact::table::{Level, ROWS, When};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

const SECRET: &str = "voice-campaign/dev/redis-password";
const REGION: &str = "us-east-1";

/// One change: a blueprint edit or a role variable, before (earlier releases) and after.
struct Change {
    name: &'static str,
    /// The field whose impact-table row must say what the live run did.
    field: Option<Field>,
    before: Edit,
    after: Edit,
}

#[derive(Clone, Copy)]
enum Edit {
    Blueprint(&'static str, &'static str),
    Var(&'static str, &'static str),
}

const CHANGES: &[Change] = &[
    Change {
        name: "maxmemory (and the guard's MemoryMax)",
        field: Some(Field::MemoryMax),
        before: Edit::Blueprint("        max: 256mb", "        max: 300mb"),
        after: Edit::Blueprint("        max: 300mb", "        max: 320mb"),
    },
    Change {
        name: "eviction policy",
        field: Some(Field::MemoryPolicy),
        before: Edit::Blueprint("policy: allkeys-lru", "policy: allkeys-lfu"),
        after: Edit::Blueprint("policy: allkeys-lfu", "policy: volatile-lru"),
    },
    Change {
        name: "an RDB save rule",
        field: Some(Field::RdbSnapshots),
        before: Edit::Blueprint("min_changes: 10000}", "min_changes: 20000}"),
        after: Edit::Blueprint("min_changes: 20000}", "min_changes: 30000}"),
    },
    Change {
        name: "appendfsync",
        field: Some(Field::Appendfsync),
        before: Edit::Blueprint("appendfsync: everysec", "appendfsync: always"),
        after: Edit::Blueprint("appendfsync: always", "appendfsync: everysec"),
    },
    Change {
        name: "the guard's CPUWeight",
        field: None,
        before: Edit::Var("redis_guard_cpu_weight", "60"),
        after: Edit::Var("redis_guard_cpu_weight", "70"),
    },
];

/// One measured transition.
struct Measured {
    change: String,
    role: &'static str,
    seen: Seen,
    restarted: bool,
}

/// The blueprint, the role variables and the generated tree of the host, as they are.
struct State<'h> {
    host: &'h Host,
    blueprint: String,
    vars: Vec<(String, String)>,
    tree: crate::common::Test,
}

impl State<'_> {
    fn apply(&mut self, edit: Edit) {
        match edit {
            Edit::Blueprint(from, to) => {
                assert!(
                    self.blueprint.contains(from),
                    "the blueprint has no `{from}`"
                );
                self.blueprint = self.blueprint.replacen(from, to, 1);
                self.tree = generated(&self.blueprint);
            }
            Edit::Var(key, value) => {
                self.vars.retain(|(k, _)| k != key);
                self.vars.push((key.to_string(), value.to_string()));
            }
        }
    }

    /// A converge with the role variables so far and `more`; the secret is read from
    /// the local AWS, never written (a rotation moves its labels).
    fn converge(&self, more: &[&str]) -> Converge {
        let mut extra: Vec<String> = PRE_TLS.iter().map(|s| s.to_string()).collect();
        for (k, v) in &self.vars {
            extra.push("-e".into());
            extra.push(format!("{k}={v}"));
        }
        extra.extend(more.iter().map(|s| s.to_string()));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        self.host.converge_with(
            &self.tree.join("out/ansible"),
            "dev",
            &extra,
            &[("INFRAGEN_SECRET_FROM_AWS", "1")],
        )
    }
}

fn main_pid(host: &Host) -> String {
    host.on_host("systemctl show -P MainPID redis-server")
}

/// The impact table's self-hosted level for any change of `field`.
fn table_level(field: Field) -> Level {
    ROWS.iter()
        .find(|r| r.field == field && r.when == When::Any && r.modes.includes(true))
        .unwrap_or_else(|| panic!("{field}: no self-hosted row"))
        .level
}

/// `redis_password.py STEP` of the generated tree against the host's local AWS.
fn rotate(tree: &Path, endpoint: &str, step: &str) -> String {
    let python = crate::support::moto::venv_python();
    let out = Command::new(python)
        .arg(tree.join("out/ansible/redis_password.py"))
        .args([step, "--region", REGION, "--secret-id", SECRET])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "redis_password.py {step}: {}",
        crate::common::text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Converges `state` (with `more`) while the stand-in runs; records and returns what the
/// stand-in saw, whether the Redis process changed, and the converge.
fn measure(
    state: &State,
    consumer: &Consumer,
    rows: &mut Vec<Measured>,
    change: &str,
    role: &'static str,
    more: &[&str],
) -> (Seen, bool, Converge) {
    let pid = main_pid(state.host);
    consumer.mark();
    let c = state.converge(more);
    assert_converged(&c, change);
    let seen = consumer.window_after(100);
    let restarted = main_pid(state.host) != pid;
    rows.push(Measured {
        change: change.to_string(),
        role,
        seen: seen.clone(),
        restarted,
    });
    (seen, restarted, c)
}

fn table(rows: &[Measured]) -> String {
    let mut s = String::from(
        "| change | role | failed requests | reconnects | longest gap | Redis restarted |\n| --- | --- | ---: | ---: | ---: | --- |\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.0} ms | {} |",
            r.change,
            r.role,
            r.seen.failed,
            r.seen.reconnects,
            r.seen.longest_gap_ms,
            if r.restarted { "yes" } else { "no" }
        );
    }
    s
}

#[test]
#[ignore = "boots Debian hosts; run by scripts/test.sh (cargo test -- --include-ignored)"]
fn changes_reach_the_running_cache_without_failing_a_request() {
    let _one = serial();
    let (first, host, aws) = shipped_on_bookworm();
    assert_converged(
        &host.converge(&first.join("out/ansible"), "dev", PRE_TLS),
        "first",
    );
    let mut state = State {
        host: &host,
        blueprint: shipped(),
        vars: Vec::new(),
        tree: first,
    };
    let target = Target {
        port: 6379,
        secret: SECRET,
        region: REGION,
        endpoint: aws.endpoint(),
    };
    let consumer = Consumer::start(&target);
    let mut rows = Vec::new();

    // Earlier releases: every change restarts Redis. One change proves the measurement
    // sees a restart; the benchmark (INFRAGEN_LIVE_BENCHMARK=1) measures every one, for
    // the table in docs/BENCHMARKS.md, and the password rotation the earlier way.
    let benchmark = std::env::var_os("INFRAGEN_LIVE_BENCHMARK").is_some();
    for ch in CHANGES
        .iter()
        .take(if benchmark { CHANGES.len() } else { 1 })
    {
        state.apply(ch.before);
        let (_, restarted, _) = measure(
            &state,
            &consumer,
            &mut rows,
            ch.name,
            "before: restart on change",
            &["-e", "redis_live_changes=false"],
        );
        assert!(restarted, "{}: the earlier role did not restart", ch.name);
    }
    if !benchmark {
        // The other changes' starting points, reached in one converge, unmeasured.
        for ch in &CHANGES[1..] {
            state.apply(ch.before);
        }
        assert_converged(&state.converge(&[]), "the changes' starting points");
    }
    // ... and the password was replaced in place, the old one refused at once.
    if benchmark {
        let old = host.password("dev");
        aws.aws("put-secret", &[REGION, SECRET]);
        let (seen, restarted, _) = measure(
            &state,
            &consumer,
            &mut rows,
            "password rotation",
            "before: restart on change",
            &["-e", "redis_live_changes=false"],
        );
        assert!(restarted && seen.reconnects > 0, "{seen:?}");
        assert!(redis_cli(6379, Some(&old), &["PING"]).contains("WRONGPASS"));
    }
    // The replaced password is labelled AWSPREVIOUS now, which the role never accepts
    // (it may be one retired on purpose).

    // Now: live, no restart, no failed request.
    for (i, ch) in CHANGES.iter().enumerate() {
        state.apply(ch.after);
        if i == 0 {
            // A dry run says what it would change and changes nothing.
            let before = config_get(&host, "maxmemory");
            let dry = state.converge(&["--check"]);
            assert_converged(&dry, "--check");
            assert!(
                dry.log
                    .contains("--check: a real run would change live: maxmemory"),
                "{}",
                dry.log
            );
            assert_eq!(config_get(&host, "maxmemory"), before);
        }
        let (seen, restarted, c) = measure(&state, &consumer, &mut rows, ch.name, "now: live", &[]);
        assert_eq!(seen.failed, 0, "{}: {seen:?}\n{}", ch.name, c.log);
        assert!(!restarted, "{}: Redis restarted\n{}", ch.name, c.log);
        assert!(c.log.contains("Changed live (no restart)"), "{}", c.log);
        if let Some(field) = ch.field {
            assert_eq!(
                table_level(field),
                Level::Reload,
                "{field}: the impact table says otherwise than the role does"
            );
        }
    }
    assert_eq!(config_get(&host, "maxmemory"), (320u64 << 20).to_string());
    assert_eq!(config_get(&host, "maxmemory-policy"), "volatile-lru");
    assert_eq!(config_get(&host, "save"), "3600 1 300 100 60 30000");
    assert_eq!(config_get(&host, "appendfsync"), "everysec");
    let memory_max = host.on_host("systemctl show -P MemoryMax redis-server");
    assert_eq!(
        memory_max,
        state
            .tree
            .read("out/ansible/inventory/dev/group_vars/asterisk/redis.yml")
            .lines()
            .find_map(|l| l.strip_prefix("redis_memory_max_bytes: "))
            .unwrap_or_default()
            .trim_matches('"'),
        "the guard's MemoryMax did not follow maxmemory live"
    );
    assert_eq!(
        host.on_host("systemctl show -P CPUWeight redis-server"),
        "70"
    );

    // A rotation with no failed request: add (Redis accepts both), promote (consumers
    // read the new one), retire (Redis drops the old one; open connections stay).
    let old = host.password("dev");
    let pid = main_pid(&host);
    consumer.mark();
    rotate(state.tree.path(), aws.endpoint(), "add");
    assert_converged(&state.converge(&[]), "rotation: accept the new password");
    rotate(state.tree.path(), aws.endpoint(), "promote");
    let cold = Consumer::start(&target);
    rotate(state.tree.path(), aws.endpoint(), "retire");
    let retired = state.converge(&[]);
    assert_converged(&retired, "rotation: drop the old password");
    let seen = consumer.window_after(100);
    let restarted = main_pid(&host) != pid;
    rows.push(Measured {
        change: "password rotation".into(),
        role: "now: live",
        seen: seen.clone(),
        restarted,
    });
    assert_eq!(seen.failed, 0, "{seen:?}");
    assert!(!restarted, "the rotation restarted Redis");
    let new = host.password("dev");
    assert!(new != old, "the current password did not change");
    assert!(redis_cli(6379, Some(&old), &["PING"]).contains("WRONGPASS"));
    assert_eq!(redis_cli(6379, Some(&new), &["PING"]), "PONG");
    assert_eq!(
        cold.window_after(50).failed,
        0,
        "a cold start after the promotion"
    );
    drop(cold);

    // A change only a restart applies, held: Redis keeps running, every run says so,
    // until a run that allows it.
    state.apply(Edit::Blueprint("disable_thp: true ", "disable_thp: false"));
    state
        .vars
        .push(("redis_hold_restart".into(), "true".into()));
    let pid = main_pid(&host);
    for run in ["held", "held again"] {
        let c = state.converge(&[]);
        assert_converged(&c, run);
        assert!(c.log.contains("RESTART OWED"), "{run}: {}", c.log);
        assert_eq!(
            c.task("Restart Redis for what only a restart applies"),
            Some("skipping"),
            "{run}: {}",
            c.log
        );
        assert_eq!(main_pid(&host), pid, "{run}: Redis restarted while held");
        assert_eq!(config_get(&host, "disable-thp"), "yes");
        if run == "held again" {
            assert_eq!(c.changed, 0, "{}", c.log);
        }
    }
    state.vars.retain(|(k, _)| k != "redis_hold_restart");
    let (seen, restarted, c) = measure(
        &state,
        &consumer,
        &mut rows,
        "host.disable_thp (held, then released)",
        "now: restart when released",
        &["-e", "redis_hold_restart=false"],
    );
    assert!(restarted, "the released restart did not happen\n{}", c.log);
    assert_eq!(config_get(&host, "disable-thp"), "no");
    assert_eq!(table_level(Field::HostDisableThp), Level::Restart);
    let after = state.converge(&[]);
    assert_converged(&after, "after the release");
    assert!(!after.log.contains("RESTART OWED"), "{}", after.log);
    assert_eq!(after.changed, 0, "{}", after.log);
    // What a restart costs the stand-in, for the table (redis-py retries a dropped
    // connection, so the cost shows as reconnects and the gap, not as failures).
    assert!(seen.reconnects > 0, "{seen:?}");

    // Redis's packages are left out of unattended upgrades.
    let blacklist = host.on_host("apt-config dump Unattended-Upgrade::Package-Blacklist");
    assert!(blacklist.contains("\"redis-server\""), "{blacklist}");

    let total = consumer.total();
    let md = table(&rows);
    println!("{md}\nthe stand-in over the whole run: {total:?}");
    std::fs::write(repo().join("target/live-changes.md"), &md).unwrap();
}
