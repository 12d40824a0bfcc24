# Takes an off-host backup of Redis; run by the redis-backup systemd timer.
#
# 1. As the backup ACL user (BGSAVE, LASTSAVE, INFO, PING only; its password is read
#    from a root-only file), asks for one background save with BGSAVE SCHEDULE (which
#    waits behind an AOF rewrite instead of failing) and waits for it. It never asks
#    twice: a failed save is reported at once (exit 1), not retried into a fork storm.
# 2. Opens the RDB file once. Redis writes every save to a new file and renames it over
#    dump.rdb, so the open file is one complete snapshot for as long as it is open,
#    whatever later saves do: everything below reads that one open file, never the path.
# 3. Checks it with redis-check-rdb (through /dev/fd, the same open file), then streams
#    it to s3://<bucket>/<prefix><host>/dump-<UTC time>.rdb with the AWS CLI on standard
#    input, hashing what it sends, and writes `<sha256>  <name>` beside it
#    (<key>.sha256), which infragen-redis-restore checks before it touches anything.
# 4. Reads the object's size back from S3; only when it matches does the backup count:
#    the time goes into BACKUP_STATE_FILE, whose age the metrics publisher reports (the
#    backup-age alarm reads it). Any failure exits non-zero and writes no state.
import datetime
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time

from infragen_resp import RedisError, command, connect_local, parse_info, read_password

# Longest wait for the background save, in seconds.
SAVE_TIMEOUT = 1800
# How long a scheduled save may take to start once nothing else is forking.
START_GRACE = 10.0
POLL = 0.5
CHUNK = 1 << 20


class BackupError(Exception):
    pass


def aws_command(env, *args):
    """The AWS CLI with the region and endpoint of the environment."""
    cmd = ["aws", *args]
    if env.get("AWS_REGION"):
        cmd += ["--region", env["AWS_REGION"]]
    if env.get("BACKUP_ENDPOINT_URL"):
        cmd += ["--endpoint-url", env["BACKUP_ENDPOINT_URL"]]
    return cmd


def aws(env, *args, stdin=None):
    out = subprocess.run(
        aws_command(env, *args), check=False, capture_output=True, text=True, input=stdin
    )
    if out.returncode != 0:
        raise BackupError(f"aws {' '.join(args[:2])} failed: {out.stderr.strip()[-500:]}")
    return out.stdout.strip()


def bucket_of(env):
    if env.get("BACKUP_BUCKET"):
        return env["BACKUP_BUCKET"]
    account = aws(env, "sts", "get-caller-identity", "--query", "Account", "--output", "text")
    return env["BACKUP_BUCKET_PREFIX"] + account


def _info(f):
    return parse_info(command(f, "INFO", "persistence"))


def save(f, clock=time.monotonic, sleep=time.sleep, timeout=SAVE_TIMEOUT):
    """One background save of ours (or the one already running), finished and good.

    Counts saves with INFO's rdb_saves (it grows when a save starts): the save that
    answers the request is the first whose start is counted after it."""
    before = int(_info(f).get("rdb_saves", "0"))
    try:
        reply = command(f, "BGSAVE", "SCHEDULE")
        target = before + 1
    except RedisError as e:
        if "already in progress" not in str(e):
            raise BackupError(f"Redis refused the background save: {e}") from None
        # A save started before ours could (an RDB rule): it is a snapshot of now, too.
        reply, target = str(e), before
    deadline = clock() + timeout
    idle_since = None
    while clock() < deadline:
        sleep(POLL)
        info = _info(f)
        if info.get("rdb_bgsave_in_progress") == "1":
            idle_since = None
            continue
        if int(info.get("rdb_saves", "0")) >= target:
            if info.get("rdb_last_bgsave_status") != "ok":
                raise BackupError(
                    "the background save failed (rdb_last_bgsave_status:"
                    f" {info.get('rdb_last_bgsave_status')}); see the Redis log. Not retried:"
                    " the next timer run tries again"
                )
            return reply
        if info.get("aof_rewrite_in_progress") == "1" or info.get("aof_rewrite_scheduled") == "1":
            # BGSAVE SCHEDULE waits for the rewrite's child to finish.
            idle_since = None
            continue
        idle_since = idle_since if idle_since is not None else clock()
        if clock() - idle_since > START_GRACE:
            raise BackupError(f"Redis accepted the save ({reply}) but never started it")
    raise BackupError(f"the background save did not finish in {timeout} s")


