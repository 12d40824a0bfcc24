#!/usr/bin/python3
# Compares what AWS holds for one environment with its blueprint, for `infragen verify`
# (run on the controller, like the playbook, with the Python that has boto3). It only
# reads: every call goes through a hook that refuses, before anything is sent, any
# operation whose name does not start with Describe, List, Get or Head.
#
#   redis_verify_aws.py --request JSON
#
# The request, built by infragen (keys absent or null are not checked):
#   {"env", "mode", "region", "name",
#    "backup": {"bucket" | null, "bucket_prefix", "prefix", "max_age_hours"},
#    "metrics": {"namespace", "metric", "dimensions": [{"Name", "Value"}], "max_age_seconds"},
#    "elasticache": {"replication_group_id", "engine", "engine_version", "node_type", "nodes",
#                    "multi_az", "port", "at_rest_encryption", "transit_encryption",
#                    "snapshot_retention_days", "snapshot_window", "maintenance_window",
#                    "auto_minor_version_upgrade", "parameter_group": {"name", "parameters"},
#                    "user_group_id", "users": [{"user_id", "user_name", "access_string"}]}}
#
# It prints one JSON object and exits 0, whatever it found:
#   {"checked": N, "findings": [{"target", "area", "item", "blueprint", "live", "fix", "hint"}],
#    "trouble": [{"kind", "operation", "detail"}], "operations": ["service:Operation", ...]}
# `checked` counts every comparison made; `operations` every AWS call made, in order. A
# failed call is one trouble entry (kind access-denied or aws) and the next independent
# check goes on; missing credentials (no-credentials) or a refused write (read-only)
# stop the run. Exit code 2: a usage error or a request that is not JSON.
#
# It reads no secret (no Secrets Manager, no password file) and so prints none.
import argparse
import datetime
import json
import os
import re
import sys

import boto3
import botocore.config
import botocore.exceptions

# The operations that only read.
READ_ONLY = re.compile(r"^(Describe|List|Get|Head)[A-Z]")
ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
USER_NOT_FOUND = {"UserNotFound", "UserNotFoundFault"}
GROUP_NOT_FOUND = {"ReplicationGroupNotFoundFault", "ReplicationGroupNotFound"}
USER_GROUP_NOT_FOUND = {"UserGroupNotFound", "UserGroupNotFoundFault"}
CACHE_PARAMETER_GROUP_NOT_FOUND = {
    "CacheParameterGroupNotFound",
    "CacheParameterGroupNotFoundFault",
}
# At most this many pages of a listing (1000 keys each for S3).
MAX_PAGES = 100
TERRAFORM = "terraform-apply"
INVESTIGATE = "investigate"


class ReadOnlyViolation(Exception):
    """A call that could change something was about to be made."""

    def __init__(self, operation):
        super().__init__(f"refused {operation}: infragen verify only reads")
        self.operation = operation


class Stop(Exception):
    """Nothing more can be checked (no credentials)."""


def guard(session, operations):
    """Refuses every operation that is not a read, before its request is built; records
    each allowed one as `service:Operation` in `operations`."""

    def before_build(model, event_name, **_):
        operation = "{}:{}".format(event_name.split(".")[1], model.name)
        if not READ_ONLY.match(model.name):
            raise ReadOnlyViolation(operation)
        operations.append(operation)

    def before_call(model, event_name, **_):
        # A second line, in case a request is ever made without its parameters built.
        if not READ_ONLY.match(model.name):
            raise ReadOnlyViolation("{}:{}".format(event_name.split(".")[1], model.name))

    session.events.register_first("before-parameter-build.*.*", before_build)
    session.events.register_first("before-call.*.*", before_call)


