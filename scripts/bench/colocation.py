#!/usr/bin/env python3
"""Co-location benchmark: does the generated guard protect Asterisk's media timing?

On a booted Debian 12 host (scripts/host) with the generated role converged (the shipped
blueprint's dev environment), a stand-in for Asterisk's media loop (media_loop.c: wakes
every 20 ms, does 300 us of work, records how late each wake-up is) runs as its own
systemd unit, as Asterisk would, while Redis serves a sustained GET/SET load
(redis-benchmark, 1 KiB values over a keyspace that fills most of maxmemory) and forks
for BGSAVE and AOF rewrites. Side by side, in one run:

  floor                the media loop alone (Redis stopped);
  no-guard             Redis loaded, the role's guard drop-in removed;
  guard, weights only  the guard without its CPU placement (as it was before);
  guard                Redis loaded, with the guard as generated;

then Redis pushed past its memory (maxmemory lifted, 64 KiB writes until something is
killed), without and with the guard, in a host whose memory is capped 1 GiB above what
it uses: who is killed, and whether the media loop keeps its frames.

The test hosts get no delegated cgroup controllers (scripts/host/README.md), so
systemd in the container cannot enforce MemoryMax/CPUWeight/IOWeight. The benchmark
applies the unit's own values from outside, in the machine's controllers (cgroup v1:
cpu.shares = CPUWeight x 1024 / 100, memory.limit_in_bytes = MemoryMax, blkio.weight),
to the Redis process and everything it forks, and puts the media loop in a group of its
own at the default weight. OOMScoreAdjust and CPUAffinity are applied by systemd in the
container itself. The load generator runs outside the host, capped at half a CPU, the
same in every case, on the last CPU (it stands in for clients on other machines).

Usage (root): python3 scripts/bench/colocation.py [--seconds 60] [--json FILE]
Prints a Markdown table; --json writes every number.
"""

import argparse
import contextlib
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
HOST = REPO / "scripts" / "host"
CG = pathlib.Path("/sys/fs/cgroup")
GUARD = "/etc/systemd/system/redis-server.service.d/infragen-guard.conf"
# The load generator stands in for clients on other machines (the Lambda functions), but
# on this machine it needs a CPU: the last one, in every case, so that the media loop never
# competes with it directly and no case gains from where it runs.
LOAD_CPU = (os.cpu_count() or 1) - 1
KEYS = 150_000
VALUE = 1024


