"""Unit tests of ansible/redis_password.py, the staged rotation (run on the controller).

The ElastiCache side cannot run on moto (it keeps no user passwords to check), so a fake
Secrets Manager and a fake ElastiCache record what the script hands to each, in order:
a consumer's own ElastiCache user must accept the new password before any consumer can
read it (`add`), and keep the current one alone before the retiring label goes.
"""

import os
import sys
import unittest

ANSIBLE = os.path.join(os.path.dirname(__file__), "..", "..", "templates", "files", "ansible")
sys.path.insert(0, os.path.abspath(ANSIBLE))

import redis_password  # noqa: E402


class FakeSecrets:
    """Versions and labels of one secret, as Secrets Manager keeps them."""

    def __init__(self):
        self.values = {"v1": "current-pw"}
        self.labels = {"AWSCURRENT": "v1"}
        self.log = []

    def list_secret_version_ids(self, **_):
        versions = {}
        for label, v in self.labels.items():
            versions.setdefault(v, []).append(label)
        return {"Versions": [{"VersionId": v, "VersionStages": s} for v, s in versions.items()]}

    def put_secret_value(self, SecretId, ClientRequestToken, SecretString, VersionStages):
        self.values[ClientRequestToken] = SecretString
        for label in VersionStages:
            self.labels[label] = ClientRequestToken
        self.log.append(("put", VersionStages))

    def update_secret_version_stage(
        self, SecretId, VersionStage, MoveToVersionId=None, RemoveFromVersionId=None
    ):
        if RemoveFromVersionId and self.labels.get(VersionStage) == RemoveFromVersionId:
            del self.labels[VersionStage]
        if MoveToVersionId:
            self.labels[VersionStage] = MoveToVersionId
        self.log.append(("label", VersionStage, MoveToVersionId, RemoveFromVersionId))

    def get_secret_value(self, SecretId, VersionStage):
        return {"SecretString": self.values[self.labels[VersionStage]]}


class FakeElastiCache:
    def __init__(self, fail=False):
        self.fail = fail
        self.passwords = None
        self.calls = []

    def modify_user(self, UserId, AuthenticationMode):
        self.calls.append((UserId, list(AuthenticationMode["Passwords"])))
        if self.fail:
            raise RuntimeError("InvalidUserState")
        self.passwords = list(AuthenticationMode["Passwords"])

    def describe_users(self, UserId):
        return {"Users": [{"UserId": UserId, "Status": "active"}]}


class ConsumerUserRotation(unittest.TestCase):
    def setUp(self):
        self.sm = FakeSecrets()
        self.ec = FakeElastiCache()
        self._client = redis_password.boto3.client
        redis_password.boto3.client = lambda name, **_: {"elasticache": self.ec}[name]

    def tearDown(self):
        redis_password.boto3.client = self._client

    def run_step(self, step):
        ns = redis_password.argparse.Namespace(
            step=step,
            secret_id="voice/prod/redis-password/dialer",  # noqa: S106 (a name, not a password)
            region="us-east-1",
            length=32,
            specials=False,
            replication_group_id=None,
            elasticache_user_id="voice-prod-dialer",
        )
        return redis_password.run(ns, self.sm)

    def test_add_gives_the_user_both_passwords_and_retire_only_the_current(self):
        self.assertEqual(self.run_step("add"), 0)
        new = self.sm.values[self.sm.labels["AWSPENDING"]]
        self.assertEqual(self.ec.passwords, ["current-pw", new])
        self.assertEqual(self.run_step("promote"), 0)
        self.assertEqual(self.sm.get_secret_value("x", "AWSCURRENT")["SecretString"], new)
        self.assertEqual(self.run_step("retire"), 0)
        self.assertEqual(self.ec.passwords, [new])
        self.assertNotIn(redis_password.RETIRING, self.sm.labels)

    def test_a_refused_password_is_handed_to_nobody(self):
        self.ec.fail = True
        with self.assertRaises(RuntimeError):
            self.run_step("add")
        self.assertNotIn("AWSPENDING", self.sm.labels)
        self.assertEqual(self.sm.labels, {"AWSCURRENT": "v1"})

    def test_the_two_elasticache_targets_exclude_each_other(self):
        with self.assertRaises(SystemExit):
            redis_password.main(
                [
                    *["redis_password.py", "add", "--secret-id", "s"],
                    *["--replication-group-id", "g", "--elasticache-user-id", "u"],
                ]
            )


if __name__ == "__main__":
    unittest.main()
