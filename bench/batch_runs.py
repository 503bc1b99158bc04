"""Running the benchmarks' streams: one drained run of a stream and its batches' times,
landing files of generated events, and the batches of streams that keep running (the
``warm`` part of :mod:`bench.latency`)."""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.streaming.query import StreamingQuery

from bench.common import (
    EVENTS_PER_FILE,
    bare_bronze,
    bare_gold,
    bare_silver,
    create_bare_silver,
    make_config,
    register,
)
from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.io.contracts import record_contract
from lakehouse.io.delta import wait_for_prefetches
from lakehouse.io.jobs import job_for, start_job_stream
from lakehouse.io.streams import await_stream
from tests.product_generator import GeneratorSpec, generate_events, write_landing

__all__ = ["LAYERS", "bare_streams", "landing_files", "one_run", "warm_batches"]

LAYERS = ("bronze", "silver", "gold")


def one_run(start: Callable[[], StreamingQuery], *, running: bool = False) -> dict[str, Any]:
    """Start a stream that drains what is there, wait for it; its batches with data.

    ``running``: the batches stand for those of a stream that keeps running, which has the
    time between two batches to read the tables' state ahead for the next one; the reads
    ahead its batches started are waited for, not cancelled as at the end of a stream
    (:func:`~lakehouse.io.delta.wait_for_prefetches`)."""
    load_before = os.getloadavg()
    started = time.perf_counter()
    query = start()
    if running:
        query.awaitTermination()
        wait_for_prefetches()
    else:
        await_stream(query)
    wall = time.perf_counter() - started
    batches = [p for p in query.recentProgress if p.numInputRows > 0]
    return {
        "spark_input_rows": sum(p.numInputRows for p in batches),
        "batches": len(batches),
        "batch_s": round(sum(p.durationMs.get("triggerExecution", 0) for p in batches) / 1000, 3),
        "add_batch_s": round(sum(p.durationMs.get("addBatch", 0) for p in batches) / 1000, 3),
        "wall_s": round(wall, 3),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
    }


def landing_files(
    work: Path, events: int, seed: int = 1, prefix: str | None = None
) -> tuple[Path, int]:
    """``events`` generated events as landing files (as bench/pipeline.py makes them);
    the landing folder and its number of files."""
    landing = work / "landing" / "events"  # the events' folder under the landing root
    start = datetime.now(UTC) - timedelta(hours=36)
    spec = GeneratorSpec(
        count=events, bad_share=0.05, seed=seed, rate=events / 30 / 3600, start=start
    )
    write_landing(generate_events(spec), landing, events_per_file=EVENTS_PER_FILE, prefix=prefix)
    return landing, math.ceil(events / EVENTS_PER_FILE)


def bare_streams(
    spark: SparkSession, config: LakehouseConfig, landing: Path, files: int, root: Path
) -> dict[str, Callable[[], StreamingQuery]]:
    """Per layer, the start of the bare stream that drains what is there (available now):
    bronze reads ``landing`` (``files`` per batch) into a copy, made here, of the empty
    bronze table of ``config``'s lake; silver and gold read that lake's bronze and silver
    tables, as the jobs do. Tables and checkpoints under ``root``."""
    bronze = config.lake.table_path("bronze", "events")
    silver = config.lake.table_path("silver", "events")
    shutil.copytree(bronze, root / "bronze")  # still empty
    create_bare_silver(spark, bronze, str(root / "silver"))
    return {
        "bronze": lambda: (
            bare_bronze(spark, landing, files, root / "bronze-cp")
            .trigger(availableNow=True)
            .start(str(root / "bronze"))
        ),
        "silver": lambda: (
            bare_silver(spark, bronze, root / "silver-cp", str(root / "silver"))
            .trigger(availableNow=True)
            .start()
        ),
        "gold": lambda: (
            bare_gold(spark, silver, root / "gold", accumulate=True)
            .trigger(availableNow=True)
            .start()
        ),
    }


def warm_batches(
    spark: SparkSession, work: Path, sizes: list[int], warmups: int = 3, repeats: int = 3
) -> list[dict[str, Any]]:
    """One micro-batch of each layer at each of ``sizes`` events (``repeats`` rounds each,
    the median kept: :func:`_median_round`) in streams that have run batches before
    (``warmups`` of 200 events, not reported): what a running stream pays per batch. Each
    layer's job object lives across its runs (its monitors' history, suites and cost
    history stay in memory, as in a stream that never stopped) and every run drains what
    arrived since the last one, in one batch; the bare streams continue their checkpoints
    likewise. Same landing files, job then bare, layer by layer. The reads ahead of table
    state a batch starts are waited for after each run (``one_run(running=True)``), as a
    running stream has the time between batches for them."""
    landing = work / "landing" / "events"
    config = dataclasses.replace(
        make_config(work / "project", landing, 10_000),  # every new file in one batch
        trigger=TriggerConfig(mode="available-now"),
    )
    register(spark, config)
    bronze = config.lake.table_path("bronze", "events")
    silver = config.lake.table_path("silver", "events")
    jobs = {layer: job_for(spark, config, layer) for layer in LAYERS}
    record_contract(spark, config, jobs["bronze"].tables.dataset)
    bare = bare_streams(spark, config, landing, 10_000, work / "bare")

    def rows(path: str) -> int:
        return spark.read.format("delta").load(path).count()

    rounds = [(200, False)] * warmups + [(size, True) for size in sizes for _ in range(repeats)]
    runs: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    for n, (events, reported) in enumerate(rounds):
        landing_files(work, events, seed=100 + n, prefix=f"r{n:02d}")
        spark.read.text(str(landing)).write.format("noop").mode("overwrite").save()
        below = {"bronze_rows": rows(bronze), "silver_rows": rows(silver)}
        out: dict[str, Any] = {}
        for layer in LAYERS:
            out[layer] = {
                "job": one_run(partial(start_job_stream, spark, jobs[layer]), running=True),
                "bare": one_run(bare[layer], running=True),
            }
        # the events each layer's batch took in: the rows the layer below added this round
        out["bronze"]["input_events"] = events
        out["silver"]["input_events"] = rows(bronze) - below["bronze_rows"]
        out["gold"]["input_events"] = rows(silver) - below["silver_rows"]
        if reported:
            runs[events].append(out)
            shown = {
                layer: {k: out[layer][k]["batch_s"] for k in ("job", "bare")} for layer in LAYERS
            }
            print(f"  warm {events:>7} events: {shown}", flush=True)
    return [_median_round(size, runs[size]) for size in sizes]


def _median_round(events: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one size as one: per layer and kind, the run of median batch time (a
    round now and then pays what comes every n commits, e.g. Delta's checkpoint of a log),
    with every round's batch times beside it."""
    out: dict[str, Any] = {"events": events}
    for layer in LAYERS:
        inputs = sorted(r[layer]["input_events"] for r in runs)
        out[layer] = {"input_events": inputs[len(inputs) // 2]}
        for kind in ("job", "bare"):
            ordered = sorted((r[layer][kind] for r in runs), key=lambda run: run["batch_s"])
            out[layer][kind] = {
                **ordered[len(ordered) // 2],
                "rounds_batch_s": [r[layer][kind]["batch_s"] for r in runs],
            }
    return out
