# Publishes Redis health to CloudWatch; run by the redis-metrics systemd timer.
#
# Reads INFO as the monitoring user (an ACL user allowed INFO and PING only), whose
# password comes from the environment (systemd's EnvironmentFile, readable by root
# only): it never appears on a command line or in a log. Sends:
#   Up                  1 on every successful run (no data: the not-reporting alarm)
#   UsedMemoryPercent   used_memory as a percentage of maxmemory
#   ConnectedClients    connected_clients
#   RejectedConnections connections refused since the previous run
#   EvictedKeys         keys evicted since the previous run
#   PersistenceFailed   1 when the last RDB save or AOF write failed, else 0
# With --dry-run FILE the payload is written to FILE instead of sent (tests use it).
import json
import os
import socket
import subprocess
import sys
import tempfile


class RedisError(Exception):
    pass


def _read_reply(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise RedisError("connection closed")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise RedisError(body.decode(errors="replace"))
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        data = f.read(size + 2)
        return data[:-2].decode(errors="replace")
    raise RedisError("unexpected reply type %r" % kind)


def _command(f, *args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    f.write(b"".join(out))
    f.flush()
    return _read_reply(f)


def read_info(host, port, user, password, timeout=5.0):
    with socket.create_connection((host, port), timeout=timeout) as sock:
        f = sock.makefile("rwb")
        _command(f, "AUTH", user, password)
        text = _command(f, "INFO")
    info = {}
    for line in (text or "").splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, value = line.split(":", 1)
            info[key] = value.strip()
    return info


def _int(info, key):
    try:
        return int(info.get(key, "0"))
    except ValueError:
        return 0


def metrics(info, previous):
    """The metric data and the counters to remember for the next run."""
    restarted = previous.get("run_id") != info.get("run_id")

    def delta(key):
        now = _int(info, key)
        before = 0 if restarted else previous.get(key, now)
        return max(now - before, 0) if now >= before else now

    maxmemory = _int(info, "maxmemory") or _int(info, "total_system_memory") or 1
    used_percent = round(100.0 * _int(info, "used_memory") / maxmemory, 2)
    failed = info.get("rdb_last_bgsave_status", "ok") != "ok" or (
        info.get("aof_enabled") == "1" and info.get("aof_last_write_status", "ok") != "ok"
    )
    data = [
        ("Up", 1, "Count"),
        ("UsedMemoryPercent", used_percent, "Percent"),
        ("ConnectedClients", _int(info, "connected_clients"), "Count"),
        ("RejectedConnections", delta("rejected_connections"), "Count"),
        ("EvictedKeys", delta("evicted_keys"), "Count"),
        ("PersistenceFailed", 1 if failed else 0, "Count"),
    ]
    state = {
        "run_id": info.get("run_id"),
        "rejected_connections": _int(info, "rejected_connections"),
        "evicted_keys": _int(info, "evicted_keys"),
    }
    return data, state


def main(argv):
    dry_run = None
    if len(argv) == 3 and argv[1] == "--dry-run":
        dry_run = argv[2]
    elif len(argv) != 1:
        print("usage: redis_metrics.py [--dry-run FILE]", file=sys.stderr)
        return 2
    env = os.environ
    namespace = env["METRICS_NAMESPACE"]
    environment = env["METRICS_ENVIRONMENT"]
    state_dir = env.get("STATE_DIRECTORY") or env.get("METRICS_STATE_DIR") or tempfile.gettempdir()
    state_file = os.path.join(state_dir.split(":")[0], "redis-metrics-state.json")
    try:
        info = read_info(
            env.get("REDIS_HOST", "127.0.0.1"),
            int(env.get("REDIS_PORT", "6379")),
            env["REDIS_MONITOR_USER"],
            env["REDIS_MONITOR_PASSWORD"],
        )
    except (OSError, RedisError) as e:
        # No data is the signal: the not-reporting alarm treats it as breaching.
        print("redis-metrics: cannot read INFO: %s" % e, file=sys.stderr)
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
                "Dimensions": [{"Name": "Environment", "Value": environment}],
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
            cmd = ["aws", "cloudwatch", "put-metric-data", "--namespace", namespace, "--metric-data", "file://" + f.name]
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
