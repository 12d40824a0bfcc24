# The redis role's own way to manage the per-host Redis users and to talk to the local
# Redis as its admin user (installed by the role, run by Ansible as root). No password
# ever passes through a command line or an environment variable: each one lives in a
# root-only file under the role's secrets directory, and the application password, when
# a call needs it, arrives on standard input.
#
#   redis_admin.py password FILE
#       Creates FILE (mode 0600) holding a new random password, unless it exists.
#   redis_admin.py hash FILE
#       Prints the SHA-256 of the password in FILE: what redis.conf holds (`#<hash>`).
#   redis_admin.py call --port N [--socket PATH] --password-file FILE [--legacy-stdin] CMD ...
#       Runs one command as the role's admin user (on the unix socket PATH when it exists,
#       else plaintext TCP on 127.0.0.1:N: a server configured without the socket) and
#       prints the reply, one line per element. --legacy-stdin: if the admin user does not
#       exist yet (a server an earlier release configured), authenticate with the password
#       on stdin as the default user.
#   redis_admin.py check-app --port N [--socket PATH] [--user NAME]
#       Reads a password on stdin; exits 0 when it authenticates as NAME (default: the
#       shared application user, `default`).
#   redis_admin.py acl-check --port N [--socket PATH] --password-file FILE
#       Reads on stdin what each user must be refused and allowed (JSON, see
#       acl_checks) and asks the server itself, with ACL DRYRUN on one connection as the
#       role's admin user. Prints JSON: how many were checked and each answer that was
#       not the expected one; exits 1 if there is one.
#   redis_admin.py check-conf [--server BIN] FILE
#       Exits 0 when the server BIN (redis-server, the default, or valkey-server) accepts
#       FILE (Ansible's `validate` before redis.conf is replaced): Redis has no
#       config-check flag, so it loads FILE with every listener and all persistence
#       overridden off, and stops right after the configuration.
#   redis_admin.py live --current FILE --password-file FILE [--port N] [--socket PATH] [--dry-run]
#       Reads the configuration about to be written on stdin and changes the running
#       server to it where Redis allows that (CONFIG SET, ACL SETUSER/DELUSER), checks
#       that each change took, and prints JSON: what was applied, what only a restart
#       can apply. --dry-run changes nothing and says what a real run would do.
#   redis_admin.py unit --service NAME --set KEY=VALUE ... --exec KEY=VALUE ... [--dry-run]
#       The same for the systemd unit: --set properties are applied to the running unit
#       (systemctl set-property --runtime), --exec ones (OOMScoreAdjust, CPUAffinity)
#       take effect only when the process starts: a difference is reported as a restart.
# Exit codes: 0 the reply, 1 Redis answered with an error (printed), 2 no connection or
# no authentication (nothing was run).
import argparse
import hashlib
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile

from infragen_resp import RedisError, command, connect, connect_local, read_password


def make_password(path):
    if os.path.exists(path):
        return 0
    # 32 random bytes as hex: no character a config or a shell could misread.
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    print(f"created {path}")
    return 0


def password_hash(path):
    print(hashlib.sha256(read_password(path).encode()).hexdigest())
    return 0


def render(reply, out):
    if isinstance(reply, list):
        for item in reply:
            render(item, out)
    elif reply is None:
        out.append("")
    else:
        out.append(str(reply))


def _auth_error(e):
    text = str(e)
    return text.startswith(("WRONGPASS", "NOAUTH")) or "without any password" in text


def call(port, password_file, legacy_stdin, args, socket_path=None):
    try:
        try:
            sock, f = connect_local(
                socket_path, port, "infragen-admin", read_password(password_file)
            )
        except (RedisError, OSError) as e:
            if not (legacy_stdin and isinstance(e, RedisError) and _auth_error(e)):
                raise
            legacy = sys.stdin.read().strip()
            if not legacy:
                raise
            sock, f = connect_local(socket_path, port, "default", legacy)
    except (RedisError, OSError) as e:
        print(f"redis-admin: cannot reach Redis on port {port} as the role: {e}", file=sys.stderr)
        return 2
    with sock:
        try:
            reply = command(f, *args)
        except RedisError as e:
            print(f"(error) {e}")
            return 1
    out = []
    render(reply, out)
    print("\n".join(out))
    return 0


