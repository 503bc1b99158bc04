"""Dataproc entry point of the erasure job: processes the pending ``ops.erasure_requests``.

Runs ``lakehouse erase --requests`` with the arguments it is given, e.g.
``--config lakehouse.toml``.
"""

from __future__ import annotations

import sys

from lakehouse.cli import main

if __name__ == "__main__":
    sys.exit(main(["erase", "--requests", *sys.argv[1:]]))
