#!/usr/bin/python3
# Restores Redis on this host from an off-host backup (installed by the redis role as
# infragen-redis-restore; run as root):
#
#   infragen-redis-restore latest                 # the environment's newest backup
#   infragen-redis-restore s3://bucket/key.rdb    # a given one
#   ... --without-checksum                        # a backup taken before checksums
#
# `latest` is the newest backup of any host of the environment (a replacement instance
# has another host name than the one that took it). Nothing on the host is touched until
# the backup has been downloaded and checked: its SHA-256 against the `.sha256` the
# backup wrote beside it, and redis-check-rdb. Then it stops Redis, moves its current
# files aside (nothing is deleted), puts the backup in place as dump.rdb, and starts
# Redis again. With AOF on, Redis would start from the (moved) AOF and ignore the RDB:
# so the backup is first loaded by a private Redis (AOF off, no TCP port, a root-only
# socket), AOF is switched on there and rewritten from the loaded data, and only then is
# the service started, from that AOF. If anything fails after Redis was stopped, the
# files moved aside are put back and Redis is started on them: a failed restore leaves
# Redis as it was, running.
import datetime
import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

ENV_FILE = "/etc/infragen/redis-backup.env"


class RestoreError(Exception):
    pass


def settings():
    env = dict(os.environ)
    with open(ENV_FILE) as f:
        for raw in f:
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env.setdefault(key, value)
    return env


def aws(env, *args):
    cmd = ["aws", *args]
    if env.get("AWS_REGION"):
        cmd += ["--region", env["AWS_REGION"]]
    if env.get("BACKUP_ENDPOINT_URL"):
        cmd += ["--endpoint-url", env["BACKUP_ENDPOINT_URL"]]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def newest(env):
    """s3:// URI of the environment's newest backup, from whichever host took it."""
    if env.get("BACKUP_BUCKET"):
        bucket = env["BACKUP_BUCKET"]
    else:
        account = aws(env, "sts", "get-caller-identity", "--query", "Account", "--output", "text")
        bucket = env["BACKUP_BUCKET_PREFIX"] + account
    prefix = env["BACKUP_PREFIX"]
    keys = aws(
        env,
        "s3api",
        "list-objects-v2",
        "--bucket",
        bucket,
        "--prefix",
        prefix,
        "--query",
        "Contents[].Key",
        "--output",
        "text",
    ).split()
    # <prefix><host>/dump-<UTC time>.rdb: the newest by time, whatever the host.
    keys = sorted((k for k in keys if k.endswith(".rdb")), key=lambda k: k.rsplit("/", 1)[-1])
    if not keys:
        raise RestoreError(f"no backup under s3://{bucket}/{prefix}")
    return f"s3://{bucket}/{keys[-1]}"


