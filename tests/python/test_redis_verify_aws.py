"""Unit tests of ansible/redis_verify_aws.py, the AWS side of `infragen verify`.

Every client comes from a boto3 Session with the script's read-only hook, and answers
from a botocore Stubber: no request leaves the process (a `before-send` hook records any
that would, and every test requires none). The comparisons are pure functions of the
describe responses; the call layer turns each failed call into one trouble entry.
"""

import copy
import datetime
import json
import os
import sys
import unittest
from unittest import mock

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.stub import Stubber

ANSIBLE = os.path.join(os.path.dirname(__file__), "..", "..", "templates", "files", "ansible")
sys.path.insert(0, os.path.abspath(ANSIBLE))

import redis_verify_aws as v  # noqa: E402

NOW = datetime.datetime(2025, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)
ACCOUNT = "123456789012"
PASSWORD = "Pw-not-to-be-printed-7f3a9c"  # noqa: S105 - a canary, not a secret

DIALER = "on ~campaign:* resetchannels -@all +@read +@connection"
ELASTICACHE = {
    "replication_group_id": "voice-campaign-prod",
    "engine": "redis",
    "engine_version": "7.0",
    "node_type": "cache.t4g.medium",
    "nodes": 2,
    "multi_az": True,
    "port": 6379,
    "at_rest_encryption": True,
    "transit_encryption": True,
    "snapshot_retention_days": 7,
    "snapshot_window": "03:00-04:00",
    "maintenance_window": "sun:05:00-sun:06:00",
    "auto_minor_version_upgrade": True,
    "parameter_group": {
        "name": "voice-campaign-prod-redis7-1a2b3c4d",
        "parameters": {"maxmemory-policy": "allkeys-lru"},
    },
    "user_group_id": "voice-campaign-prod",
    "users": [
        {
            "user_id": "voice-campaign-prod-default",
            "user_name": "default",
            "access_string": "off -@all",
        },
        {
            "user_id": "voice-campaign-prod-campaign-dialer",
            "user_name": "campaign-dialer",
            "access_string": DIALER,
        },
    ],
}
BACKUP = {
    "bucket": None,
    "bucket_prefix": "voice-campaign-dev-redis-backups-",
    "prefix": "voice-campaign/dev/",
    "max_age_hours": 26,
}
METRICS = {
    "namespace": "VoiceCampaign/Redis",
    "metric": "Up",
    "dimensions": [
        {"Name": "Name", "Value": "voice-campaign"},
        {"Name": "Environment", "Value": "dev"},
    ],
    "max_age_seconds": 180,
}


def fake_session():
    """A session with made-up keys: a Stubber answers, nothing is signed for real."""
    return boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's conventional fake key
        region_name="us-east-1",
    )


def request(**parts):
    out = {"env": "prod", "mode": "elasticache", "region": "us-east-1", "name": "voice-campaign"}
    out.update({"backup": None, "metrics": None, "elasticache": None})
    out.update(parts)
    return copy.deepcopy(out)


def replication_group():
    return {
        "ReplicationGroupId": "voice-campaign-prod",
        "Status": "available",
        "MemberClusters": ["voice-campaign-prod-001", "voice-campaign-prod-002"],
        "NodeGroups": [
            {
                "NodeGroupId": "0001",
                "Status": "available",
                "PrimaryEndpoint": {"Address": "master.example", "Port": 6379},
            }
        ],
        "AutomaticFailover": "enabled",
        "MultiAZ": "enabled",
        "SnapshotRetentionLimit": 7,
        "SnapshotWindow": "03:00-04:00",
        "CacheNodeType": "cache.t4g.medium",
        "AuthTokenEnabled": False,
        "TransitEncryptionEnabled": True,
        "AtRestEncryptionEnabled": True,
        "UserGroupIds": ["voice-campaign-prod"],
    }


def cache_cluster():
    return {
        "CacheClusterId": "voice-campaign-prod-001",
        "Engine": "redis",
        "EngineVersion": "7.0.7",
        "PreferredMaintenanceWindow": "sun:05:00-sun:06:00",
        "AutoMinorVersionUpgrade": True,
        "CacheParameterGroup": {
            "CacheParameterGroupName": "voice-campaign-prod-redis7-1a2b3c4d",
            "ParameterApplyStatus": "in-sync",
            "CacheNodeIdsToReboot": [],
        },
    }


