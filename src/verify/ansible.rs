//! Reads what `ansible-playbook` printed through the `ansible.posix.json` stdout callback:
//! the hosts, the ones unreachable or failed, the statistics the playbook handed back
//! (`set_stats`), and the files Ansible's check mode would rewrite.

use serde_json::Value;
use std::collections::BTreeMap;

/// The most stdout infragen reads from one run.
pub const MAX_STDOUT: usize = 16 << 20;

/// One playbook run, as far as `verify` needs it.
#[derive(Debug, Default)]
pub struct PlaybookRun {
    /// Every host in the run's statistics, in their order.
    pub stats: Vec<String>,
    /// Hosts that could not be reached, with Ansible's message.
    pub unreachable: Vec<(String, String)>,
    /// Tasks that failed (not ignored).
    pub failed: Vec<FailedTask>,
    /// `set_stats` data per host.
    pub custom: BTreeMap<String, Value>,
    /// Items of the file-comparing tasks.
    pub files: Vec<FileCheck>,
}

#[derive(Debug)]
pub struct FailedTask {
    pub host: String,
    pub task: String,
    pub msg: String,
}

#[derive(Debug)]
pub struct FileCheck {
    pub host: String,
    pub path: String,
    pub changed: bool,
    /// Whether the file exists on the host (check mode's diff has a `before`).
    pub exists: bool,
    pub diff: Option<String>,
}

/// The tasks of the role's `verify.yml` whose items are files compared by check mode.
const FILE_TASKS: &[&str] = &[
    "Compare the role's files with what a converge would write",
    "Compare the files that hold secrets with what a converge would write",
    "Compare the role's scripts with this tree's",
];

/// The JSON document in the run's stdout: the callback prints one object on a line of
/// its own; other callbacks the user enabled (profile_tasks) may print around it.
fn document(stdout: &str) -> Option<Value> {
    let mut at = 0;
    while let Some(i) = stdout[at..].find('{') {
        let start = at + i;
        let line_start = start == 0 || stdout.as_bytes()[start - 1] == b'\n';
        if line_start {
            let mut stream = serde_json::Deserializer::from_str(&stdout[start..]).into_iter();
            if let Some(Ok(v)) = stream.next()
                && let Value::Object(ref o) = v
                && o.contains_key("plays")
                && o.contains_key("stats")
            {
                return Some(v);
            }
        }
        at = start + 1;
    }
    None
}

fn msg_of(result: &Value) -> String {
    for key in ["msg", "stderr", "module_stderr"] {
        if let Some(s) = result[key].as_str().filter(|s| !s.trim().is_empty()) {
            return s.trim().to_string();
        }
    }
    String::new()
}

/// A unified diff of check mode's `{before, after}`, when both are text.
fn unified(diff: &Value, path: &str) -> Option<String> {
    let d = diff.as_array()?.first()?;
    let before = d["before"].as_str()?;
    let after = d["after"].as_str()?;
    Some(
        similar::TextDiff::from_lines(before, after)
            .unified_diff()
            .context_radius(2)
            .header(
                &format!("{path} (on the host)"),
                &format!("{path} (this tree)"),
            )
            .to_string(),
    )
}

/// Parses the callback's output; `Err` says why it is not one.
pub fn parse(stdout: &str) -> Result<PlaybookRun, String> {
    if stdout.len() > MAX_STDOUT {
        return Err(format!(
            "ansible-playbook printed more than {MAX_STDOUT} bytes"
        ));
    }
    let doc = document(stdout).ok_or_else(|| {
        "ansible-playbook's output holds no ansible.posix.json report (is the ansible.posix collection installed?)".to_string()
    })?;
    let mut run = PlaybookRun::default();
    if let Some(stats) = doc["stats"].as_object() {
        run.stats = stats.keys().cloned().collect();
    }
    if let Some(custom) = doc["custom_stats"].as_object() {
        for (host, data) in custom {
            run.custom.insert(host.clone(), data.clone());
        }
    }
    for play in doc["plays"].as_array().into_iter().flatten() {
        for task in play["tasks"].as_array().into_iter().flatten() {
            let name = task["task"]["name"].as_str().unwrap_or("").to_string();
            let Some(hosts) = task["hosts"].as_object() else {
                continue;
            };
            for (host, result) in hosts {
                if result["unreachable"].as_bool() == Some(true) {
                    if !run.unreachable.iter().any(|(h, _)| h == host) {
                        run.unreachable.push((host.clone(), msg_of(result)));
                    }
                    continue;
                }
                if result["failed"].as_bool() == Some(true)
                    && result["ignore_errors"].as_bool() != Some(true)
                {
                    let mut msg = msg_of(result);
                    if msg.is_empty() {
                        // A failed loop: the first failed item's message.
                        msg = result["results"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|r| r["failed"].as_bool() == Some(true))
                            .map(msg_of)
                            .unwrap_or_default();
                    }
                    if result["censored"].is_string() && msg.is_empty() {
                        msg = "(its output is hidden: no_log)".into();
                    }
                    run.failed.push(FailedTask {
                        host: host.clone(),
                        task: name.clone(),
                        msg,
                    });
                    continue;
                }
                // Tasks of a role are named `role : task`.
                let bare = name.rsplit_once(" : ").map_or(name.as_str(), |(_, t)| t);
                if FILE_TASKS.contains(&bare) {
                    for item in result["results"].as_array().into_iter().flatten() {
                        if item["skipped"].as_bool() == Some(true) {
                            continue;
                        }
                        let path = item["dest"]
                            .as_str()
                            .or_else(|| item["item"]["dest"].as_str())
                            .or_else(|| item["invocation"]["module_args"]["dest"].as_str())
                            .or_else(|| item["_ansible_item_label"].as_str())
                            .unwrap_or("?")
                            .to_string();
                        let before = item["diff"]
                            .as_array()
                            .and_then(|d| d.first())
                            .map(|d| d["before"].clone());
                        let exists = !matches!(before, Some(Value::String(ref s)) if s.is_empty());
                        run.files.push(FileCheck {
                            host: host.clone(),
                            diff: unified(&item["diff"], &path),
                            path,
                            changed: item["changed"].as_bool() == Some(true),
                            exists,
                        });
                    }
                }
            }
        }
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_report_among_other_callbacks_lines() {
        let out = "Thursday 03 December 2026 ***\n{\"not\": 1}\n{\"plays\": [], \"stats\": {\"h\": {}}, \"custom_stats\": {}}\nTASKS RECAP\n";
        let run = parse(out).unwrap();
        assert_eq!(run.stats, vec!["h".to_string()]);
        assert!(parse("no json here").is_err());
    }
}
