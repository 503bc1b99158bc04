"""Benchmark: small driver-side DataFrames (a batch-log row, a metrics row) built through
Arrow (``lakehouse.frames.local_frame``) against Spark's row-by-row ``createDataFrame``, in
one process: per frame a no-op write and a Delta append, median milliseconds and the ratio.

    .venv/bin/python bench/local_frames.py --repeats 30
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import SparkConfig
from lakehouse.frames import local_frame
from lakehouse.ops import BATCH_LOG
from lakehouse.session import build_session


def _row(n: int) -> dict[str, object]:
    ts = datetime.now(UTC)
    return {
        "job": "bench",
        "batch_id": n,
        "started_ts": ts,
        "finished_ts": ts,
        "duration_ms": 1,
        "rows_in": 10,
        "rows_out": 9,
        "rows_quarantined": 1,
        "status": "ok",
        "blocked_reason": None,
        "source_offsets": '{"landing/f": [0, 9]}',
        "versions_written": {"bronze.events": n},
        "step_ms": {"write bronze.events": 12},
    }


def _median_ms(
    spark: SparkSession, build: Callable[[int], DataFrame], sink: str, repeats: int, out: Path
) -> float:
    times = []
    for n in range(repeats + 1):
        started = time.perf_counter()
        writer = build(n).write.mode("append")
        if sink == "delta":
            writer.format("delta").save(str(out))
        else:
            writer.format("noop").save()
        if n:  # the first one warms up
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    spark = build_session(SparkConfig(master="local[2]", shuffle_partitions=2), "bench-frames")
    work = Path(tempfile.mkdtemp(prefix="lakehouse-bench-frames-"))
    builders: dict[str, Callable[[int], DataFrame]] = {
        "createDataFrame": lambda n: spark.createDataFrame([_row(n)], BATCH_LOG.schema),
        "local_frame": lambda n: local_frame(spark, [_row(n)], BATCH_LOG.schema),
    }
    try:
        for sink in ("noop", "delta"):
            medians = {
                name: _median_ms(spark, build, sink, args.repeats, work / f"{sink}-{name}")
                for name, build in builders.items()
            }
            ratio = medians["createDataFrame"] / medians["local_frame"]
            print(
                f"{sink:>5}: createDataFrame {medians['createDataFrame']:.0f} ms, "
                f"local_frame {medians['local_frame']:.0f} ms, {ratio:.1f}x faster"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        spark.stop()


if __name__ == "__main__":
    main()