def user(user_id, name, access_string):
    return {
        "UserId": user_id,
        "UserName": name,
        "Status": "active",
        "Engine": "redis",
        "AccessString": access_string,
        "UserGroupIds": ["voice-campaign-prod"],
        "Authentication": {"Type": "password", "PasswordCount": 1},
    }


class Aws:
    """A session with the script's hook, its four clients, and a Stubber on each."""

    def __init__(self):
        self.operations = []
        self.sent = []
        session = fake_session()
        v.guard(session, self.operations)
        session.events.register("before-send.*.*", lambda request, **_: self.sent.append(request))
        self.clients = {n: session.client(n) for n in ("sts", "s3", "cloudwatch", "elasticache")}
        self.stubs = {n: Stubber(c) for n, c in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()
        self.stubs["sts"].add_response(
            "get_caller_identity",
            {"UserId": "AIDATEST", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"},
        )

    def ok(self, service, method, response, params=None):
        self.stubs[service].add_response(method, response, params)

    def error(self, service, method, code, status=400, message="refused"):
        self.stubs[service].add_client_error(
            method, service_error_code=code, service_message=message, http_status_code=status
        )

    def elasticache(self, group=None, cluster=None, parameters=None, user_ids=None, users=None):
        ec = "elasticache"
        self.ok(
            ec,
            "describe_replication_groups",
            {"ReplicationGroups": [group or replication_group()]},
            {"ReplicationGroupId": "voice-campaign-prod"},
        )
        self.ok(
            ec,
            "describe_cache_clusters",
            {"CacheClusters": [cluster or cache_cluster()]},
            {"CacheClusterId": "voice-campaign-prod-001", "ShowCacheNodeInfo": False},
        )
        values = {"maxmemory-policy": "allkeys-lru", "maxmemory-samples": "3"}
        values.update(parameters or {})
        self.ok(
            ec,
            "describe_cache_parameters",
            {"Parameters": [{"ParameterName": k, "ParameterValue": x} for k, x in values.items()]},
            {"CacheParameterGroupName": "voice-campaign-prod-redis7-1a2b3c4d"},
        )
        ids = ["voice-campaign-prod-default", "voice-campaign-prod-campaign-dialer"]
        self.ok(
            ec,
            "describe_user_groups",
            {
                "UserGroups": [
                    {
                        "UserGroupId": "voice-campaign-prod",
                        "Status": "active",
                        "Engine": "redis",
                        "UserIds": ids if user_ids is None else user_ids,
                    }
                ]
            },
            {"UserGroupId": "voice-campaign-prod"},
        )
        live = users or {
            "voice-campaign-prod-default": user(ids[0], "default", "off -@all"),
            "voice-campaign-prod-campaign-dialer": user(ids[1], "campaign-dialer", DIALER),
        }
        for user_id in ids:
            if live.get(user_id) is None:
                self.error(ec, "describe_users", "UserNotFound", 404, f"User {user_id} not found")
            else:
                self.ok(ec, "describe_users", {"Users": [live[user_id]]}, {"UserId": user_id})

    def run(self, req):
        out = v.verify(req, self.clients, self.operations, now=NOW)
        json.dumps(out)  # what main prints: it must serialise
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()
        return out

    def __del__(self):
        for stub in getattr(self, "stubs", {}).values():
            stub.deactivate()


def items(out):
    return [(f["area"], f["item"]) for f in out["findings"]]


class ElastiCache(unittest.TestCase):
    def setUp(self):
        self.aws = Aws()

    def tearDown(self):
        self.assertEqual(self.aws.sent, [], "a request left the process")

    def test_a_clean_environment_has_no_findings(self):
        self.aws.elasticache()
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(out["findings"], [])
        self.assertEqual(out["trouble"], [])
        self.assertGreater(out["checked"], 10)
        self.assertEqual(
            out["operations"],
            [
                "sts:GetCallerIdentity",
                "elasticache:DescribeReplicationGroups",
                "elasticache:DescribeCacheClusters",
                "elasticache:DescribeCacheParameters",
                "elasticache:DescribeUserGroups",
                "elasticache:DescribeUsers",
                "elasticache:DescribeUsers",
            ],
        )

    def test_a_changed_node_type(self):
        group = replication_group()
        group["CacheNodeType"] = "cache.t4g.small"
        self.aws.elasticache(group=group)
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(
            out["findings"],
            [
                {
                    "target": "voice-campaign-prod",
                    "area": "replication-group",
                    "item": "node_type",
                    "blueprint": "cache.t4g.medium",
                    "live": "cache.t4g.small",
                    "fix": "terraform-apply",
                    "hint": "",
                }
            ],
        )

    def test_a_node_type_pending_for_the_maintenance_window_is_not_an_apply_to_make(self):
        group = replication_group()
        group["CacheNodeType"] = "cache.t4g.small"
        cluster = cache_cluster()
        cluster["PendingModifiedValues"] = {"CacheNodeType": "cache.t4g.medium"}
        self.aws.elasticache(group=group, cluster=cluster)
        out = self.aws.run(request(elasticache=ELASTICACHE))
        (f,) = out["findings"]
        self.assertEqual((f["item"], f["fix"]), ("node_type", "investigate"))
        self.assertIn("pending", f["hint"])

    def test_the_replication_group_settings_are_all_compared(self):
        group = replication_group()
        group.update(
            MultiAZ="disabled",
            AutomaticFailover="disabled",
            MemberClusters=["voice-campaign-prod-001"],
            SnapshotRetentionLimit=1,
            TransitEncryptionEnabled=False,
            UserGroupIds=[],
        )
        group["NodeGroups"][0]["PrimaryEndpoint"]["Port"] = 6380
        self.aws.elasticache(group=group)
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(
            sorted(f["item"] for f in out["findings"]),
            sorted(
                [
                    "multi_az",
                    "automatic_failover",
                    "nodes",
                    "snapshot_retention_days",
                    "transit_encryption",
                    "port",
                    "user_group",
                ]
            ),
        )
        by_item = {f["item"]: f for f in out["findings"]}
        self.assertEqual(
            (by_item["multi_az"]["blueprint"], by_item["multi_az"]["live"]), ("true", "disabled")
        )
        self.assertEqual(by_item["user_group"]["live"], "none")

    def test_an_auth_token_is_a_finding(self):
        group = replication_group()
        group["AuthTokenEnabled"] = True
        self.aws.elasticache(group=group)
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(items(out), [("replication-group", "auth_token")])
        self.assertEqual(
            (out["findings"][0]["blueprint"], out["findings"][0]["live"]), ("false", "true")
        )

    def test_a_changed_parameter_and_one_pending_reboot(self):
        cluster = cache_cluster()
        cluster["CacheParameterGroup"]["ParameterApplyStatus"] = "pending-reboot"
        self.aws.elasticache(cluster=cluster, parameters={"maxmemory-policy": "volatile-lru"})
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(
            items(out),
            [("parameter-group", "apply status"), ("parameter-group", "maxmemory-policy")],
        )
        pending, changed = out["findings"]
        self.assertEqual(pending["fix"], "investigate")
        self.assertEqual(pending["live"], "pending-reboot")
        self.assertEqual((changed["blueprint"], changed["live"]), ("allkeys-lru", "volatile-lru"))
        self.assertEqual(changed["target"], "voice-campaign-prod-redis7-1a2b3c4d")
        self.assertEqual(changed["fix"], "terraform-apply")

    def test_an_older_engine_and_other_cluster_settings(self):
        cluster = cache_cluster()
        cluster.update(
            EngineVersion="6.2.6",
            PreferredMaintenanceWindow="mon:05:00-mon:06:00",
            AutoMinorVersionUpgrade=False,
        )
        cluster["CacheParameterGroup"]["CacheParameterGroupName"] = "default.redis6.x"
        self.aws.elasticache(cluster=cluster)
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(
            [f["item"] for f in out["findings"]],
            [
                "engine_version",
                "maintenance_window",
                "auto_minor_version_upgrade",
                "parameter_group",
            ],
        )

    def test_a_user_missing_from_the_user_group(self):
        self.aws.elasticache(user_ids=["voice-campaign-prod-default", "someone-else"])
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(
            [(f["area"], f["item"], f["live"]) for f in out["findings"]],
            [
                ("user-group", "user campaign-dialer", "missing"),
                ("user-group", "other users", "someone-else"),
            ],
        )
        self.assertTrue(all(f["fix"] == "terraform-apply" for f in out["findings"]))

    def test_a_changed_access_string(self):
        users = {
            "voice-campaign-prod-default": user(
                "voice-campaign-prod-default", "default", "off -@all"
            ),
            "voice-campaign-prod-campaign-dialer": user(
                "voice-campaign-prod-campaign-dialer", "campaign-dialer", "on ~* +@all"
            ),
        }
        self.aws.elasticache(users=users)
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(items(out), [("user", "user campaign-dialer access string")])
        self.assertEqual(out["findings"][0]["blueprint"], DIALER)
        self.assertEqual(out["findings"][0]["live"], "on ~* +@all")

    def test_an_access_string_in_another_order_matches(self):
        users = {
            "voice-campaign-prod-default": user(
                "voice-campaign-prod-default", "default", "off  -@all"
            ),
            "voice-campaign-prod-campaign-dialer": user(
                "voice-campaign-prod-campaign-dialer",
                "campaign-dialer",
                "on resetchannels ~campaign:* -@all +@connection +@read",
            ),
        }
        self.aws.elasticache(users=users)
        self.assertEqual(self.aws.run(request(elasticache=ELASTICACHE))["findings"], [])

    def test_a_missing_user_an_inactive_one_and_no_password(self):
        default = user("voice-campaign-prod-default", "default", "off -@all")
        default.update(Status="modifying", Authentication={"Type": "no-password"})
        self.aws.elasticache(
            users={
                "voice-campaign-prod-default": default,
                "voice-campaign-prod-campaign-dialer": None,
            }
        )
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(
            [(f["item"], f["live"]) for f in out["findings"]],
            [
                ("user default status", "modifying"),
                ("user default authentication", "no-password"),
                ("user campaign-dialer", "missing"),
            ],
        )
        self.assertEqual(out["trouble"], [])

    def test_a_missing_replication_group_is_one_finding(self):
        self.aws.error(
            "elasticache", "describe_replication_groups", "ReplicationGroupNotFoundFault", 404
        )
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(
            [(f["item"], f["blueprint"], f["live"], f["fix"]) for f in out["findings"]],
            [("replication group", "exists", "missing", "terraform-apply")],
        )
        self.assertEqual(out["operations"][-1], "elasticache:DescribeReplicationGroups")
        self.assertEqual(out["trouble"], [])

    def test_access_denied_names_the_operation_and_the_rest_goes_on(self):
        ec = "elasticache"
        self.aws.ok(ec, "describe_replication_groups", {"ReplicationGroups": [replication_group()]})
        self.aws.ok(ec, "describe_cache_clusters", {"CacheClusters": [cache_cluster()]})
        self.aws.error(ec, "describe_cache_parameters", "AccessDenied", 403, "not allowed")
        self.aws.error(ec, "describe_user_groups", "InternalFailure", 500, "not yet implemented")
        self.aws.ok(
            ec,
            "describe_users",
            {"Users": [user("voice-campaign-prod-default", "default", "off -@all")]},
        )
        self.aws.ok(
            ec,
            "describe_users",
            {"Users": [user("voice-campaign-prod-campaign-dialer", "campaign-dialer", DIALER)]},
        )
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(
            [(t["kind"], t["operation"]) for t in out["trouble"]],
            [
                ("access-denied", "elasticache:DescribeCacheParameters"),
                ("aws", "elasticache:DescribeUserGroups"),
            ],
        )
        self.assertIn("not allowed", out["trouble"][0]["detail"])
        self.assertEqual(out["findings"], [])
        self.assertEqual(out["operations"][-2:], ["elasticache:DescribeUsers"] * 2)

    def test_members_moto_does_not_materialise_are_trouble_not_a_crash(self):
        ec = "elasticache"
        self.aws.ok(ec, "describe_replication_groups", {"ReplicationGroups": [replication_group()]})
        self.aws.error(ec, "describe_cache_clusters", "CacheClusterNotFound", 404, "not found")
        self.aws.error(ec, "describe_cache_parameters", "InternalFailure", 500)
        self.aws.ok(
            ec,
            "describe_users",
            {"Users": [user("voice-campaign-prod-default", "default", "off -@all")]},
        )
        self.aws.ok(
            ec,
            "describe_users",
            {"Users": [user("voice-campaign-prod-campaign-dialer", "campaign-dialer", DIALER)]},
        )

        def html_500(**_):
            # moto_server answers an unimplemented action with Flask's HTML error page.
            raise botocore.parsers.ResponseParserError(
                "Unable to parse response, invalid XML received: b'<!doctype html>\\n"
                "<title>500 Internal Server Error</title>'"
            )

        self.aws.clients[ec].describe_user_groups = html_500
        out = self.aws.run(request(elasticache=ELASTICACHE))
        self.assertEqual(
            [(t["kind"], t["operation"]) for t in out["trouble"]],
            [
                ("aws", "elasticache:DescribeCacheClusters"),
                ("aws", "elasticache:DescribeCacheParameters"),
                ("aws", "elasticache:DescribeUserGroups"),
            ],
        )
        self.assertIn("500 Internal Server Error", out["trouble"][2]["detail"])
        self.assertNotIn("\n", out["trouble"][2]["detail"])
        self.assertEqual(out["findings"], [])
        # The replication group and the users were still compared.
        self.assertGreater(out["checked"], 15)


class EngineVersion(unittest.TestCase):
    def test_same_major_and_at_least_the_minor(self):
        for live in ["7.0", "7.0.7", "7.1", "7.1.0", "7.2.4"]:
            self.assertTrue(v.version_matches("7.0", live), live)
        for live in ["6.2", "6.2.6", "8.0", "8.0.1", "", None, "redis"]:
            self.assertFalse(v.version_matches("7.0", live), live)
        self.assertTrue(v.version_matches("7", "7.1"))
        self.assertFalse(v.version_matches("7.1", "7.0.7"))
        self.assertTrue(v.version_matches("8.1", "8.1"))


class BackupAndMetrics(unittest.TestCase):
    def setUp(self):
        self.aws = Aws()
        self.bucket = BACKUP["bucket_prefix"] + ACCOUNT

    def tearDown(self):
        self.assertEqual(self.aws.sent, [], "a request left the process")

    def objects(self, *ages_hours):
        contents = []
        for i, hours in enumerate(ages_hours):
            when = NOW - datetime.timedelta(hours=hours)
            key = f"voice-campaign/dev/redis-{i}/dump-{when:%Y%m%dT%H%M%SZ}.rdb"
            contents.append({"Key": key, "LastModified": when, "Size": 10})
            contents.append({"Key": key + ".sha256", "LastModified": NOW, "Size": 80})
        self.aws.ok(
            "s3",
            "list_objects_v2",
            {"Contents": contents, "IsTruncated": False},
            {"Bucket": self.bucket, "Prefix": "voice-campaign/dev/"},
        )

    def test_a_fresh_backup_in_the_account_bucket(self):
        self.objects(40, 2.5)
        out = self.aws.run(request(backup=BACKUP))
        self.assertEqual((out["checked"], out["findings"], out["trouble"]), (1, [], []))
        self.assertEqual(out["operations"], ["sts:GetCallerIdentity", "s3:ListObjectsV2"])

    def test_a_stale_backup(self):
        self.objects(40, 30 + 5 / 60)
        out = self.aws.run(request(backup=BACKUP))
        (f,) = out["findings"]
        self.assertEqual(f["target"], f"s3://{self.bucket}/voice-campaign/dev/")
        self.assertEqual(
            (f["area"], f["item"], f["fix"]), ("backup", "newest backup", "investigate")
        )
        self.assertEqual(f["blueprint"], "at most 26h old")
        self.assertTrue(
            f["live"].startswith("30h 5m old (key voice-campaign/dev/redis-1/"), f["live"]
        )
        self.assertIn("journalctl -u redis-backup.service", f["hint"])

    def test_each_hosts_newest_backup_is_handed_back(self):
        self.objects(40, 2.5)
        out = self.aws.run(request(backup=BACKUP))
        self.assertEqual(sorted(out["backups"]), ["redis-0", "redis-1"])
        self.assertEqual(out["backups"]["redis-0"]["age_s"], 40 * 3600)
        self.assertEqual(out["backups"]["redis-1"]["age_s"], int(2.5 * 3600))

    def test_an_old_dump_uploaded_again_is_still_old_data(self):
        # Its name says when it was taken; S3's time says only when it was copied.
        key = "voice-campaign/dev/redis-0/dump-20250101T000000Z.rdb"
        self.aws.ok(
            "s3",
            "list_objects_v2",
            {
                "Contents": [{"Key": key, "LastModified": NOW, "Size": 10}],
                "IsTruncated": False,
            },
            {"Bucket": self.bucket, "Prefix": "voice-campaign/dev/"},
        )
        out = self.aws.run(request(backup=BACKUP))
        (f,) = out["findings"]
        self.assertEqual((f["area"], f["item"]), ("backup", "newest backup"))
        self.assertIn(key, f["live"])

    def test_no_backup_at_all(self):
        self.aws.ok("s3", "list_objects_v2", {"IsTruncated": False, "KeyCount": 0})
        out = self.aws.run(request(backup=BACKUP))
        self.assertEqual([f["live"] for f in out["findings"]], ["no backup"])

    def test_an_explicit_bucket_that_does_not_exist(self):
        self.aws.error("s3", "list_objects_v2", "NoSuchBucket", 404, "The bucket does not exist")
        out = self.aws.run(request(backup=dict(BACKUP, bucket="explicit-bucket-name")))
        (f,) = out["findings"]
        self.assertEqual(f["live"], "bucket explicit-bucket-name does not exist")
        self.assertEqual(f["fix"], "terraform-apply")
        self.assertEqual(out["trouble"], [])

    def metric(self, *ages_seconds):
        stamps = [NOW - datetime.timedelta(seconds=s) for s in ages_seconds]
        self.aws.ok(
            "cloudwatch",
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": "up",
                        "Label": "Up",
                        "Timestamps": stamps,
                        "Values": [1.0] * len(stamps),
                        "StatusCode": "Complete",
                    }
                ]
            },
        )

    def test_a_fresh_metric(self):
        self.metric(120, 180, 240)
        out = self.aws.run(request(metrics=METRICS))
        self.assertEqual((out["checked"], out["findings"], out["trouble"]), (1, [], []))
        self.assertEqual(out["operations"], ["sts:GetCallerIdentity", "cloudwatch:GetMetricData"])

    def test_a_metric_no_longer_published(self):
        self.metric(600, 660)
        out = self.aws.run(request(metrics=METRICS))
        (f,) = out["findings"]
        self.assertEqual(
            (f["target"], f["area"], f["item"]), ("VoiceCampaign/Redis", "metrics", "Up published")
        )
        self.assertIn("540s old", f["live"])
        self.assertIn("journalctl -u redis-metrics.service", f["hint"])

    def test_a_metric_never_published(self):
        self.metric()
        out = self.aws.run(request(metrics=METRICS))
        self.assertEqual(
            [(f["live"], f["fix"]) for f in out["findings"]], [("no datapoint", "investigate")]
        )

    def test_the_metric_query_is_the_alarm_rule(self):
        seen = []
        self.aws.clients["cloudwatch"].meta.events.register(
            "before-parameter-build.cloudwatch.GetMetricData",
            lambda params, **_: seen.append(params),
        )
        self.metric(60)
        v.verify(request(metrics=METRICS), self.aws.clients, self.aws.operations, now=NOW)
        (params,) = seen
        self.assertEqual(params["EndTime"] - params["StartTime"], datetime.timedelta(hours=1))
        stat = params["MetricDataQueries"][0]["MetricStat"]
        self.assertEqual(stat["Metric"]["Dimensions"], METRICS["dimensions"])
        self.assertEqual(stat["Metric"]["MetricName"], "Up")


