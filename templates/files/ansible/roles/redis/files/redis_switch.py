# Switches the host from one engine to the other (Redis <-> Valkey) with its data, run
# by the redis role as root when the blueprint's redis.engine names the engine that is
# not running. Both engines listen on the same port, so the old one stops before the
# new one starts; the old one's data directory is only ever read, so a failure at any
# step starts the old engine again on exactly what it had.
#
#   redis_switch.py check --from-version-of BIN --to-version V
#       Before anything is touched: can the target release V read the RDB format the
#       running server (BIN --version) writes? Exits 0 yes, 3 no (the reason printed).
#   redis_switch.py switch --from SERVICE:DATA_DIR --to SERVICE:DATA_DIR:USER
#                          --check-rdb BIN --port N --password-file FILE [--aof]
#       1. the running server saves on stop (CONFIG SET shutdown-on-sigterm save) and the
#          keys it holds are counted; 2. a fresh snapshot is checked with the target's
#          check-rdb before the old engine stops (its format is what decides); 3. the old
#          service stops, its final RDB is checked again and copied (never moved) into
#          the new data directory, any AOF there set aside; 4. the new service starts on
#          it with AOF off for this start only (with AOF on and no AOF yet, a server
#          starts empty and ignores the RDB), every key is proven there, then AOF is
#          switched on live and the rewrite awaited; 5. on any failure the new service
#          stops and the old one starts again. Prints JSON of what it did.
# Exit codes: 0 switched, 1 failed and the old engine runs again, 2 failed and the old
# engine could not be started again (the message says what to do), 3 refused.
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

from infragen_resp import RedisError, command, connect, parse_info, read_password

ADMIN_USER = "infragen-admin"
DROP_IN_DIR = "/run/systemd/system/{}.service.d"
DROP_IN = "infragen-switch.conf"


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


def exec_start(service):
    """The unit's ExecStart argv (systemctl show's `argv[]=...;` form)."""
    _, out = systemctl("show", "--property", "ExecStart", "--value", service)
    m = re.search(r"argv\[\]=([^;]*);", out)
    if not m:
        raise SwitchError(f"cannot read {service}'s ExecStart: {out!r}")
    return m.group(1).split()


def admin(port, password, *args, attempts=1):
    """One command as the role's admin user; retried while the server starts or loads."""
    last = None
    for _ in range(attempts):
        try:
            sock, f = connect("127.0.0.1", port, ADMIN_USER, password)
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
        reason = [line for line in text.splitlines() if "error" in line.lower()][-2:]
        reason = reason or text.splitlines()[-2:]
        raise SwitchError(f"{binary} refuses {path}: " + " / ".join(reason))
    expires = re.search(r"(\d+) expires", text)
    return int(read.group(1)), int(expires.group(1)) if expires else 0


def wait_rdb_saved(port, password, since):
    """A BGSAVE of the running server finished after `since`."""
    admin(port, password, "BGSAVE")
    for _ in range(1200):
        info = parse_info(admin(port, password, "INFO", "persistence"))
        saved = int(info.get("rdb_last_save_time", 0)) >= since
        if info.get("rdb_bgsave_in_progress") == "0" and saved:
            if info.get("rdb_last_bgsave_status") != "ok":
                raise SwitchError("the running server's snapshot failed (rdb_last_bgsave_status)")
            return
        time.sleep(0.5)
    raise SwitchError("the running server's snapshot did not finish in 10 minutes")


def wait_aof_rewritten(port, password):
    for _ in range(1200):
        info = parse_info(admin(port, password, "INFO", "persistence"))
        if (
            info.get("aof_enabled") == "1"
            and info.get("aof_rewrite_in_progress") == "0"
            and info.get("aof_rewrite_scheduled") == "0"
        ):
            if info.get("aof_last_bgrewrite_status") != "ok":
                raise SwitchError("the AOF rewrite failed (aof_last_bgrewrite_status)")
            return
        time.sleep(0.5)
    raise SwitchError("the AOF rewrite did not finish in 10 minutes")


def start_with(service, argv_extra):
    """Starts `service`, for this start only with `argv_extra` after its ExecStart."""
    drop_dir = DROP_IN_DIR.format(service)
    if argv_extra:
        os.makedirs(drop_dir, exist_ok=True)
        argv = exec_start(service) + argv_extra
        with open(os.path.join(drop_dir, DROP_IN), "w", encoding="utf-8") as f:
            f.write("# infragen's engine switch: this start only.\n[Service]\nExecStart=\n")
            f.write("ExecStart=" + " ".join(argv) + "\n")
    # Also without options: the unit as it is on disk now (drop-ins written or removed).
    systemctl("daemon-reload")
    code, out = systemctl("start", service)
    if code != 0:
        raise SwitchError(f"{service} did not start: {out}")