def check_app(port, socket_path=None, user="default"):
    password = sys.stdin.read().strip()
    try:
        sock, f = connect_local(socket_path, port, user, password)
        with sock:
            command(f, "PING")
    except (RedisError, OSError) as e:
        print(f"redis-admin: the password of {user} does not authenticate: {e}")
        return 2
    print(f"the password of {user} authenticates")
    return 0


# A key pattern of an ACL rule: ~pat, %R~pat, %W~pat, %RW~pat (Redis 7 and Valkey).
_KEY_PATTERN = re.compile(r"^(?:%(R|W|RW|WR)~|~)(.*)$")


def _key_patterns(acl):
    """(readable, writable, pattern) of each key pattern of a rule string."""
    out = []
    for word in acl.split():
        if word == "allkeys":
            out.append((True, True, "*"))
            continue
        m = _KEY_PATTERN.match(word)
        if m:
            perms = m.group(1) or "RW"
            out.append(("R" in perms, "W" in perms, m.group(2)))
    return out


def acl_checks(spec):
    """The (user, command, allowed) triples of a spec:
    {"users": [{"name": U, "deny": [[CMD, ARG...], ...]}],
     "consumers": [{"name": U, "acl": RULES}], "consumer_deny": [[CMD, ...], ...]}
    Each consumer is also refused a key no pattern of its own matches (unless one pattern
    is every key) and allowed a key of its first pattern, wildcards read as `x` (GET
    for a readable pattern, else SET)."""
    checks = []
    for user in spec.get("users", []):
        checks += [(user["name"], list(cmd), False) for cmd in user["deny"]]
    for consumer in spec.get("consumers", []):
        name = consumer["name"]
        checks += [(name, list(cmd), False) for cmd in spec.get("consumer_deny", [])]
        patterns = _key_patterns(consumer["acl"])
        if not any(p == "*" for _, _, p in patterns):
            checks.append((name, ["GET", "infragen-verify:outside-every-pattern"], False))
            checks.append((name, ["SET", "infragen-verify:outside-every-pattern", "1"], False))
        if patterns:
            readable, _, pattern = patterns[0]
            key = "".join("x" if c in "*?" else c for c in pattern)
            checks.append((name, ["GET", key] if readable else ["SET", key, "1"], True))
    return checks


def run_acl_checks(f, checks):
    """ACL DRYRUN of each check on connection f: the ones not answered as expected.
    Redis answers OK when the user may run the command, a "... no permissions ..." text
    when it may not, and an error (an unknown user or command) is neither."""
    wrong = []
    for user, cmd, allowed in checks:
        try:
            reply = command(f, "ACL", "DRYRUN", user, *cmd)
        except RedisError as e:
            reply = f"(error) {e}"
        reply = "" if reply is None else str(reply)
        ok = reply == "OK" if allowed else "no permissions" in reply
        if not ok:
            wrong.append(
                {
                    "user": user,
                    "command": " ".join(cmd),
                    "expected": "allowed" if allowed else "refused",
                    "reply": reply,
                }
            )
    return wrong


def acl_check(port, password_file, spec, socket_path=None):
    checks = acl_checks(spec)
    try:
        sock, f = connect_local(socket_path, port, "infragen-admin", read_password(password_file))
    except (RedisError, OSError) as e:
        print(f"redis-admin: cannot reach Redis on port {port} as the role: {e}", file=sys.stderr)
        return 2
    with sock:
        wrong = run_acl_checks(f, checks)
    print(json.dumps({"checked": len(checks), "unexpected": wrong}, indent=1))
    return 1 if wrong else 0


def check_conf(path, server="redis-server"):
    with tempfile.TemporaryDirectory(prefix="infragen-check-conf-") as scratch:
        overrides = {
            "port": "0",
            "tls-port": "0",
            "unixsocket": "",
            "dir": scratch,
            "logfile": "",
            "pidfile": "",
            "daemonize": "no",
            "supervised": "no",
            "save": "",
            "appendonly": "no",
        }
        # The package's binary, found on root's PATH.
        argv = [server, path]
        for key, value in overrides.items():
            argv += ["--" + key, value]
        try:
            out = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"{server} did not stop after loading {path}", file=sys.stderr)
            return 1
    text = out.stdout + out.stderr
    if "Configured to not listen anywhere" in text:
        return 0
    # The reason Redis gives, without the offending line (it may hold a secret).
    reason = [line for line in text.splitlines() if line and not line.startswith(">>>")]
    print(f"{server} refuses this configuration:", *reason[-3:], sep="\n  ", file=sys.stderr)
    return 1