class Guards(unittest.TestCase):
    def test_a_mutating_call_is_refused_before_any_request(self):
        aws = Aws()  # nothing queued for elasticache or s3: a stub reached would raise
        with self.assertRaises(v.ReadOnlyViolation) as e:
            aws.clients["elasticache"].modify_replication_group(
                ReplicationGroupId="voice-campaign-prod", CacheNodeType="cache.t4g.small"
            )
        self.assertEqual(e.exception.operation, "elasticache:ModifyReplicationGroup")
        with self.assertRaises(v.ReadOnlyViolation):
            aws.clients["s3"].put_object(Bucket="b", Key="k", Body=b"x")
        with self.assertRaises(v.ReadOnlyViolation):
            aws.clients["sts"].assume_role(RoleArn="arn:aws:iam::1:role/r", RoleSessionName="s")
        self.assertEqual(aws.sent, [])
        self.assertEqual(aws.operations, [])

    def test_a_mutating_call_is_refused_without_a_stubber_too(self):
        operations, sent = [], []
        session = fake_session()
        v.guard(session, operations)
        session.events.register("before-send.*.*", lambda request, **_: sent.append(request))
        ec = session.client("elasticache", endpoint_url="http://127.0.0.1:9")
        with self.assertRaises(v.ReadOnlyViolation):
            ec.delete_replication_group(ReplicationGroupId="voice-campaign-prod")
        self.assertEqual((sent, operations), ([], []))

    def test_a_refused_call_inside_verify_is_read_only_trouble(self):
        aws = Aws()
        real = aws.clients["sts"].get_caller_identity
        aws.clients["sts"].get_caller_identity = lambda: aws.clients["sts"].assume_role(
            RoleArn="arn:aws:iam::1:role/r", RoleSessionName="s"
        )
        out = v.verify(request(backup=BACKUP), aws.clients, aws.operations, now=NOW)
        aws.clients["sts"].get_caller_identity = real
        self.assertEqual(out["trouble"][0]["kind"], "read-only")

    def test_only_reads_pass_the_rule(self):
        for name in ["DescribeUsers", "ListObjectsV2", "GetMetricData", "HeadObject"]:
            self.assertTrue(v.READ_ONLY.match(name), name)
        for name in ["ModifyUser", "PutObject", "Describe", "Getaway", "DeleteUser", "CopyObject"]:
            self.assertFalse(v.READ_ONLY.match(name), name)

    def test_no_credentials_stops_the_run(self):
        env = {k: x for k, x in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_EC2_METADATA_DISABLED="true",
            AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
            AWS_CONFIG_FILE="/nonexistent/config",
        )
        with mock.patch.dict(os.environ, env, clear=True):
            operations = []
            session = boto3.Session(region_name="eu-west-3")
            v.guard(session, operations)
            sent = []
            session.events.register("before-send.*.*", lambda request, **_: sent.append(request))
            out = v.verify(
                request(
                    region="eu-west-3", backup=BACKUP, metrics=METRICS, elasticache=ELASTICACHE
                ),
                v.make_clients(session),
                operations,
                now=NOW,
            )
        self.assertEqual(sent, [])
        self.assertEqual(out["operations"], ["sts:GetCallerIdentity"])
        self.assertEqual(out["checked"], 0)
        (t,) = out["trouble"]
        self.assertEqual((t["kind"], t["operation"]), ("no-credentials", "sts:GetCallerIdentity"))
        self.assertIn("region eu-west-3", t["detail"])
        self.assertIn("AWS_ACCESS_KEY_ID", t["detail"])

    def test_nothing_password_like_is_printed(self):
        aws = Aws()
        group = replication_group()
        group["AuthTokenEnabled"] = True
        aws.elasticache(group=group, user_ids=[])
        req = request(elasticache=ELASTICACHE)
        req["elasticache"]["auth_token"] = PASSWORD
        req["elasticache"]["users"][1]["password"] = PASSWORD
        out = json.dumps(aws.run(req))
        self.assertTrue(json.loads(out)["findings"])
        self.assertNotIn(PASSWORD, out)
        self.assertNotIn("testing", out)  # the access key
        self.assertFalse(any("secretsmanager" in op for op in json.loads(out)["operations"]))


