# What `infragen verify` runs on each host (tasks/verify.yml, in Ansible's check mode): it
# reads the live state of Redis and its host and compares it with the configuration a
# converge would write, and changes nothing. Run by Ansible as root.
#
#   redis_verify.py --settings JSON  < the rendered redis.conf
#
# Compared, each on its own (one finding per difference):
#   config      CONFIG GET of every directive of the rendered redis.conf, against it;
#   config-file redis.conf on disk (what the next restart loads), against the rendered one;
#   acl         each user's rules and password set (ACL GETUSER) against what the rendered
#               file gives: Redis's own normal form, read from a reference server (the
#               host's own server binary on a private unix socket in a 0700 temporary
#               directory, with only the rendered users; no port, no data) that is
#               stopped by its PID before this exits; users no file names;
#   guard       the unit's limits (MemoryMax, weights, OOM score, CPUs) against the
#               drop-in's, drop-ins infragen did not write, a unit file changed on disk;
#   timer       each timer active and enabled, its service's last result a success;
#   engine      the running engine and version against the blueprint's;
#   sysctl      vm.overcommit_memory in the running kernel.
# Reads only: Redis as infragen-verify (CONFIG GET, ACL GETUSER and USERS, INFO: all that
# user may run), its password file, redis.conf (O_NOFOLLOW), /proc, and `systemctl show`.
# Never a password or a hash in its output. Always exits 0 with one JSON object:
#   {"checked": N, "findings": [...], "trouble": [...], "running": "redis 7.0.15"}.
import argparse
import contextlib
import ctypes
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis_admin
from infragen_resp import RedisError, command, connect, connect_local, parse_info, read_password

# What this script may run (tests/python holds it to this list).
ALLOWED = (("systemctl", "show"),)


def run(argv):
    """A read-only command: only `systemctl show` (the reference server is started
    separately, by its own function)."""
    if tuple(argv[:2]) not in ALLOWED:
        raise ValueError(f"redis_verify.py may not run {argv[:2]}")
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)


