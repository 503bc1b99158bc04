"""Dataproc entry point of the silver streaming job.

Runs ``lakehouse run silver`` with the arguments it is given, e.g.
``--config lakehouse.toml --trigger "30 seconds"`` or ``--available-now``.
"""

from __future__ import annotations

import sys

from lakehouse.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "silver", *sys.argv[1:]]))
