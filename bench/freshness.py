"""Freshness end to end: how long an event takes from its arrival to the first gold row that
reflects it, with every layer streaming side by side in one process.

A background thread writes one landing file per second (``rate`` events of the current
time, all good, so that every event must reach gold) and records when each file was
renamed into the landing folder: its arrival. The three layers run with processing-time
triggers (5 s by default), the jobs or the bare streams of :mod:`bench.common` (their gold
MERGE accumulates, so both gold tables count every event). Nothing polls during the run.
Afterwards every version of the per-minute gold table is read (``versionAsOf``): a file is
reflected by the first version whose event counts, for every minute the file has events in,
reach the events of that minute that arrived up to and including the file (batches take
files, and the layers below, in order). The lag of a file is the time of that version's
commit (the modification time of its log file) minus the file's arrival.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.query import StreamingQuery

from bench.common import (
    bare_bronze,
    bare_gold,
    bare_silver,
    create_bare_silver,
    make_config,
    register,
)
from lakehouse.config import TriggerConfig
from lakehouse.io.delta import settle_prefetches
from lakehouse.io.jobs import start_job
from tests.product_generator import GeneratorSpec, generate_events, write_landing

__all__ = ["FileArrival", "freshness_run", "lag_summary"]


@dataclass
class FileArrival:
    """One landing file: when it arrived and how many events it holds per minute."""

    arrived: float  # epoch seconds
    minutes: Counter[str] = field(default_factory=Counter)  # "YYYY-MM-DDTHH:MM" -> events


def _write_files(landing: Path, rate: int, seconds: float, out: list[FileArrival]) -> None:
    """One file of ``rate`` events per second for ``seconds``, on a fixed schedule."""
    started = time.monotonic()
    n = 0
    while n < seconds:
        delay = started + n - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        spec = GeneratorSpec(
            count=rate, bad_share=0.0, seed=10_000 + n, rate=float(rate), start=datetime.now(UTC)
        )
        events = generate_events(spec)
        minutes = Counter(str(json.loads(e.line)["event_ts"])[:16] for e in events)
        write_landing(events, landing, events_per_file=rate, prefix=f"arrival-{n:06d}")
        out.append(FileArrival(time.time(), minutes))
        n += 1


def _commits(table: Path) -> list[tuple[int, float]]:
    """(version, commit time in epoch seconds) of every commit of a Delta table."""
    log = table / "_delta_log"
    return sorted((int(p.stem), p.stat().st_mtime) for p in log.glob("*.json"))


def _reflected(spark: SparkSession, table: Path, files: list[FileArrival]) -> list[float | None]:
    """For each file, the commit time of the first version of ``table`` that counts all its
    events (None: no version does)."""
    wanted: list[Counter[str]] = []
    running: Counter[str] = Counter()
    for f in files:
        running.update(f.minutes)
        wanted.append(Counter({m: running[m] for m in f.minutes}))
    reflected: list[float | None] = [None] * len(files)
    i = 0
    for version, committed in _commits(table):
        if i == len(files):
            break
        rows = (
            spark.read.format("delta")
            .option("versionAsOf", version)
            .load(str(table))
            .groupBy(F.date_format("window_start", "yyyy-MM-dd'T'HH:mm").alias("m"))
            .agg(F.sum("events").alias("n"))
            .collect()
        )
        counts = {r["m"]: int(r["n"]) for r in rows}
        while i < len(files) and all(counts.get(m, 0) >= n for m, n in wanted[i].items()):
            reflected[i] = committed
            i += 1
    return reflected


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def lag_summary(
    files: list[FileArrival], reflected: list[float | None], stopped: float
) -> dict[str, Any]:
    """p50, p95 and max lag, and its trend (least-squares slope of lag over arrival time,
    seconds of lag per minute of run) over the reflected files; and the same percentiles
    with a file that gold never reflected counted at its lower bound, ``stopped`` (when the
    streams stopped) minus its arrival."""
    t0 = files[0].arrived if files else 0.0
    points = [(f.arrived - t0, r - f.arrived) for f, r in zip(files, reflected, strict=True) if r]
    lags = [lag for _, lag in points]
    bounds = [(r or stopped) - f.arrived for f, r in zip(files, reflected, strict=True)]
    out: dict[str, Any] = {
        "files": len(files),
        "events": sum(sum(f.minutes.values()) for f in files),
        "files_reflected": len(points),
        "files_never_reflected": len(files) - len(points),
    }
    if bounds:
        out["all_files_lag_at_least_p50_s"] = round(_percentile(bounds, 0.5), 2)
        out["all_files_lag_at_least_p95_s"] = round(_percentile(bounds, 0.95), 2)
        out["all_files_lag_at_least_max_s"] = round(max(bounds), 2)
    if len({r for r in reflected if r}) < 2:  # one gold version: no trend to fit
        out["lag_trend_s_per_min"] = None
    if len(points) < 2:
        return out
    mean_t = statistics.fmean(t for t, _ in points)
    mean_l = statistics.fmean(lags)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    slope = sum((t - mean_t) * (lag - mean_l) for t, lag in points) / var if var else 0.0
    out.update(
        {
            "lag_p50_s": round(_percentile(lags, 0.5), 2),
            "lag_p95_s": round(_percentile(lags, 0.95), 2),
            "lag_max_s": round(max(lags), 2),
            "lag_mean_s": round(mean_l, 2),
            "lag_trend_s_per_min": out.get("lag_trend_s_per_min", round(slope * 60, 2)),
            "lag_first_minute_p50_s": round(
                statistics.median([lag for t, lag in points if t < 60] or [0.0]), 2
            ),
            "lag_last_minute_p50_s": round(
                statistics.median([lag for t, lag in points if t >= points[-1][0] - 60]), 2
            ),
            "lags_s": [round(lag, 2) for lag in lags],
        }
    )
    return out


def _start_project(
    spark: SparkSession, root: Path, landing: Path, interval: str
) -> tuple[list[StreamingQuery], Path]:
    trigger = TriggerConfig(mode="processing-time", interval=interval)
    config = make_config(root, landing, files=1_000, trigger=trigger)
    register(spark, config)
    queries = [start_job(spark, config, layer, trigger) for layer in ("bronze", "silver", "gold")]
    return queries, Path(config.lake.table_path("gold", "events_per_minute"))


def _start_bare(
    spark: SparkSession, root: Path, landing: Path, interval: str, bronze_template: str
) -> tuple[list[StreamingQuery], Path]:
    bronze = root / "bronze"
    silver = root / "silver"
    shutil.copytree(bronze_template, bronze)  # an empty bronze table: the jobs' columns
    create_bare_silver(spark, str(bronze), str(silver))  # before the gold stream reads it
    queries = [
        bare_bronze(spark, landing, 1_000, root / "bronze-checkpoint")
        .trigger(processingTime=interval)
        .start(str(bronze)),
        bare_silver(spark, str(bronze), root / "silver-checkpoint", str(silver))
        .trigger(processingTime=interval)
        .start(),
        bare_gold(spark, str(silver), root / "gold", accumulate=True)
        .trigger(processingTime=interval)
        .start(),
    ]
    return queries, root / "gold" / "per_minute"


def freshness_run(
    spark: SparkSession,
    root: Path,
    *,
    kind: str,
    rate: int,
    minutes: float,
    interval: str = "5 seconds",
    drain_seconds: float = 180.0,
    bronze_template: str = "",
) -> dict[str, Any]:
    """Stream ``rate`` events per second for ``minutes`` through the three layers (``kind``
    "project": the jobs; "bare": the bare streams, whose bronze table starts as a copy of
    ``bronze_template``), then up to ``drain_seconds`` more for gold to catch up, and
    return the lag of every file."""
    landing = root / "landing" / "events"  # the events' folder under the landing root
    landing.mkdir(parents=True)
    load_before = os.getloadavg()
    if kind == "project":
        queries, gold = _start_project(spark, root, landing, interval)
    else:
        queries, gold = _start_bare(spark, root, landing, interval, bronze_template)
    files: list[FileArrival] = []
    writer = threading.Thread(
        target=_write_files, args=(landing, rate, minutes * 60, files), daemon=True
    )
    writer.start()
    writer.join()
    expected = sum(sum(f.minutes.values()) for f in files)
    deadline = time.monotonic() + drain_seconds
    caught_up = False
    while time.monotonic() < deadline and not caught_up:
        time.sleep(5)
        if gold.exists() and (gold / "_delta_log").exists():
            total = spark.read.format("delta").load(str(gold)).agg(F.sum("events")).first()
            caught_up = total is not None and (total[0] or 0) >= expected
    stopped = time.time()
    for query in queries:
        query.stop()
    settle_prefetches()
    errors = [str(q.exception()) for q in queries if q.exception() is not None]
    load_after = os.getloadavg()
    result = lag_summary(files, _reflected(spark, gold, files), stopped)
    result.update(
        {
            "kind": kind,
            "rate_events_per_s": rate,
            "minutes": minutes,
            "trigger": interval,
            "caught_up_after_writer": caught_up,
            "gold_commits": len(_commits(gold)),
            "stream_errors": errors,
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        }
    )
    return result
