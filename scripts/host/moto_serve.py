#!/usr/bin/env python3
"""moto_server, with each reply sent in one write.

  moto_serve.py -H HOST -p PORT      moto_server's command line (moto.sh runs it with the
                                     host venv's python; moto_plus.py serves through it)

Why: moto_server's werkzeug handler writes a reply's head and its body separately (the
socket writer is unbuffered, `Connection: close` on every reply). Under load, Terraform's
AWS SDK sometimes gives up on such a connection after the head and before reading the
body (seen on loopback: the client's FIN or RST right after the head, then
"retrying request ..., attempt 2" in the provider's log, 1 to 5 times per apply of the
shipped blueprint with the two cores busy). A retried read is harmless; a retried create
is not: moto already made the first one, so the apply fails with
`InvalidPermission.Duplicate` on a security group rule (a CI run failed so). With the
handler's writer buffered, head and body leave in one write (flushed together by
werkzeug): the same test under the same load then showed no retry at all.
"""

import argparse
import os

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class OneWriteHandler(MotoRequestHandler):
    """moto's handler with a buffered writer (socketserver's default is unbuffered)."""

    wbufsize = -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    # As moto_server does (moto's Lambda reads it).
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto_server sets it
    run_simple(
        args.host,
        args.port,
        app,
        threaded=True,
        request_handler=OneWriteHandler,
    )


if __name__ == "__main__":
    main()