def show(unit, *props):
    out = run(["systemctl", "show", unit, *[f"--property={p}" for p in props]]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class Report:
    def __init__(self):
        self.checked = 0
        self.findings = []
        self.trouble = []
        self.running = ""
        self.backup_setup_age_s = None

    def check(self, ok, area, item, blueprint, live, fix, on_disk=None, hint=""):
        """Count one comparison; record it when it fails."""
        self.checked += 1
        if not ok:
            self.findings.append(
                {
                    "area": area,
                    "item": item,
                    "blueprint": blueprint,
                    "live": live,
                    "on_disk": on_disk,
                    "fix": fix,
                    "hint": hint,
                }
            )

    def as_json(self):
        return {
            "checked": self.checked,
            "findings": self.findings,
            "trouble": self.trouble,
            "running": self.running,
            "backup_setup_age_s": self.backup_setup_age_s,
            # The name the backup job files this host's backups under.
            "hostname": socket.gethostname(),
        }


# Directives CONFIG GET cannot answer the way redis.conf writes them: `user` lines are
# compared as users; `rename-command` and `include` are not configuration parameters.
NOT_PARAMETERS = ("user", "include", "rename-command")


def words(args):
    return " ".join(args)


def compare_config(report, f, wanted, disk):
    """The running server and the file on disk, each against the rendered file."""
    for key, want in wanted.items():
        if key in NOT_PARAMETERS:
            continue
        got = command(f, "CONFIG", "GET", key)
        running = got[1] if isinstance(got, list) and len(got) == 2 else None
        on_disk = disk.get(key)
        if running is not None:
            live_key = key in redis_admin.LIVE
            report.check(
                redis_admin.same(key, want, running),
                "config",
                key,
                words(want),
                running,
                "config-set" if live_key else "playbook-restart",
                on_disk=None if on_disk is None else words(on_disk),
                hint="" if live_key else "only a restart applies it",
            )
        report.check(
            on_disk is not None and redis_admin.same(key, want, words(on_disk)),
            "config-file",
            key,
            words(want),
            running if running is not None else "",
            "playbook",
            on_disk="(missing)" if on_disk is None else words(on_disk),
            hint="the next restart would load the file's value",
        )
    for key in disk:
        if key not in wanted:
            # Its value is not shown: a directive infragen does not write may hold a
            # secret (requirepass, masterauth, tls-key-file-pass).
            report.check(
                False,
                "config-file",
                key,
                "(not set)",
                "",
                "playbook",
                on_disk="set (value not shown)",
                hint="a directive infragen does not write; the next restart would load it",
            )


def user_fields(reply):
    """ACL GETUSER's reply as a dict; passwords as a sorted list."""
    fields = redis_admin.fields(reply)
    if "passwords" in fields:
        fields["passwords"] = sorted(fields["passwords"])
    return fields


def describe(fields, key):
    value = fields.get(key)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def same_rules(want, have):
    """ACL GETUSER's fields alike: its command rules list categories and commands in the
    order the user was built (a file read at start, or ACL SETUSER live), so a string of
    rules compares as the set of its words."""
    if isinstance(want, str) and isinstance(have, str):
        return sorted(want.split()) == sorted(have.split())
    return want == have


def compare_users(report, f, ref, wanted_users):
    """Each rendered user as the running server has it, against the reference server's
    reading of the same rules."""
    for user in wanted_users:
        want = user_fields(command(ref, "ACL", "GETUSER", user))
        have_reply = command(f, "ACL", "GETUSER", user)
        report.check(
            have_reply is not None,
            "acl",
            f"user {user}",
            "exists",
            "missing",
            "playbook",
        )
        if have_reply is None:
            continue
        have = user_fields(have_reply)
        for key in sorted(set(want) | set(have)):
            if key == "passwords":
                w, h = want.get(key, []), have.get(key, [])
                report.check(
                    w == h,
                    "acl",
                    f"user {user} passwords",
                    f"{len(w)} password(s) from the secrets",
                    f"{len(h)} password(s), {len(set(h) - set(w))} not from the secrets",
                    "playbook",
                )
                continue
            report.check(
                same_rules(want.get(key), have.get(key)),
                "acl",
                f"user {user} {key}",
                describe(want, key),
                describe(have, key),
                "playbook",
            )
    live_users = command(f, "ACL", "USERS") or []
    for user in live_users:
        report.check(
            user in wanted_users,
            "acl",
            f"user {user}",
            "(no such user)",
            "exists",
            "playbook",
            hint="a user the configuration does not name; the playbook removes it",
        )


# The reference server's own settings: no port, no data, no persistence, its socket in
# the private directory. Its users are the rendered ones plus one that may only read them.
REFERENCE_USER = "infragen-verify-reference"


def reference_conf(scratch, wanted_users):
    lines = [
        "port 0",
        f"unixsocket {scratch}/ref.sock",
        "unixsocketperm 700",
        f"dir {scratch}",
        'save ""',
        "appendonly no",
        'logfile ""',
        "daemonize no",
        "supervised no",
    ]
    for user, rules in wanted_users.items():
        lines.append(" ".join(["user", user, *rules]))
    lines.append(f"user {REFERENCE_USER} reset on nopass -@all +acl|getuser +acl|users +ping")
    return "\n".join(lines) + "\n"


def _die_with_parent():
    """In the reference server's child, before exec: the kernel kills it when this
    script dies (PR_SET_PDEATHSIG), so a killed verify leaves no server behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def reference_server(server, wanted_users, timeout=10.0):
    """A throwaway server that has loaded the rendered users: (socket, file)."""
    scratch = tempfile.mkdtemp(prefix="infragen-verify-")
    proc = None
    sock = None
    try:
        path = os.path.join(scratch, "ref.conf")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(reference_conf(scratch, wanted_users))
        proc = subprocess.Popen(
            [server, path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (single-threaded script)
        )
        sock_path = os.path.join(scratch, "ref.sock")
        deadline = time.monotonic() + timeout
        while not os.path.exists(sock_path):
            if proc.poll() is not None or time.monotonic() > deadline:
                said = (
                    proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
                )
                lines = [
                    line
                    for line in said.splitlines()
                    if line and not line.startswith(">>>") and "user " not in line
                ]
                raise RedisError(f"the reference {server} did not start: " + " | ".join(lines[-2:]))
            time.sleep(0.02)
        # The socket file exists from bind(); the server may not listen yet.
        while True:
            try:
                sock, f = connect(sock_path, 0, REFERENCE_USER, "unused")
                break
            except ConnectionRefusedError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield f
    finally:
        if sock is not None:
            sock.close()
        if proc is not None:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        shutil.rmtree(scratch, ignore_errors=True)


def compare_unit(report, s):
    """The unit's limits as systemd and /proc have them (redis_admin's dry run)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        redis_admin.unit(s["service"], s["unit_set"], s["unit_exec"], dry_run=True)
    result = json.loads(out.getvalue())
    report.check(
        result.get("running", False),
        "guard",
        s["service"],
        "running",
        result.get("reason", "not running"),
        "playbook",
    )
    applied = result.get("applied", [])
    restart = result.get("restart", [])
    for change in applied:
        key, _, move = change.partition(": ")
        have, _, want = move.partition(" -> ")
        report.check(False, "guard", key, want, have, "playbook")
    for change in restart:
        key, _, move = change.partition(": ")
        have, _, want = move.partition(" -> ")
        report.check(False, "guard", key, want or move, have if want else "", "playbook-restart")
    report.checked += len(s["unit_set"]) + len(s["unit_exec"]) - len(applied) - len(restart)
    props = show(s["service"], "ActiveState", "DropInPaths", "NeedDaemonReload")
    report.check(
        props.get("NeedDaemonReload") != "yes",
        "guard",
        f"{s['service']}.service on disk",
        "the unit systemd runs",
        "changed on disk since systemd read it (a package upgrade, a removed drop-in)",
        "playbook",
    )
    drop_ins = props.get("DropInPaths", "").split()
    for path in s["drop_ins"]:
        report.check(path in drop_ins, "guard", path, "loaded", "not loaded", "playbook")
    for path in drop_ins:
        if path not in s["drop_ins"] and not path.startswith("/run/systemd/transient/"):
            report.check(
                path.startswith(
                    ("/run/systemd/system.control/", "/usr/lib/systemd/", "/lib/systemd/")
                ),
                "guard",
                path,
                "(no such drop-in)",
                "loaded",
                "investigate",
                hint="a drop-in infragen does not write can override its limits",
            )


