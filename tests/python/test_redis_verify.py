"""Unit tests of the role's redis_verify.py (what `infragen verify` runs on each host).

The booted-host test (tests/it/host.rs) drives it for real through the playbook; here:
each comparison on its own, with a fake server, and the reference server with the real
redis-server binary (which must be installed: the test command installs it).
"""

import glob
import os
import shutil
import sys
import tempfile
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
import redis_verify  # noqa: E402

RENDERED = """port 0
tls-port 6379
maxmemory 256mb
maxmemory-policy allkeys-lru
save 3600 1 300 100
disable-thp yes
user default reset off
user campaign-dialer reset on #%s ~campaign:* resetchannels -@all +@read +@write -@admin
""" % ("ab" * 32)


class Config:
    """CONFIG GET on a dict; anything else fails the test."""

    def __init__(self, running):
        self.running = running

    def __call__(self, f, *args):
        if [a.upper() for a in args[:2]] != ["CONFIG", "GET"]:
            raise AssertionError(f"not a CONFIG GET: {args}")
        key = args[2]
        return [key, self.running[key]] if key in self.running else []


RUNNING = {
    "port": "0",
    "tls-port": "6379",
    "maxmemory": "268435456",
    "maxmemory-policy": "allkeys-lru",
    "save": "3600 1 300 100",
    "disable-thp": "yes",
}


class CompareConfig(unittest.TestCase):
    def compare(self, running, disk_text):
        report = redis_verify.Report()
        wanted, _ = redis_admin.parse_conf(RENDERED)
        disk, _ = redis_admin.parse_conf(disk_text)
        old = redis_verify.command
        redis_verify.command = Config(running)
        try:
            redis_verify.compare_config(report, None, wanted, disk)
        finally:
            redis_verify.command = old
        return report

    def test_a_converged_server_matches(self):
        report = self.compare(RUNNING, RENDERED)
        self.assertEqual(report.findings, [])
        # Six directives, each against the running server and the file on disk.
        self.assertEqual(report.checked, 12)

    def test_a_live_config_set_is_found_with_its_fix(self):
        report = self.compare({**RUNNING, "maxmemory": "1073741824"}, RENDERED)
        [f] = report.findings
        self.assertEqual(
            (f["area"], f["item"], f["blueprint"], f["live"], f["fix"]),
            ("config", "maxmemory", "256mb", "1073741824", "config-set"),
        )
        self.assertEqual(f["on_disk"], "256mb")

    def test_a_setting_only_a_restart_applies_says_so(self):
        report = self.compare({**RUNNING, "disable-thp": "no"}, RENDERED)
        [f] = report.findings
        self.assertEqual(f["fix"], "playbook-restart")

    def test_an_edited_file_is_what_the_next_restart_loads(self):
        edited = RENDERED.replace("allkeys-lru", "noeviction") + "requirepass hunter2\n"
        report = self.compare(RUNNING, edited)
        got = sorted((f["area"], f["item"], f["on_disk"]) for f in report.findings)
        self.assertEqual(
            got,
            [
                ("config-file", "maxmemory-policy", "noeviction"),
                # A directive infragen does not write: its value may be a secret.
                ("config-file", "requirepass", "set (value not shown)"),
            ],
        )


class SubprocessAllowlist(unittest.TestCase):
    def test_only_systemctl_show_runs(self):
        for argv in (["rm", "-rf", "/"], ["systemctl", "stop", "redis-server"], ["sh", "-c", "x"]):
            with self.assertRaises(ValueError):
                redis_verify.run(argv)


class BackupGrace(unittest.TestCase):
    def test_the_setup_age_counts_until_the_first_backup(self):
        with tempfile.TemporaryDirectory() as d:
            since = os.path.join(d, "since")
            state = os.path.join(d, "last")
            with open(since, "w") as f:
                f.write("1000\n")
            s = {"backup_since_file": since, "backup_state_file": state}
            self.assertEqual(redis_verify.backup_grace(s, now=4600), 3600)
            with open(state, "w") as f:
                f.write("4000\n")
            self.assertIsNone(redis_verify.backup_grace(s, now=4600))
            self.assertIsNone(redis_verify.backup_grace({"backup_since_file": ""}, now=1))


class Versions(unittest.TestCase):
    def test_a_newer_patch_or_minor_runs_what_the_blueprint_asks(self):
        self.assertTrue(redis_verify.version_at_least("7.0.15", "7.0"))
        self.assertTrue(redis_verify.version_at_least("7.2.4", "7.0"))
        self.assertFalse(redis_verify.version_at_least("6.2.14", "7.0"))
        self.assertFalse(redis_verify.version_at_least("", "7.0"))


@unittest.skipUnless(
    shutil.which("redis-server") or os.environ.get("CI") or os.environ.get("INFRAGEN_TEST"),
    "redis-server is not installed (the README's test command installs it)",
)
class ReferenceServer(unittest.TestCase):
    """The rendered users as a real redis-server reads them, against a 'live' one."""

    def users(self, text):
        return redis_admin.parse_conf(text)[1]

    def test_changed_rules_and_extra_users_are_found_and_nothing_is_left(self):
        before = set(glob.glob(os.path.join(tempfile.gettempdir(), "infragen-verify-*")))
        wanted = self.users(RENDERED)
        drifted = self.users(
            RENDERED.replace("+@write -@admin", "+@all") + "user intruder reset on nopass +@all\n"
        )
        report = redis_verify.Report()
        with (
            redis_verify.reference_server("redis-server", drifted) as live,
            redis_verify.reference_server("redis-server", wanted) as ref,
        ):
            redis_verify.compare_users(report, live, ref, wanted)
        items = sorted(f["item"] for f in report.findings)
        self.assertIn("user campaign-dialer commands", items)
        self.assertIn("user intruder", items)
        self.assertNotIn("user default flags", items)
        # The reference user of the "live" stand-in is an extra user too: 3 in all.
        self.assertEqual(len(items), 3, items)
        for f in report.findings:
            self.assertNotIn("ab" * 32, f["blueprint"] + f["live"])
        after = set(glob.glob(os.path.join(tempfile.gettempdir(), "infragen-verify-*")))
        self.assertEqual(after, before, "the reference server's directory was left behind")

    def test_the_same_users_match(self):
        wanted = self.users(RENDERED)
        report = redis_verify.Report()
        with (
            redis_verify.reference_server("redis-server", wanted) as live,
            redis_verify.reference_server("redis-server", wanted) as ref,
        ):
            redis_verify.compare_users(report, live, ref, wanted)
        # Only the stand-in's own reference user differs.
        self.assertEqual(
            [f["item"] for f in report.findings], [f"user {redis_verify.REFERENCE_USER}"]
        )
        self.assertGreater(report.checked, 6)


if __name__ == "__main__":
    unittest.main()
