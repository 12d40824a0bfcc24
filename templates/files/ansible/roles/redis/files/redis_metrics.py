# Publishes Redis health to CloudWatch; run by the redis-metrics systemd timer.
#
# Reads INFO as the monitoring user (an ACL user allowed INFO and PING only), whose
# password is a file: systemd's credential (LoadCredential, $CREDENTIALS_DIRECTORY) under
# the unit, or REDIS_MONITOR_PASSWORD_FILE. It never appears on a command line, in the
# environment or in a log. Counters (rejected connections, evictions, commands, hits)
# are sent as the change since the previous run; a run with no previous state (the
# first after a deploy, or after the state was lost) sends none of them rather than
# Redis's lifetime totals as one interval. Every metric carries the
# dimensions Name (the blueprint's name) and Environment, so two deployments in one
# account never write into one metric. Sends (see METRICS):
#   Up                      1 on every successful run (no data: the not-reporting alarm)
#   UsedMemoryPercent       used_memory as a percentage of maxmemory
#   ConnectedClients        connected_clients
#   RejectedConnections     connections refused since the previous run
#   EvictedKeys             keys evicted since the previous run
#   PersistenceFailed       1 when the last RDB save or AOF write failed, else 0
#   OpsPerSecond            commands per second since the previous run
#   CacheHitRate            keyspace hits as a percentage of lookups since the previous
#                           run (not sent when there were none)
#   LatencyAvgMicroseconds  average time per command since the previous run (commandstats)
#   LatencyP99Microseconds  the highest p99 of any command since Redis started
#                           (INFO latencystats, Redis 7)
#   LatestForkMicroseconds  how long the last fork (RDB save, AOF rewrite) blocked Redis
#   BackupAgeSeconds        age of the newest off-host backup (with backups on; not sent
#                           before the first one: the backup-age alarm treats that as
#                           breaching)
#   TlsCertificateDaysLeft  with TLS on: days until the first of the served certificate
#                           (as this run's TLS connection saw it) and the CA that signed
#                           it expires (TLS_STATE_FILE, written by redis_tls.py)
# With TLS on (REDIS_TLS_CA, the CA bundle) INFO is read over TLS on 127.0.0.1, the
# server verified as consumers verify it: the unit runs as a dynamic user, which the
# root-only unix socket does not admit.
# With --dry-run FILE the payload is written to FILE instead of sent (tests use it);
# --describe prints the metric names and dimensions as JSON.
import contextlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time

from infragen_resp import RedisError, command, connect, parse_info, read_password

DIMENSIONS = ["Name", "Environment"]
METRICS = [
    ("Up", "Count"),
    ("UsedMemoryPercent", "Percent"),
    ("ConnectedClients", "Count"),
    ("RejectedConnections", "Count"),
    ("EvictedKeys", "Count"),
    ("PersistenceFailed", "Count"),
    ("OpsPerSecond", "Count/Second"),
    ("CacheHitRate", "Percent"),
    ("LatencyAvgMicroseconds", "Microseconds"),
    ("LatencyP99Microseconds", "Microseconds"),
    ("LatestForkMicroseconds", "Microseconds"),
    ("BackupAgeSeconds", "Seconds"),
    ("TlsCertificateDaysLeft", "Count"),
]
UNITS = dict(METRICS)


def read_info(host, port, user, password, tls_ca=None):
    """INFO with the sections the metrics come from, and (over TLS) the expiry of the
    certificate the server presented (UNIX time; else None)."""
    sock, f = connect(host, port, user, password, tls_ca=tls_ca)
    with sock:
        served = None
        if tls_ca:
            served = ssl.cert_time_to_seconds(sock.getpeercert()["notAfter"])
        info = parse_info(command(f, "INFO", "default", "commandstats", "latencystats"))
        if served is not None:
            info["infragen_tls_not_after"] = str(served)
        return info


