//! Ansible: syntax check, ansible-lint, yamllint, and the playbook run in render-only mode.

use super::*;

#[test]
#[ignore = "needs the real tools (terraform, checkov, ansible, redis-server): run by scripts/test.sh"]
fn ansible_syntax_check_ansible_lint_and_yamllint_are_clean() {
    for_each_blueprint(|t, bp| {
        let out = render_into(bp);
        let ansible = out.path().join("ansible");
        let home = tempfile::tempdir().unwrap();
        for env in model(bp)
            .envs
            .into_iter()
            .filter(|e| e.mode.value == Mode::SelfHosted)
        {
            // The converge and `infragen verify`'s playbook.
            for playbook in ["redis.yml", "redis_verify.yml"] {
                let mut c = t.cmd("ansible-playbook");
                c.args(["--syntax-check", "-i"])
                    .arg(format!("inventory/{}", env.name))
                    .arg(playbook)
                    .env("ANSIBLE_HOME", home.path())
                    .current_dir(&ansible);
                let o = run(c);
                assert!(
                    o.status.success(),
                    "ansible-playbook --syntax-check {playbook} fails on {bp} ({}):\n{}",
                    env.name,
                    text(&o)
                );
            }
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
    });
}

/// Runs the generated playbook against localhost in render-only mode; returns the
/// rendered redis.conf path and the PLAY RECAP counters of each of two runs.
/// With `live_port`, the role also talks to the Redis listening there (AOF switch, PING).
pub(super) fn ansible_render(
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
    // The role's per-host passwords are created here (render-only: on the controller).
    let mut values = serde_json::json!({
        "redis_manage_system": false,
        "redis_live": live_port.is_some(),
        "redis_config_path": conf,
        "redis_config_owner": user,
        "redis_config_group": primary_group(),
        "redis_secrets_dir": work.join("secrets"),
        "redis_password": TEST_PASSWORD,
        // The password given directly: no Secrets Manager to read a rotation's from.
        "redis_password_pending": "",
        "redis_password_retiring": "",
        // The same for the consumers' own users; TLS off and the socket in the work
        // directory: the test's Redis has no host CA and cannot write /run/redis.
        "redis_consumer_password_given": TEST_PASSWORD,
        "redis_tls": false,
        // These tests check the shared application user (the `default` user's password).
        "redis_shared_password": true,
        "redis_socket": work.join("redis.sock"),
        "ansible_become": false,
        "ansible_python_interpreter": t.venv_bin.join("python"),
        // The controller has Debian 12's redis-server only: a Valkey environment's
        // config (the same syntax) is checked by it here, and by Valkey itself on the
        // booted hosts (`host::debian_13_converges_with_valkey_8_1`, the switch).
        "redis_server_binary": "redis-server",
        "redis_data_dir": "/var/lib/redis",
    });
    if let Some(p) = live_port {
        values["redis_port"] = p.into();
    }
    std::fs::write(&vars, values.to_string()).unwrap();
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

pub(super) fn primary_group() -> String {
    let o = run({
        let mut c = Command::new("id");
        c.arg("-gn");
        c
    });
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}
