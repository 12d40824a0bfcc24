# The redis role's own way to manage the per-host Redis users and to talk to the local
# Redis as its admin user (installed by the role, run by Ansible as root). No password
# ever passes through a command line or an environment variable: each one lives in a
# root-only file under the role's secrets directory, and the application password, when
# a call needs it, arrives on standard input.
#
#   redis_admin.py password FILE
#       Creates FILE (mode 0600) holding a new random password, unless it exists.
#   redis_admin.py hash FILE
#       Prints the SHA-256 of the password in FILE: what redis.conf holds (`#<hash>`).
#   redis_admin.py call --port N --password-file FILE [--legacy-stdin] CMD [ARG ...]
#       Runs one command as the role's admin user and prints the reply, one line per
#       element. --legacy-stdin: if the admin user does not exist yet (a server an earlier
#       release configured), authenticate with the password on stdin as the default user.
#   redis_admin.py check-app --port N
#       Reads the application password on stdin; exits 0 when it authenticates.
#   redis_admin.py check-conf FILE
#       Exits 0 when redis-server accepts FILE (Ansible's `validate` before redis.conf is
#       replaced): Redis has no config-check flag, so it loads FILE with every listener
#       and all persistence overridden off, and stops right after the configuration.
# Exit codes: 0 the reply, 1 Redis answered with an error (printed), 2 no connection or
# no authentication (nothing was run).
import argparse
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile

from infragen_resp import RedisError, command, connect, read_password


def make_password(path):
    if os.path.exists(path):
        return 0
    # 32 random bytes as hex: no character a config or a shell could misread.
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    print(f"created {path}")
    return 0


def password_hash(path):
    print(hashlib.sha256(read_password(path).encode()).hexdigest())
    return 0


def render(reply, out):
    if isinstance(reply, list):
        for item in reply:
            render(item, out)
    elif reply is None:
        out.append("")
    else:
        out.append(str(reply))


def _auth_error(e):
    text = str(e)
    return text.startswith(("WRONGPASS", "NOAUTH")) or "without any password" in text


def call(port, password_file, legacy_stdin, args):
    try:
        try:
            sock, f = connect("127.0.0.1", port, "infragen-admin", read_password(password_file))
        except (RedisError, OSError) as e:
            if not (legacy_stdin and isinstance(e, RedisError) and _auth_error(e)):
                raise
            legacy = sys.stdin.read().strip()
            if not legacy:
                raise
            sock, f = connect("127.0.0.1", port, "default", legacy)
    except (RedisError, OSError) as e:
        print(f"redis-admin: cannot reach Redis on port {port} as the role: {e}", file=sys.stderr)
        return 2
    with sock:
        try:
            reply = command(f, *args)
        except RedisError as e:
            print(f"(error) {e}")
            return 1
    out = []
    render(reply, out)
    print("\n".join(out))
    return 0


def check_app(port):
    password = sys.stdin.read().strip()
    try:
        sock, f = connect("127.0.0.1", port, "default", password)
        with sock:
            command(f, "PING")
    except (RedisError, OSError) as e:
        print(f"redis-admin: the application password does not authenticate: {e}")
        return 2
    print("the application password authenticates")
    return 0


def check_conf(path):
    with tempfile.TemporaryDirectory(prefix="infragen-check-conf-") as scratch:
        overrides = {
            "port": "0",
            "unixsocket": "",
            "dir": scratch,
            "logfile": "",
            "pidfile": "",
            "daemonize": "no",
            "supervised": "no",
            "save": "",
            "appendonly": "no",
        }
        # The package's binary, found on root's PATH.
        argv = ["redis-server", path]
        for key, value in overrides.items():
            argv += ["--" + key, value]
        try:
            out = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"redis-server did not stop after loading {path}", file=sys.stderr)
            return 1
    text = out.stdout + out.stderr
    if "Configured to not listen anywhere" in text:
        return 0
    # The reason Redis gives, without the offending line (it may hold a secret).
    reason = [line for line in text.splitlines() if line and not line.startswith(">>>")]
    print("redis-server refuses this configuration:", *reason[-3:], sep="\n  ", file=sys.stderr)
    return 1


def main(argv):
    ap = argparse.ArgumentParser(prog="redis_admin.py")
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("password").add_argument("file")
    sub.add_parser("hash").add_argument("file")
    c = sub.add_parser("call")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--password-file", required=True)
    c.add_argument("--legacy-stdin", action="store_true")
    c.add_argument("args", nargs="+")
    a = sub.add_parser("check-app")
    a.add_argument("--port", type=int, required=True)
    sub.add_parser("check-conf").add_argument("file")
    ns = ap.parse_args(argv[1:])
    if ns.what == "password":
        return make_password(ns.file)
    if ns.what == "hash":
        return password_hash(ns.file)
    if ns.what == "call":
        return call(ns.port, ns.password_file, ns.legacy_stdin, ns.args)
    if ns.what == "check-conf":
        return check_conf(ns.file)
    return check_app(ns.port)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
