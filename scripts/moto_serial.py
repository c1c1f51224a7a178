"""Runs the moto AWS emulator one request at a time.

moto's own `moto_server` serves requests on many threads, and its DynamoDB backend does not
isolate concurrent TransactWriteItems calls: two transactions that both put the same item with
`attribute_not_exists(pk)` can both commit. Real DynamoDB serializes transactions and makes each
single-item write atomic. Serving moto on one thread gives exactly those guarantees, so the
concurrency tests check Sesame's conditions against DynamoDB's semantics, not the emulator's race.

Usage: python moto_serial.py PORT   (binds 127.0.0.1 only)
"""

import os
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
