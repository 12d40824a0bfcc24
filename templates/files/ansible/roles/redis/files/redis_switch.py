# Switches the host from one engine to the other (Redis <-> Valkey) with its data, run
# by the redis role as root when the blueprint's redis.engine names the engine that is
# not the one installed. Both engines listen on the same port, so the old one stops
# before the new one starts. The old data directory gets the old engine's own saves and
# nothing else (the copy is read from it), so until the new engine serves, a failure
# starts the old engine again on what it saved at the stop.
#
#   redis_switch.py check --from-version-of BIN --to-version V
#       Before anything is touched: can the target release V read the RDB format the
#       running server (BIN --version) writes? Exits 0 yes, 3 no (the reason printed).
#   redis_switch.py switch --from SERVICE:DATA_DIR:CONFIG --to SERVICE:DATA_DIR:USER:BIN
#                          --check-rdb BIN --user NAME --password-file FILE --port N [--aof]
#       1. refused while the new service runs; the running server (on the port its own
#          CONFIG names) is asked for a fresh snapshot (BGSAVE SCHEDULE), which the
#          target's check-rdb must read, and to save on stop (shutdown-on-sigterm save);
#       2. the old service stops (its final save holds every write), the RDB is checked
#          again and copied (never moved: the old data directory keeps it) into the new
#          data directory, any AOF there set aside;
#       3. a private instance of the new engine (no TCP port, a root-only socket, AOF
#          off) loads the copy: its key count must be the snapshot's; with AOF wanted it
#          switches AOF on and writes it (with AOF on and no AOF yet a server starts
#          empty and ignores the RDB), then stops;
#       4. the new service starts as the unit says and serves; the old one is disabled
#          (it would race for the port at the next boot).
#       Until the new service serves, any failure disables it and starts the old one on
#       its own data (no client wrote to the new one). Prints JSON of what it did.
# Exit codes: 0 switched, 1 failed and the old engine runs again, 2 failed and the old
# engine could not be started again (the message says what to do), 3 refused.
import argparse
import contextlib
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from infragen_resp import RedisError, command, connect, connect_local, parse_info, read_password

# The private instance's user (it exists only there).
PRIVATE_USER = "infragen-switch"


class SwitchError(Exception):
    pass


def engine_release(version_output):
    """('redis' | 'valkey', (major, minor, patch)) from `<engine>-server --version`."""
    m = re.search(r"^(\w+) server v=(\d+)\.(\d+)\.(\d+)", version_output.strip())
    if not m:
        raise SwitchError(f"cannot read an engine version from {version_output.strip()!r}")
    return m.group(1).lower(), tuple(int(x) for x in m.groups()[1:])


# rdb.h's RDB_VERSION of each release line (the same table as infragen's rules.rs).
def rdb_writes(engine, v):
    if engine == "redis":
        return 10 if v < (7, 2, 0) else 11 if v < (7, 4, 0) else 12
    return 11 if v < (9, 0, 0) else 80


def reads_rdb(engine, v, rdb):
    if engine == "redis":
        return rdb <= rdb_writes(engine, v)
    # Valkey refuses Redis's format 12 (its relaxed check is not a safe switch).
    return rdb <= 11 or rdb == rdb_writes(engine, v)


def check(from_bin, to_engine, to_version):
    out = subprocess.run([from_bin, "--version"], capture_output=True, text=True, check=False)
    engine, v = engine_release(out.stdout)
    target = tuple(int(x) for x in [*to_version.split("."), "0", "0"][:3])
    rdb = rdb_writes(engine, v)
    verdict = {
        "from": f"{engine} {'.'.join(map(str, v))}",
        "to": f"{to_engine} {to_version}",
        "rdb": rdb,
    }
    if reads_rdb(to_engine, target, rdb):
        print(json.dumps(verdict | {"ok": True}))
        return 0
    print(
        f"{to_engine.capitalize()} {to_version} cannot load the data of {engine.capitalize()} "
        f"{'.'.join(map(str, v))}: it writes RDB format {rdb}, which {to_engine.capitalize()} "
        f"{to_version} does not read. Nothing was touched: {engine.capitalize()} keeps running "
        "with its data."
    )
    return 3


