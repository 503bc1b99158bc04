"""Benchmark: what the idempotent append costs. A one-row Delta append with ``txnAppId`` and
``txnVersion`` (what every micro-batch write of the jobs does: ``append_idempotent``) against
the same append without them, in one process, on one table: median milliseconds, the Spark
jobs each append runs, and the ratio.

Delta records the pair in the log, so a retried batch writes nothing twice. To know whether
the pair is there, Delta 4.2 reads the table's transactions from ``Snapshot.setTransactions``,
which reconstructs the table state with Spark jobs (it does not use the copy of the
transactions in the ``.crc`` checksum file): that is the difference measured here. The jobs
read that state ahead, in the background, after each commit
(``lakehouse.io.delta.prefetch_state``): the third append measured is an idempotent one
whose table state was read ahead.

    .venv/bin/python bench/delta_append.py --repeats 20
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.config import SparkConfig
from lakehouse.io.delta import prefetch_state
from lakehouse.session import build_session


def _append(spark: SparkSession, path: str, version: int | None) -> tuple[float, int]:
    """One one-row append; its milliseconds and the Spark jobs it ran."""
    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup())
    writer = spark.range(1).write.format("delta").mode("append")
    if version is not None:
        writer = writer.option("txnAppId", "bench").option("txnVersion", version)
    started = time.perf_counter()
    writer.save(path)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, len(set(tracker.getJobIdsForGroup()) - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    spark = build_session(SparkConfig(master="local[2]", shuffle_partitions=2), "bench-append")
    work = Path(tempfile.mkdtemp(prefix="lakehouse-bench-append-"))
    path = str(work / "table")
    try:
        spark.range(1).write.format("delta").save(path)
        names = ("plain", "idempotent", "read ahead")
        results: dict[str, list[tuple[float, int]]] = {name: [] for name in names}
        for n in range(args.repeats + 2):  # alternating; the first round warms up
            plain = _append(spark, path, None)
            idempotent = _append(spark, path, 2 * n)
            prefetch_state(spark, path).result()  # what runs between a job's batches
            ahead = _append(spark, path, 2 * n + 1)
            if n >= 2:
                results["plain"].append(plain)
                results["idempotent"].append(idempotent)
                results["read ahead"].append(ahead)
        medians = {k: statistics.median(ms for ms, _ in v) for k, v in results.items()}
        jobs = {k: statistics.median(j for _, j in v) for k, v in results.items()}
        for name in names:
            print(f"{name:>10} append: {medians[name]:7.0f} ms, {jobs[name]:.0f} Spark jobs")
        ratio = medians["idempotent"] / medians["plain"]
        print(f"idempotent / plain: {ratio:.1f}x ({args.repeats} appends each)")
        ahead_ratio = medians["read ahead"] / medians["plain"]
        print(f"idempotent with the state read ahead / plain: {ahead_ratio:.1f}x")
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