def _tls_days_left(info, now):
    """Days until the served certificate or its CA expires; None without TLS."""
    ends = []
    if info.get("infragen_tls_not_after"):
        ends.append(float(info["infragen_tls_not_after"]))
    path = os.environ.get("TLS_STATE_FILE")
    if path:
        try:
            with open(path, encoding="ascii") as f:
                state = json.load(f)
            ends += [float(state["certificate_not_after"]), float(state["ca_not_after"])]
        except (OSError, ValueError, KeyError):
            pass
    if not ends:
        return None
    return round((min(ends) - now) / 86400, 2)


def _int(info, key):
    try:
        return int(info.get(key, "0"))
    except ValueError:
        return 0


def _fields(value):
    """`calls=3,usec=12,...` as a dict of floats."""
    out = {}
    for part in value.split(","):
        key, _, number = part.partition("=")
        with contextlib.suppress(ValueError):
            out[key] = float(number)
    return out


def _command_totals(info):
    """Calls and microseconds of every command since Redis started (commandstats)."""
    calls = usec = 0.0
    for key, value in info.items():
        if key.startswith("cmdstat_"):
            f = _fields(value)
            calls += f.get("calls", 0.0)
            usec += f.get("usec", 0.0)
    return calls, usec


def _p99(info):
    """The highest p99 latency of any command (INFO latencystats), or None."""
    values = [
        _fields(v).get("p99") for k, v in info.items() if k.startswith("latency_percentiles_usec_")
    ]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def _read_time(path):
    try:
        with open(path) as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return None


def _backup_age(now):
    """Seconds since the newest backup (its state file holds the UNIX time); before the
    first one, since backups were set up (BACKUP_SINCE_FILE, written by the role), so the
    age alarm fires only when no backup came within its threshold of the deploy, and
    not from the moment it exists. None when neither is known."""
    path = os.environ.get("BACKUP_STATE_FILE")
    if not path:
        return None
    last = _read_time(path)
    if last is None:
        since = os.environ.get("BACKUP_SINCE_FILE")
        last = _read_time(since) if since else None
    return None if last is None else max(now - last, 0.0)


def metrics(info, previous, now=None):
    """The metric data and the counters to remember for the next run."""
    now = time.time() if now is None else now
    # No history: a counter's value is Redis's total since it started, not this interval.
    fresh = not previous
    restarted = not fresh and previous.get("run_id") != info.get("run_id")

    def delta(key, value=None):
        current = _int(info, key) if value is None else value
        if fresh:
            return None
        before = 0 if restarted else previous.get(key, current)
        return max(current - before, 0) if current >= before else current

    maxmemory = _int(info, "maxmemory") or _int(info, "total_system_memory") or 1
    used_percent = round(100.0 * _int(info, "used_memory") / maxmemory, 2)
    failed = info.get("rdb_last_bgsave_status", "ok") != "ok" or (
        info.get("aof_enabled") == "1" and info.get("aof_last_write_status", "ok") != "ok"
    )
    data = [
        ("Up", 1),
        ("UsedMemoryPercent", used_percent),
        ("ConnectedClients", _int(info, "connected_clients")),
        ("PersistenceFailed", 1 if failed else 0),
        ("LatestForkMicroseconds", _int(info, "latest_fork_usec")),
    ]
    if not fresh:
        data.append(("RejectedConnections", delta("rejected_connections")))
        data.append(("EvictedKeys", delta("evicted_keys")))
    elapsed = now - previous.get("time", now)
    if fresh or restarted or elapsed <= 0:
        data.append(("OpsPerSecond", _int(info, "instantaneous_ops_per_sec")))
    else:
        data.append(("OpsPerSecond", round(delta("total_commands_processed") / elapsed, 2)))
    calls, usec = _command_totals(info)
    if not fresh:
        hits, misses = delta("keyspace_hits"), delta("keyspace_misses")
        if hits + misses > 0:
            data.append(("CacheHitRate", round(100.0 * hits / (hits + misses), 2)))
        calls_delta, usec_delta = delta("command_calls", calls), delta("command_usec", usec)
        if calls_delta > 0:
            data.append(("LatencyAvgMicroseconds", round(usec_delta / calls_delta, 2)))
    p99 = _p99(info)
    if p99 is not None:
        data.append(("LatencyP99Microseconds", p99))
    age = _backup_age(now)
    if age is not None:
        data.append(("BackupAgeSeconds", round(age)))
    days = _tls_days_left(info, now)
    if days is not None:
        data.append(("TlsCertificateDaysLeft", days))
    state = {
        "run_id": info.get("run_id"),
        "time": now,
        "rejected_connections": _int(info, "rejected_connections"),
        "evicted_keys": _int(info, "evicted_keys"),
        "total_commands_processed": _int(info, "total_commands_processed"),
        "keyspace_hits": _int(info, "keyspace_hits"),
        "keyspace_misses": _int(info, "keyspace_misses"),
        "command_calls": calls,
        "command_usec": usec,
    }
    return [(name, value, UNITS[name]) for name, value in data], state