def run(*args, check=True, env=None, input=None, timeout=600):
    p = subprocess.run(
        args, text=True, capture_output=True, env=env, input=input, timeout=timeout, check=False
    )
    if check and p.returncode != 0:
        cmd = " ".join(map(str, args[:3]))
        sys.exit(f"{cmd}... failed ({p.returncode}):\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p


class Host:
    """A booted test host: boot.sh/converge.sh/stop.sh, ssh, its cgroups."""

    def __init__(self, work):
        self.work = pathlib.Path(work)

    def boot(self):
        # The writable layer on disk, not in RAM: Redis's RDB and AOF then sit in the
        # page cache as on a real host, not in tmpfs pages charged to Redis's memory.
        env = dict(os.environ, INFRAGEN_HOST_UPPER="disk")
        run("bash", str(HOST / "boot.sh"), "bookworm", str(self.work), env=env, timeout=900)
        env = {}
        for line in (self.work / "host.env").read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
        self.cgroup = env["HOST_CGROUP"]

    def stop(self):
        subprocess.run(
            ["bash", str(HOST / "stop.sh"), str(self.work)], capture_output=True, check=False
        )

    def ssh(self, cmd, check=True, input=None, timeout=600):
        return run(str(self.work / "ssh"), cmd, check=check, input=input, timeout=timeout).stdout

    def group(self, hier, sub=""):
        return CG / hier / self.cgroup / sub

    def machine_pid(self, comm, other_than=None, wait=0.0):
        """The machine's PID of the host's process named `comm` (not `other_than`),
        polling up to `wait` seconds."""
        end = time.time() + wait
        while True:
            for procs in self.group("memory").rglob("cgroup.procs"):
                for pid in procs.read_text().split():
                    try:
                        if (
                            int(pid) != other_than
                            and pathlib.Path(f"/proc/{pid}/comm").read_text().strip() == comm
                        ):
                            return int(pid)
                    except OSError:
                        pass
            if time.time() >= end:
                sys.exit(f"no process {comm} in the host's cgroup")
            time.sleep(0.005)


def write(path, value):
    pathlib.Path(path).write_text(str(value))


def place(host, name, pid, shares, memory_limit=None, blkio_weight=None):
    """Moves `pid` (and what it will fork) into sub-groups `name` of the host's cpu,
    memory and blkio groups with these limits."""
    for hier in ("cpu", "memory", "blkio"):
        g = host.group(hier, name)
        if not g.parent.exists():
            continue
        g.mkdir(exist_ok=True)
        if hier == "cpu":
            write(g / "cpu.shares", shares)
        if hier == "memory":
            # Charges made before the move stay behind (this kernel cannot move them):
            # callers place Redis before it loads its data.
            write(g / "memory.limit_in_bytes", memory_limit if memory_limit else -1)
        if hier == "blkio" and blkio_weight and (g / "blkio.weight").exists():
            write(g / "blkio.weight", blkio_weight)
        write(g / "cgroup.procs", pid)


def oom_kills(host, sub=""):
    f = host.group("memory", sub) / "memory.oom_control"
    if not f.exists():
        return 0
    m = re.search(r"oom_kill (\d+)", f.read_text())
    return int(m.group(1)) if m else 0


def unit_value(host, unit, prop):
    return host.ssh(f"systemctl show -P {prop} {unit}").strip()


def redis_cli(pw, *args, check=True):
    env = dict(os.environ, REDISCLI_AUTH=pw)
    return run(
        "redis-cli", "-h", "127.0.0.1", "-p", "6379", *args, env=env, check=check
    ).stdout.strip()


def wait_redis(pw, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        p = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "INFO", "persistence"],
            env=dict(os.environ, REDISCLI_AUTH=pw),
            capture_output=True,
            text=True,
            check=False,
        )
        # ^: INFO also has async_loading:0 while loading:1.
        if p.returncode == 0 and re.search(r"^loading:0", p.stdout, re.M):
            return
        time.sleep(0.5)
    sys.exit("Redis did not come back")