def forget_start_options(service):
    path = os.path.join(DROP_IN_DIR.format(service), DROP_IN)
    if os.path.exists(path):
        os.remove(path)
        systemctl("daemon-reload")


def switch(ns):
    old_service, old_dir = ns.from_.split(":")
    new_service, new_dir, new_user = ns.to.split(":")
    password = read_password(ns.password_file)
    done = []
    old_rdb = os.path.join(old_dir, "dump.rdb")
    new_rdb = os.path.join(new_dir, "dump.rdb")

    # 1-2: while the old engine runs, nothing changes but a snapshot and a setting.
    try:
        before, _ = keys(admin(ns.port, password, "INFO", "keyspace"))
        wait_rdb_saved(ns.port, password, int(time.time()))
        check_rdb(ns.check_rdb, old_rdb)
        admin(ns.port, password, "CONFIG", "SET", "shutdown-on-sigterm", "save")
    except (SwitchError, RedisError, OSError, subprocess.SubprocessError) as e:
        print(json.dumps({"switched": False, "error": str(e), "done": done}))
        print(
            f"the switch is refused: {e}. Nothing was touched: {old_service} keeps running"
            " with its data.",
            file=sys.stderr,
        )
        return 3
    done.append(f"{ns.check_rdb} reads a fresh snapshot of {old_service} ({before} keys)")

    try:
        # 3: stop; the final save on stop holds every write up to the stop.
        stopped_at = time.time()
        code, out = systemctl("stop", old_service)
        if code != 0 or active(old_service):
            raise SwitchError(f"{old_service} did not stop: {out}")
        if os.stat(old_rdb).st_mtime < stopped_at - 1:
            raise SwitchError(f"{old_service} did not save on stop ({old_rdb} is older)")
        saved, saved_expires = check_rdb(ns.check_rdb, old_rdb)
        done.append(f"stopped {old_service}; its final snapshot holds {saved} keys")
        aof = os.path.join(new_dir, "appendonlydir")
        if os.path.exists(aof):
            aside = f"{aof}.before-switch-{int(time.time())}"
            os.rename(aof, aside)
            done.append(f"set aside {aof} as {aside}")
        tmp = new_rdb + ".switch"
        shutil.copyfile(old_rdb, tmp)
        shutil.chown(tmp, new_user, new_user)
        os.chmod(tmp, 0o660)
        os.replace(tmp, new_rdb)
        done.append(f"copied {old_rdb} to {new_rdb}")

        # 4: the new engine on that RDB, AOF off for this start only.
        start_with(new_service, ["--appendonly", "no"] if ns.aof else [])
        info = admin(ns.port, password, "INFO", "keyspace", attempts=1200)
        after, _ = keys(info)
        # Keys with a TTL may expire between the save and the load; nothing else goes.
        if after < saved - saved_expires or after > saved:
            raise SwitchError(f"{new_service} holds {after} keys, the snapshot {saved}")
        done.append(f"started {new_service}: {after} of {saved} keys")
        if ns.aof:
            admin(ns.port, password, "CONFIG", "SET", "appendonly", "yes")
            wait_aof_rewritten(ns.port, password)
            done.append("switched AOF on live; the rewrite holds the dataset")
        forget_start_options(new_service)
    except (SwitchError, RedisError, OSError, subprocess.SubprocessError) as e:
        systemctl("stop", new_service)
        forget_start_options(new_service)
        code, out = systemctl("start", old_service)
        back = code == 0 and admin_ok(ns.port, password)
        print(
            json.dumps(
                {
                    "switched": False,
                    "error": str(e),
                    "done": done,
                    "old_engine_running": back,
                }
            )
        )
        print(f"the switch failed: {e}", file=sys.stderr)
        if back:
            print(f"{old_service} runs again on its own data", file=sys.stderr)
            return 1
        print(f"{old_service} did not start again: {out}; start it by hand", file=sys.stderr)
        return 2
    print(json.dumps({"switched": True, "keys_before": before, "keys_after": after, "done": done}))
    return 0


def admin_ok(port, password):
    try:
        admin(port, password, "PING", attempts=120)
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
