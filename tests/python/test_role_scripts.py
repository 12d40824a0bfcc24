"""Unit tests of the Python the redis role installs on the host (run as root there).

Run by tests/it/real_tools/python.rs (`python -m unittest`) with the scripts' directory
on sys.path. The live behaviour (a real Redis, S3 on moto, a booted host) is tested in
tests/it/real_tools/redis.rs and tests/it/host.rs; here: the logic a live test cannot
steer, such as replies cut short and saves that fail or wait behind an AOF rewrite.
"""

import io
import json
import os
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

import infragen_resp  # noqa: E402
import redis_backup  # noqa: E402
import redis_metrics  # noqa: E402
from infragen_resp import RedisError  # noqa: E402


def reply(data):
    return infragen_resp._read_reply(io.BytesIO(data))


class RespReplies(unittest.TestCase):
    def test_every_reply_type(self):
        self.assertEqual(reply(b"+OK\r\n"), "OK")
        self.assertEqual(reply(b":42\r\n"), 42)
        self.assertEqual(reply(b"$5\r\nhello\r\n"), "hello")
        self.assertIsNone(reply(b"$-1\r\n"))
        self.assertIsNone(reply(b"*-1\r\n"))
        self.assertEqual(reply(b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n"), ["save", ""])
        self.assertEqual(reply(b"*2\r\n*1\r\n:1\r\n+x\r\n"), [[1], "x"])
        with self.assertRaisesRegex(RedisError, "NOPERM"):
            reply(b"-NOPERM no\r\n")

    def test_a_reply_cut_short_is_an_error_never_a_value(self):
        for cut in [
            b"",
            b"+OK",
            b"$5\r\nhel",
            b"$5\r\nhello",
            b"$5\r\nhello\r",
            b"*2\r\n$4\r\nsave\r\n",
            b":4",
        ]:
            with self.subTest(cut=cut), self.assertRaises(RedisError):
                reply(cut)

    def test_malformed_replies_are_errors(self):
        for bad in [
            b"$abc\r\nxyz\r\n",
            b"*x\r\n",
            b":NaN\r\n",
            b"?what\r\n",
            b"$3\r\nabcde\r\n",
            b"$%d\r\n" % (infragen_resp.MAX_BULK + 1),
            b"*1\r\n" * 20 + b":1\r\n",
        ]:
            with self.subTest(bad=bad[:30]), self.assertRaises(RedisError):
                reply(bad)

    def test_commands_are_encoded_as_resp_arrays(self):
        class F(io.BytesIO):
            def flush(self):
                pass

        f = F()
        f.write(b"")
        written = io.BytesIO()
        f.write = written.write  # type: ignore[method-assign]
        f.read = io.BytesIO(b"+PONG\r\n").read  # type: ignore[method-assign]
        f.readline = io.BytesIO(b"+PONG\r\n").readline  # type: ignore[method-assign]
        self.assertEqual(infragen_resp.command(f, "SET", "k", 'a "quoted" value'), "PONG")
        self.assertEqual(
            written.getvalue(), b'*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16\r\na "quoted" value\r\n'
        )


class FakeRedis:
    """Scripted replies to the backup's commands: INFO persistence answers come from
    `infos` in turn (the last one repeats); BGSAVE from `bgsave`."""

    def __init__(self, infos, bgsave="Background saving started"):
        self.infos = list(infos)
        self.bgsave = bgsave
        self.calls = []

    def __call__(self, f, *args):
        self.calls.append(args)
        if args[0] == "INFO":
            info = self.infos.pop(0) if len(self.infos) > 1 else self.infos[0]
            return "\r\n".join(f"{k}:{v}" for k, v in info.items())
        if args[0] == "BGSAVE":
            if isinstance(self.bgsave, Exception):
                raise self.bgsave
            return self.bgsave
        raise AssertionError(f"unexpected command {args}")

    def bgsaves(self):
        return sum(1 for c in self.calls if c[0] == "BGSAVE")


def state(saves, in_progress=0, status="ok", aof=0):
    return {
        "rdb_saves": saves,
        "rdb_bgsave_in_progress": in_progress,
        "rdb_last_bgsave_status": status,
        "aof_rewrite_in_progress": aof,
        "aof_rewrite_scheduled": 0,
    }


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class BackupSave(unittest.TestCase):
    def run_save(self, fake, timeout=100):
        clock = Clock()
        old = redis_backup.command
        redis_backup.command = fake
        try:
            return redis_backup.save(None, clock=clock, sleep=clock.sleep, timeout=timeout)
        finally:
            redis_backup.command = old

    def test_a_save_that_succeeds(self):
        fake = FakeRedis([state(3), state(4, in_progress=1), state(4)])
        self.run_save(fake)
        self.assertEqual(fake.bgsaves(), 1)
        self.assertIn(("BGSAVE", "SCHEDULE"), fake.calls)

    def test_a_failed_save_is_reported_at_once_and_never_retried(self):
        # LASTSAVE never moves when a save fails: the old script asked again every second.
        fake = FakeRedis([state(3), state(4, in_progress=1), state(4, status="err")])
        with self.assertRaisesRegex(redis_backup.BackupError, "failed.*err"):
            self.run_save(fake)
        self.assertEqual(fake.bgsaves(), 1)
        self.assertLessEqual(len(fake.calls), 5)

    def test_a_save_waits_behind_an_aof_rewrite(self):
        fake = FakeRedis(
            [state(3)] + [state(3, aof=1)] * 20 + [state(4, in_progress=1), state(4)],
            bgsave="Background saving scheduled",
        )
        self.run_save(fake)
        self.assertEqual(fake.bgsaves(), 1)

    def test_a_save_already_running_is_the_one_awaited(self):
        busy = RedisError("ERR Background save already in progress")
        fake = FakeRedis([state(4, in_progress=1), state(4, in_progress=1), state(4)], bgsave=busy)
        self.run_save(fake)
        self.assertEqual(fake.bgsaves(), 1)

    def test_a_save_that_never_starts_fails_after_a_grace(self):
        fake = FakeRedis([state(3)], bgsave="Background saving scheduled")
        with self.assertRaisesRegex(redis_backup.BackupError, "never started"):
            self.run_save(fake)
        self.assertEqual(fake.bgsaves(), 1)

    def test_other_refusals_are_errors(self):
        fake = FakeRedis([state(3)], bgsave=RedisError("NOPERM this user has no permissions"))
        with self.assertRaisesRegex(redis_backup.BackupError, "refused"):
            self.run_save(fake)

    def test_a_save_that_never_finishes_times_out(self):
        fake = FakeRedis([state(3), state(4, in_progress=1)])
        with self.assertRaisesRegex(redis_backup.BackupError, "did not finish"):
            self.run_save(fake, timeout=30)


INFO = {
    "run_id": "r1",
    "maxmemory": "1000",
    "used_memory": "500",
    "connected_clients": "3",
    "rejected_connections": "22730",
    "evicted_keys": "51000",
    "total_commands_processed": "900000",
    "instantaneous_ops_per_sec": "12",
    "keyspace_hits": "800",
    "keyspace_misses": "200",
    "cmdstat_get": "calls=100,usec=500,usec_per_call=5.00",
}


class Metrics(unittest.TestCase):
    def names(self, data):
        return {name: value for name, value, _ in data}

    def test_the_first_run_sends_no_lifetime_counter_as_one_interval(self):
        data, saved = redis_metrics.metrics(INFO, {}, now=1000.0)
        sent = self.names(data)
        for counter in [
            "RejectedConnections",
            "EvictedKeys",
            "CacheHitRate",
            "LatencyAvgMicroseconds",
        ]:
            self.assertNotIn(counter, sent)
        self.assertEqual(sent["OpsPerSecond"], 12)
        self.assertEqual(sent["Up"], 1)
        self.assertEqual(saved["rejected_connections"], 22730)

    def test_the_next_run_sends_the_change(self):
        _, saved = redis_metrics.metrics(INFO, {}, now=1000.0)
        later = dict(INFO, rejected_connections="22731", evicted_keys="51010")
        later["total_commands_processed"] = "900600"
        data, _ = redis_metrics.metrics(later, saved, now=1060.0)
        sent = self.names(data)
        self.assertEqual(sent["RejectedConnections"], 1)
        self.assertEqual(sent["EvictedKeys"], 10)
        self.assertEqual(sent["OpsPerSecond"], 10.0)

    def test_after_a_restart_the_counters_count_from_zero(self):
        _, saved = redis_metrics.metrics(INFO, {}, now=1000.0)
        restarted = dict(INFO, run_id="r2", rejected_connections="2", evicted_keys="0")
        data, _ = redis_metrics.metrics(restarted, saved, now=1060.0)
        self.assertEqual(self.names(data)["RejectedConnections"], 2)


class BackupAge(unittest.TestCase):
    def setUp(self):
        import tempfile

        self.dir = tempfile.TemporaryDirectory()
        self.state = os.path.join(self.dir.name, "last")
        self.since = os.path.join(self.dir.name, "since")
        self.env = dict(os.environ)
        os.environ["BACKUP_STATE_FILE"] = self.state
        os.environ["BACKUP_SINCE_FILE"] = self.since

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.env)
        self.dir.cleanup()

    def test_before_the_first_backup_the_age_counts_from_the_setup(self):
        with open(self.since, "w") as f:
            f.write("1000\n")
        self.assertEqual(redis_metrics._backup_age(1600.0), 600.0)

    def test_the_newest_backup_wins(self):
        for path, value in ((self.since, "1000"), (self.state, "1500")):
            with open(path, "w") as f:
                f.write(value + "\n")
        self.assertEqual(redis_metrics._backup_age(1600.0), 100.0)

    def test_nothing_known_sends_nothing(self):
        self.assertIsNone(redis_metrics._backup_age(1600.0))


if __name__ == "__main__":
    unittest.main()


class FakeServer:
    """A running Redis as the live step sees it: CONFIG GET/SET on a dict (keys in
    `immutable` refuse SET), ACL GETUSER/SETUSER/DELUSER on a dict of users."""

    def __init__(self, config, users, immutable=()):
        self.config = dict(config)
        self.users = {name: list(rules) for name, rules in users.items()}
        self.immutable = set(immutable)
        self.calls = []

    def __call__(self, f, *args):
        self.calls.append(args)
        op = [a.upper() for a in args[:2]]
        if op == ["CONFIG", "GET"]:
            key = args[2]
            return [key, self.config[key]] if key in self.config else []
        if op == ["CONFIG", "SET"]:
            if args[2] in self.immutable:
                raise RedisError(f"ERR CONFIG SET failed (argument '{args[2]}')")
            self.config[args[2]] = args[3]
            return "OK"
        if op == ["ACL", "GETUSER"]:
            rules = self.users.get(args[2])
            if rules is None:
                return None
            return [
                "flags",
                ["on"],
                "passwords",
                sorted({r[1:] for r in rules if r.startswith("#")}),
                "commands",
                " ".join(r for r in rules if r[:1] in "+-~&"),
            ]
        if op == ["ACL", "SETUSER"]:
            self.users[args[2]] = list(args[3:])
            return "OK"
        if op == ["ACL", "DELUSER"]:
            return 1 if self.users.pop(args[2], None) is not None else 0
        raise AssertionError(f"unexpected command {args}")


CURRENT = """port 6379
disable-thp yes
user default reset on #aa ~* &* +@all
user infragen-admin reset on #bb ~* &* +@all
user infragen-backup reset on #cc -@all +bgsave
maxmemory 256mb
maxmemory-policy allkeys-lru
save 3600 1
save 300 100
appendfsync everysec
"""


class LiveChanges(unittest.TestCase):
    def live(self, server, wanted, current=CURRENT, dry_run=False):
        import redis_admin

        old = (redis_admin.connect, redis_admin.command, redis_admin.read_password)
        redis_admin.connect = lambda *a, **k: (io.BytesIO(), None)
        redis_admin.command = server
        redis_admin.read_password = lambda path: "pw"
        out = io.StringIO()
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
                f.write(current)
            sys_stdout, sys.stdout = sys.stdout, out
            try:
                rc = redis_admin.live(f.name, "pw-file", 6379, dry_run, wanted)
            finally:
                sys.stdout = sys_stdout
                os.unlink(f.name)
        finally:
            redis_admin.connect, redis_admin.command, redis_admin.read_password = old
        return rc, json.loads(out.getvalue())

    def running(self):
        return FakeServer(
            {
                "port": "6379",
                "disable-thp": "yes",
                "maxmemory": "268435456",
                "maxmemory-policy": "allkeys-lru",
                "save": "3600 1 300 100",
                "appendfsync": "everysec",
            },
            {
                "default": ["reset", "on", "#aa", "~*", "&*", "+@all"],
                "infragen-admin": ["reset", "on", "#bb", "~*", "&*", "+@all"],
                "infragen-backup": ["reset", "on", "#cc", "-@all", "+bgsave"],
            },
            immutable={"disable-thp"},
        )

    def test_the_same_configuration_changes_nothing(self):
        server = self.running()
        rc, result = self.live(server, CURRENT)
        self.assertEqual(rc, 0)
        self.assertEqual((result["applied"], result["restart"]), ([], []))
        # Users are set every run (the server says whether that changed them); nothing
        # else is touched.
        self.assertFalse([c for c in server.calls if c[:2] == ("CONFIG", "SET")])

    def test_a_user_changed_by_hand_is_put_back_and_said(self):
        server = self.running()
        server.users["default"] = ["reset", "on", "#aa", "~*", "&*", "+@all", "+config"]
        rc, result = self.live(server, CURRENT)
        self.assertEqual(rc, 0)
        self.assertEqual(result["applied"], ["user default: rules changed"])
        self.assertNotIn("+config", server.users["default"])

    def test_settings_change_live_and_what_cannot_is_a_restart(self):
        server = self.running()
        wanted = (
            CURRENT.replace("maxmemory 256mb", "maxmemory 300mb")
            .replace("save 300 100", "save 60 1000")
            .replace("disable-thp yes", "disable-thp no")
            .replace("user default reset on #aa", "user default reset on #aa #dd")
            .replace("user infragen-backup reset on #cc -@all +bgsave\n", "")
        )
        rc, result = self.live(server, wanted)
        self.assertEqual(rc, 0)
        self.assertEqual(server.config["maxmemory"], "300mb")
        self.assertEqual(server.config["save"], "3600 1 60 1000")
        self.assertEqual(server.config["disable-thp"], "yes")
        self.assertIn("#dd", server.users["default"])
        self.assertNotIn("infragen-backup", server.users)
        self.assertEqual(result["restart"], ["disable-thp: yes -> no"])
        applied = " | ".join(result["applied"])
        for what in ("maxmemory", "save", "user default", "user infragen-backup: removed"):
            self.assertIn(what, applied)

    def test_a_dry_run_changes_nothing_and_says_everything(self):
        server = self.running()
        wanted = CURRENT.replace("maxmemory-policy allkeys-lru", "maxmemory-policy allkeys-lfu")
        _rc, result = self.live(server, wanted, dry_run=True)
        self.assertEqual(server.config["maxmemory-policy"], "allkeys-lru")
        self.assertEqual(result["applied"], ["maxmemory-policy: allkeys-lru -> allkeys-lfu"])
        self.assertTrue(result["dry_run"])

    def test_what_the_file_says_is_not_trusted_over_the_running_server(self):
        # An interrupted run wrote the file but the server still runs the old policy.
        server = self.running()
        written = CURRENT.replace("allkeys-lru", "allkeys-lfu")
        _rc, result = self.live(server, written, current=written)
        self.assertEqual(server.config["maxmemory-policy"], "allkeys-lfu")
        self.assertEqual(result["applied"], ["maxmemory-policy: allkeys-lru -> allkeys-lfu"])

    def test_a_refused_live_change_is_a_restart(self):
        server = self.running()
        server.immutable.add("appendfsync")
        wanted = CURRENT.replace("appendfsync everysec", "appendfsync always")
        _rc, result = self.live(server, wanted)
        self.assertEqual(result["applied"], [])
        self.assertEqual(len(result["restart"]), 1)
        self.assertIn("refused live", result["restart"][0])

    def test_sizes_compare_as_redis_reads_them(self):
        import redis_admin

        self.assertTrue(redis_admin.same("maxmemory", ["256mb"], "268435456"))
        self.assertFalse(redis_admin.same("maxmemory", ["256m"], "268435456"))
        self.assertTrue(redis_admin.same("save", ["3600", "1"], "3600 1"))
        self.assertTrue(redis_admin.same("maxmemory-policy", ["allkeys-lru"], "ALLKEYS-LRU"))
        self.assertTrue(redis_admin.same("oom-score-adj", ["relative"], "yes"))
        self.assertTrue(redis_admin.same("maxmemory", ["536870912b"], "536870912"))
        self.assertFalse(redis_admin.same("oom-score-adj", ["absolute"], "yes"))
        conf, users = redis_admin.parse_conf('save 1 2\nsave ""\nuser a on #x\n# c\nbind 1 2')
        self.assertEqual(conf, {"save": [], "bind": ["1", "2"]})
        self.assertEqual(users, {"a": ["on", "#x"]})


class UnitLimits(unittest.TestCase):
    def unit(self, shown, live_props):
        import redis_admin

        calls = []

        class Done:
            def __init__(self, stdout):
                self.stdout = stdout

        def systemctl(*args):
            calls.append(args)
            if "--property=MainPID" in args:
                return Done("4242")
            if args[0] == "show":
                keys = [a.split("=", 1)[1] for a in args if a.startswith("--property=")]
                return Done("".join(f"{k}={shown[k]}\n" for k in keys if k in shown))
            if args[0] == "set-property":
                for a in args[3:]:
                    k, v = a.split("=", 1)
                    shown[k] = v
            return Done("")

        old = redis_admin._systemctl
        redis_admin._systemctl = systemctl
        out = io.StringIO()
        sys_stdout, sys.stdout = sys.stdout, out
        try:
            redis_admin.unit("redis-server", live_props, {}, False)
        finally:
            sys.stdout = sys_stdout
            redis_admin._systemctl = old
        return json.loads(out.getvalue()), calls

    def test_a_higher_cap_and_new_weights_are_set_live(self):
        shown = {"MemoryMax": "671088640", "CPUWeight": "50", "MemoryCurrent": "300000000"}
        result, _calls = self.unit(shown, {"MemoryMax": "805306368", "CPUWeight": "70"})
        self.assertEqual(result["restart"], [])
        self.assertEqual(len(result["applied"]), 2)
        self.assertEqual(shown["MemoryMax"], "805306368")

    def test_a_cap_below_room_for_a_fork_waits_for_a_restart(self):
        # Redis still holds 300 MB after maxmemory went down: a 400 MB cap would kill
        # its next fork.
        shown = {"MemoryMax": "671088640", "MemoryCurrent": "300000000"}
        result, _calls = self.unit(shown, {"MemoryMax": "400000000"})
        self.assertEqual(result["applied"], [])
        self.assertIn("no room for a fork", result["restart"][0])
        self.assertEqual(shown["MemoryMax"], "671088640")
        # With little held, the lower cap is set live.
        shown = {"MemoryMax": "671088640", "MemoryCurrent": "50000000"}
        result, _calls = self.unit(shown, {"MemoryMax": "400000000"})
        self.assertEqual(result["restart"], [])
        self.assertEqual(shown["MemoryMax"], "400000000")


import redis_switch  # noqa: E402


class EngineSwitch(unittest.TestCase):
    """The switch's judgement: the RDB formats, the outputs it reads."""

    def test_versions_are_read_from_both_engines(self):
        self.assertEqual(
            redis_switch.engine_release("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc"),
            ("redis", (7, 0, 15)),
        )
        self.assertEqual(
            redis_switch.engine_release("Valkey server v=8.1.1 sha=00000000:0 malloc=jemalloc"),
            ("valkey", (8, 1, 1)),
        )
        with self.assertRaises(redis_switch.SwitchError):
            redis_switch.engine_release("redis-server: command not found")

    def test_rdb_formats_decide(self):
        cases = [
            # (from engine, its release, to engine, its release, the data survives)
            ("redis", (7, 0, 15), "valkey", (8, 0, 1), True),
            ("redis", (7, 2, 4), "valkey", (8, 1, 1), True),
            ("redis", (8, 0, 2), "valkey", (8, 1, 1), False),
            ("redis", (7, 4, 0), "valkey", (9, 0, 0), False),
            ("valkey", (8, 0, 1), "redis", (7, 0, 15), False),
            ("valkey", (8, 1, 1), "redis", (8, 0, 2), True),
            ("valkey", (9, 0, 0), "redis", (8, 0, 2), False),
        ]
        for old, v, new, w, ok in cases:
            rdb = redis_switch.rdb_writes(old, v)
            self.assertEqual(redis_switch.reads_rdb(new, w, rdb), ok, (old, v, new, w))

    def test_check_rdb_output_is_parsed(self):
        out = (
            "[offset 0] Checking RDB file dump.rdb\n[offset 27] AUX FIELD redis-ver = '7.0.15'\n"
            "[offset 18530] Checksum OK\n[offset 18530] \\o/ RDB looks OK! \\o/\n"
            "[info] 851 keys read\n[info] 1 expires\n[info] 0 already expired\n"
        )
        with tempfile.TemporaryDirectory() as d:
            tool = os.path.join(d, "check-rdb")
            with open(tool, "w", encoding="utf-8") as f:
                f.write("#!/bin/sh\ncat <<'OUT'\n" + out + "OUT\n")
            os.chmod(tool, 0o700)
            self.assertEqual(redis_switch.check_rdb(tool, "dump.rdb"), (851, 1))
            with open(tool, "w", encoding="utf-8") as f:
                f.write('#!/bin/sh\necho "--- RDB ERROR DETECTED ---"\n')
                f.write('echo "[offset 9] Can\'t handle RDB format version 12"\nexit 1\n')
            with self.assertRaises(redis_switch.SwitchError) as e:
                redis_switch.check_rdb(tool, "dump.rdb")
            self.assertIn("RDB format version 12", str(e.exception))

    def test_keys_sum_every_database(self):
        info = (
            "# Keyspace\r\ndb0:keys=850,expires=1,avg_ttl=3599\r\n"
            "db3:keys=2,expires=0,avg_ttl=0\r\n"
        )
        self.assertEqual(redis_switch.keys(info), (852, 1))
        self.assertEqual(redis_switch.keys("# Keyspace\r\n"), (0, 0))

    def test_the_old_engine_is_reached_on_its_own_port(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("# port 1\nbind 0.0.0.0\nport 6380\n")
        self.addCleanup(os.unlink, f.name)
        self.assertEqual(redis_switch.config_port(f.name), 6380)

    def test_the_copy_never_follows_a_planted_link(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "dump.rdb")
            with open(src, "wb") as f:
                f.write(b"REDIS0010")
            victim = os.path.join(d, "victim")
            with open(victim, "w", encoding="utf-8") as f:
                f.write("root's")
            dst = os.path.join(d, "new.rdb")
            os.symlink(victim, dst + ".switch")
            user = __import__("pwd").getpwuid(os.getuid()).pw_name
            redis_switch.copy_private(src, dst, user)
            with open(victim, encoding="utf-8") as f:
                self.assertEqual(f.read(), "root's")
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), b"REDIS0010")
            self.assertEqual(os.stat(dst).st_mode & 0o777, 0o660)


