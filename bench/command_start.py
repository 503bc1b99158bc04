"""The start of a command, as whole processes: ``lakehouse sql "SELECT count(*) FROM
silver.events"`` until its first row is printed, against a bare Python process that starts
Spark with Delta (``configure_spark_with_delta_pip``, the same master) and prints the count
of the same table. Runs alternate; medians are reported."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lakehouse.config import LakehouseConfig

__all__ = ["command_start", "write_sql_config"]

_BARE = """
import sys
from delta import configure_spark_with_delta_pip
from pyspark.sql import SparkSession

builder = (
    SparkSession.builder.master(sys.argv[2])
    .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
    .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
)
spark = configure_spark_with_delta_pip(builder).getOrCreate()
print(spark.read.format("delta").load(sys.argv[1]).count(), flush=True)
"""

_ROW = re.compile(r"^\|?\s*\d+\s*\|?$")  # a count: alone, or in a table's cell


def write_sql_config(path: Path, lake: LakehouseConfig, master: str) -> None:
    """A configuration file for ``lakehouse --config`` pointing at the lake of ``lake``: its
    tables, its datasets folder and suites (the command checks the contracts' suites at
    start), on ``master``."""
    path.write_text(
        f'[lake]\nroot = "{lake.lake.root}"\ncheckpoint_root = "{lake.lake.checkpoint_root}"\n\n'
        f'[datasets]\ndir = "{lake.datasets.dir}"\nnames = ["events"]\n\n'
        f'[quality]\nsuite_dir = "{lake.quality.suite_dir}"\n\n'
        f'[spark]\nmaster = "{master}"\nshuffle_partitions = 2\n'
    )


def _first_row(command: list[str], cwd: Path) -> dict[str, Any]:
    """Seconds until the first line that is a count, and until the process ended."""
    load_before = os.getloadavg()
    started = time.perf_counter()
    first: float | None = None
    value: str | None = None
    with (
        tempfile.TemporaryFile("w+") as errors,
        subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=errors, text=True
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            if first is None and _ROW.match(line.strip()):
                first = time.perf_counter() - started
                value = line.strip(" |\n")
        code = process.wait()
        errors.seek(0)
        lines = [line.strip() for line in errors if line.strip()]
        last_error = lines[-1] if lines else None
    return {
        "first_row_s": round(first, 3) if first is not None else None,
        "process_s": round(time.perf_counter() - started, 3),
        "exit_code": code,
        "count": value,
        "stderr_last_line": last_error if first is None else None,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }


def command_start(
    config_file: Path, silver_path: str, master: str, repeats: int, cwd: Path
) -> dict[str, Any]:
    """``repeats`` runs of each process, alternating; medians and the ratio."""
    lakehouse = str(Path(sys.executable).with_name("lakehouse"))
    sql = [lakehouse, "--config", str(config_file), "sql", "SELECT count(*) FROM silver.events"]
    bare = [sys.executable, "-c", _BARE, silver_path, master]
    runs: dict[str, list[dict[str, Any]]] = {"lakehouse_sql": [], "bare": []}
    for _ in range(repeats):
        runs["lakehouse_sql"].append(_first_row(sql, cwd))
        runs["bare"].append(_first_row(bare, cwd))
    medians: dict[str, float | None] = {}
    for name, rs in runs.items():
        answered = [r["first_row_s"] for r in rs if r["first_row_s"] is not None]
        medians[name] = round(statistics.median(answered), 3) if answered else None
    sql_s, bare_s = medians["lakehouse_sql"], medians["bare"]
    return {
        "runs": runs,
        "median_first_row_s": medians,
        "ratio_sql_to_bare": round(sql_s / bare_s, 3) if sql_s and bare_s else None,
    }
