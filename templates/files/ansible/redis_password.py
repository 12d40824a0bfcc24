#!/usr/bin/python3
# Rotates the Redis password with no failed request, by Secrets Manager's staging labels
# (run on the controller, like the playbook; needs boto3, which the role's secret lookup
# needs too). The docs/<env>/REDIS_RUNBOOK.md of each environment gives the exact calls.
#
#   redis_password.py status  --secret-id ID [--region R]
#   redis_password.py add     --secret-id ID [--region R] --length N [--specials]
#       A new random password as a version labelled AWSPENDING: consumers still read
#       AWSCURRENT. Then run the playbook: Redis accepts both (ACL SETUSER, no restart).
#   redis_password.py promote --secret-id ID [--region R]
#       AWSCURRENT moves to the pending version; the old one is labelled
#       INFRAGEN_RETIRING, which Redis still accepts. Consumers pick the new one up on
#       their next cold start or read of the secret; open connections stay authenticated.
#   redis_password.py retire  --secret-id ID [--region R]
#       Removes the INFRAGEN_RETIRING label. Then run the playbook: Redis drops the old
#       password (connections opened with it stay open; new ones need the new password).
#
# AWSPREVIOUS, which Secrets Manager moves by itself on every new version, is never
# what Redis accepts: it may name a password retired on purpose long ago.
#
# On ElastiCache, --replication-group-id ID makes `add` hand the new password to the
# group as a second token (AuthTokenUpdateStrategy ROTATE) and wait until the group is
# available, before any consumer can read it, and `retire` make the current password
# the only token (SET) before the label goes; no playbook run is needed there. A
# consumer's own user is rotated the same way with --elasticache-user-id ID (its secret
# as --secret-id): `add` gives the user both passwords, `retire` only the current one
# (ElastiCache users hold at most two).
#
# Nothing here prints a password. Exit codes: 0 done, 1 refused (the secret is not in
# the state the step needs; nothing was changed), 2 a usage or AWS error.
import argparse
import secrets
import string
import sys
import time
import uuid

import boto3
import botocore.exceptions

# The label of the password being retired, which Redis accepts until it is removed.
RETIRING = "INFRAGEN_RETIRING"

# The character set infragen's random_password uses: safe in redis.conf, on redis-cli
# and as an ElastiCache AUTH token.
SPECIALS = "!&#$^<>-"


def new_password(length, specials):
    alphabet = string.ascii_letters + string.digits + (SPECIALS if specials else "")
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
        ):
            return pw


def stages(sm, secret_id):
    """{label: version id} of the secret's labelled versions."""
    out = {}
    args = {"SecretId": secret_id, "MaxResults": 100}
    while True:
        page = sm.list_secret_version_ids(**args)
        for v in page["Versions"]:
            for label in v.get("VersionStages", []):
                out[label] = v["VersionId"]
        if not page.get("NextToken"):
            return out
        args["NextToken"] = page["NextToken"]


def set_token(ns, password, strategy):
    """ElastiCache's AUTH token: ROTATE adds one beside the old, SET keeps only it."""
    ec = boto3.client("elasticache", region_name=ns.region)
    ec.modify_replication_group(
        ReplicationGroupId=ns.replication_group_id,
        AuthToken=password,
        AuthTokenUpdateStrategy=strategy,
        ApplyImmediately=True,
    )
    ec.get_waiter("replication_group_available").wait(
        ReplicationGroupId=ns.replication_group_id,
        WaiterConfig={"Delay": 15, "MaxAttempts": 120},
    )


def set_user_passwords(ns, passwords):
    """An ElastiCache user's passwords (one or two), waiting until the user is active."""
    ec = boto3.client("elasticache", region_name=ns.region)
    ec.modify_user(
        UserId=ns.elasticache_user_id,
        AuthenticationMode={"Type": "password", "Passwords": passwords},
    )
    for _ in range(120):
        users = ec.describe_users(UserId=ns.elasticache_user_id)["Users"]
        if users and users[0].get("Status") == "active":
            return
        time.sleep(15)
    raise RuntimeError(f"ElastiCache user {ns.elasticache_user_id} is not active after 30 minutes")


