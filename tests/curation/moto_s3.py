"""moto's S3 service alone, served on a loopback port: `python -m tests.curation.moto_s3 --port P`.

`moto_server` serves every AWS service moto has behind one dispatcher that, on each request, lists moto's
package folder (a directory read and ~150 `stat`s) to work out which service the request is for. Measured on
this machine, that front door cost about a third of the server's CPU per request (300 small PUTs and 300
HEADs: 1.8 s of server CPU through `moto_server`, 1.1 s through this; docs/benchmarks/scale.md). The cluster
tests and `bench/scale.py` need S3 only, so they serve moto's S3 app directly: the same S3 implementation
(conditional puts, ETags, ranges, multipart) on werkzeug's threaded server with its request log. What differs
from `moto_server` besides the dispatcher and its lock: no `MotoRequestHandler` (it keeps header names with
underscores, as in some x-amz-meta keys; Winnow sends none) and no MOTO_PORT in the environment.
"""

from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    from moto.moto_server.werkzeug_app import create_backend_app
    from werkzeug.serving import run_simple

    run_simple(args.host, args.port, create_backend_app("s3"), threaded=True)


if __name__ == "__main__":
    main()