def show(value):
    """A value as the report shows it."""
    if value is None:
        return "absent"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def version_matches(wanted, live):
    """Whether a live engine version satisfies the blueprint's: the same major version
    and at least its minor one ("7.0" accepts "7.0.7" and "7.1", not "6.2" or "8.0")."""

    def parse(v):
        m = re.match(r"^(\d+)(?:\.(\d+))?", str(v or ""))
        return (int(m.group(1)), int(m.group(2) or 0)) if m else None

    w, v = parse(wanted), parse(live)
    if w is None or v is None:
        return str(wanted) == str(live)
    return v[0] == w[0] and v[1] >= w[1]


def acl_tokens(access_string):
    return (access_string or "").split()


def access_strings_match(wanted, live):
    """ElastiCache may hand an access string back normalised (its rules in another order),
    so two strings match when they hold the same rules, whatever their order or spacing.
    (The order of Redis ACL rules can matter, e.g. `+@all -get`; infragen never writes
    rules that cancel one another, so the set is what it means.)"""
    return set(acl_tokens(wanted)) == set(acl_tokens(live))


class Report:
    def __init__(self):
        self.checked = 0
        self.findings = []
        self.trouble = []
        # The newest backup of each host (the part of its key after the prefix names
        # it): infragen verify judges each host's own (one host's fresh backups must not
        # hide another's that stopped).
        self.backups = None

    def check(self, target, area, item, blueprint, live, ok=None, fix=TERRAFORM, hint=""):
        """One comparison; a finding when it fails (`ok` defaults to equality)."""
        self.checked += 1
        if ok is None:
            ok = blueprint == live
        if not ok:
            self.finding(target, area, item, blueprint, live, fix, hint)
        return ok

    def finding(self, target, area, item, blueprint, live, fix=TERRAFORM, hint=""):
        self.findings.append(
            {
                "target": target,
                "area": area,
                "item": item,
                "blueprint": show(blueprint),
                "live": show(live),
                "fix": fix,
                "hint": hint,
            }
        )

    def problem(self, kind, operation, detail):
        # One line, and short: a parser error carries the whole body of the reply.
        detail = " ".join(str(detail).split())
        if len(detail) > 500:
            detail = detail[:500] + "..."
        self.trouble.append({"kind": kind, "operation": operation, "detail": detail})

    def output(self, operations):
        return {
            "checked": self.checked,
            "findings": self.findings,
            "trouble": self.trouble,
            "backups": self.backups,
            "operations": list(operations),
        }


# ---- Comparisons: pure functions of the request and the describe responses ------------


