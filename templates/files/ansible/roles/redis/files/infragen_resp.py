# A minimal Redis client (RESP2 over TCP) for the role's scripts on the host: the
# metrics publisher and the backup timer. Standard library only, so the host needs no
# Python packages beyond python3.
import socket


class RedisError(Exception):
    pass


def _read_reply(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise RedisError("connection closed")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body.decode()
    if kind == b"-":
        raise RedisError(body.decode(errors="replace"))
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        data = f.read(size + 2)
        return data[:-2].decode(errors="replace")
    raise RedisError(f"unexpected reply type {kind!r}")


def command(f, *args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        a = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    f.write(b"".join(out))
    f.flush()
    return _read_reply(f)


def connect(host, port, user, password, timeout=5.0):
    """An authenticated connection: (socket, file); close the socket when done."""
    sock = socket.create_connection((host, port), timeout=timeout)
    f = sock.makefile("rwb")
    command(f, "AUTH", user, password)
    return sock, f


def parse_info(text):
    """INFO's `key:value` lines as a dict."""
    info = {}
    for line in (text or "").splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, value = line.split(":", 1)
            info[key] = value.strip()
    return info