class Main(unittest.TestCase):
    def test_an_unusable_request_is_a_usage_error(self):
        with mock.patch("sys.stdout") as stdout, mock.patch("sys.stderr"):
            self.assertEqual(v.main(["redis_verify_aws.py", "--request", "{not json"]), 2)
            self.assertEqual(v.main(["redis_verify_aws.py", "--request", "[]"]), 2)
        stdout.write.assert_not_called()

    def test_main_prints_one_json_object(self):
        printed = []
        fake = {"checked": 0, "findings": [], "trouble": [], "operations": []}
        with (
            mock.patch.object(v, "verify", lambda *_a, **_k: fake),
            mock.patch("builtins.print", lambda *a, **_: printed.append(a[0])),
        ):
            self.assertEqual(v.main(["x", "--request", json.dumps(request())]), 0)
        self.assertEqual([json.loads(p) for p in printed], [fake])

    def test_an_unexpected_error_is_still_one_json_object(self):
        printed = []

        def boom(*_a, **_k):
            raise botocore.exceptions.ProfileNotFound(profile="nope")

        with (
            mock.patch.object(v, "verify", boom),
            mock.patch("builtins.print", lambda *a, **_: printed.append(a[0])),
        ):
            self.assertEqual(v.main(["x", "--request", json.dumps(request())]), 0)
        (out,) = [json.loads(p) for p in printed]
        self.assertEqual(out["trouble"][0]["kind"], "aws")
        self.assertIn("nope", out["trouble"][0]["detail"])


if __name__ == "__main__":
    unittest.main()
