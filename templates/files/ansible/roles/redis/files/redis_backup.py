# Takes an off-host backup of Redis; run by the redis-backup systemd timer.
#
# As the backup ACL user (BGSAVE, LASTSAVE, INFO, PING only; its password comes from
# the environment, a root-only EnvironmentFile), starts a background save, waits until
# Redis has written it (LASTSAVE moves on, the save succeeded), and copies the RDB file
# to s3://<bucket>/<prefix><host>/dump-<UTC time>.rdb with the AWS CLI. The bucket is
# BACKUP_BUCKET, or BACKUP_BUCKET_PREFIX and the account id (the bucket Terraform
# creates). Then writes the time into BACKUP_STATE_FILE, whose age the metrics
# publisher reports (the backup-age alarm reads it). Exits non-zero, and writes no
# state, when anything fails.
import datetime
import os
import socket
import subprocess
import sys
import tempfile
import time

from infragen_resp import RedisError, command, connect, parse_info

# Longest wait for a background save, in seconds.
SAVE_TIMEOUT = 1800


def aws(env, *args):
    """Runs the AWS CLI with the region and endpoint of the environment."""
    cmd = ["aws", *args]
    if env.get("AWS_REGION"):
        cmd += ["--region", env["AWS_REGION"]]
    if env.get("BACKUP_ENDPOINT_URL"):
        cmd += ["--endpoint-url", env["BACKUP_ENDPOINT_URL"]]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def bucket_of(env):
    if env.get("BACKUP_BUCKET"):
        return env["BACKUP_BUCKET"]
    account = aws(env, "sts", "get-caller-identity", "--query", "Account", "--output", "text")
    return env["BACKUP_BUCKET_PREFIX"] + account


def save(env):
    """A fresh RDB file: BGSAVE, then wait until Redis reports it written."""
    sock, f = connect(
        env.get("REDIS_HOST", "127.0.0.1"),
        int(env.get("REDIS_PORT", "6379")),
        env["REDIS_BACKUP_USER"],
        env["REDIS_BACKUP_PASSWORD"],
        timeout=30.0,
    )
    with sock:
        before = command(f, "LASTSAVE")
        try:
            command(f, "BGSAVE")
        except RedisError as e:
            # One is running already (an RDB rule or an AOF rewrite): wait for it and
            # for the save after it.
            if "in progress" not in str(e):
                raise
        deadline = time.time() + SAVE_TIMEOUT
        while time.time() < deadline:
            time.sleep(1)
            info = parse_info(command(f, "INFO", "persistence"))
            if info.get("rdb_bgsave_in_progress") == "1":
                continue
            if command(f, "LASTSAVE") == before:
                # The running save was someone else's: start ours.
                try:
                    command(f, "BGSAVE")
                except RedisError as e:
                    if "in progress" not in str(e):
                        raise
                continue
            if info.get("rdb_last_bgsave_status") != "ok":
                raise RedisError("the background save failed (see the Redis log)")
            return
        raise RedisError(f"the background save did not finish in {SAVE_TIMEOUT} s")


def main(argv):
    if len(argv) != 1:
        print("usage: redis_backup.py", file=sys.stderr)
        return 2
    env = os.environ
    try:
        save(env)
    except (OSError, RedisError) as e:
        print(f"redis-backup: cannot take a snapshot: {e}", file=sys.stderr)
        return 1
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    key = "{}{}/dump-{}.rdb".format(env["BACKUP_PREFIX"], socket.gethostname(), stamp)
    try:
        bucket = bucket_of(env)
        aws(
            env,
            "s3",
            "cp",
            "--only-show-errors",
            env["REDIS_RDB_FILE"],
            f"s3://{bucket}/{key}",
        )
    except subprocess.CalledProcessError as e:
        print(f"redis-backup: the copy to S3 failed: {(e.stderr or e).strip()}", file=sys.stderr)
        return 1
    state = env["BACKUP_STATE_FILE"]
    with tempfile.NamedTemporaryFile("w", dir=os.path.dirname(state), delete=False) as f:
        f.write(f"{int(time.time())}\n")
    os.chmod(f.name, 0o644)
    os.replace(f.name, state)
    print(f"redis-backup: s3://{bucket}/{key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
