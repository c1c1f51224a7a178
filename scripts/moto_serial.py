"""Runs the moto AWS emulator one request at a time.

moto's own `moto_server` serves requests on many threads, and its DynamoDB backend does not
isolate concurrent TransactWriteItems calls: two transactions that both put the same item with
`attribute_not_exists(pk)` can both commit. That is why the tests first served moto on one thread.
DynamoDB now runs in Amazon's DynamoDB Local and moto serves only SES v2 and SNS, which have no
conditional writes, so one thread is no longer needed for correctness (the suite also passes on
the threaded `moto_server`, in the same time); it stays because it costs nothing.

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