# What a running Redis 7.0-8.x changes with CONFIG SET (MODIFIABLE_CONFIG in the
# server's config.c, the same in 7.0.15 and 8.0). Everything else in redis.conf
# (supervised, daemonize, logfile, disable-thp: IMMUTABLE_CONFIG; dir: PROTECTED_CONFIG,
# refused while enable-protected-configs is off) takes a restart.
LIVE = (
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-clients",
    "save",
    "appendonly",
    "appendfsync",
    "oom-score-adj",
    "oom-score-adj-values",
    "latency-monitor-threshold",
    "protected-mode",
    # Last: the connection that applies the rest came in on the old port.
    "bind",
    "port",
)

UNITS = {"b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


def parse_conf(text):
    """redis.conf as {directive: [args]} (the last line wins; `save` lines add up) and
    {user: [rules]}."""
    conf, users = {}, {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        key, args = words[0].lower(), words[1:]
        if key == "user" and args:
            users[args[0]] = args[1:]
        elif key == "save":
            conf["save"] = [] if args == [""] else conf.get("save", []) + args
        else:
            conf[key] = args
    return conf, users


def memory(value):
    """A size as Redis reads it (`512mb`, `1gb`, bytes), in bytes; None if not one."""
    v = value.strip().lower()
    digits = v.rstrip("kmgb")
    unit = v[len(digits) :]
    if not digits.lstrip("-").isdigit() or (unit and unit not in UNITS):
        return None
    return int(digits) * UNITS.get(unit, 1)


def same(key, wanted, running):
    """Whether `running` (CONFIG GET's text) is the value `wanted` (redis.conf's args)."""
    want = " ".join(wanted)
    if key in ("maxmemory", "maxmemory-clients") and not want.endswith("%"):
        return memory(want) == memory(running)
    if key == "dir":
        return os.path.realpath(want) == os.path.realpath(running)
    if key == "oom-score-adj":
        # One enum value, two names: CONFIG GET answers `yes` for `relative`.
        alias = {"yes": "relative"}
        return alias.get(want.lower(), want.lower()) == alias.get(running.lower(), running.lower())
    return want.lower().split() == running.lower().split()


def fields(reply):
    """A flat [name, value, ...] reply (ACL GETUSER) as a dict; {} for none."""
    reply = reply or []
    return dict(zip(reply[::2], reply[1::2], strict=True))


def password_hashes(rules):
    return sorted({r[1:] for r in rules if r.startswith("#")})


def _connect_any(ports, password_file, socket_path=None):
    """The role's connection: the unix socket when the server has one, else the first
    plaintext port that answers; the error of the last."""
    if socket_path and os.path.exists(socket_path):
        return connect(socket_path, 0, "infragen-admin", read_password(password_file))
    error = None
    for port in ports:
        try:
            return connect("127.0.0.1", port, "infragen-admin", read_password(password_file))
        except ConnectionRefusedError as e:
            error = e
    raise error


def _user(f, user):
    """ACL GETUSER's reply (Redis's own normal form of the user), or None."""
    return command(f, "ACL", "GETUSER", user)


def _users(f, result, current_users, wanted_users, dry_run):
    for user, rules in wanted_users.items():
        before = _user(f, user)
        have = sorted(fields(before).get("passwords", []))
        if dry_run:
            # Nothing may change: judged by the file the server started from.
            if before and current_users.get(user) == rules and have == password_hashes(rules):
                continue
            after = None
        else:
            # Set every run; the server's own view before and after says what changed,
            # whatever the file says (a hand edit, a run that died after writing it).
            command(f, "ACL", "SETUSER", user, *rules)
            after = _user(f, user)
            if sorted(fields(after).get("passwords", [])) != password_hashes(rules):
                raise RedisError(f"ACL SETUSER {user} did not take")
            if after == before:
                continue
        if not before:
            what = "created"
        elif have != password_hashes(rules):
            what = "passwords changed"
        else:
            what = "rules changed"
        result["applied"].append(f"user {user}: {what}")
    for user in current_users:
        if user not in wanted_users and user != "default":
            if not dry_run:
                command(f, "ACL", "DELUSER", user)
            result["applied"].append(f"user {user}: removed")


# The listeners that only a restart changes: the unix socket is IMMUTABLE_CONFIG, and the
# switch between plaintext and TLS on the blueprint's port moves with it (the role's
# connection is the socket; plaintext clients fail either way). While one of these is
# owed, `port` and `bind` wait for the same restart: closing the plaintext port live
# before the TLS one opens would leave the server unreachable while the restart is held.
LISTENERS = ("unixsocket", "unixsocketperm", "tls-port")


def live(current_path, password_file, port, dry_run, next_text, socket_path=None):
    result = {"running": False, "applied": [], "restart": [], "dry_run": dry_run}
    try:
        with open(current_path, encoding="utf-8") as f:
            current, current_users = parse_conf(f.read())
    except OSError:
        current, current_users = {}, {}
    wanted, wanted_users = parse_conf(next_text)
    # The server listens where the configuration it started from says, or, after a run
    # that changed the port live and died before writing the file, on the new one.
    ports = list(dict.fromkeys([int((current.get("port") or [port])[0]), port]))
    try:
        sock, f = _connect_any(ports, password_file, socket_path)
    except (RedisError, OSError) as e:
        # Not running (the start loads the new file), or running but not the role's
        # configuration yet (the package's first start): then only a restart applies it.
        result["running"] = not isinstance(e, ConnectionRefusedError)
        result["reason"] = f"cannot reach Redis on port {ports} as the role: {e}"
        print(json.dumps(result))
        return 2
    result["running"] = True
    with sock:
        _users(f, result, current_users, wanted_users, dry_run)
        keys = [k for k in LIVE if k in wanted] + sorted(k for k in wanted if k not in LIVE)
        # Listener changes first: they decide whether port and bind may change live.
        keys = [k for k in keys if k in LISTENERS] + [k for k in keys if k not in LISTENERS]
        listeners_owed = False
        for key in keys:
            got = command(f, "CONFIG", "GET", key)
            running = got[1] if isinstance(got, list) and len(got) == 2 else None
            want = wanted[key]
            if running is not None and same(key, want, running):
                continue
            if running is None and current.get(key) == want:
                continue
            change = (
                f"{key}: {running if running is not None else current.get(key)} -> {' '.join(want)}"
            )
            if key in LISTENERS:
                listeners_owed = True
            if key not in LIVE or (listeners_owed and key in ("port", "bind")):
                result["restart"].append(change)
                continue
            if dry_run:
                result["applied"].append(change)
                continue
            try:
                command(f, "CONFIG", "SET", key, " ".join(want))
                got = command(f, "CONFIG", "GET", key)
                if not (isinstance(got, list) and len(got) == 2 and same(key, want, got[1])):
                    raise RedisError(f"CONFIG GET {key} says {got!r} after CONFIG SET")
            except RedisError as e:
                # Refused live: the next start takes the value from the file.
                result["restart"].append(f"{change} (refused live: {e})")
                continue
            result["applied"].append(change)
    print(json.dumps(result))
    return 0


def _systemctl(*args):
    return subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)  # noqa: S607


def _cpus(spec):
    """A CPU list (`1 3`, `2-3`, `0,2`) as a set of numbers."""
    out = set()
    for part in spec.replace(",", " ").split():
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def unit(service, live_props, exec_props, dry_run):
    result = {"running": False, "applied": [], "restart": [], "dry_run": dry_run}
    main_pid = _systemctl("show", "--property=MainPID", "--value", service).stdout.strip()
    if not main_pid.isdigit() or main_pid == "0":
        result["reason"] = f"{service} is not running"
        print(json.dumps(result))
        return 0
    result["running"] = True
    asked = [*live_props, "MemoryCurrent"]
    shown = _systemctl("show", service, *[f"--property={k}" for k in asked]).stdout
    now = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    changes = []
    for key, value in live_props.items():
        have = now.get(key, "")
        if key == "MemoryMax":
            differ = memory(value) != memory(have) if have != "infinity" else True
            held = memory(now.get("MemoryCurrent", ""))
            lower = memory(have) is not None and memory(value) < memory(have)
            if differ and lower and held is not None and 2 * held > memory(value):
                # Redis keeps the memory it holds when maxmemory goes down; under the
                # lower cap its next fork (a save, an AOF rewrite) would be killed. A
                # restart releases it; then the next run lowers the cap live.
                result["restart"].append(
                    f"MemoryMax: {have} -> {value} leaves no room for a fork beside the"
                    f" {held} bytes Redis holds now"
                )
                continue
        else:
            differ = have != value
        if differ:
            changes.append((key, value, have))
    if changes and not dry_run:
        _systemctl("set-property", "--runtime", service, *[f"{k}={v}" for k, v, _ in changes])
        shown = _systemctl("show", service, *[f"--property={k}" for k, _, _ in changes]).stdout
        after = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        for key, value, _ in changes:
            ok = (
                memory(after.get(key, "")) == memory(value)
                if key == "MemoryMax"
                else after.get(key) == value
            )
            if not ok:
                result["restart"].append(f"{key}: set-property did not take ({after.get(key)!r})")
    result["applied"] += [f"{k}: {have} -> {v}" for k, v, have in changes]
    # Properties of the process: what it runs with now, from /proc.
    try:
        exe = os.readlink(f"/proc/{main_pid}/exe")
    except OSError:
        exe = ""
    if exe.endswith(" (deleted)"):
        # A package upgrade replaced the binary and nothing restarted it.
        result["restart"].append(f"a new {exe[: -len(' (deleted)')]} is installed")
    for key, value in exec_props.items():
        if key == "OOMScoreAdjust":
            with open(f"/proc/{main_pid}/oom_score_adj", encoding="ascii") as f:
                have = f.read().strip()
            differ = int(have) != int(value)
        elif key == "CPUAffinity":
            with open(f"/proc/{main_pid}/status", encoding="ascii") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            have = status.get("Cpus_allowed_list", "").strip()
            differ = bool(value.strip()) and _cpus(have) != _cpus(value)
        else:
            raise ValueError(f"unknown exec property {key}")
        if differ:
            result["restart"].append(f"{key}: {have} -> {value}")
    print(json.dumps(result))
    return 0


def _props(pairs):
    out = {}
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        out[key] = value
    return out


def main(argv):
    ap = argparse.ArgumentParser(prog="redis_admin.py")
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("password").add_argument("file")
    sub.add_parser("hash").add_argument("file")
    c = sub.add_parser("call")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--password-file", required=True)
    c.add_argument("--legacy-stdin", action="store_true")
    c.add_argument("--socket")
    c.add_argument("args", nargs="+")
    a = sub.add_parser("check-app")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--socket")
    a.add_argument("--user", default="default")
    ac = sub.add_parser("acl-check")
    ac.add_argument("--port", type=int, required=True)
    ac.add_argument("--socket")
    ac.add_argument("--password-file", required=True)
    cc = sub.add_parser("check-conf")
    cc.add_argument("--server", default="redis-server")
    cc.add_argument("file")
    lv = sub.add_parser("live")
    lv.add_argument("--current", required=True)
    lv.add_argument("--password-file", required=True)
    lv.add_argument("--port", type=int, default=6379)
    lv.add_argument("--dry-run", action="store_true")
    lv.add_argument("--socket")
    un = sub.add_parser("unit")
    un.add_argument("--service", required=True)
    un.add_argument("--set", action="append")
    un.add_argument("--exec", action="append")
    un.add_argument("--dry-run", action="store_true")
    ns = ap.parse_args(argv[1:])
    if ns.what == "password":
        return make_password(ns.file)
    if ns.what == "hash":
        return password_hash(ns.file)
    if ns.what == "call":
        return call(ns.port, ns.password_file, ns.legacy_stdin, ns.args, ns.socket)
    if ns.what == "acl-check":
        try:
            spec = json.loads(sys.stdin.read())
        except ValueError as e:
            print(f"redis-admin: acl-check reads JSON on stdin: {e}", file=sys.stderr)
            return 2
        return acl_check(ns.port, ns.password_file, spec, ns.socket)
    if ns.what == "check-conf":
        return check_conf(ns.file, ns.server)
    if ns.what == "live":
        try:
            return live(
                ns.current, ns.password_file, ns.port, ns.dry_run, sys.stdin.read(), ns.socket
            )
        except RedisError as e:
            print(f"redis-admin: {e}", file=sys.stderr)
            return 1
    if ns.what == "unit":
        return unit(ns.service, _props(ns.set), _props(ns.exec), ns.dry_run)
    return check_app(ns.port, ns.socket, ns.user)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
