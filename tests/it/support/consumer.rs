//! The consumer stand-in (`scripts/host/consumer.py`): a client that behaves like the
//! voice-campaign's Lambda functions (the generated `redis_lambda_environment`, the
//! password from Secrets Manager at cold start, redis-py's defaults, a steady GET/SET
//! mix, one re-read of the secret on WRONGPASS or NOAUTH), running beside a change and
//! counting what the change cost it. Stopped by its PID when dropped.

use crate::common::text;
use crate::support::moto::{script, venv_python};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the stand-in saw over a window (since a mark) or since its start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    pub(crate) requests: u64,
    pub(crate) failed: u64,
    pub(crate) reconnects: u64,
    pub(crate) secret_rereads: u64,
    pub(crate) longest_gap_ms: f64,
    pub(crate) errors: Vec<String>,
}

impl Seen {
    fn of(v: &Value) -> Seen {
        let n = |k: &str| v[k].as_u64().unwrap_or(u64::MAX);
        Seen {
            requests: n("requests"),
            failed: n("failed"),
            reconnects: n("reconnects"),
            secret_rereads: n("secret_rereads"),
            longest_gap_ms: v["longest_gap_ms"].as_f64().unwrap_or(f64::MAX),
            errors: v["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// A running stand-in.
pub(crate) struct Consumer {
    child: Child,
    state: PathBuf,
    _dir: tempfile::TempDir,
}

/// Where it connects and how it reads the password: what a Lambda function's
/// environment holds (the Terraform output `redis_lambda_environment`) plus the local
/// AWS endpoint.
pub(crate) struct Target<'a> {
    pub(crate) port: u16,
    pub(crate) secret: &'a str,
    pub(crate) region: &'a str,
    pub(crate) endpoint: &'a str,
}

impl Consumer {
    /// Starts a stand-in (a cold start: it reads the secret now) and waits until it has
    /// served requests.
    pub(crate) fn start(t: &Target) -> Consumer {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let python = venv_python();
        let child = Command::new(python)
            .arg(script("consumer.py"))
            .arg("--state")
            .arg(&state)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("REDIS_HOST", "127.0.0.1")
            .env("REDIS_PORT", t.port.to_string())
            .env("REDIS_PASSWORD_SECRET_ARN", t.secret)
            .env("REDIS_TLS", "false")
            .env("AWS_ENDPOINT_URL", t.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", t.region)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let c = Consumer {
            child,
            state,
            _dir: dir,
        };
        c.wait_for("its first requests", |doc| {
            doc["total"]["requests"].as_u64().unwrap_or(0) >= 50
        });
        let first = c.total();
        assert_eq!(
            first.failed, 0,
            "the stand-in failed from the start: {first:?}"
        );
        c
    }

    fn read(&self) -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(&self.state).ok()?).ok()
    }

    fn wait_for(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some(doc) = self.read().filter(|d| done(d)) {
                return doc;
            }
            let stderr =
                std::fs::read_to_string(self._dir.path().join("stderr")).unwrap_or_default();
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the consumer stand-in did not reach {what}:\n{stderr}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts a new window (SIGUSR1) and waits until the stand-in has served requests
    /// in it.
    pub(crate) fn mark(&self) {
        let before = self.read().map_or(0, |d| d["mark"].as_u64().unwrap_or(0));
        let pid = self.child.id().to_string();
        let out = Command::new("kill").args(["-USR1", &pid]).output().unwrap();
        assert!(out.status.success(), "kill -USR1 {pid}: {}", text(&out));
        self.wait_for("a new window", |d| {
            d["mark"].as_u64().unwrap_or(0) > before
                && d["window"]["requests"].as_u64().unwrap_or(0) >= 20
        });
    }

    /// The window since the last mark, once the stand-in has served `more` requests
    /// after this call (so that what a change did is in it).
    pub(crate) fn window_after(&self, more: u64) -> Seen {
        let now = self
            .read()
            .map_or(0, |d| d["total"]["requests"].as_u64().unwrap_or(0));
        let doc = self.wait_for("more requests", |d| {
            d["total"]["requests"].as_u64().unwrap_or(0) >= now + more
        });
        Seen::of(&doc["window"])
    }

    /// Everything since the start.
    pub(crate) fn total(&self) -> Seen {
        Seen::of(&self.read().expect("the stand-in's state")["total"])
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
