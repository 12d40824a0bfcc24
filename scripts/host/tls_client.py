"""A TLS client of the host's Redis for the host tests (tests/it/host.rs), with redis-py.

    tls_client.py cert HOST PORT CA            the served certificate's SHA-256 (verified)
    tls_client.py plain HOST PORT              a plaintext PING: prints what happened
    tls_client.py can HOST PORT CA USER PWFILE a JSON map command -> "ok" or the error,
                  for the commands in the JSON list on stdin (each a list of words)
    tls_client.py hold HOST PORT CA USER PWFILE KEY STOP OUT
                  one TLS connection, SET/GET of KEY in a loop until the file STOP exists;
                  writes {"requests", "failed", "errors", "connections"} to OUT

The server is verified against CA with the name HOST checked (redis-py's
ssl_check_hostname); the password is read from a file, never an argument.
"""

import hashlib
import json
import os
import socket
import ssl
import sys
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def client(host, port, ca, user, pwfile):
    with open(pwfile, encoding="utf-8") as f:
        password = f.read().strip()
    return redis.Redis(
        host=host,
        port=int(port),
        username=user,
        password=password,
        ssl=True,
        ssl_ca_certs=ca,
        ssl_cert_reqs="required",
        ssl_check_hostname=True,
        ssl_min_version=ssl.TLSVersion.TLSv1_2,
        socket_timeout=5,
        # No silent retry: a failed request must count as one.
        retry=Retry(NoBackoff(), 0),
    )


def main(argv):
    what = argv[1]
    if what == "cert":
        host, port, ca = argv[2:5]
        ctx = ssl.create_default_context(cafile=ca)
        with (
            socket.create_connection((host, int(port)), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            print(hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest())
        return 0
    if what == "plain":
        host, port = argv[2:4]
        try:
            r = redis.Redis(host=host, port=int(port), socket_timeout=3)
            print("answered: " + repr(r.ping()))
        except redis.exceptions.ResponseError as e:
            print("answered: " + str(e))
        except (redis.exceptions.RedisError, OSError) as e:
            print("refused: " + type(e).__name__)
        return 0
    if what == "can":
        r = client(*argv[2:7])
        out = {}
        for words in json.load(sys.stdin):
            try:
                r.execute_command(*words)
                out[" ".join(words)] = "ok"
            except redis.exceptions.RedisError as e:
                out[" ".join(words)] = str(e).split(":")[0][:80]
        print(json.dumps(out))
        return 0
    if what == "hold":
        host, port, ca, user, pwfile, key, stop, out_path = argv[2:10]
        r = client(host, port, ca, user, pwfile)
        # One connection for the whole run: redis-py's pool would reconnect silently.
        conn = r.connection_pool.get_connection()
        counts = {"requests": 0, "failed": 0, "errors": [], "connections": 1}
        while not os.path.exists(stop):
            try:
                conn.send_command("SET", key, str(counts["requests"]))
                conn.read_response()
                conn.send_command("GET", key)
                conn.read_response()
            except (redis.exceptions.RedisError, OSError) as e:
                counts["failed"] += 1
                if len(counts["errors"]) < 5:
                    counts["errors"].append(f"{type(e).__name__}: {str(e)[:80]}")
                time.sleep(0.05)
            counts["requests"] += 1
            time.sleep(0.01)
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump(counts, f)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