def compare_timers(report, timers):
    for t in timers:
        props = show(t["timer"], "ActiveState", "UnitFileState")
        report.check(
            props.get("ActiveState") == "active" and props.get("UnitFileState") == "enabled",
            "timer",
            t["timer"],
            "active, enabled",
            f"{props.get('ActiveState', '?')}, {props.get('UnitFileState', '?')}",
            "playbook",
        )
        svc = show(t["service"], "Result", "ExecMainStatus")
        report.check(
            svc.get("Result", "success") == "success",
            "timer",
            f"{t['service']} last run",
            "success",
            f"{svc.get('Result')} (exit {svc.get('ExecMainStatus')})",
            "investigate",
            hint=f"journalctl -u {t['service']}",
        )


def version_at_least(running, wanted):
    """`7.0.15` runs what `7.0` asks for; so does `7.2.4`; `6.2.14` does not."""

    def parts(v):
        return [int(p) for p in v.split(".")[:2] if p.isdigit()]

    return parts(running) >= parts(wanted)


def compare_engine(report, f, s):
    info = parse_info(command(f, "INFO", "server"))
    engine = info.get("server_name", "redis") or "redis"
    version = info.get(f"{engine}_version") or info.get("redis_version", "")
    report.running = f"{engine} {version}"
    report.check(engine == s["engine"], "engine", "engine", s["engine"], engine, "playbook-restart")
    report.check(
        version_at_least(version, s["version"]),
        "engine",
        "version",
        f"{s['version']} or later",
        version,
        "playbook-restart",
    )


def compare_sysctl(report, s):
    # A container may not set it (its host does): the role only warns there.
    if not s.get("overcommit") or s.get("in_container"):
        return
    with open("/proc/sys/vm/overcommit_memory", encoding="ascii") as f:
        have = f.read().strip()
    report.check(have == "1", "sysctl", "vm.overcommit_memory", "1", have, "playbook")


def backup_grace(s, now=None):
    """Seconds since backups were set up on this host, while it has taken none yet (the
    timer's first run may be a day away): the controller's "no backup" is then not drift
    until the blueprint's maximum age has passed. None once a backup succeeded, or when
    backups are off."""
    if not s.get("backup_since_file") or os.path.exists(s.get("backup_state_file") or "/"):
        return None
    try:
        with open(s["backup_since_file"], encoding="ascii") as f:
            since = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return max(0, int((now if now is not None else time.time()) - since))


def read_disk(path):
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with open(fd, encoding="utf-8") as f:
        return redis_admin.parse_conf(f.read())


def verify(s, rendered):
    report = Report()
    report.backup_setup_age_s = backup_grace(s)
    # Ansible hands numbers over as numbers; systemd and redis_admin speak text.
    for props in ("unit_set", "unit_exec"):
        s[props] = {k: str(v) for k, v in s[props].items()}
    wanted, wanted_users = redis_admin.parse_conf(rendered)
    try:
        disk, _ = read_disk(s["config_path"])
    except OSError as e:
        disk = {}
        report.check(
            False, "config-file", s["config_path"], "exists", "", "playbook", on_disk=str(e)
        )
    try:
        sock, f = connect_local(
            s["socket"], s["port"], s["user"], read_password(s["password_file"])
        )
    except (RedisError, OSError) as e:
        report.trouble.append(
            {
                "kind": "redis",
                "detail": f"cannot reach Redis as {s['user']}: {e} (a host converged by an"
                " older tree has no such user: run the playbook once)",
            }
        )
        compare_unit(report, s)
        compare_timers(report, s["timers"])
        return report
    with sock:
        compare_engine(report, f, s)
        compare_config(report, f, wanted, disk)
        try:
            with reference_server(s["server_binary"], wanted_users) as ref:
                compare_users(report, f, ref, wanted_users)
        except (RedisError, OSError) as e:
            report.trouble.append({"kind": "reference", "detail": str(e)})
    compare_unit(report, s)
    compare_timers(report, s["timers"])
    compare_sysctl(report, s)
    return report


def main(argv):
    ap = argparse.ArgumentParser(prog="redis_verify.py")
    ap.add_argument("--settings", required=True)
    ns = ap.parse_args(argv[1:])
    settings = json.loads(ns.settings)
    try:
        report = verify(settings, sys.stdin.read())
    except Exception as e:  # noqa: BLE001 (always one JSON answer: infragen verify reads it)
        report = Report()
        report.trouble.append({"kind": "probe", "detail": f"{type(e).__name__}: {e}"})
    print(json.dumps(report.as_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
