# The TLS material of the host's Redis (installed by the role, run as root by the role and
# by the daily redis-tls.timer). The host is its own certificate authority: consumers
# verify the server with the CA certificate(s) this script publishes to SSM, and no key
# ever leaves the host.
#
#   redis_tls.py ensure --settings FILE [--force]
#       1. A private CA (EC P-256, ca_days) whose key is root's alone
#          (<ca_dir>/ca-<time>.key, 0600 in a 0700 directory). When the newest CA has
#          fewer than rollover_days left, a new one is made: both are published side by
#          side first, and the server certificate is signed by the new CA only once that
#          has been published for overlap_days (consumers read the CA at start-up).
#       2. The server's key and certificate in one PEM file (tls_dir/server.pem, root's,
#          readable by the engine's group), signed by the CA, valid cert_days, its
#          names the host's IPv4 addresses, its hostnames, 127.0.0.1 and localhost. It is
#          issued again when fewer than renew_days are left, when the names changed, when
#          the signing CA changed, or with --force: written beside the old one and
#          renamed over it (never half written), then the running server is made to load
#          it with CONFIG SET tls-cert-file/tls-key-file over the unix socket. Redis
#          re-reads the files on that CONFIG SET (VOLATILE_CONFIG, applyTlsCfg): new
#          connections get the new certificate, open TLS connections keep theirs.
#       3. The CA bundle (every CA not yet expired, PEM) in tls_dir/ca.pem (world
#          readable: it is public) and in the SSM String parameter ssm_parameter, put
#          with the AWS CLI whenever it differs from what was last published.
#       4. The state file (the earliest expiry of the served certificate and its CAs),
#          from which the metrics publisher reports TlsCertificateDaysLeft.
#       Prints JSON: what it did. Exit 1 on a failure (nothing half done is served).
#   redis_tls.py probe --host H --port N --ca FILE
#       A TLS connection to H:N verified against FILE (names checked); exit 0 when the
#       server answers PING with NOAUTH (it speaks Redis and wants a password).
import argparse
import contextlib
import datetime
import grp
import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from infragen_resp import RedisError, command, connect_local, read_password

DAY = 86400


class TlsError(Exception):
    pass


# --- the judgement (pure: unit-tested in tests/python) --------------------------------


def as_published(cas, published, now):
    """The CAs as `judge` must see them: each from its first publication (published:
    {name: epoch}); one never published counts from now."""
    return [dict(c, not_before=max(c["not_before"], published.get(c["name"], now))) for c in cas]