def hand_to_elasticache(ns, sm, new=None):
    """What ElastiCache must accept: the current password, and `new` beside it (add)."""
    if ns.replication_group_id:
        if new is None:
            current = sm.get_secret_value(SecretId=ns.secret_id, VersionStage="AWSCURRENT")
            set_token(ns, current["SecretString"], "SET")
        else:
            set_token(ns, new, "ROTATE")
    elif ns.elasticache_user_id:
        current = sm.get_secret_value(SecretId=ns.secret_id, VersionStage="AWSCURRENT")
        passwords = [current["SecretString"]] + ([new] if new is not None else [])
        set_user_passwords(ns, passwords)


def refuse(message):
    print(f"redis_password: {message}; nothing was changed", file=sys.stderr)
    return 1


def run(ns, sm):
    now = stages(sm, ns.secret_id)
    if ns.step == "status":
        for label in ("AWSCURRENT", "AWSPENDING", RETIRING, "AWSPREVIOUS"):
            print(f"{label}: {now.get(label, '-')}")
        return 0
    if ns.step == "add":
        if "AWSPENDING" in now:
            return refuse("a rotation is under way (a version is labelled AWSPENDING)")
        if RETIRING in now:
            return refuse(
                f"the last rotation is not finished: `retire` {RETIRING} first (and run the"
                " playbook), so that Redis never accepts three passwords"
            )
        version = str(uuid.uuid4())
        password = new_password(ns.length, ns.specials)
        sm.put_secret_value(
            SecretId=ns.secret_id,
            ClientRequestToken=version,
            SecretString=password,
            VersionStages=["AWSPENDING"],
        )
        if ns.replication_group_id or ns.elasticache_user_id:
            try:
                hand_to_elasticache(ns, sm, password)
            except Exception:
                # ElastiCache does not have it: nobody may be handed it. `add` again later.
                sm.update_secret_version_stage(
                    SecretId=ns.secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=version
                )
                raise
            print(f"added version {version} as AWSPENDING; ElastiCache accepts it beside the old")
        else:
            print(f"added version {version} as AWSPENDING; run the playbook so Redis accepts it")
        return 0
    if ns.step == "promote":
        if "AWSPENDING" not in now:
            return refuse("no version is labelled AWSPENDING (run `add` first)")
        pending, current = now["AWSPENDING"], now["AWSCURRENT"]
        sm.update_secret_version_stage(
            SecretId=ns.secret_id,
            VersionStage="AWSCURRENT",
            MoveToVersionId=pending,
            RemoveFromVersionId=current,
        )
        sm.update_secret_version_stage(
            SecretId=ns.secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=pending
        )
        sm.update_secret_version_stage(
            SecretId=ns.secret_id, VersionStage=RETIRING, MoveToVersionId=current
        )
        after = stages(sm, ns.secret_id)
        if after.get("AWSCURRENT") != pending or after.get(RETIRING) != current:
            print(f"redis_password: unexpected labels after the move: {after}", file=sys.stderr)
            return 2
        print(
            f"AWSCURRENT is {pending}, {RETIRING} {current} (still accepted by Redis);"
            " consumers move on their next read of the secret"
        )
        return 0
    if ns.step == "retire":
        if "AWSPENDING" in now:
            return refuse("a version is still AWSPENDING: promote it first")
        if RETIRING not in now:
            return refuse(f"no version is labelled {RETIRING}: nothing to retire")
        old = now[RETIRING]
        hand_to_elasticache(ns, sm)
        sm.update_secret_version_stage(
            SecretId=ns.secret_id, VersionStage=RETIRING, RemoveFromVersionId=old
        )
        print(f"retired {old}; run the playbook so Redis stops accepting it")
        return 0
    return 2


def main(argv):
    ap = argparse.ArgumentParser(prog="redis_password.py")
    ap.add_argument("step", choices=["status", "add", "promote", "retire"])
    ap.add_argument("--secret-id", required=True)
    ap.add_argument("--region")
    ap.add_argument("--length", type=int, default=32)
    ap.add_argument("--specials", action="store_true")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--replication-group-id", help="the shared password, on ElastiCache")
    where.add_argument("--elasticache-user-id", help="a consumer's own user, on ElastiCache")
    ns = ap.parse_args(argv[1:])
    if not 16 <= ns.length <= 128:
        print("redis_password: --length must be 16 to 128", file=sys.stderr)
        return 2
    sm = boto3.client("secretsmanager", region_name=ns.region)
    try:
        return run(ns, sm)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        print(f"redis_password: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
