//! A live redis-server on the rendered configuration: authentication, settings, blocked commands, persistence, eviction, the safe AOF switch, the metrics publisher.
//!
//! Over 500 lines: the live-server helpers (start by PID, redis-cli, fill) serve every
//! test here; each test is one behaviour of the running server.

use super::ansible::ansible_render;
use super::*;

/// A redis-server started in the foreground; killed (by PID) when dropped.
struct Server {
    child: Child,
    port: u16,
    /// The role's admin password, when `conf` is one the role rendered (its per-host
    /// passwords are in `secrets/` beside it).
    admin: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts redis-server from `conf`, overriding only bind, port, dir and logfile (and the
/// `extra` arguments a test names explicitly).
fn start_redis(conf: &Path, dir: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    let mut c = Command::new("redis-server");
    c.arg(conf)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--dir"])
        .arg(dir)
        .args(["--logfile", ""])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("start redis-server");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let o = child.wait_with_output().unwrap();
            panic!(
                "redis-server refused {} (rendered by Ansible from ansible/roles/redis/templates/redis.conf.j2) and exited {status}:\n{}",
                conf.display(),
                text(&o).replace(TEST_PASSWORD, "<password>")
            );
        }
        let reply = redis_cli(port, None, &["PING"]);
        if reply.contains("NOAUTH") || reply.contains("PONG") {
            // Wait until a loaded dataset is served, not just accepted connections.
            if !redis_cli(port, Some(TEST_PASSWORD), &["PING"]).contains("LOADING") {
                let admin = role_password(conf, "admin");
                return Server { child, port, admin };
            }
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One of the role's per-host passwords (`secrets/redis-<user>.password` beside the
/// rendered config), if the role rendered `conf`.
fn role_password(conf: &Path, user: &str) -> Option<String> {
    let file = conf
        .parent()?
        .join(format!("secrets/redis-{user}.password"));
    std::fs::read_to_string(file)
        .ok()
        .map(|p| p.trim().to_string())
}

/// As the application (the `default` user, with the Secrets Manager password).
fn auth(s: &Server, args: &[&str]) -> String {
    redis_cli(s.port, Some(TEST_PASSWORD), args)
}

/// As the role's admin user (or, on a config the role did not render, the default user).
fn admin(s: &Server, args: &[&str]) -> String {
    match &s.admin {
        Some(pw) => {
            let mut all = vec!["--user", "infragen-admin"];
            all.extend_from_slice(args);
            redis_cli(s.port, Some(pw), &all)
        }
        None => auth(s, args),
    }
}

fn config_get(s: &Server, key: &str) -> String {
    let reply = admin(s, &["CONFIG", "GET", key]);
    reply.lines().nth(1).unwrap_or_default().to_string()
}

/// Writes `count` keys of `size` bytes through one pipelined redis-cli; returns its report.
fn fill(s: &Server, count: usize, size: usize, ttl: bool) -> String {
    let value = "x".repeat(size);
    let mut payload = Vec::new();
    for i in 0..count {
        let key = format!("fill:{i}");
        let mut parts = vec!["SET", key.as_str(), value.as_str()];
        if ttl {
            parts.extend(["EX", "3600"]);
        }
        write!(payload, "*{}\r\n", parts.len()).unwrap();
        for p in parts {
            write!(payload, "${}\r\n{p}\r\n", p.len()).unwrap();
        }
    }
    let mut child = Command::new("redis-cli")
        .args([
            "--no-auth-warning",
            "-h",
            "127.0.0.1",
            "-p",
            &s.port.to_string(),
            "--pipe",
        ])
        .env("REDISCLI_AUTH", TEST_PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&payload).unwrap();
    let o = child.wait_with_output().unwrap();
    text(&o)
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn ansible_renders_the_config_idempotently_and_live_redis_obeys_it() {
    for_each_blueprint(|t, bp| {
        let m = model(bp);
        let out = render_into(bp);
        for env in m.envs.iter().filter(|e| e.mode.value == Mode::SelfHosted) {
            let work = tempfile::tempdir().unwrap();
            let (conf, recaps) = ansible_render(
                t,
                out.path(),
                &m.host.ansible_group,
                &env.name,
                work.path(),
                None,
            );
            // The secrets directory, the role's per-host passwords, redis.conf.
            assert!(
                recaps[0].contains("changed=3"),
                "{bp} {}: first run must write redis.conf: {}",
                env.name,
                recaps[0]
            );
            assert!(
                recaps[1].contains("changed=0") && recaps[1].contains("failed=0"),
                "{bp} {}: second run must change nothing: {}",
                env.name,
                recaps[1]
            );
            let rendered = std::fs::read_to_string(&conf).unwrap();
            assert!(rendered.contains("appendonly yes") || rendered.contains("appendonly no"));
            assert!(
                !rendered.contains("True") && !rendered.contains("False"),
                "{bp} {}: a YAML boolean leaked into redis.conf",
                env.name
            );
            live_redis(bp, env, &conf, work.path());
        }
    });
}

fn live_redis(bp: &str, env: &infragen::model::Env, conf: &Path, work: &Path) {
    let r = &env.redis;
    let ctx = format!("{bp} ({})", env.name);
    let data = work.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut server = start_redis(conf, &data, &[]);

    assert!(
        redis_cli(server.port, None, &["GET", "k"]).contains("NOAUTH"),
        "{ctx}: a command without a password must get NOAUTH"
    );
    assert!(
        redis_cli(server.port, Some("wrong-password"), &["GET", "k"]).contains("WRONGPASS"),
        "{ctx}: a wrong password must get WRONGPASS"
    );
    assert_eq!(
        auth(&server, &["SET", "k", "v"]),
        "OK",
        "{ctx}: the right password must work"
    );

    assert_eq!(
        config_get(&server, "maxmemory"),
        r.maxmemory.value.bytes.to_string(),
        "{ctx}: maxmemory"
    );
    assert_eq!(
        config_get(&server, "maxmemory-policy"),
        r.maxmemory_policy.value.as_str(),
        "{ctx}: maxmemory-policy"
    );
    assert_eq!(
        config_get(&server, "appendonly"),
        if r.aof.value { "yes" } else { "no" },
        "{ctx}: appendonly"
    );
    assert_eq!(
        config_get(&server, "appendfsync"),
        r.appendfsync.value.as_str(),
        "{ctx}: appendfsync"
    );
    let save: Vec<String> = r
        .snapshots
        .value
        .iter()
        .map(|s| format!("{} {}", s.after_seconds, s.min_changes))
        .collect();
    assert_eq!(config_get(&server, "save"), save.join(" "), "{ctx}: save");
    for command in &r.blocked_commands.value {
        // Valid arguments, so that Redis's arity check cannot answer first.
        let args: &[&str] = match command.as_str() {
            "KEYS" => &["*"],
            "DEBUG" => &["SLEEP", "0"],
            "CONFIG" => &["GET", "port"],
            "EVAL" => &["return 1", "0"],
            "EVALSHA" => &["0000000000000000000000000000000000000000", "0"],
            "CLIENT" | "FUNCTION" | "SCRIPT" | "MODULE" => &["LIST"],
            "MIGRATE" => &["127.0.0.1", "1", "k", "0", "1"],
            "REPLICAOF" | "SLAVEOF" => &["NO", "ONE"],
            "SWAPDB" => &["0", "1"],
            _ => &[],
        };
        let mut full = vec![command.as_str()];
        full.extend_from_slice(args);
        let reply = auth(&server, &full);
        // DEBUG and MODULE are also disabled since Redis 7.0 (enable-*-command no), a
        // check that answers before the ACL; ACL DRYRUN shows the ACL refuses them too.
        let protected =
            matches!(command.as_str(), "DEBUG" | "MODULE") && reply.contains("command not allowed");
        assert!(
            reply.contains("NOPERM") || protected,
            "{ctx}: blocked command {command} must be refused, got {reply:?}"
        );
        let mut dry = vec!["ACL", "DRYRUN", "default"];
        dry.extend_from_slice(&full);
        let reply = admin(&server, &dry);
        assert!(
            reply.contains("no permissions"),
            "{ctx}: the ACL must refuse {command}, got {reply:?}"
        );
    }

    // The application user administers nothing: what ElastiCache never gave clients, and
    // what let one consumer reconfigure, stop or wipe the shared cache.
    let admin_commands: &[&[&str]] = &[
        &["CONFIG", "SET", "maxmemory", "1"],
        &["CONFIG", "GET", "requirepass"],
        &["CONFIG", "REWRITE"],
        &["ACL", "SETUSER", "default", "nopass"],
        &["ACL", "LIST"],
        &["SHUTDOWN", "NOSAVE"],
        &["REPLICAOF", "127.0.0.1", "1"],
        &["SWAPDB", "0", "1"],
        &["SCRIPT", "FLUSH"],
        &["FUNCTION", "FLUSH"],
        &["MIGRATE", "127.0.0.1", "1", "k", "0", "1"],
        &["CLIENT", "KILL", "ID", "1"],
        &["CLIENT", "LIST"],
        &["MONITOR"],
        &["SAVE"],
        &["BGSAVE"],
        &["BGREWRITEAOF"],
        &["KEYS", "*"],
        &["RESTORE", "k", "0", "x"],
    ];
    for args in admin_commands {
        let reply = auth(&server, args);
        assert!(
            reply.contains("NOPERM") || reply.contains("command not allowed"),
            "{ctx}: the application user ran {args:?}: {reply:?}"
        );
    }
    // ... while what a cache client does works, INFO (clients' ready checks) included.
    assert_eq!(auth(&server, &["SET", "app:k", "v"]), "OK", "{ctx}");
    assert_eq!(auth(&server, &["GET", "app:k"]), "v", "{ctx}");
    assert_eq!(auth(&server, &["EVAL", "return 1", "0"]), "1", "{ctx}");
    assert!(
        auth(&server, &["INFO", "server"]).contains("redis_version"),
        "{ctx}"
    );
    // The config holds no password, only hashes.
    let rendered = std::fs::read_to_string(conf).unwrap();
    assert!(
        !rendered.contains(TEST_PASSWORD),
        "{ctx}: a password in redis.conf"
    );
    for user in ["admin", "monitor"] {
        let pw = role_password(conf, user).expect("the role's password file");
        assert!(
            !rendered.contains(&pw),
            "{ctx}: the {user} password in redis.conf"
        );
        assert_eq!(pw.len(), 64, "{ctx}: 32 random bytes, hex");
    }

    // Durability: keys written, server killed with SIGKILL, restarted from the same dir.
    for i in 0..50 {
        assert_eq!(auth(&server, &["SET", &format!("durable:{i}"), "v"]), "OK");
    }
    let persistent = r.aof.value;
    if persistent {
        // appendfsync everysec flushes within a second; always flushes at once.
        std::thread::sleep(Duration::from_millis(1500));
    }
    drop(server);
    server = start_redis(conf, &data, &[]);
    let kept = auth(&server, &["EXISTS", "durable:0", "durable:49"]);
    if persistent {
        assert_eq!(
            kept, "2",
            "{ctx}: keys must survive a SIGKILL and restart with AOF on"
        );
    } else {
        assert_eq!(
            kept, "0",
            "{ctx}: with persistence off the cache must start empty"
        );
    }
    drop(server);

    // Eviction: a small maxmemory (the one override this test makes), filled past it.
    let evict_dir = work.join("evict");
    std::fs::create_dir_all(&evict_dir).unwrap();
    let server = start_redis(conf, &evict_dir, &["--maxmemory", "4mb"]);
    let volatile = r.maxmemory_policy.value.as_str().starts_with("volatile-");
    let report = fill(&server, 1500, 10_000, volatile);
    let info = auth(&server, &["INFO", "stats"]);
    let evicted: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("evicted_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if r.maxmemory_policy.value == infragen::rules::EvictionPolicy::NoEviction {
        assert!(
            report.contains("OOM"),
            "{ctx}: noeviction must refuse writes past maxmemory: {report}"
        );
    } else {
        assert!(
            report.contains("errors: 0, replies: 1500"),
            "{ctx}: writes past maxmemory must never fail: {report}"
        );
        assert!(!report.contains("OOM"), "{ctx}: {report}");
        assert!(
            evicted > 0,
            "{ctx}: filling 15 MB into 4 MB must evict keys under {}",
            r.maxmemory_policy.value.as_str()
        );
    }
    drop(server);
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn switching_aof_on_through_the_role_keeps_an_rdb_dataset() {
    let t = tools();
    let bp = "blueprints/redis-on-asterisk.yaml";
    let m = model(bp);
    let env = m
        .envs
        .iter()
        .find(|e| e.redis.aof.value)
        .expect("an environment with AOF on");
    let out = render_into(bp);
    let work = tempfile::tempdir().unwrap();
    // The Redis already running on the host: RDB only, with a dataset on disk.
    let old_conf = work.path().join("rdb-only.conf");
    std::fs::write(
        &old_conf,
        format!(
            "requirepass \"{}\"\nappendonly no\nsave \"\"\n",
            TEST_PASSWORD.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    )
    .unwrap();
    let rdb_dataset = |dir: &Path| {
        std::fs::create_dir_all(dir).unwrap();
        let server = start_redis(&old_conf, dir, &[]);
        for i in 0..200 {
            assert_eq!(auth(&server, &["SET", &format!("cached:{i}"), "v"]), "OK");
        }
        assert_eq!(auth(&server, &["SAVE"]), "OK");
        server
    };
    let graceful_stop = |server: Server| {
        // What systemd's restart does: SIGTERM, and Redis writes its files on the way out.
        let _ = redis_cli(server.port, Some(TEST_PASSWORD), &["SHUTDOWN"]);
        let mut server = server;
        let _ = server.child.wait();
    };

    // Control: editing the config to `appendonly yes` and restarting loses the dataset.
    let naive = work.path().join("naive");
    graceful_stop(rdb_dataset(&naive));
    let render_dir = work.path().join("render");
    std::fs::create_dir_all(&render_dir).unwrap();
    let (conf, _) = ansible_render(
        &t,
        out.path(),
        &m.host.ansible_group,
        &env.name,
        &render_dir,
        None,
    );
    let server = start_redis(&conf, &naive, &[]);
    assert_eq!(
        auth(&server, &["DBSIZE"]),
        "0",
        "control: a plain restart with AOF on should start empty"
    );
    drop(server);

    // The role: AOF switched on at run time, rewrite awaited, then the config written.
    let safe = work.path().join("safe");
    let server = rdb_dataset(&safe);
    let live = work.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let (conf, recaps) = ansible_render(
        &t,
        out.path(),
        &m.host.ansible_group,
        &env.name,
        &live,
        Some(server.port),
    );
    assert!(
        recaps[0].contains("changed=4") && recaps[0].contains("failed=0"),
        "first run: secrets, AOF switch and config write: {}",
        recaps[0]
    );
    assert!(
        recaps[1].contains("changed=0") && recaps[1].contains("failed=0"),
        "second run must change nothing: {}",
        recaps[1]
    );
    assert_eq!(config_get(&server, "appendonly"), "yes");
    graceful_stop(server);
    let server = start_redis(&conf, &safe, &[]);
    assert_eq!(
        auth(&server, &["DBSIZE"]),
        "200",
        "every key must survive the switch to AOF and the restart"
    );
}

/// Runs the generated metrics publisher once in dry-run mode; returns its payload.
fn publish(
    t: &Tools,
    script: &Path,
    (server, monitor_file): (&Server, &Path),
    state: &Path,
    out: &Path,
) -> serde_json::Value {
    let monitor_password = std::fs::read_to_string(monitor_file).unwrap();
    let mut c = t.cmd("python");
    c.arg(script)
        .arg("--dry-run")
        .arg(out)
        .env("REDIS_PORT", server.port.to_string())
        .env("REDIS_MONITOR_USER", "infragen-monitor")
        .env("REDIS_MONITOR_PASSWORD_FILE", monitor_file)
        .env("METRICS_NAMESPACE", "VoiceCampaign/Redis")
        .env("METRICS_NAME", "voice-campaign")
        .env("METRICS_ENVIRONMENT", "dev")
        .env("METRICS_STATE_DIR", state)
        .env("BACKUP_STATE_FILE", state.join("backup-last"));
    let o = run(c);
    let report = text(&o).replace(&monitor_password, "<monitor password>");
    assert!(
        o.status.success(),
        "the metrics publisher failed:\n{report}"
    );
    assert!(
        !report.contains(&monitor_password) && !report.contains(TEST_PASSWORD),
        "a password reached the publisher's output"
    );
    let raw = std::fs::read_to_string(out).unwrap();
    assert!(
        !raw.contains(&monitor_password) && !raw.contains(TEST_PASSWORD),
        "a password reached the CloudWatch payload"
    );
    serde_json::from_str(&raw).unwrap()
}

fn metric(payload: &serde_json::Value, name: &str) -> f64 {
    let data = payload["MetricData"].as_array().expect("MetricData");
    let m = data
        .iter()
        .find(|m| m["MetricName"] == name)
        .unwrap_or_else(|| panic!("no metric {name} in {payload}"));
    // The deployment and the environment: another blueprint's `dev` is another metric.
    assert_eq!(
        m["Dimensions"],
        serde_json::json!([
            {"Name": "Name", "Value": "voice-campaign"},
            {"Name": "Environment", "Value": "dev"}
        ])
    );
    m["Value"].as_f64().unwrap()
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn metrics_publisher_reports_the_live_redis_as_the_monitor_user() {
    let t = tools();
    let bp = "blueprints/redis-on-asterisk.yaml";
    let m = model(bp);
    let out = render_into(bp);
    let work = tempfile::tempdir().unwrap();
    let (conf, _) = ansible_render(
        &t,
        out.path(),
        &m.host.ansible_group,
        "dev",
        work.path(),
        None,
    );
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = start_redis(&conf, &data, &["--maxmemory", "2mb"]);

    // The monitor user may read INFO and nothing else.
    let monitor_file = work.path().join("secrets/redis-monitor.password");
    let monitor_password = std::fs::read_to_string(&monitor_file).unwrap();
    let as_monitor = |args: &[&str]| {
        let mut all = vec!["--user", "infragen-monitor"];
        all.extend_from_slice(args);
        redis_cli(server.port, Some(&monitor_password), &all)
    };
    assert!(
        as_monitor(&["INFO", "server"]).contains("redis_version:7."),
        "the monitor user must read INFO"
    );
    assert!(
        as_monitor(&["GET", "k"]).contains("NOPERM"),
        "the monitor user must not read keys"
    );
    assert!(
        as_monitor(&["CONFIG", "GET", "requirepass"]).contains("NOPERM"),
        "the monitor user must not read the config"
    );

    let script = out
        .path()
        .join("ansible/roles/redis/files/redis_metrics.py");
    let state = work.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let first = publish(
        &t,
        &script,
        (&server, &monitor_file),
        &state,
        &work.path().join("payload1.json"),
    );
    assert_eq!(first["Namespace"], "VoiceCampaign/Redis");
    let names: Vec<&str> = first["MetricData"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["MetricName"].as_str().unwrap())
        .collect();
    // Every metric sent is one the publisher declares (the dashboard is checked
    // against the same list), and the ones that need no history are all there.
    let described = run({
        let mut c = t.cmd("python");
        c.arg(&script).arg("--describe");
        c
    });
    let described: serde_json::Value = serde_json::from_slice(&described.stdout).unwrap();
    let declared: Vec<&str> = described["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for n in &names {
        assert!(declared.contains(n), "{n} is sent but not declared");
    }
    for n in [
        "Up",
        "UsedMemoryPercent",
        "ConnectedClients",
        "PersistenceFailed",
        "OpsPerSecond",
        "LatestForkMicroseconds",
        "LatencyP99Microseconds",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    // The first run has no previous counters: it sends no change of a counter rather
    // than Redis's lifetime totals as one interval (which paged on every deploy).
    for n in [
        "RejectedConnections",
        "EvictedKeys",
        "CacheHitRate",
        "LatencyAvgMicroseconds",
    ] {
        assert!(!names.contains(&n), "first run sent {n}: {names:?}");
    }
    assert!(
        !names.contains(&"BackupAgeSeconds"),
        "no backup yet: no age"
    );
    assert_eq!(metric(&first, "Up"), 1.0);
    let used = metric(&first, "UsedMemoryPercent");
    assert!(used > 0.0 && used <= 100.0, "UsedMemoryPercent {used}");
    assert!(
        metric(&first, "ConnectedClients") >= 1.0,
        "the publisher itself is connected"
    );
    assert_eq!(metric(&first, "PersistenceFailed"), 0.0);

    // Fill past the 2 MB maxmemory: the next run reports the evictions since the first.
    let report = fill(&server, 600, 10_000, false);
    assert!(report.contains("errors: 0"), "{report}");
    // Lookups: some keys are there (hits), some never were (misses).
    for i in 0..10 {
        auth(&server, &["GET", &format!("never-set-{i}")]);
    }
    // A backup taken 100 seconds ago.
    let backup_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 100;
    std::fs::write(state.join("backup-last"), format!("{backup_time}\n")).unwrap();
    let second = publish(
        &t,
        &script,
        (&server, &monitor_file),
        &state,
        &work.path().join("payload2.json"),
    );
    assert!(
        metric(&second, "EvictedKeys") > 0.0,
        "evictions since the previous run"
    );
    let used = metric(&second, "UsedMemoryPercent");
    assert!(
        used > 50.0 && used <= 110.0,
        "a full cache reports high memory use, got {used}"
    );
    assert_eq!(metric(&second, "RejectedConnections"), 0.0);
    assert!(
        metric(&second, "OpsPerSecond") > 0.0,
        "600 writes since the first run"
    );
    let latency = metric(&second, "LatencyAvgMicroseconds");
    assert!(
        latency > 0.0 && latency < 100_000.0,
        "average latency {latency}"
    );
    let hit_rate = metric(&second, "CacheHitRate");
    assert!(
        (0.0..100.0).contains(&hit_rate),
        "10 misses: hit rate {hit_rate}"
    );
    let age = metric(&second, "BackupAgeSeconds");
    assert!((100.0..200.0).contains(&age), "backup age {age}");

    // Redis down: no payload, a failing exit, and the alarm sees missing data.
    let port = server.port;
    drop(server);
    let mut c = t.cmd("python");
    c.arg(&script)
        .arg("--dry-run")
        .arg(work.path().join("payload3.json"))
        .env("REDIS_PORT", port.to_string())
        .env("REDIS_MONITOR_USER", "infragen-monitor")
        .env("REDIS_MONITOR_PASSWORD_FILE", &monitor_file)
        .env("METRICS_NAMESPACE", "VoiceCampaign/Redis")
        .env("METRICS_NAME", "voice-campaign")
        .env("METRICS_ENVIRONMENT", "dev")
        .env("METRICS_STATE_DIR", &state);
    let o = run(c);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        text(&o).replace(&monitor_password, "<monitor password>")
    );
    assert!(
        !work.path().join("payload3.json").exists(),
        "no payload when Redis is down"
    );
}