def verify(env, source, path, without_checksum):
    """The downloaded backup is the one the backup job checked and sent, and loads."""
    if without_checksum:
        print("not comparing a checksum (--without-checksum)")
    else:
        sums = path + ".sha256"
        try:
            aws(env, "s3", "cp", "--only-show-errors", source + ".sha256", sums)
        except subprocess.CalledProcessError:
            raise RestoreError(
                f"no checksum beside {source} ({source}.sha256): a backup taken before"
                " checksums can be restored with --without-checksum (redis-check-rdb still runs)"
            ) from None
        with open(sums, encoding="utf-8") as f:
            want = f.read().split()[0]
        os.unlink(sums)
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != want:
            raise RestoreError(
                f"{source} does not match its checksum: not the file the backup sent"
            )
    out = subprocess.run(
        [env.get("REDIS_CHECK_RDB", "redis-check-rdb"), path],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0 or "RDB looks OK" not in out.stdout:
        verdict = [
            line for line in out.stdout.splitlines() if "ERROR" in line or "Unexpected" in line
        ]
        raise RestoreError(f"{source} fails redis-check-rdb: " + " / ".join(verdict[:3]))


def config_value(path, key):
    """The last value of a directive in redis.conf (the file the service reads)."""
    value = None
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == key:
                value = parts[1]
    return value


# The private server's user (it exists only there, for the restore).
RESTORE_USER = "infragen-restore"
# The engine's programs (REDIS_CLI, REDIS_SERVER in the settings: valkey-cli and
# valkey-server on a Valkey host), set by main().
PROGRAMS = {"cli": "redis-cli", "server": "redis-server"}


def cli(socket_path, *args):
    # Programs by name (S607): root's PATH (sudo's secure_path) finds Debian's binaries.
    out = subprocess.run(  # noqa: PLW1510 -- callers compare the reply, not the exit code
        [PROGRAMS["cli"], "--no-auth-warning", "-s", socket_path, "--user", RESTORE_USER, *args],
        capture_output=True,
        text=True,
        # nopass: any password is accepted; the client needs one to send AUTH.
        env={**os.environ, "REDISCLI_AUTH": "x", "VALKEYCLI_AUTH": "x"},
    )
    return out.stdout.strip()


def rebuild_aof(conf, data_dir, user):
    """Loads dump.rdb in a private Redis with AOF off, switches AOF on there, waits for
    the rewrite, and shuts it down: data_dir then holds an AOF with the dataset."""
    run_dir = tempfile.mkdtemp(prefix="infragen-restore-")
    uid = pwd.getpwnam(user)
    os.chown(run_dir, uid.pw_uid, uid.pw_gid)
    os.chmod(run_dir, 0o700)
    sock = os.path.join(run_dir, "redis.sock")
    # Kept open across the server's life (its stdout) and closed in the finally below.
    log = open(os.path.join(run_dir, "redis.log"), "w+")  # noqa: SIM115
    server = subprocess.Popen(
        [  # noqa: S607
            "runuser",
            "-u",
            user,
            "--",
            PROGRAMS["server"],
            conf,
            # No TCP listener at all, TLS included: no consumer reaches a half-loaded copy.
            "--port",
            "0",
            "--tls-port",
            "0",
            "--unixsocket",
            sock,
            "--unixsocketperm",
            "700",
            "--appendonly",
            "no",
            "--dir",
            data_dir,
            "--daemonize",
            "no",
            "--supervised",
            "no",
            "--logfile",
            "",
            # Nobody but root reaches the socket: a user of this server alone, without
            # a password. (Each word its own argument: Redis quotes one with spaces.)
            "--user",
            RESTORE_USER,
            "on",
            "nopass",
            "~*",
            "&*",
            "+@all",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(600):
            # A whole line: "async_loading:0" also contains "loading:0".
            loading = cli(sock, "INFO", "persistence").splitlines()
            if cli(sock, "PING") == "PONG" and "loading:0" in loading:
                break
            if server.poll() is not None:
                log.seek(0)
                raise RestoreError("Redis could not load the backup:\n" + log.read()[-2000:])
            time.sleep(0.5)
        keys = cli(sock, "DBSIZE")
        if cli(sock, "CONFIG", "SET", "appendonly", "yes") != "OK":
            raise RestoreError("could not switch AOF on")
        for _ in range(3600):
            info = cli(sock, "INFO", "persistence")
            if all(
                s in info
                for s in ("aof_enabled:1", "aof_rewrite_in_progress:0", "aof_rewrite_scheduled:0")
            ):
                break
            time.sleep(0.5)
        cli(sock, "SHUTDOWN")
        server.wait(timeout=120)
        return keys
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def put_back(data_dir, aside, moved, service):
    """After a failure with Redis stopped: its own files back, and Redis started."""
    for name in ("dump.rdb", *moved):
        path = os.path.join(data_dir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
    for name in moved:
        os.rename(os.path.join(aside, name), os.path.join(data_dir, name))
    os.rmdir(aside)
    subprocess.run(["systemctl", "start", service], check=False)  # noqa: S607


def main(argv):
    args = [a for a in argv[1:] if a != "--without-checksum"]
    if len(args) != 1:
        print(
            "usage: infragen-redis-restore latest | s3://BUCKET/KEY.rdb [--without-checksum]",
            file=sys.stderr,
        )
        return 2
    without_checksum = len(args) != len(argv) - 1
    env = settings()
    conf = env.get("REDIS_CONFIG", "/etc/redis/redis.conf")
    data_dir = env.get("REDIS_DATA_DIR", "/var/lib/redis")
    service = env.get("REDIS_SERVICE", "redis-server")
    user = env.get("REDIS_USER", "redis")
    PROGRAMS["cli"] = env.get("REDIS_CLI", PROGRAMS["cli"])
    PROGRAMS["server"] = env.get("REDIS_SERVER", PROGRAMS["server"])
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    download = os.path.join(data_dir, f".restore-{stamp}.rdb")
    try:
        source = newest(env) if args[0] == "latest" else args[0]
        print(f"restoring {source}")
        aws(env, "s3", "cp", "--only-show-errors", source, download)
        verify(env, source, download, without_checksum)
    except (RestoreError, subprocess.CalledProcessError, OSError) as e:
        reason = e.stderr.strip() if isinstance(e, subprocess.CalledProcessError) else e
        if os.path.lexists(download):
            os.unlink(download)
        print(f"infragen-redis-restore: {reason}; Redis was not touched", file=sys.stderr)
        return 1
    print("checked: the checksum and redis-check-rdb agree")
    subprocess.run(["systemctl", "stop", service], check=True)  # noqa: S607
    aside = os.path.join(data_dir, f"before-restore-{stamp}")
    os.mkdir(aside)
    moved = []
    try:
        for name in ("dump.rdb", config_value(conf, "appenddirname") or "appendonlydir"):
            path = os.path.join(data_dir, name)
            if os.path.lexists(path):
                os.rename(path, os.path.join(aside, name))
                moved.append(name)
        rdb = os.path.join(data_dir, "dump.rdb")
        os.rename(download, rdb)
        uid = pwd.getpwnam(user)
        os.chown(rdb, uid.pw_uid, uid.pw_gid)
        os.chmod(rdb, 0o660)
        if config_value(conf, "appendonly") == "yes":
            keys = rebuild_aof(conf, data_dir, user)
            print(f"loaded {keys} keys; AOF rebuilt from them")
        subprocess.run(["systemctl", "start", service], check=True)  # noqa: S607
    except (RestoreError, subprocess.CalledProcessError, OSError) as e:
        put_back(data_dir, aside, moved, service)
        if os.path.lexists(download):
            os.unlink(download)
        print(
            f"infragen-redis-restore: {e}; Redis's own files are back and Redis runs on them",
            file=sys.stderr,
        )
        return 1
    print(f"Redis restarted from {source}; the files it replaced are in {aside}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
