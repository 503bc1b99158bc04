"""Dataproc entry point of the retention job.

Runs ``lakehouse retention run`` with the arguments it is given, e.g.
``--config lakehouse.toml`` or ``--dry-run`` or ``--table bronze.events``.
"""

from __future__ import annotations

import sys

from lakehouse.cli import main

if __name__ == "__main__":
    sys.exit(main(["retention", "run", *sys.argv[1:]]))
