"""Benchmark: the silver promotion with the quality gate on and off, in one process.

Both runs refine the same generated bronze data with the same code; only
``quality.enabled`` differs. Each mode runs ``--repeats`` times, alternating, on a fresh
silver table; the best time of each counts. Prints rows/s for each and the ratio.

    .venv/bin/python bench/silver_gate.py --events 20000
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lakehouse.catalog import register_tables
from lakehouse.config import (
    LakeConfig,
    LakehouseConfig,
    QualityConfig,
    SourceConfig,
    SparkConfig,
    TriggerConfig,
)
from lakehouse.demo import run_layers
from lakehouse.generator import GeneratorSpec, generate_events, write_landing
from lakehouse.io.jobs import start_job
from lakehouse.io.streams import await_stream
from lakehouse.session import build_session

SUITES = Path(__file__).resolve().parents[1] / "expectations"


def _config(root: Path, landing: Path, gate: bool, files: int) -> LakehouseConfig:
    return LakehouseConfig(
        lake=LakeConfig(root=str(root / "lake"), checkpoint_root=str(root / "checkpoints")),
        source=SourceConfig(landing_path=str(landing), max_files_per_trigger=files),
        spark=SparkConfig(master="local[2]", shuffle_partitions=2),
        quality=QualityConfig(enabled=gate, suite_dir=str(SUITES)),
    )


def _silver_seconds(base: LakehouseConfig, bronze: Path, run: Path, gate: bool) -> float:
    """Copy the shared bronze table into a fresh lake and time one silver run over it."""
    config = dataclasses.replace(
        base,
        lake=LakeConfig(root=str(run / "lake"), checkpoint_root=str(run / "checkpoints")),
        quality=QualityConfig(enabled=gate, suite_dir=str(SUITES)),
    )
    shutil.copytree(bronze, Path(config.lake.table_path("bronze", "events")))
    spark = build_session(config.spark)
    register_tables(spark, config.lake)
    started = time.perf_counter()
    await_stream(start_job(spark, config, "silver", TriggerConfig(mode="available-now")))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--events-per-file", type=int, default=1000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lakehouse-bench-"))
    try:
        landing = work / "landing"
        files = max(1, args.events // args.events_per_file)  # all of it in one micro-batch
        base = _config(work / "base", landing, gate=False, files=files)
        spark = build_session(base.spark, "lakehouse-bench")
        register_tables(spark, base.lake)
        start = datetime.now(UTC) - timedelta(hours=2)
        spec = GeneratorSpec(count=args.events, bad_share=0.05, seed=1, rate=5.0, start=start)
        write_landing(generate_events(spec), landing, events_per_file=args.events_per_file)
        run_layers(spark, base, ("bronze",))
        bronze = Path(base.lake.table_path("bronze", "events"))
        rows = spark.read.format("delta").load(str(bronze)).count()

        _silver_seconds(base, bronze, work / "warmup", gate=True)  # JIT, GE imports, caches
        best = {False: float("inf"), True: float("inf")}
        for n in range(args.repeats):
            for gate in (False, True):
                seconds = _silver_seconds(base, bronze, work / f"run-{n}-{gate}", gate)
                best[gate] = min(best[gate], seconds)
        off, on = rows / best[False], rows / best[True]
        print(f"silver promotion of {rows} bronze rows (one micro-batch), best of {args.repeats}")
        print(f"  gate off: {best[False]:7.2f} s  {off:10.0f} rows/s")
        print(f"  gate on:  {best[True]:7.2f} s  {on:10.0f} rows/s")
        print(f"  ratio gate on / gate off: {on / off:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
