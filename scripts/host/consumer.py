"""A stand-in for the voice-campaign's Lambda functions, to measure what a change to the
running cache costs its clients.

It does what such a function does with the Terraform output `redis_lambda_environment`:
reads REDIS_HOST, REDIS_PORT, REDIS_PASSWORD_SECRET_ARN and REDIS_TLS from its
environment, fetches the password from Secrets Manager once at cold start (boto3; the
endpoint and credentials come from the usual AWS_* variables, moto's in the tests),
keeps one redis-py client with the library's defaults, and issues a steady mix of GET
and SET. On WRONGPASS or NOAUTH it reads the secret again, once, and reconnects, as a
function written for rotation would; the request that met the error counts as failed.

    python consumer.py --state FILE [--rate 200] [--seconds N]

It runs until SIGTERM or SIGINT (or --seconds) and keeps FILE (JSON, replaced
atomically four times a second) up to date: the counters since the start (`total`) and
since the last SIGUSR1 (`window`, with its number `mark`): requests, failed requests,
reconnects (connections opened after the first), secret re-reads, the longest time
between two successful requests, and the first distinct errors.
"""

import argparse
import json
import os
import signal
import sys
import time

import boto3
import redis
from redis.connection import Connection, SSLConnection


class Counts:
    def __init__(self):
        self.requests = 0
        self.failed = 0
        self.reconnects = 0
        self.rereads = 0
        self.longest_gap_ms = 0.0
        self.errors = []

    def as_dict(self):
        return {
            "requests": self.requests,
            "failed": self.failed,
            "reconnects": self.reconnects,
            "secret_rereads": self.rereads,
            "longest_gap_ms": round(self.longest_gap_ms, 1),
            "errors": self.errors,
        }


class Stand:
    def __init__(self, state):
        self.state = state
        self.total = Counts()
        self.window = Counts()
        self.mark = 0
        self.connects = 0
        self.last_ok = None
        self.stop = False
        self.env = {
            k: os.environ[k]
            for k in ("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD_SECRET_ARN", "REDIS_TLS")
        }
        self.secrets = boto3.client("secretsmanager")
        self.client = self.connect()

    def password(self):
        arn = self.env["REDIS_PASSWORD_SECRET_ARN"]
        # AWSCURRENT is what an unlabelled read returns on AWS; named because moto 5.2.5
        # returns the version last written instead, which a rotation does not move.
        return self.secrets.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")[
            "SecretString"
        ]

    def connect(self):
        stand = self
        tls = self.env["REDIS_TLS"] == "true"
        base = SSLConnection if tls else Connection

        class Counted(base):
            # What redis-py's connect() calls after each new socket (AUTH, HELLO).
            def on_connect_check_health(self, *args, **kwargs):
                stand.connects += 1
                if stand.connects > 1:
                    for c in (stand.total, stand.window):
                        c.reconnects += 1
                super().on_connect_check_health(*args, **kwargs)

        pool = redis.ConnectionPool(
            host=self.env["REDIS_HOST"],
            port=int(self.env["REDIS_PORT"]),
            password=self.password(),
            connection_class=Counted,
            socket_timeout=2,
            socket_connect_timeout=2,
        )
        return redis.Redis(connection_pool=pool)

    def count(self, field, value=1):
        for c in (self.total, self.window):
            setattr(c, field, getattr(c, field) + value)

    def error(self, e):
        self.count("failed")
        text = f"{type(e).__name__}: {e}"[:200]
        for c in (self.total, self.window):
            if text not in c.errors and len(c.errors) < 10:
                c.errors.append(text)

    def request(self, i):
        key = f"standin:{i % 1000}"
        self.count("requests")
        try:
            if i % 2:
                self.client.set(key, str(i), ex=600)
            else:
                self.client.get(key)
        except redis.exceptions.AuthenticationError as e:
            self.error(e)
            self.reread()
            return
        except redis.exceptions.ResponseError as e:
            self.error(e)
            if str(e).startswith(("WRONGPASS", "NOAUTH")):
                self.reread()
            return
        except redis.exceptions.RedisError as e:
            self.error(e)
            return
        now = time.monotonic()
        if self.last_ok is not None:
            gap = (now - self.last_ok) * 1000
            for c in (self.total, self.window):
                c.longest_gap_ms = max(c.longest_gap_ms, gap)
        self.last_ok = now

    def reread(self):
        self.count("rereads")
        try:
            old = self.client
            self.client = self.connect()
            old.close()
        except Exception as e:  # noqa: BLE001 - the secret store may be down too
            self.error(e)

    def new_window(self, *_):
        self.window = Counts()
        self.mark += 1

    def write(self):
        doc = {
            "pid": os.getpid(),
            "mark": self.mark,
            "total": self.total.as_dict(),
            "window": self.window.as_dict(),
        }
        tmp = f"{self.state}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        os.replace(tmp, self.state)


def main(argv):
    ap = argparse.ArgumentParser(prog="consumer.py")
    ap.add_argument("--state", required=True)
    ap.add_argument("--rate", type=float, default=200.0, help="requests per second")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    ns = ap.parse_args(argv[1:])
    stand = Stand(ns.state)

    def stop(*_):
        stand.stop = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, stand.new_window)
    start = time.monotonic()
    period = 1.0 / ns.rate
    next_write = start
    i = 0
    while not stand.stop:
        now = time.monotonic()
        if ns.seconds and now - start >= ns.seconds:
            break
        stand.request(i)
        i += 1
        if now >= next_write:
            stand.write()
            next_write = now + 0.25
        delay = start + i * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1:
            # Over a second behind (a stall): keep the rate, do not burst to catch up.
            start = time.monotonic() - i * period
    stand.write()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