import redis_tls  # noqa: E402

DAY = redis_tls.DAY
TLS = {
    "cert_days": 90,
    "renew_days": 30,
    "ca_days": 3650,
    "overlap_days": 30,
    "rollover_days": 121,
}
SANS = redis_tls.wanted_sans(["10.0.1.5"], ["asterisk-1"])


def ca(name, born, days=3650):
    return {"name": name, "not_before": born, "not_after": born + days * DAY}


class TlsJudgement(unittest.TestCase):
    now = 1_000 * DAY

    def leaf(self, issuer, days_left, sans=SANS):
        return {"issuer": issuer, "not_after": self.now + days_left * DAY, "sans": sans}

    def test_a_new_host_gets_a_ca_and_a_certificate_from_it(self):
        plan = redis_tls.judge(self.now, [], None, SANS, TLS)
        self.assertTrue(plan["new_ca"])
        self.assertEqual(plan["signer"], "new")
        self.assertEqual(plan["issue"], "no server certificate")
        self.assertEqual(plan["leaf_days"], 90)
        self.assertEqual(plan["bundle"], ["new"])

    def test_a_certificate_with_time_left_is_kept(self):
        cas = [ca("ca-a", self.now - 100 * DAY)]
        plan = redis_tls.judge(self.now, cas, self.leaf("ca-a", 31), SANS, TLS)
        self.assertEqual((plan["new_ca"], plan["issue"]), (False, None))

    def test_renewal_when_fewer_than_renew_days_are_left(self):
        cas = [ca("ca-a", self.now - 100 * DAY)]
        plan = redis_tls.judge(self.now, cas, self.leaf("ca-a", 29), SANS, TLS)
        self.assertIn("29 days left", plan["issue"])
        self.assertFalse(plan["new_ca"])

    def test_force_renews(self):
        cas = [ca("ca-a", self.now - 100 * DAY)]
        plan = redis_tls.judge(self.now, cas, self.leaf("ca-a", 80), SANS, TLS, force=True)
        self.assertEqual(plan["issue"], "forced")

    def test_changed_names_renew(self):
        cas = [ca("ca-a", self.now - 100 * DAY)]
        other = redis_tls.wanted_sans(["10.0.9.9"], ["asterisk-1"])
        plan = redis_tls.judge(self.now, cas, self.leaf("ca-a", 80, other), SANS, TLS)
        self.assertEqual(plan["issue"], "the host's names changed")

    def test_the_san_set(self):
        self.assertEqual(
            redis_tls.wanted_sans(["10.0.1.5", "10.0.1.5", ""], ["Asterisk-1", ""]),
            ["DNS:asterisk-1", "DNS:localhost", "IP:10.0.1.5", "IP:127.0.0.1"],
        )

    def test_ca_rollover_publishes_the_new_ca_first_and_signs_with_it_later(self):
        old = ca("ca-a", self.now - 3600 * DAY)  # 50 days left < rollover (121)
        plan = redis_tls.judge(self.now, [old], self.leaf("ca-a", 40), SANS, TLS)
        self.assertTrue(plan["new_ca"])
        # Both published; the old one still signs; the certificate is kept.
        self.assertEqual(plan["bundle"], ["ca-a", "new"])
        self.assertEqual(plan["signer"], "ca-a")
        self.assertIsNone(plan["issue"])
        # A renewal meanwhile never outlives the old CA.
        plan = redis_tls.judge(self.now, [old], self.leaf("ca-a", 10), SANS, TLS)
        self.assertEqual(plan["leaf_days"], 50)
        # overlap_days later the new CA signs: the certificate is issued again by it.
        new = ca("ca-b", self.now)
        later = self.now + 30 * DAY
        plan = redis_tls.judge(later, [old, new], self.leaf("ca-a", 20 - 30), SANS, TLS)
        self.assertFalse(plan["new_ca"])
        self.assertEqual(plan["signer"], "ca-b")
        plan = redis_tls.judge(
            later, [old, new], {**self.leaf("ca-a", 60), "not_after": later + 15 * DAY}, SANS, TLS
        )
        self.assertEqual(plan["issue"], "the signing CA is now ca-b")
        self.assertEqual(plan["bundle"], ["ca-a", "ca-b"])

    def test_a_ca_counts_from_its_first_publication(self):
        # The new CA was made 40 days ago but published only today (its puts failed):
        # the old one still signs; overlap_days after the publication the new one does.
        old = ca("ca-a", self.now - 3600 * DAY)
        new = ca("ca-b", self.now - 40 * DAY)
        published = {"ca-a": self.now - 3000 * DAY}
        cas = redis_tls.as_published([old, new], published, self.now)
        plan = redis_tls.judge(self.now, cas, self.leaf("ca-a", 40), SANS, TLS)
        self.assertEqual(plan["signer"], "ca-a")
        self.assertIsNone(plan["issue"])
        published["ca-b"] = self.now
        later = self.now + 30 * DAY
        cas = redis_tls.as_published([old, new], published, later)
        plan = redis_tls.judge(later, cas, self.leaf("ca-a", 10), SANS, TLS)
        self.assertEqual(plan["signer"], "ca-b")

    def test_an_expired_ca_leaves_the_bundle(self):
        old = ca("ca-a", self.now - 3700 * DAY)
        new = ca("ca-b", self.now - 200 * DAY)
        plan = redis_tls.judge(self.now, [old, new], self.leaf("ca-b", 60), SANS, TLS)
        self.assertEqual(plan["bundle"], ["ca-b"])
        self.assertIsNone(plan["issue"])