def age_text(seconds):
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}h {seconds % 3600 // 60}m old"


def taken_at(o):
    """When a backup's data was taken: the UTC time in its name (redis_backup.py names
    each dump-<%Y%m%dT%H%M%SZ>.rdb when it takes it), or its upload time when earlier or
    the name has none. An old dump copied into the bucket again is still old data."""
    name = o["Key"].rsplit("/", 1)[-1]
    try:
        stamp = datetime.datetime.strptime(name, "dump-%Y%m%dT%H%M%SZ.rdb").replace(
            tzinfo=datetime.UTC
        )
    except ValueError:
        return o["LastModified"]
    return min(stamp, o["LastModified"])


def newest_backup(objects):
    """The newest `.rdb` object (what redis_backup.py uploads: <prefix><host>/dump-<UTC>.rdb)."""
    dumps = [o for o in objects if o.get("Key", "").endswith(".rdb")]
    return max(dumps, key=taken_at) if dumps else None


def newest_per_host(prefix, objects, now):
    """{host: {"age_s", "key"}}: the newest backup under each <prefix><host>/."""
    hosts = {}
    for o in objects:
        rest = o.get("Key", "")[len(prefix) :]
        if "/" in rest:
            hosts.setdefault(rest.split("/", 1)[0], []).append(o)
    out = {}
    for host, objs in sorted(hosts.items()):
        newest = newest_backup(objs)
        if newest is not None:
            age = int((now - taken_at(newest)).total_seconds())
            out[host] = {"age_s": max(0, age), "key": newest["Key"]}
    return out


def compare_backup(report, want, target, objects, now):
    report.backups = newest_per_host(want["prefix"], objects, now)
    newest = newest_backup(objects)
    limit = f"at most {want['max_age_hours']}h old"
    hint = "journalctl -u redis-backup.service on the host"
    if newest is None:
        report.check(
            target, "backup", "newest backup", limit, "no backup", False, INVESTIGATE, hint
        )
        return
    age = (now - taken_at(newest)).total_seconds()
    report.check(
        target,
        "backup",
        "newest backup",
        limit,
        f"{age_text(age)} (key {newest['Key']})",
        age <= want["max_age_hours"] * 3600,
        INVESTIGATE,
        hint,
    )


def compare_metric(report, want, timestamps, now, period):
    """The newest datapoint must be at most max_age_seconds old. A datapoint's timestamp
    is the start of its period, so it counts as of the period's end."""
    item = f"{want['metric']} published"
    limit = f"within the last {want['max_age_seconds']}s"
    hint = "journalctl -u redis-metrics.service on the host"
    if not timestamps:
        report.check(
            want["namespace"], "metrics", item, limit, "no datapoint", False, INVESTIGATE, hint
        )
        return
    newest = max(timestamps)
    age = (now - newest).total_seconds() - period
    report.check(
        want["namespace"],
        "metrics",
        item,
        limit,
        f"newest datapoint {newest.strftime('%Y-%m-%dT%H:%M:%SZ')} ({max(0, int(age))}s old)",
        age <= want["max_age_seconds"],
        INVESTIGATE,
        hint,
    )


def port_of(group):
    endpoint = group.get("ConfigurationEndpoint") or {}
    if endpoint.get("Port"):
        return endpoint["Port"]
    for node_group in group.get("NodeGroups") or []:
        primary = node_group.get("PrimaryEndpoint") or {}
        if primary.get("Port"):
            return primary["Port"]
    return None


def compare_replication_group(report, want, group):
    t, a = want["replication_group_id"], "replication-group"
    report.check(t, a, "node_type", want["node_type"], group.get("CacheNodeType"))
    report.check(t, a, "nodes", want["nodes"], len(group.get("MemberClusters") or []))
    multi_az = group.get("MultiAZ")
    report.check(
        t, a, "multi_az", want["multi_az"], multi_az, (multi_az == "enabled") == want["multi_az"]
    )
    if want["multi_az"]:
        failover = group.get("AutomaticFailover")
        report.check(t, a, "automatic_failover", "enabled", failover)
    report.check(
        t,
        a,
        "at_rest_encryption",
        want["at_rest_encryption"],
        group.get("AtRestEncryptionEnabled", False),
    )
    report.check(
        t,
        a,
        "transit_encryption",
        want["transit_encryption"],
        group.get("TransitEncryptionEnabled", False),
    )
    report.check(
        t,
        a,
        "snapshot_retention_days",
        want["snapshot_retention_days"],
        group.get("SnapshotRetentionLimit"),
    )
    report.check(t, a, "snapshot_window", want["snapshot_window"], group.get("SnapshotWindow"))
    port = port_of(group)
    if port is not None:
        report.check(t, a, "port", want["port"], port)
    report.check(
        t,
        a,
        "auth_token",
        False,
        group.get("AuthTokenEnabled", False),
        hint="users and a user group authenticate clients, not a shared AUTH token",
    )
    groups = group.get("UserGroupIds") or []
    report.check(
        t,
        a,
        "user_group",
        want["user_group_id"],
        ", ".join(groups) or "none",
        want["user_group_id"] in groups,
    )


def mark_pending(report, want, cluster):
    """A node type or engine version Terraform already asked for, which ElastiCache holds
    for the maintenance window (apply_immediately false): not a new apply's to fix."""
    pending = cluster.get("PendingModifiedValues") or {}
    wanted = {"node_type": "CacheNodeType", "engine_version": "EngineVersion"}
    for f in report.findings:
        key = wanted.get(f["item"])
        if f["target"] == want["replication_group_id"] and key:
            value = pending.get(key)
            if value is not None and str(value).startswith(str(want[f["item"]])):
                f["fix"] = INVESTIGATE
                f["hint"] = (
                    f"{value} is pending: ElastiCache applies it in the maintenance window"
                    f" ({cluster.get('PreferredMaintenanceWindow', '?')})"
                )


def compare_cache_cluster(report, want, cluster):
    t, a = want["replication_group_id"], "replication-group"
    report.check(t, a, "engine", want["engine"], cluster.get("Engine"))
    live = cluster.get("EngineVersion")
    report.check(
        t,
        a,
        "engine_version",
        want["engine_version"],
        live,
        version_matches(want["engine_version"], live),
    )
    window = cluster.get("PreferredMaintenanceWindow")
    report.check(
        t,
        a,
        "maintenance_window",
        want["maintenance_window"],
        window,
        (window or "").lower() == want["maintenance_window"].lower(),
    )
    report.check(
        t,
        a,
        "auto_minor_version_upgrade",
        want["auto_minor_version_upgrade"],
        cluster.get("AutoMinorVersionUpgrade"),
    )
    pg = cluster.get("CacheParameterGroup") or {}
    wanted = want["parameter_group"]["name"]
    report.check(t, a, "parameter_group", wanted, pg.get("CacheParameterGroupName"))
    report.check(
        wanted,
        "parameter-group",
        "apply status",
        "in-sync",
        pg.get("ParameterApplyStatus"),
        pg.get("ParameterApplyStatus") != "pending-reboot",
        INVESTIGATE,
        "a changed parameter waits for a reboot of the nodes (or their maintenance window)",
    )


def compare_parameters(report, want, parameters):
    group = want["parameter_group"]
    live = {p.get("ParameterName"): p.get("ParameterValue") for p in parameters}
    for name, value in sorted(group["parameters"].items()):
        report.check(group["name"], "parameter-group", name, str(value), live.get(name))


def compare_user_group(report, want, user_group):
    t = want["user_group_id"]
    members = user_group.get("UserIds") or []
    wanted = [u["user_id"] for u in want["users"]]
    for user in want["users"]:
        report.check(
            t,
            "user-group",
            f"user {user['user_name']}",
            f"member ({user['user_id']})",
            "member" if user["user_id"] in members else "missing",
            user["user_id"] in members,
        )
    extra = sorted(set(members) - set(wanted))
    report.check(t, "user-group", "other users", "none", ", ".join(extra) or "none", not extra)


def compare_user(report, want_user, user):
    t, a = want_user["user_id"], "user"
    name = want_user["user_name"]
    if user is None:
        report.check(t, a, f"user {name}", "exists", "missing", False)
        return
    report.check(t, a, f"user {name} name", name, user.get("UserName"))
    report.check(t, a, f"user {name} status", "active", user.get("Status"))
    wanted, live = want_user["access_string"], user.get("AccessString")
    report.check(
        t,
        a,
        f"user {name} access string",
        wanted,
        live,
        access_strings_match(wanted, live),
        hint="compared as sets of rules: ElastiCache may return them reordered",
    )
    auth = (user.get("Authentication") or {}).get("Type")
    report.check(t, a, f"user {name} authentication", "password", auth)


# ---- Calls: a thin layer that turns failures into trouble -------------------------------


def operation_of(client, method):
    service = client.meta.service_model.service_id.hyphenize()
    return f"{service}:{client.meta.method_to_api_mapping.get(method, method)}"


class Caller:
    def __init__(self, report, region):
        self.report = report
        self.region = region

    def failed(self, operation, e):
        """Records a failed call as trouble (or stops, without credentials)."""
        if isinstance(
            e, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError
        ):
            profile = os.environ.get("AWS_PROFILE") or "default"
            self.report.problem(
                "no-credentials",
                operation,
                f"no AWS credentials were found for region {self.region} (looked at"
                " AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, AWS_PROFILE"
                f" (profile {profile}), AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, SSO,"
                f" the container and the instance role): {e}",
            )
            raise Stop from None
        if isinstance(e, botocore.exceptions.ClientError):
            code = e.response.get("Error", {}).get("Code", "")
            kind = "access-denied" if code in ACCESS_DENIED else "aws"
            self.report.problem(kind, operation, str(e))
        else:
            self.report.problem("aws", operation, f"{type(e).__name__}: {e}")

    def call(self, client, method, expected=(), **kwargs):
        """The response, or the ClientError whose code is in `expected`, or None (trouble)."""
        operation = operation_of(client, method)
        try:
            return getattr(client, method)(**kwargs)
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in expected:
                return e
            self.failed(operation, e)
        except (ReadOnlyViolation, Stop):
            raise
        except Exception as e:  # noqa: BLE001 - e.g. moto's HTML 500 page (ResponseParserError)
            self.failed(operation, e)
        return None

    def pages(self, client, method, expected=(), **kwargs):
        """Every page (at most MAX_PAGES), the expected ClientError, or None (trouble)."""
        operation = operation_of(client, method)
        out = []
        try:
            for page in client.get_paginator(method).paginate(**kwargs):
                out.append(page)
                if len(out) >= MAX_PAGES:
                    self.report.problem(
                        "aws", operation, f"more than {MAX_PAGES} pages: only the first were read"
                    )
                    break
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in expected:
                return e
            self.failed(operation, e)
            return None
        except (ReadOnlyViolation, Stop):
            raise
        except Exception as e:  # noqa: BLE001 - as in call
            self.failed(operation, e)
            return None
        return out


def verify_backup(c, clients, want, account, now):
    bucket = want.get("bucket")
    if not bucket:
        if account is None:
            return  # GetCallerIdentity failed: already trouble.
        bucket = want["bucket_prefix"] + account
    target = f"s3://{bucket}/{want['prefix']}"
    pages = c.pages(
        clients["s3"], "list_objects_v2", ("NoSuchBucket",), Bucket=bucket, Prefix=want["prefix"]
    )
    if isinstance(pages, botocore.exceptions.ClientError):
        c.report.check(
            target,
            "backup",
            "bucket",
            "exists",
            f"bucket {bucket} does not exist",
            False,
            hint="the bucket is made by terraform apply",
        )
        return
    if pages is None:
        return
    objects = [o for page in pages for o in page.get("Contents", [])]
    compare_backup(c.report, want, target, objects, now)


def verify_metrics(c, clients, want, now):
    period = 60
    window = max(3 * want["max_age_seconds"], 3600)
    metric = {
        "Namespace": want["namespace"],
        "MetricName": want["metric"],
        "Dimensions": want.get("dimensions") or [],
    }
    response = c.call(
        clients["cloudwatch"],
        "get_metric_data",
        MetricDataQueries=[
            {
                "Id": "up",
                "MetricStat": {"Metric": metric, "Period": period, "Stat": "SampleCount"},
                "ReturnData": True,
            }
        ],
        StartTime=now - datetime.timedelta(seconds=window),
        EndTime=now,
        ScanBy="TimestampDescending",
    )
    if response is None:
        return
    timestamps = [
        ts
        for result in response.get("MetricDataResults", [])
        for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
        if value > 0
    ]
    compare_metric(c.report, want, timestamps, now, period)


def verify_elasticache(c, clients, want):
    ec = clients["elasticache"]
    target = want["replication_group_id"]
    response = c.call(ec, "describe_replication_groups", GROUP_NOT_FOUND, ReplicationGroupId=target)
    if isinstance(response, botocore.exceptions.ClientError) or (
        response is not None and not response.get("ReplicationGroups")
    ):
        c.report.check(target, "replication-group", "replication group", "exists", "missing", False)
        return
    if response is not None:
        group = response["ReplicationGroups"][0]
        compare_replication_group(c.report, want, group)
        members = group.get("MemberClusters") or []
        if members:
            clusters = c.call(
                ec, "describe_cache_clusters", CacheClusterId=members[0], ShowCacheNodeInfo=False
            )
            if clusters is not None and clusters.get("CacheClusters"):
                compare_cache_cluster(c.report, want, clusters["CacheClusters"][0])
                mark_pending(c.report, want, clusters["CacheClusters"][0])

    pg = want["parameter_group"]
    pages = c.pages(
        ec,
        "describe_cache_parameters",
        CACHE_PARAMETER_GROUP_NOT_FOUND,
        CacheParameterGroupName=pg["name"],
    )
    if isinstance(pages, botocore.exceptions.ClientError):
        c.report.check(pg["name"], "parameter-group", "parameter group", "exists", "missing", False)
    elif pages is not None:
        compare_parameters(
            c.report, want, [p for page in pages for p in page.get("Parameters", [])]
        )

    response = c.call(
        ec, "describe_user_groups", USER_GROUP_NOT_FOUND, UserGroupId=want["user_group_id"]
    )
    if isinstance(response, botocore.exceptions.ClientError) or (
        response is not None and not response.get("UserGroups")
    ):
        c.report.check(
            want["user_group_id"], "user-group", "user group", "exists", "missing", False
        )
    elif response is not None:
        compare_user_group(c.report, want, response["UserGroups"][0])

    for user in want["users"]:
        response = c.call(ec, "describe_users", USER_NOT_FOUND, UserId=user["user_id"])
        if isinstance(response, botocore.exceptions.ClientError):
            compare_user(c.report, user, None)
        elif response is not None:
            found = [u for u in response.get("Users", []) if u.get("UserId") == user["user_id"]]
            compare_user(c.report, user, found[0] if found else None)


def verify(request, clients, operations, now=None):
    """Every check the request asks for; the output object."""
    now = now or datetime.datetime.now(datetime.UTC)
    report = Report()
    c = Caller(report, request.get("region"))
    try:
        identity = c.call(clients["sts"], "get_caller_identity")
        account = identity.get("Account") if identity else None
        if request.get("backup"):
            verify_backup(c, clients, request["backup"], account, now)
        if request.get("metrics"):
            verify_metrics(c, clients, request["metrics"], now)
        if request.get("elasticache"):
            verify_elasticache(c, clients, request["elasticache"])
    except Stop:
        pass
    except ReadOnlyViolation as e:
        report.problem("read-only", e.operation, str(e))
    except Exception as e:  # noqa: BLE001 - a malformed request or a bug: still one answer
        report.problem("aws", "", f"{type(e).__name__}: {e}")
    return report.output(operations)


def make_clients(session):
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=60
    )
    return {
        name: session.client(name, config=config)
        for name in ("sts", "s3", "cloudwatch", "elasticache")
    }


def main(argv):
    ap = argparse.ArgumentParser(prog="redis_verify_aws.py")
    ap.add_argument("--request", required=True, help="the request, as a JSON object")
    ns = ap.parse_args(argv[1:])
    try:
        request = json.loads(ns.request)
        if not isinstance(request, dict) or not request.get("region"):
            raise ValueError("the request must be a JSON object with a region")
    except ValueError as e:
        print(f"redis_verify_aws: unusable request: {e}", file=sys.stderr)
        return 2
    operations = []
    try:
        session = boto3.Session(region_name=request["region"])
        guard(session, operations)
        out = verify(request, make_clients(session), operations)
    except Exception as e:  # noqa: BLE001 - one JSON object, whatever happens
        report = Report()
        report.problem("aws", "", f"{type(e).__name__}: {e}")
        out = report.output(operations)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