def main(argv):
    dry_run = None
    if argv[1:] == ["--describe"]:
        print(json.dumps({"dimensions": DIMENSIONS, "metrics": [n for n, _ in METRICS]}))
        return 0
    if len(argv) == 3 and argv[1] == "--dry-run":
        dry_run = argv[2]
    elif len(argv) != 1:
        print("usage: redis_metrics.py [--dry-run FILE | --describe]", file=sys.stderr)
        return 2
    env = os.environ
    namespace = env["METRICS_NAMESPACE"]
    dimensions = [
        {"Name": "Name", "Value": env["METRICS_NAME"]},
        {"Name": "Environment", "Value": env["METRICS_ENVIRONMENT"]},
    ]
    state_dir = env.get("STATE_DIRECTORY") or env.get("METRICS_STATE_DIR") or tempfile.gettempdir()
    state_file = os.path.join(state_dir.split(":")[0], "redis-metrics-state.json")
    password_file = env.get("REDIS_MONITOR_PASSWORD_FILE") or os.path.join(
        env.get("CREDENTIALS_DIRECTORY", "/nonexistent"), "redis-monitor-password"
    )
    try:
        info = read_info(
            env.get("REDIS_HOST", "127.0.0.1"),
            int(env.get("REDIS_PORT", "6379")),
            env["REDIS_MONITOR_USER"],
            read_password(password_file),
            tls_ca=env.get("REDIS_TLS_CA") or None,
        )
    except (OSError, RedisError) as e:
        # No data is the signal: the not-reporting alarm treats it as breaching.
        print(f"redis-metrics: cannot read INFO: {e}", file=sys.stderr)
        return 1
    try:
        with open(state_file) as f:
            previous = json.load(f)
    except (OSError, ValueError):
        previous = {}
    data, state = metrics(info, previous)
    payload = {
        "Namespace": namespace,
        "MetricData": [
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Value": value,
                "Unit": unit,
            }
            for name, value, unit in data
        ],
    }
    if dry_run:
        with open(dry_run, "w") as f:
            json.dump(payload, f, indent=2, sort_keys=True)
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(payload["MetricData"], f)
        try:
            cmd = [
                "aws",
                "cloudwatch",
                "put-metric-data",
                "--namespace",
                namespace,
                "--metric-data",
                "file://" + f.name,
            ]
            if env.get("AWS_REGION"):
                cmd += ["--region", env["AWS_REGION"]]
            if env.get("METRICS_ENDPOINT_URL"):
                cmd += ["--endpoint-url", env["METRICS_ENDPOINT_URL"]]
            subprocess.run(cmd, check=True)
        finally:
            os.unlink(f.name)
    with open(state_file, "w") as f:
        json.dump(state, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