def systemctl(*args):
    out = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False)  # noqa: S607
    return out.returncode, out.stdout.strip() + out.stderr.strip()


def active(service):
    return systemctl("is-active", "--quiet", service)[0] == 0


# The engines' unix sockets (the old one's from its config, the new one's where the role
# puts it): one engine runs at a time, so the socket that exists is the running server's.
# Without one, plaintext TCP on the port (a server configured without TLS or socket).
SOCKETS = []


def _local(port, user, password):
    for path in SOCKETS:
        if path and os.path.exists(path):
            return connect(path, 0, user, password)
    return connect_local(None, port, user, password)


def config_socket(path):
    """The `unixsocket` line of a config, or None."""
    with contextlib.suppress(OSError), open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0] == "unixsocket":
                return parts[1]
    return None


def admin(port, password, *args, attempts=1, user="infragen-admin"):
    """One command as the role's admin user; retried while the server starts or loads."""
    last = None
    for _ in range(attempts):
        try:
            sock, f = _local(port, user, password)
            with sock:
                return command(f, *args)
        except (RedisError, OSError) as e:
            last = e
            time.sleep(0.5)
    raise SwitchError(f"the server on port {port} does not answer {args[0]}: {last}")


def keys(info_text):
    """Keys and keys with a TTL over every database (INFO keyspace)."""
    total = expires = 0
    for key, value in parse_info(info_text).items():
        if key.startswith("db"):
            fields = dict(p.split("=") for p in value.split(","))
            total += int(fields["keys"])
            expires += int(fields["expires"])
    return total, expires


def check_rdb(binary, path):
    """The target's own check of an RDB file: (keys read, expires) or SwitchError."""
    out = subprocess.run([binary, path], capture_output=True, text=True, timeout=600, check=False)
    text = out.stdout + out.stderr
    read = re.search(r"(\d+) keys read", text)
    if out.returncode != 0 or not read:
        # check-rdb's verdict: "--- RDB ERROR DETECTED ---", then the offset and reason.
        lines = [line for line in text.splitlines() if line.strip()]
        if "--- RDB ERROR DETECTED ---" in lines:
            lines = lines[lines.index("--- RDB ERROR DETECTED ---") + 1 :]
        raise SwitchError(f"{binary} refuses {path}: " + " / ".join(lines[:2]))
    expires = re.search(r"(\d+) expires", text)
    return int(read.group(1)), int(expires.group(1)) if expires else 0


def wait_rdb_saved(port, password, since, user):
    """A BGSAVE of the running server finished after `since` (one already running, or
    an AOF rewrite, is waited for: SCHEDULE)."""
    for _ in range(1200):
        try:
            admin(port, password, "BGSAVE", "SCHEDULE", user=user)
            break
        except SwitchError as e:
            # The backup timer's or a save rule's own BGSAVE: wait for it, then ours.
            if "already in progress" not in str(e):
                raise
            time.sleep(0.5)
    for _ in range(1200):
        info = parse_info(admin(port, password, "INFO", "persistence", user=user))
        saved = int(info.get("rdb_last_save_time", 0)) >= since
        if info.get("rdb_bgsave_in_progress") == "0" and saved:
            if info.get("rdb_last_bgsave_status") != "ok":
                raise SwitchError("the running server's snapshot failed (rdb_last_bgsave_status)")
            return
        time.sleep(0.5)
    raise SwitchError("the running server's snapshot did not finish in 10 minutes")


