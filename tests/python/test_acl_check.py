"""`redis_admin.py acl-check`: the role's check of what each Redis user may and may not
do, asked of a real redis-server (ACL DRYRUN). The server runs on a unix socket in a
private temporary directory and is stopped by its PID, also when a test fails."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ROLE_FILES = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "templates",
    "files",
    "ansible",
    "roles",
    "redis",
    "files",
)
sys.path.insert(0, os.path.abspath(ROLE_FILES))

import redis_admin  # noqa: E402

ADMIN_PASSWORD = "a" * 64

# The rules redis.conf.j2 renders (the shared application user, the role's users) and a
# consumer as the shipped blueprint gives it.
APP = (
    "~* &* +@all -@admin -@dangerous +info -script|flush -script|kill -script|debug "
    "-function|flush -function|delete -function|restore -function|kill"
)
DIALER = (
    "~campaign:* ~dialer:* resetchannels -@all +@read +@write +@transaction "
    "-@admin -@dangerous -keys -scan -randomkey"
)
VERIFY = "-@all +config|get +acl|getuser +acl|users +info +ping"


def spec(consumers):
    """What the role's task sends (tasks/main.yml), shortened."""
    return {
        "users": [
            {"name": "default", "deny": [["CONFIG", "SET", "maxmemory", "1"], ["SHUTDOWN"]]},
            {
                "name": "infragen-verify",
                "deny": [["CONFIG", "SET", "maxmemory", "1"], ["SET", "k", "1"], ["GET", "k"]],
            },
        ],
        "consumers": consumers,
        "consumer_deny": [
            ["CONFIG", "GET", "maxmemory"],
            ["FLUSHALL"],
            ["KEYS", "*"],
            ["SCAN", "0"],
            ["RANDOMKEY"],
        ],
    }


@unittest.skipUnless(
    shutil.which("redis-server") or os.environ.get("CI") or os.environ.get("INFRAGEN_TEST"),
    "redis-server is not installed (the README's test command installs it)",
)
class AclCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="infragen-acl-check-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.socket = os.path.join(self.dir, "redis.sock")
        self.password_file = os.path.join(self.dir, "admin.password")
        with open(self.password_file, "w", encoding="utf-8") as f:
            f.write(ADMIN_PASSWORD + "\n")

    def start(self, users):
        conf = os.path.join(self.dir, "redis.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(
                f'port 0\nunixsocket {self.socket}\nunixsocketperm 700\nsave ""\n'
                f"appendonly no\ndir {self.dir}\n"
                f"user infragen-admin reset on >{ADMIN_PASSWORD} ~* &* +@all\n"
            )
            for name, rules in users.items():
                f.write(f"user {name} reset on nopass {rules}\n")
        proc = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", conf],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def stop():
            proc.kill()
            proc.wait()

        self.addCleanup(stop)
        deadline = time.monotonic() + 10
        while True:
            try:
                sock, _ = redis_admin.connect_local(
                    self.socket, 0, "infragen-admin", ADMIN_PASSWORD
                )
                sock.close()
                return
            except (OSError, redis_admin.RedisError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def check(self, spec_):
        out = subprocess.run(
            [
                sys.executable,
                os.path.join(ROLE_FILES, "redis_admin.py"),
                "acl-check",
                "--port",
                "0",
                "--socket",
                self.socket,
                "--password-file",
                self.password_file,
            ],
            input=json.dumps(spec_),
            capture_output=True,
            text=True,
            check=False,
        )
        return out.returncode, out.stdout, out.stderr

    def test_the_rendered_rules_pass(self):
        self.start({"default": APP, "infragen-verify": VERIFY, "campaign-dialer": DIALER})
        rc, out, err = self.check(spec([{"name": "campaign-dialer", "acl": DIALER}]))
        self.assertEqual(rc, 0, out + err)
        report = json.loads(out)
        # 2 + 3 users' commands, 5 + GET and SET outside + the own key for the consumer.
        self.assertEqual(report, {"checked": 13, "unexpected": []})

    def test_a_too_broad_consumer_is_named_with_each_command(self):
        broad = "~campaign:* ~dialer:* +@all"
        self.start({"default": APP, "infragen-verify": VERIFY, "campaign-dialer": broad})
        rc, out, _ = self.check(spec([{"name": "campaign-dialer", "acl": broad}]))
        self.assertEqual(rc, 1)
        wrong = json.loads(out)["unexpected"]
        self.assertEqual(
            sorted(w["command"] for w in wrong),
            ["CONFIG GET maxmemory", "FLUSHALL", "KEYS *", "RANDOMKEY", "SCAN 0"],
        )
        self.assertTrue(all(w["user"] == "campaign-dialer" for w in wrong))
        self.assertTrue(all(w["expected"] == "refused" and w["reply"] == "OK" for w in wrong))

    def test_keys_outside_and_inside_the_patterns(self):
        # A live user that reaches every key fails the outside checks, unless its own
        # rules have a `*` pattern (allkeys, %R~*); one that cannot read its first
        # pattern fails the inside one.
        reader = DIALER.replace("~dialer:*", "~dialer:* %R~*")
        self.start(
            {
                "default": APP,
                "infragen-verify": VERIFY,
                "wide": DIALER + " ~*",
                "everything": DIALER.replace("~campaign:* ~dialer:*", "allkeys"),
                "reader": reader,
                "locked-out": DIALER.replace("+@read", ""),
            }
        )
        rc, out, _ = self.check(
            spec(
                [
                    {"name": "wide", "acl": DIALER},
                    {"name": "everything", "acl": "allkeys -@all +@read"},
                    {"name": "reader", "acl": reader},
                    {"name": "locked-out", "acl": DIALER},
                ]
            )
        )
        self.assertEqual(rc, 1)
        wrong = {(w["user"], w["command"]) for w in json.loads(out)["unexpected"]}
        self.assertEqual(
            wrong,
            {
                ("wide", "GET infragen-verify:outside-every-pattern"),
                ("wide", "SET infragen-verify:outside-every-pattern 1"),
                ("locked-out", "GET campaign:x"),
            },
        )

    def test_an_unknown_user_is_unexpected_and_a_wrong_password_runs_nothing(self):
        self.start({"default": APP, "infragen-verify": VERIFY})
        rc, out, _ = self.check(spec([{"name": "gone", "acl": DIALER}]))
        self.assertEqual(rc, 1)
        wrong = json.loads(out)["unexpected"]
        self.assertTrue(wrong and all(w["user"] == "gone" for w in wrong))
        self.assertTrue(all(w["reply"].startswith("(error)") for w in wrong))
        with open(self.password_file, "w", encoding="utf-8") as f:
            f.write("b" * 64 + "\n")
        rc, out, err = self.check(spec([]))
        self.assertEqual((rc, out), (2, ""))
        self.assertNotIn("b" * 64, err)
        self.assertNotIn(ADMIN_PASSWORD, err)


class AclChecks(unittest.TestCase):
    def test_patterns_of_every_form(self):
        checks = redis_admin.acl_checks(
            {"consumers": [{"name": "c", "acl": "%W~q:* %R~r:? -@all +@write"}]}
        )
        self.assertEqual(
            checks,
            [
                ("c", ["GET", "infragen-verify:outside-every-pattern"], False),
                ("c", ["SET", "infragen-verify:outside-every-pattern", "1"], False),
                ("c", ["SET", "q:x", "1"], True),
            ],
        )


if __name__ == "__main__":
    unittest.main()