def check_rdb(fd, env):
    """redis-check-rdb on the open snapshot (through /dev/fd: the same file, not the path)."""
    os.lseek(fd, 0, os.SEEK_SET)
    out = subprocess.run(
        [env.get("REDIS_CHECK_RDB", "redis-check-rdb"), f"/dev/fd/{fd}"],
        pass_fds=(fd,),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0 or "RDB looks OK" not in out.stdout:
        # Only the verdict lines: the tool also names keys.
        verdict = [
            line
            for line in out.stdout.splitlines()
            if "ERROR" in line or "Unexpected" in line or "checksum" in line.lower()
        ]
        raise BackupError("the snapshot fails redis-check-rdb: " + " / ".join(verdict[:3]))


def upload(fd, size, env, url):
    """Streams the open snapshot to S3 and returns its SHA-256 (of exactly what was sent)."""
    os.lseek(fd, 0, os.SEEK_SET)
    digest = hashlib.sha256()
    sent = 0
    cmd = aws_command(env, "s3", "cp", "--only-show-errors", "--expected-size", str(size), "-", url)
    with subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        try:
            while True:
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                proc.stdin.write(chunk)
                sent += len(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        err = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0:
            raise BackupError(f"the upload to {url} failed: {err.strip()[-500:]}")
    if sent != size:
        raise BackupError(f"read {sent} bytes of a {size}-byte snapshot")
    return digest.hexdigest()


def main(argv):
    if len(argv) != 1:
        print("usage: redis_backup.py", file=sys.stderr)
        return 2
    env = os.environ
    started = time.monotonic()
    try:
        password = read_password(env["REDIS_BACKUP_PASSWORD_FILE"])
        # Root's unix socket (the TCP port may speak TLS only); plaintext TCP without one.
        sock, f = connect_local(
            env.get("REDIS_SOCKET"),
            int(env.get("REDIS_PORT", "6379")),
            env["REDIS_BACKUP_USER"],
            password,
            timeout=30.0,
        )
        with sock:
            save(f)
            # Opened while no later save can have finished unseen: at worst a newer one.
            fd = os.open(env["REDIS_RDB_FILE"], os.O_RDONLY | os.O_NOFOLLOW)
    except (OSError, RedisError, BackupError) as e:
        print(f"redis-backup: cannot take a snapshot: {e}", file=sys.stderr)
        return 1
    try:
        size = os.fstat(fd).st_size
        check_rdb(fd, env)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"dump-{stamp}.rdb"
        key = "{}{}/{}".format(env["BACKUP_PREFIX"], socket.gethostname(), name)
        bucket = bucket_of(env)
        url = f"s3://{bucket}/{key}"
        sha256 = upload(fd, size, env, url)
        stored = aws(
            env,
            "s3api",
            "head-object",
            "--bucket",
            bucket,
            "--key",
            key,
            "--query",
            "ContentLength",
            "--output",
            "text",
        )
        if stored != str(size):
            raise BackupError(f"S3 holds {stored} bytes of the {size}-byte snapshot {url}")
        aws(
            env, "s3", "cp", "--only-show-errors", "-", url + ".sha256", stdin=f"{sha256}  {name}\n"
        )
    except (OSError, BackupError) as e:
        print(f"redis-backup: {e}", file=sys.stderr)
        return 1
    finally:
        os.close(fd)
    state = env["BACKUP_STATE_FILE"]
    with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(state), delete=False) as f:
        f.write(f"{int(time.time())}\n")
    os.chmod(f.name, 0o644)
    os.replace(f.name, state)
    cpu = os.times()
    print(
        f"redis-backup: {url} ({size} bytes, sha256 {sha256}, checked) in"
        f" {time.monotonic() - started:.1f} s; CPU {cpu.user + cpu.system:.2f} s here,"
        f" {cpu.children_user + cpu.children_system:.2f} s in redis-check-rdb and the AWS CLI"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