def config_port(path):
    """The `port` line of the old engine's config (where it listens now)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0] == "port":
                return int(parts[1])
    return 6379


def copy_private(src, dst, user):
    """src to dst as `user`'s, 0660: never through a link an engine user planted."""
    tmp = dst + ".switch"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out, open(src, "rb") as source:
        shutil.copyfileobj(source, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
        ids = pwd.getpwnam(user)
        os.fchown(out.fileno(), ids.pw_uid, ids.pw_gid)
        os.fchmod(out.fileno(), 0o660)
    os.replace(tmp, dst)


class Private:
    """The new engine on `data_dir`, reachable only by root on a unix socket."""

    def __init__(self, binary, data_dir, user):
        self.run_dir = tempfile.mkdtemp(prefix="infragen-switch-")
        ids = pwd.getpwnam(user)
        os.chown(self.run_dir, ids.pw_uid, ids.pw_gid)
        os.chmod(self.run_dir, 0o700)
        self.sock = os.path.join(self.run_dir, "server.sock")
        self.log = open(os.path.join(self.run_dir, "server.log"), "w+")  # noqa: SIM115
        argv = [binary, "--port", "0", "--unixsocket", self.sock, "--unixsocketperm", "700"]
        argv += ["--dir", data_dir, "--dbfilename", "dump.rdb", "--appendonly", "no"]
        argv += ["--save", "", "--daemonize", "no", "--supervised", "no", "--logfile", ""]
        argv += ["--user", PRIVATE_USER, "on", "nopass", "~*", "&*", "+@all"]
        self.proc = subprocess.Popen(
            ["runuser", "-u", user, "--", *argv],  # noqa: S607
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def call(self, *args):
        for _ in range(1200):
            if self.proc.poll() is not None:
                self.log.seek(0)
                tail = self.log.read().splitlines()[-3:]
                raise SwitchError("the new engine did not load the data: " + " / ".join(tail))
            try:
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.settimeout(600)
                    sock.connect(self.sock)
                    f = sock.makefile("rwb")
                    command(f, "AUTH", PRIVATE_USER, "x")
                    return command(f, *args)
            except (OSError, RedisError) as e:
                if isinstance(e, RedisError) and not str(e).startswith("LOADING"):
                    raise
                time.sleep(0.5)
        raise SwitchError("the new engine did not answer in 10 minutes")

    def close(self):
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, RedisError, SwitchError):
                self.call("SHUTDOWN", "NOSAVE")
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)


def load_privately(ns, new_dir, new_user, new_bin, saved, saved_expires):
    """The copy loaded by a private instance; with --aof, the AOF written from it."""
    private = Private(new_bin, new_dir, new_user)
    try:
        loaded, _ = keys(private.call("INFO", "keyspace"))
        # Keys with a TTL may expire between the save and the load; nothing else goes.
        if not saved - saved_expires <= loaded <= saved:
            raise SwitchError(f"the new engine loaded {loaded} keys, the snapshot holds {saved}")
        if ns.aof:
            private.call("CONFIG", "SET", "appendonly", "yes")
            for _ in range(1200):
                info = parse_info(private.call("INFO", "persistence"))
                if (
                    info.get("aof_rewrite_in_progress") == "0"
                    and info.get("aof_rewrite_scheduled") == "0"
                    and info.get("aof_enabled") == "1"
                ):
                    break
                time.sleep(0.5)
            else:
                raise SwitchError("the AOF rewrite did not finish in 10 minutes")
            if info.get("aof_last_bgrewrite_status") != "ok":
                raise SwitchError("the AOF rewrite failed (aof_last_bgrewrite_status)")
        return loaded
    finally:
        private.close()


