# A minimal Redis client (RESP2 over TCP, TLS or a unix socket) for the role's scripts on
# the host: the metrics publisher, the backup timer, the restore command and the role's own admin
# calls. Standard library only, so the host needs no Python packages beyond python3.
#
# Every reply is read completely or not at all: a connection that closes mid-reply, or
# a reply that is not RESP2, raises RedisError; nothing half-read is ever returned.
import os
import socket
import ssl

# Larger bulk replies are refused rather than buffered (INFO is a few KiB).
MAX_BULK = 64 << 20
MAX_ARRAY = 1 << 20


class RedisError(Exception):
    pass


def _line(f):
    line = f.readline(MAX_BULK)
    if not line.endswith(b"\r\n"):
        raise RedisError("connection closed in the middle of a reply")
    return line[:1], line[1:-2]


def _number(body):
    try:
        return int(body)
    except ValueError:
        raise RedisError(f"malformed reply length {body[:40]!r}") from None


def _read_reply(f, depth=0):
    kind, body = _line(f)
    if kind == b"+":
        return body.decode(errors="replace")
    if kind == b"-":
        raise RedisError(body.decode(errors="replace"))
    if kind == b":":
        return _number(body)
    if kind == b"$":
        size = _number(body)
        if size < 0:
            return None
        if size > MAX_BULK:
            raise RedisError(f"bulk reply of {size} bytes refused")
        data = f.read(size + 2)
        if len(data) != size + 2 or data[-2:] != b"\r\n":
            raise RedisError("connection closed in the middle of a reply")
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        count = _number(body)
        if count < 0:
            return None
        if count > MAX_ARRAY or depth > 8:
            raise RedisError("array reply too large or too deep")
        return [_read_reply(f, depth + 1) for _ in range(count)]
    raise RedisError(f"unexpected reply type {kind!r}")


def command(f, *args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        a = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    f.write(b"".join(out))
    f.flush()
    return _read_reply(f)


def connect(host, port, user, password, timeout=5.0, tls_ca=None):
    """An authenticated connection: (socket, file); close the socket when done.

    `host` starting with `/` is the server's unix socket (`port` unused). `tls_ca`: a PEM
    file of the CAs to verify the server with (TLS 1.2 or later, the name `host` checked
    against the certificate's names)."""
    if host.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(host)
        except BaseException:
            sock.close()
            raise
    else:
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            try:
                sock = ctx.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
    f = sock.makefile("rwb")
    try:
        command(f, "AUTH", user, password)
    except BaseException:
        sock.close()
        raise
    return sock, f


def connect_local(socket_path, port, user, password, timeout=5.0):
    """The local server as root reaches it: its unix socket when there is one (the TLS
    setup, where the TCP port speaks TLS only), else plaintext TCP on 127.0.0.1:port (a
    server configured without the socket, by an earlier release or with TLS off)."""
    if socket_path and os.path.exists(socket_path):
        return connect(socket_path, 0, user, password, timeout)
    return connect("127.0.0.1", port, user, password, timeout)


def read_password(path):
    """The password in a root-only file the role wrote (one line)."""
    with open(path, encoding="utf-8") as f:
        value = f.read().strip()
    if not value:
        raise RedisError(f"{path} is empty")
    return value


def parse_info(text):
    """INFO's `key:value` lines as a dict."""
    info = {}
    for line in (text or "").splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, value = line.split(":", 1)
            info[key] = value.strip()
    return info
