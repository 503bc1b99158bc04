"""First row of a small query through ``lakehouse serve`` against the same query in a new
session: ``lakehouse sql "SELECT count(*) FROM silver.events"`` as a whole process, with a
server running on the lake and without one (the same command on a configuration whose
port has no server), and the query alone through a Spark Connect client in this process.
Runs alternate; medians and the ratio are printed and written to bench/results/.

    PYTHONPATH=$PWD python -m bench.query_start --events 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.command_start import _first_row
from bench.common import KEY, ROOT, SUITES

_QUERY = "SELECT count(*) FROM silver.events"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _toml(root: Path, port: int) -> Path:
    file = root / f"lakehouse-{port}.toml"
    file.write_text(
        f'[lake]\nroot = "{root / "lake"}"\ncheckpoint_root = "{root / "checkpoints"}"\n'
        f'[source]\nlanding_path = "{root / "landing"}"\n'
        f'[datasets]\ndir = "{ROOT / "datasets"}"\nnames = ["events"]\n'
        f'[quality]\nenabled = false\nsuite_dir = "{SUITES}"\n'
        '[spark]\nmaster = "local[2]"\nshuffle_partitions = 2\n'
        f'[privacy]\npseudonym_key = "{KEY}"\n'
        f'[serve]\nport = {port}\njdbc_port = {_free_port()}\nstate_dir = "{root / "state"}"\n'
    )
    return file


def _lakehouse(toml: Path, *argv: str) -> list[str]:
    return [str(Path(sys.executable).with_name("lakehouse")), "--config", str(toml), *argv]


def _connect_first_row(port: int) -> float:
    """Seconds from a new Connect session to the first row of the query, in this process."""
    from pyspark.sql.connect.session import SparkSession as RemoteSession

    started = time.perf_counter()
    spark = RemoteSession.builder.remote(f"sc://127.0.0.1:{port}").create()
    spark.sql(_QUERY).first()
    elapsed = time.perf_counter() - started
    spark.stop()
    return round(elapsed, 3)


def _median(values: list[float | None]) -> float | None:
    answered = [v for v in values if v is not None]
    return round(statistics.median(answered), 3) if answered else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "query-start.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-query-start-") as tmp:
        root = Path(tmp)
        port = _free_port()
        served, unserved = _toml(root, port), _toml(root, _free_port())
        demo = _lakehouse(served, "demo", "--events", str(args.events), "--seed", "1")
        subprocess.run(demo, cwd=ROOT, check=False, capture_output=True)  # 1: accounting only
        started = time.perf_counter()
        server = subprocess.Popen(_lakehouse(served, "serve"), cwd=ROOT, stdout=subprocess.PIPE)
        try:
            assert server.stdout is not None
            for line in server.stdout:
                if line.startswith(b"stop with"):
                    break
            server_start = round(time.perf_counter() - started, 3)
            runs: dict[str, list[Any]] = {"via_server": [], "new_session": [], "connect": []}
            for _ in range(args.repeats):
                runs["via_server"].append(_first_row(_lakehouse(served, "sql", _QUERY), ROOT))
                runs["new_session"].append(_first_row(_lakehouse(unserved, "sql", _QUERY), ROOT))
                runs["connect"].append(_connect_first_row(port))
        finally:
            subprocess.run(_lakehouse(served, "serve", "--stop"), cwd=ROOT, check=False)
            server.wait(120)
    via = _median([r["first_row_s"] for r in runs["via_server"]])
    new = _median([r["first_row_s"] for r in runs["new_session"]])
    result = {
        "query": _QUERY,
        "events": args.events,
        "server_start_s": server_start,
        "median_first_row_s": {
            "lakehouse_sql_via_server": via,
            "lakehouse_sql_new_session": new,
            "connect_client_in_process": _median(runs["connect"]),
        },
        "ratio_new_session_to_server": round(new / via, 2) if via and new else None,
        "runs": runs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["median_first_row_s"], indent=1))
    print(f"new session / via server: {result['ratio_new_session_to_server']}x ({args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