def switch(ns):
    old_service, old_dir, old_config = ns.from_.split(":")
    new_service, new_dir, new_user, new_bin = ns.to.split(":")
    new_engine = new_service.removesuffix("-server")
    SOCKETS[:] = [config_socket(old_config), f"/run/{new_engine}/{new_service}.sock"]
    password = read_password(ns.password_file)
    done = []
    old_rdb = os.path.join(old_dir, "dump.rdb")
    new_rdb = os.path.join(new_dir, "dump.rdb")

    def admin_old(*args, attempts=1):
        return admin(port, password, *args, attempts=attempts, user=ns.user)

    if active(new_service):
        print(json.dumps({"switched": False, "error": f"{new_service} runs", "done": done}))
        print(
            f"the switch is refused: {new_service} runs already beside {old_service}",
            file=sys.stderr,
        )
        return 3
    # 1: while the old engine runs, nothing changes but a snapshot and a setting.
    try:
        port = config_port(old_config)
        before, _ = keys(admin_old("INFO", "keyspace"))
        wait_rdb_saved(port, password, int(time.time()), ns.user)
        check_rdb(ns.check_rdb, old_rdb)
        admin_old("CONFIG", "SET", "shutdown-on-sigterm", "save")
    except (SwitchError, RedisError, OSError, subprocess.SubprocessError) as e:
        systemctl("disable", new_service)
        print(json.dumps({"switched": False, "error": str(e), "done": done}))
        print(
            f"the switch is refused: {e}. {old_service} keeps running with its data"
            f" ({new_service} is installed and disabled).",
            file=sys.stderr,
        )
        return 3
    done.append(f"{ns.check_rdb} reads a fresh snapshot of {old_service} ({before} keys)")

    try:
        # 2: stop; the final save on stop holds every write up to the stop.
        stopped_at = time.time()
        code, out = systemctl("stop", old_service)
        if code != 0 or active(old_service):
            raise SwitchError(f"{old_service} did not stop: {out}")
        if os.stat(old_rdb).st_mtime < stopped_at - 1:
            raise SwitchError(f"{old_service} did not save on stop ({old_rdb} is older)")
        saved, saved_expires = check_rdb(ns.check_rdb, old_rdb)
        done.append(f"stopped {old_service}; its final snapshot holds {saved} keys")
        aof = os.path.join(new_dir, "appendonlydir")
        if os.path.lexists(aof):
            aside = f"{aof}.before-switch-{int(time.time())}"
            os.rename(aof, aside)
            done.append(f"set aside {aof} as {aside}")
        copy_private(old_rdb, new_rdb, new_user)
        done.append(f"copied {old_rdb} to {new_rdb}")

        # 3: loaded and proven where no client reaches it.
        loaded = load_privately(ns, new_dir, new_user, new_bin, saved, saved_expires)
        done.append(
            f"{new_bin} loaded {loaded} of {saved} keys" + (" and wrote its AOF" if ns.aof else "")
        )

        # 4: the service, as its unit and config say.
        systemctl("unmask", "--runtime", new_service)
        systemctl("enable", new_service)
        code, out = systemctl("start", new_service)
        if code != 0:
            raise SwitchError(f"{new_service} did not start: {out}")
    except (SwitchError, RedisError, OSError, subprocess.SubprocessError) as e:
        systemctl("stop", new_service)
        systemctl("disable", new_service)
        code, out = systemctl("start", old_service)
        back = code == 0 and admin_ok(port, password, ns.user)
        print(json.dumps({"switched": False, "error": str(e), "done": done, "old_running": back}))
        print(f"the switch failed: {e}", file=sys.stderr)
        if back:
            print(f"{old_service} runs again on its own data", file=sys.stderr)
            return 1
        print(f"{old_service} did not start again: {out}; start it by hand", file=sys.stderr)
        return 2

    # The new engine serves: clients write to it, so there is no way back from here.
    systemctl("disable", old_service)
    after, _ = keys(admin(ns.port, password, "INFO", "keyspace", attempts=1200, user=ns.user))
    done.append(f"{new_service} serves {after} keys; {old_service} is disabled")
    if after < loaded - saved_expires:
        print(json.dumps({"switched": True, "error": "keys missing", "done": done}))
        print(
            f"{new_service} serves {after} keys, {loaded} were loaded: look at its log",
            file=sys.stderr,
        )
        return 2
    print(json.dumps({"switched": True, "keys_before": before, "keys_after": after, "done": done}))
    return 0


def admin_ok(port, password, user):
    try:
        admin(port, password, "PING", attempts=120, user=user)
        return True
    except SwitchError:
        return False


def main(argv):
    ap = argparse.ArgumentParser(prog="redis_switch.py")
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("check")
    c.add_argument("--from-version-of", required=True)
    c.add_argument("--to-engine", required=True, choices=["redis", "valkey"])
    c.add_argument("--to-version", required=True)
    s = sub.add_parser("switch")
    s.add_argument("--from", dest="from_", required=True)
    s.add_argument("--to", required=True)
    s.add_argument("--check-rdb", required=True)
    s.add_argument("--user", default="infragen-admin")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--password-file", required=True)
    s.add_argument("--aof", action="store_true")
    ns = ap.parse_args(argv[1:])
    try:
        if ns.what == "check":
            return check(ns.from_version_of, ns.to_engine, ns.to_version)
        return switch(ns)
    except (SwitchError, RedisError, OSError) as e:
        print(f"redis-switch: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