class Load(threading.Thread):
    """redis-benchmark GET/SET, capped at half a CPU, until stopped; plus a BGSAVE every
    5 s and a BGREWRITEAOF every 7 s."""

    def __init__(self, pw, seconds, cpu):
        super().__init__(daemon=True)
        self.pw, self.seconds, self.cpu = pw, seconds, cpu
        self.runs, self.forks, self.stuck = [], {"bgsave": 0, "bgrewriteaof": 0}, 0

    def run(self):
        quota = CG / "cpu" / "infragen-bench-load"
        quota.mkdir(exist_ok=True)
        write(quota / "cpu.cfs_period_us", 100000)
        write(quota / "cpu.cfs_quota_us", 50000)
        end = time.time() + self.seconds
        last_save = last_rewrite = time.time()
        while time.time() < end:
            p = subprocess.Popen(
                [
                    "taskset",
                    "-c",
                    str(self.cpu),
                    "redis-benchmark",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    "6379",
                    "-a",
                    self.pw,
                    "-t",
                    "get,set",
                    "-n",
                    "20000",
                    "-r",
                    str(KEYS),
                    "-d",
                    str(VALUE),
                    "-c",
                    "20",
                    "--csv",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            write(quota / "cgroup.procs", p.pid)
            started = time.time()
            try:
                out, _ = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                # redis-benchmark 7.0 can spin without a syscall after a connection
                # error; such a run is dropped, not counted.
                p.kill()
                p.communicate()
                self.stuck += 1
                continue
            took = time.time() - started
            for row in out.splitlines()[1:]:
                cols = [c.strip('"') for c in row.split(",")]
                if len(cols) >= 7:
                    self.runs.append(
                        {
                            "test": cols[0],
                            "rps": float(cols[1]),
                            "p50_ms": float(cols[4]),
                            "p99_ms": float(cols[6]),
                            "seconds": took / 2,
                        }
                    )
            now = time.time()
            if now - last_save >= 5:
                self.forks["bgsave"] += "started" in redis_cli(self.pw, "BGSAVE", check=False)
                last_save = now
            if now - last_rewrite >= 7:
                self.forks["bgrewriteaof"] += "started" in redis_cli(
                    self.pw, "BGREWRITEAOF", check=False
                )
                last_rewrite = now

    def summary(self):
        if not self.runs:
            return None
        requests = sum(r["rps"] * r["seconds"] for r in self.runs)
        seconds = sum(r["seconds"] for r in self.runs)
        p50 = sorted(r["p50_ms"] for r in self.runs)[len(self.runs) // 2]
        return {
            "ops_per_second": round(requests / seconds),
            "p50_ms": p50,
            "p99_ms": max(r["p99_ms"] for r in self.runs),
            "forks": self.forks,
            "runs": len(self.runs),
            "runs_dropped": self.stuck,
        }


def media_loop(host, name, seconds):
    """Starts the media loop as a unit; returns a thread that waits for its result."""
    out = {}
    name = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()

    def wait():
        host.ssh(
            f"systemd-run --quiet --wait --collect --unit=media-{name} "
            f"-p StandardOutput=file:/run/media-{name}.json "
            f"/usr/local/bin/media-loop {seconds}",
            timeout=seconds + 120,
        )
        out.update(json.loads(host.ssh(f"cat /run/media-{name}.json")))

    t = threading.Thread(target=wait, daemon=True)
    t.start()
    for _ in range(100):
        if host.ssh(f"systemctl is-active media-{name}", check=False).strip() == "active":
            break
        time.sleep(0.1)
    place(host, "media", host.machine_pid("media-loop", wait=10), 1024)
    return t, out


def guard_values(host):
    def val(prop, default):
        v = unit_value(host, "redis-server", prop)
        return default if v in ("", "infinity", "[not set]") else int(v)

    return {
        "memory_max": val("MemoryMax", None),
        "cpu_weight": val("CPUWeight", 100),
        "io_weight": val("IOWeight", 100),
        "oom_score_adjust": val("OOMScoreAdjust", 0),
        "cpu_affinity": unit_value(host, "redis-server", "CPUAffinity"),
    }


EXTRA = "/etc/systemd/system/redis-server.service.d/zz-bench.conf"


def restart_redis(host, pw, guard, extra=None):
    """Restarts Redis with or without the guard drop-in (and an experimental drop-in
    `extra` on top) and applies the cgroup limits."""
    if extra:
        host.ssh(f"cat > {EXTRA}", input=f"[Service]\n{extra}\n")
    else:
        host.ssh(f"rm -f {EXTRA}")
    if guard:
        host.ssh(f"test -f {GUARD} || mv {GUARD}.off {GUARD}")
    else:
        host.ssh(f"test -f {GUARD}.off || mv {GUARD} {GUARD}.off")
    host.ssh("systemctl daemon-reload")
    g = guard_values(host)
    old = (
        host.machine_pid("redis-server", wait=0)
        if host.ssh("systemctl is-active redis-server", check=False).strip() == "active"
        else None
    )
    host.ssh("systemctl stop redis-server")
    # Started without waiting, and placed the moment it exists: before it loads its
    # data, so its memory is charged to its own group.
    host.ssh("systemctl start --no-block redis-server")
    pid = host.machine_pid("redis-server", other_than=old, wait=30)
    if guard:
        place(
            host,
            "redis",
            pid,
            g["cpu_weight"] * 1024 // 100,
            g["memory_max"],
            max(10, g["io_weight"] * 5),
        )
    else:
        place(host, "redis", pid, 1024, None, 500)
    wait_redis(pw)
    g["oom_score_adj_seen"] = int(pathlib.Path(f"/proc/{pid}/oom_score_adj").read_text())
    g["policy_seen"] = (
        run("chrt", "-p", str(pid), check=False).stdout.splitlines()[0].split(":")[-1].strip()
    )
    g["affinity_seen"] = (
        run("taskset", "-cp", str(pid), check=False).stdout.strip().split(":")[-1].strip()
    )
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    g["nice_seen"] = int(stat.rsplit(")", 1)[1].split()[16])
    g["extra"] = extra
    return g


def case(host, pw, name, seconds, redis, extra=None):
    if redis is None:
        host.ssh("systemctl stop redis-server")
    else:
        g = restart_redis(host, pw, redis, extra)
    t, media = media_loop(host, name, seconds)
    load = None
    if redis is not None:
        load = Load(pw, seconds, LOAD_CPU)
        load.start()
    t.join()
    if load:
        load.join()
    result = {"case": name, "media": media, "redis": load.summary() if load else None}
    if redis is not None:
        result["guard"] = g
        result["latest_fork_usec"] = int(
            re.search(r"latest_fork_usec:(\d+)", redis_cli(pw, "INFO", "stats")).group(1)
        )
    return result


def push(host, pw, name, seconds, guard):
    """Redis pushed past its memory in a host capped 1 GiB above its use. Its data
    directory is kept aside first and put back after: the AOF then holds more than fits,
    and a Redis restarted on it is killed again while loading."""
    host.ssh(
        "systemctl stop redis-server && rm -rf /var/lib/redis.before"
        " && cp -a /var/lib/redis /var/lib/redis.before"
    )
    restart_redis(host, pw, guard)
    usage = int((host.group("memory") / "memory.usage_in_bytes").read_text())
    write(host.group("memory") / "memory.limit_in_bytes", usage + (1 << 30))
    before = {"host": oom_kills(host), "redis": oom_kills(host, "redis")}
    restarts = int(unit_value(host, "redis-server", "NRestarts") or 0)
    t, media = media_loop(host, name, seconds)
    dmesg_before = len(run("dmesg", check=False).stdout.splitlines())
    redis_cli(pw, "CONFIG", "SET", "maxmemory", "0")
    started = time.time()
    try:
        fill = subprocess.run(  # noqa: PLW1510 -- the caller reads the return code
            [
                "taskset",
                "-c",
                str(LOAD_CPU),
                "redis-benchmark",
                "-h",
                "127.0.0.1",
                "-p",
                "6379",
                "-a",
                pw,
                "-t",
                "set",
                "-n",
                "200000",
                "-r",
                "100000000",
                "-d",
                "65536",
                "-c",
                "4",
                "-q",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
        fill_said = (fill.stdout + fill.stderr).replace(pw, "<password>")[-400:]
    except subprocess.TimeoutExpired:
        fill_said = "still writing when the media loop ended"
    filled = time.time() - started
    t.join()
    after = {"host": oom_kills(host), "redis": oom_kills(host, "redis")}
    killed = "\n".join(
        line
        for line in run("dmesg", check=False).stdout.splitlines()[dmesg_before:]
        if "Killed process" in line
    )
    active = {
        u: host.ssh(f"systemctl is-active {u}", check=False).strip()
        for u in ("redis-server", "ssh", "systemd-journald")
    }
    host.ssh(
        "systemctl stop redis-server;"
        " rm -rf /var/lib/redis && mv /var/lib/redis.before /var/lib/redis"
    )
    write(host.group("memory") / "memory.limit_in_bytes", -1)
    return {
        "units_after": active,
        "fill_output": fill_said,
        "case": name,
        "media": media,
        "seconds_to_fill": round(filled, 1),
        "oom_kills_in_host": after["host"] - before["host"],
        "oom_kills_in_redis_group": after["redis"] - before["redis"],
        "redis_restarts": int(unit_value(host, "redis-server", "NRestarts") or 0) - restarts,
        "media_unit_result": "success" if media.get("frames") else "no result",
        "kernel_says": [line.split("]", 1)[-1].strip() for line in killed.splitlines()],
    }


def main():
    global LOAD_CPU  # noqa: PLW0603 -- set once from --load-cpu, before any case runs
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--json", type=pathlib.Path)
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        help="also measure the guard with this systemd [Service] line added,"
        " e.g. CPUSchedulingPolicy=batch",
    )
    ap.add_argument("--no-push", action="store_true", help="skip the memory push cases")
    ap.add_argument(
        "--load-cpu",
        type=int,
        default=LOAD_CPU,
        help="the CPU the load generator runs on (default: the last)",
    )
    a = ap.parse_args()
    LOAD_CPU = a.load_cpu
    if os.geteuid() != 0:
        sys.exit("run as root (the test host and the cgroups need it)")
    if not (CG / "cpu" / "cpu.shares").exists():
        sys.exit(
            "this benchmark applies the guard with cgroup v1 controllers (cpu, memory); none here"
        )
    for tool in ("gcc", "redis-benchmark", "redis-cli"):
        if not shutil.which(tool):
            sys.exit(f"needs {tool}")
    work = tempfile.mkdtemp(prefix="infragen-bench-")
    host = Host(work)
    try:
        binary = pathlib.Path(work) / "media-loop"
        run("gcc", "-O2", "-static", "-o", str(binary), str(REPO / "scripts/bench/media_loop.c"))
        print("booting the host and converging the role (dev)...", file=sys.stderr)
        host.boot()
        run("bash", str(HOST / "converge.sh"), work, "dev", timeout=1800)
        # The publisher and the backups would call AWS: not part of this measurement.
        host.ssh("systemctl stop redis-metrics.timer redis-backup.timer")
        run(
            "bash",
            "-c",
            f'"{work}/ssh" "cat > /usr/local/bin/media-loop'
            f' && chmod 0755 /usr/local/bin/media-loop" < "{binary}"',
        )
        pw = (pathlib.Path(work) / "redis-password-dev").read_text().strip()
        wait_redis(pw)
        print("filling Redis...", file=sys.stderr)
        run(
            "redis-benchmark",
            "-h",
            "127.0.0.1",
            "-p",
            "6379",
            "-a",
            pw,
            "-t",
            "set",
            "-n",
            str(KEYS * 3),
            "-r",
            str(KEYS),
            "-d",
            str(VALUE),
            "-c",
            "20",
            "-P",
            "16",
            "-q",
        )
        redis_cli(pw, "BGREWRITEAOF")
        time.sleep(3)
        used = redis_cli(pw, "INFO", "memory")
        results = {
            "machine": {
                "cpus": os.cpu_count(),
                "kernel": platform.release(),
                "cpu": next(
                    (
                        line.split(":", 1)[1].strip()
                        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                        if line.startswith("model name")
                    ),
                    "?",
                ),
                "memory_gib": round(
                    os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
                ),
            },
            "redis": {
                "maxmemory": re.search(r"maxmemory_human:(\S+)", used).group(1),
                "used_memory": re.search(r"used_memory_human:(\S+)", used).group(1),
                "keys": KEYS,
                "value_bytes": VALUE,
            },
            "seconds": a.seconds,
            "load_generator": {"cpu": LOAD_CPU, "cpu_quota": 0.5, "clients": 20},
            "cases": [],
        }
        # "guard, weights only" is the guard as it was before it placed Redis on CPUs
        # (an empty CPUAffinity= resets the generated one): the before and after of the
        # change the benchmark led to, in the same run.
        cases = [
            ("floor", None, None),
            ("no-guard", False, None),
            ("guard, weights only", True, "CPUAffinity="),
            ("guard", True, None),
        ]
        for extra in a.variant:
            cases.append((f"guard + {extra}", True, extra))
        # From here on, everything the benchmark itself runs (this driver, ssh,
        # redis-cli, the load generator) stays on the load generator's CPU: only the
        # host competes with the media loop. (Not before: the booted host would
        # inherit it.)
        os.sched_setaffinity(0, {LOAD_CPU})
        for name, redis, extra in cases:
            print(f"case {name}...", file=sys.stderr)
            results["cases"].append(case(host, pw, name, a.seconds, redis, extra))
            print(json.dumps(results["cases"][-1]), file=sys.stderr)
        for name, guard in () if a.no_push else (("push-no-guard", False), ("push-guard", True)):
            print(f"case {name}...", file=sys.stderr)
            results["cases"].append(push(host, pw, name, a.seconds, guard))
            print(json.dumps(results["cases"][-1]), file=sys.stderr)
        if a.json:
            a.json.write_text(json.dumps(results, indent=2) + "\n")
        print(table(results))
    finally:
        host.stop()
        shutil.rmtree(work, ignore_errors=True)
        # The load generator's group (empty once its runs ended).
        with contextlib.suppress(OSError):
            (CG / "cpu" / "infragen-bench-load").rmdir()


def table(r):
    rows = [
        "| case | median | p99 | p99.9 | max | late > 5 ms | skipped frames | Redis ops/s"
        " | Redis p50 / p99 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for c in r["cases"]:
        m, rd = c["media"], c.get("redis")

        def ms(us):
            return f"{us / 1000:.2f} ms"

        rows.append(
            f"| {c['case']} | {ms(m['median_us'])} | {ms(m['p99_us'])} | {ms(m['p999_us'])}"
            f" | {ms(m['max_us'])} "
            f"| {100 * m['late_over_5ms_share']:.2f}% | {m['skipped']} | "
            + (
                f"{rd['ops_per_second']} | {rd['p50_ms']} / {rd['p99_ms']} ms |"
                if rd
                else "- | - |"
            )
        )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
