"""Dataproc entry point of the anomaly detection batch job (schedule it, e.g. every 15 min).

Runs ``lakehouse anomalies detect`` with the arguments it is given, e.g.
``--config lakehouse.toml``; exits 1 when there is a critical finding.
"""

from __future__ import annotations

import sys

from lakehouse.cli import main

if __name__ == "__main__":
    sys.exit(main(["anomalies", "detect", *sys.argv[1:]]))