def judge(now, cas, leaf, sans, settings, force=False):
    """What `ensure` does. cas: [{name, not_before, not_after}] (epoch seconds); leaf:
    {issuer, not_after, sans} or None; sans: the names the certificate must carry.
    Returns {new_ca, signer, issue (a reason or None), leaf_days, bundle (names)}; a
    new CA is named "new" (its name is given when it is made)."""
    valid = [c for c in cas if c["not_after"] > now]
    newest = max(valid, key=lambda c: c["not_after"], default=None)
    new_ca = newest is None or newest["not_after"] - now < settings["rollover_days"] * DAY
    if new_ca:
        valid = [
            *valid,
            {"name": "new", "not_before": now, "not_after": now + settings["ca_days"] * DAY},
        ]
    # The newest CA consumers have had overlap_days to learn; on a new host, the only one.
    ripe = [c for c in valid if now - c["not_before"] >= settings["overlap_days"] * DAY]
    signer = (
        max(ripe, key=lambda c: c["not_before"])
        if ripe
        else min(valid, key=lambda c: c["not_before"])
    )
    issue = None
    if force:
        issue = "forced"
    elif leaf is None:
        issue = "no server certificate"
    elif leaf["issuer"] != signer["name"]:
        issue = f"the signing CA is now {signer['name']}"
    elif leaf["not_after"] - now < settings["renew_days"] * DAY:
        issue = (
            f"{(leaf['not_after'] - now) // DAY} days left (renewal at {settings['renew_days']})"
        )
    elif set(leaf["sans"]) != set(sans):
        issue = "the host's names changed"
    # Never valid beyond the CA that signs it.
    leaf_days = min(settings["cert_days"], int((signer["not_after"] - now) // DAY))
    bundle = [c["name"] for c in sorted(valid, key=lambda c: c["not_before"])]
    return {
        "new_ca": new_ca,
        "signer": signer["name"],
        "issue": issue,
        "leaf_days": leaf_days,
        "bundle": bundle,
    }


def wanted_sans(ips, dns):
    """The server certificate's names: the given IPv4 addresses and hostnames, and the
    loopback ones (the role's own TLS check), sorted, without repeats."""
    out = {"IP:127.0.0.1", "DNS:localhost"}
    out.update(f"IP:{ip}" for ip in ips if ip)
    out.update(f"DNS:{name.lower()}" for name in dns if name)
    return sorted(out)


# --- openssl and files ------------------------------------------------------------------


def openssl(*args, stdin=None):
    out = subprocess.run(
        ["openssl", *args],  # noqa: S607 (Debian's openssl package, on root's PATH)
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if out.returncode != 0:
        raise TlsError(f"openssl {args[0]} failed: {out.stderr.strip()[-400:]}")
    return out.stdout


def read_cert(path):
    """{subject, issuer, not_before, not_after, sans} of the (first) certificate in path."""
    text = openssl(
        "x509",
        "-in",
        path,
        "-noout",
        "-subject",
        "-issuer",
        "-startdate",
        "-enddate",
        "-nameopt",
        "RFC2253",
        "-ext",
        "subjectAltName",
    )
    info = {"sans": []}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        key, _, value = line.partition("=")
        if key in ("subject", "issuer"):
            info[key] = value.strip()
        elif key == "notBefore":
            info["not_before"] = ssl.cert_time_to_seconds(value.strip())
        elif key == "notAfter":
            info["not_after"] = ssl.cert_time_to_seconds(value.strip())
        elif "Subject Alternative Name" in line and i + 1 < len(lines):
            for part in lines[i + 1].split(","):
                kind, _, name = part.strip().partition(":")
                info["sans"].append(("IP:" if kind == "IP Address" else "DNS:") + name.strip())
    return info


def write_atomic(path, data, mode, gid=0):
    """data into path: a new file beside it, renamed over it (never half written)."""
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".infragen-", dir=d)
    try:
        os.fchmod(fd, mode)
        os.fchown(fd, 0, gid)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_text(path):
    with open(path, encoding="ascii") as f:
        return f.read()


def load_cas(ca_dir):
    cas = []
    for name in sorted(os.listdir(ca_dir)):
        if name.startswith("ca-") and name.endswith(".crt"):
            stem = name[: -len(".crt")]
            if not os.path.exists(os.path.join(ca_dir, stem + ".key")):
                continue
            info = read_cert(os.path.join(ca_dir, name))
            cas.append({"name": stem, **info})
    return cas


def make_ca(ca_dir, now, days, hostname):
    stem = "ca-" + datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y%m%d%H%M%S")
    key = os.path.join(ca_dir, stem + ".key")
    old = os.umask(0o077)
    try:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
        openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            key,
            "-sha256",
            "-days",
            str(days),
            "-subj",
            f"/CN=infragen Redis CA {hostname} {stem[3:]}",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            os.path.join(ca_dir, stem + ".crt"),
        )
    finally:
        os.umask(old)
    return stem


def issue_leaf(ca_dir, signer, sans, days, hostname):
    """A new key and certificate signed by `signer`, as one PEM text (key first)."""
    with tempfile.TemporaryDirectory(prefix="infragen-tls-") as scratch:
        key = os.path.join(scratch, "server.key")
        csr = os.path.join(scratch, "server.csr")
        crt = os.path.join(scratch, "server.crt")
        ext = os.path.join(scratch, "ext.cnf")
        with open(ext, "w", encoding="ascii") as f:
            f.write(
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=" + ",".join(sans) + "\n"
            )
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
        openssl("req", "-new", "-key", key, "-subj", f"/CN={hostname}", "-out", csr)
        openssl(
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            os.path.join(ca_dir, signer + ".crt"),
            "-CAkey",
            os.path.join(ca_dir, signer + ".key"),
            "-set_serial",
            "0x" + os.urandom(16).hex(),
            "-sha256",
            "-days",
            str(max(days, 1)),
            "-extfile",
            ext,
            "-out",
            crt,
        )
        with open(key, encoding="ascii") as k, open(crt, encoding="ascii") as c:
            return k.read() + c.read()


def _aws_ssm(settings, *args):
    argv = ["aws", "ssm", *args[:1], "--region", settings["region"]]
    if settings.get("endpoint_url"):
        # Debian 12's AWS CLI (2.9) ignores AWS_ENDPOINT_URL.
        argv += ["--endpoint-url", settings["endpoint_url"]]
    argv += list(args[1:])
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
    env.update(settings.get("environment") or {})
    return subprocess.run(argv, capture_output=True, text=True, check=False, env=env, timeout=120)


def published_value(settings):
    """What consumers read now from the SSM parameter; None when it cannot be read. The
    parameter itself is compared, never a record of an earlier put: Terraform may have
    created it again (a mode round trip) with its placeholder."""
    out = _aws_ssm(
        settings,
        "get-parameter",
        "--name",
        settings["ssm_parameter"],
        "--query",
        "Parameter.Value",
        "--output",
        "text",
    )
    return out.stdout if out.returncode == 0 else None


def publish(settings, bundle):
    out = _aws_ssm(
        settings,
        "put-parameter",
        "--name",
        settings["ssm_parameter"],
        "--type",
        "String",
        "--overwrite",
        "--value=" + bundle,
        "--output",
        "text",
    )
    if out.returncode != 0:
        raise TlsError(
            f"aws ssm put-parameter {settings['ssm_parameter']}: {out.stderr.strip()[-400:]}"
        )


def reload_server(settings, pem_path, cert_der):
    """Makes the running server load pem_path, then checks that a new TLS connection gets
    the certificate. False when no running server serves TLS (its next start loads it)."""
    try:
        sock, f = connect_local(
            settings["socket"],
            settings["port"],
            settings["admin_user"],
            read_password(settings["admin_password_file"]),
        )
    except (OSError, RedisError):
        return False
    with sock:
        got = command(f, "CONFIG", "GET", "tls-port")
        tls_port = int(got[1]) if isinstance(got, list) and len(got) == 2 else 0
        if tls_port == 0:
            return False
        # One CONFIG SET of both: one reload of the TLS context, the key and the
        # certificate that belong together (the same file).
        command(f, "CONFIG", "SET", "tls-cert-file", pem_path, "tls-key-file", pem_path)
    ctx = ssl.create_default_context(cafile=settings["ca_bundle"])
    with (
        socket.create_connection(("127.0.0.1", tls_port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        if tls.getpeercert(binary_form=True) != cert_der:
            raise TlsError("the running server still serves the old certificate")
    return True


def ensure(settings, force, now=None):
    now = int(now or time.time())
    hostname = settings["hostname"]
    ca_dir, tls_dir = settings["ca_dir"], settings["tls_dir"]
    pem_path = os.path.join(tls_dir, "server.pem")
    sans = wanted_sans(settings["ips"], settings["dns"])
    cas = load_cas(ca_dir)
    by_subject = {c["subject"]: c["name"] for c in cas}
    leaf = None
    if os.path.exists(pem_path):
        info = read_cert(pem_path)
        leaf = {
            "issuer": by_subject.get(info.get("issuer"), "?"),
            "not_after": info["not_after"],
            "sans": info["sans"],
        }
    state_path = settings["state_file"]
    try:
        with open(state_path, encoding="ascii") as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = {}
    # A CA counts from its first publication, not its creation: it signs the server's
    # certificate only once consumers have had overlap_days to read it (a CA whose
    # publication failed for weeks does not sign the day it is finally published).
    published = dict(state.get("ca_published") or {})
    plan = judge(now, as_published(cas, published, now), leaf, sans, settings, force)
    done = {"changed": []}
    if plan["new_ca"]:
        name = make_ca(ca_dir, now, settings["ca_days"], hostname)
        done["changed"].append(f"new CA {name}")
        plan["bundle"] = [name if n == "new" else n for n in plan["bundle"]]
        if plan["signer"] == "new":
            plan["signer"] = name
    gid = grp.getgrnam(settings["group"]).gr_gid
    # The bundle: every CA not yet expired, oldest first.
    bundle = "".join(read_text(os.path.join(ca_dir, n + ".crt")) for n in plan["bundle"])
    bundle_path = settings["ca_bundle"]
    try:
        with open(bundle_path, encoding="ascii") as f:
            old_bundle = f.read()
    except OSError:
        old_bundle = None
    if old_bundle != bundle:
        write_atomic(bundle_path, bundle, 0o644)
        done["changed"].append("CA bundle written")
    # Published before any certificate it verifies is served; a failure stops here.
    live = published_value(settings)
    if live is None or live.strip() != bundle.strip():
        publish(settings, bundle)
        done["changed"].append(f"CA bundle published to {settings['ssm_parameter']}")
    for n in plan["bundle"]:
        published.setdefault(n, now)
    if plan["issue"]:
        pem = issue_leaf(ca_dir, plan["signer"], sans, plan["leaf_days"], hostname)
        write_atomic(pem_path, pem, 0o640, gid)
        done["changed"].append(f"server certificate issued by {plan['signer']} ({plan['issue']})")
        cert_pem = pem[pem.index("-----BEGIN CERTIFICATE-----") :]
        if reload_server(settings, pem_path, ssl.PEM_cert_to_DER_cert(cert_pem)):
            done["changed"].append("the running server loaded it")
    else:
        # The engine's group may have changed (an engine switch): the server must read it.
        st = os.stat(pem_path)
        if st.st_gid != gid or st.st_mode & 0o777 != 0o640:
            os.chown(pem_path, 0, gid)
            os.chmod(pem_path, 0o640)
            done["changed"].append("server key given to the engine's group")
    digest = hashlib.sha256(bundle.encode()).hexdigest()
    served = read_cert(pem_path)
    signer = next(c for c in load_cas(ca_dir) if c["subject"] == served["issuer"])
    new_state = {
        "published_sha256": digest,
        "ca_published": {n: published[n] for n in plan["bundle"]},
        "certificate_not_after": served["not_after"],
        "ca_not_after": signer["not_after"],
    }
    if new_state != state:
        write_atomic(state_path, json.dumps(new_state, sort_keys=True) + "\n", 0o644)
    print(json.dumps(done))
    return 0


def probe(host, port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            f = tls.makefile("rwb")
            try:
                command(f, "PING")
            except RedisError as e:
                if str(e).startswith("NOAUTH"):
                    v = tls.version()
                    print(f"TLS to {host}:{port} verified ({v}): the server wants a password")
                    return 0
                raise
    except (OSError, RedisError) as e:
        print(f"TLS to {host}:{port} failed: {e}", file=sys.stderr)
        return 1
    print(f"TLS to {host}:{port}: the server answered PING without a password", file=sys.stderr)
    return 1


def main(argv):
    ap = argparse.ArgumentParser(prog="redis_tls.py")
    sub = ap.add_subparsers(dest="what", required=True)
    e = sub.add_parser("ensure")
    e.add_argument("--settings", required=True)
    e.add_argument("--force", action="store_true")
    p = sub.add_parser("probe")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    ns = ap.parse_args(argv[1:])
    if ns.what == "probe":
        return probe(ns.host, ns.port, ns.ca)
    with open(ns.settings, encoding="utf-8") as f:
        settings = json.load(f)
    try:
        return ensure(settings, ns.force)
    except (TlsError, RedisError, OSError, subprocess.TimeoutExpired) as e:
        print(f"redis-tls: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
