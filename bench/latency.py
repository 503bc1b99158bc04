"""Benchmark: latency. What a micro-batch costs whatever its size, how fresh gold is while
events stream in, and how long a command takes to answer; every figure against bare Spark
doing the same work, in one process (the command starts: in processes started one after
the other).

- ``batch``: one micro-batch of each layer at each of ``--sizes`` events, on fresh tables
  (a warm-up size first, not reported): the job against the bare stream of
  :mod:`bench.common` (bronze: read and append; silver: ``from_json`` and append; gold:
  aggregate and MERGE). The time of a batch is Spark's ``triggerExecution`` of the batch
  (planning, the ``foreachBatch`` or sink, the commit to the checkpoint); a least-squares
  line over the sizes gives the fixed cost per batch (intercept) and the cost per event
  (slope), and the ratios job / bare of both.
- ``warm``: the same sizes in streams that have run batches before (what a running stream
  pays per batch; the first batches above include what a new stream pays once): each
  layer's job object lives across its runs, as in a stream that never stopped
  (:func:`bench.batch_runs.warm_batches`); the same fit and ratios.
- ``freshness``: every layer with 5 s processing-time triggers in one process while
  ``--rate`` events per second arrive for ``--minutes``; p50, p95 and max of the time from
  an event's arrival to the first gold version that counts it, and the trend of that lag
  (:mod:`bench.freshness`); the jobs, then the bare streams.
- ``start``: ``lakehouse sql "SELECT count(*) FROM silver.events"`` until its first row
  against a bare process counting the same table (:mod:`bench.command_start`).
- ``profile``: one micro-batch of 1,000 events per layer with the Spark jobs it runs (named
  after the line of the package that started each) and the Delta commits it makes
  (:mod:`bench.job_profile`), the bare streams likewise.

Writes every raw figure to ``--out`` (JSON) with the machine, date and load averages, and
prints the ratios.

    .venv/bin/python -m bench.latency          # about 50 minutes on the shared 2-core machine
    .venv/bin/python -m bench.latency --parts batch --sizes 1,1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.query import StreamingQuery

from bench.batch_runs import LAYERS, bare_streams, landing_files, one_run, warm_batches
from bench.command_start import command_start, write_sql_config
from bench.common import (
    ROOT,
    make_config,
    register,
)
from bench.freshness import freshness_run
from bench.job_profile import commits_between, jobs_between, label_jobs
from lakehouse.config import LakehouseConfig, SparkConfig, TriggerConfig
from lakehouse.io.jobs import start_job
from lakehouse.session import build_session

PARTS = ("batch", "warm", "start", "freshness", "profile")
TARGETS = {"bronze": 2.0, "silver": 3.0, "gold": 3.0}  # fixed cost, job / bare, at most
MASTER = "local[2]"


def _available_now(spark: SparkSession, config: LakehouseConfig, layer: str) -> StreamingQuery:
    return start_job(spark, config, layer, TriggerConfig(mode="available-now"))


def bench_size(
    spark: SparkSession, work: Path, events: int
) -> tuple[dict[str, Any], LakehouseConfig]:
    """One micro-batch of each layer on ``events`` events, job then bare, on fresh tables;
    also the project lake's configuration (its silver table is the ``start`` part's)."""
    landing, files = landing_files(work, events)
    config = make_config(work / "project", landing, files)
    register(spark, config)
    bronze = config.lake.table_path("bronze", "events")
    silver = config.lake.table_path("silver", "events")
    bare = bare_streams(spark, config, landing, files, work / "bare")
    # read the files once untimed, so that neither run pays for the first read from disk
    spark.read.text(str(landing)).write.format("noop").mode("overwrite").save()
    out: dict[str, Any] = {"events": events}
    for layer in LAYERS:
        out[layer] = {
            "job": one_run(partial(_available_now, spark, config, layer)),
            "bare": one_run(bare[layer]),
        }
    # the events each layer's batch takes in (Spark's numInputRows counts every scan)
    inputs = {
        "bronze": events,
        "silver": spark.read.format("delta").load(bronze).count(),
        "gold": spark.read.format("delta").load(silver).count(),
    }
    for layer in LAYERS:
        out[layer]["input_events"] = inputs[layer]
        print(f"  {events:>7} events {layer}: {out[layer]}", flush=True)
    return out, config


def fit(points: list[tuple[float, float]]) -> dict[str, float]:
    """Least squares ``y = intercept + slope * x``: the fixed cost per batch in seconds and
    the cost per 1,000 events in milliseconds."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0
    return {
        "fixed_s": round(mean_y - slope * mean_x, 3),
        "ms_per_1000_events": round(slope * 1_000_000, 2),
    }


def batch_fits(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """Per layer: the fit of the job and of bare Spark, and the ratios job / bare."""
    fits: dict[str, Any] = {}
    for layer in LAYERS:
        row: dict[str, Any] = {}
        for kind in ("job", "bare"):
            points = [(s[layer]["input_events"], s[layer][kind]["batch_s"]) for s in sizes]
            row[kind] = fit(points)
        row["fixed_ratio"] = round(row["job"]["fixed_s"] / row["bare"]["fixed_s"], 2)
        per_event = row["bare"]["ms_per_1000_events"]
        row["per_event_ratio"] = (
            round(row["job"]["ms_per_1000_events"] / per_event, 2) if per_event > 0 else None
        )
        row["fixed_target"] = TARGETS[layer]
        fits[layer] = row
    return fits


def profile(spark: SparkSession, work: Path, events: int) -> dict[str, Any]:
    """One micro-batch per layer, job and bare, with its Spark jobs and Delta commits."""
    landing, files = landing_files(work, events)
    config = make_config(work / "project", landing, files)
    register(spark, config)
    bare = bare_streams(spark, config, landing, files, work / "bare")
    spark.read.text(str(landing)).write.format("noop").mode("overwrite").save()
    starts: dict[str, dict[str, Callable[[], StreamingQuery]]] = {
        layer: {"job": partial(_available_now, spark, config, layer), "bare": bare[layer]}
        for layer in LAYERS
    }
    out: dict[str, Any] = {"events": events}
    for layer in LAYERS:
        out[layer] = {}
        for kind, start in starts[layer].items():
            time.sleep(1)  # commits of the run before are not in this window
            t0 = time.time()
            with label_jobs(spark):
                run = one_run(start)
            t1 = time.time()
            run["jobs"] = jobs_between(spark, int(t0 * 1000), int(t1 * 1000))
            run["commits"] = commits_between(work, t0, t1)
            out[layer][kind] = run
            print(
                f"  profile {layer} {kind}: {len(run['jobs'])} jobs, "
                f"{len(run['commits'])} commits, {run['batch_s']} s",
                flush=True,
            )
    log = (
        spark.read.format("delta")
        .load(config.lake.table_path("ops", "batch_log"))
        .select("job", "batch_id", "duration_ms", "step_ms")
        .orderBy(F.col("started_ts"))
        .collect()
    )
    out["batch_log"] = [
        {"job": r["job"], "duration_ms": r["duration_ms"], "step_ms": dict(r["step_ms"] or {})}
        for r in log
    ]
    return out


def _start_part(
    spark: SparkSession, work: Path, lake: LakehouseConfig | None, repeats: int
) -> dict[str, Any]:
    """``lakehouse sql`` against a bare process, on the silver table of ``lake`` (or of a
    new lake of 10,000 events)."""
    if lake is None:
        _, lake = bench_size(spark, work / "start-lake", 10_000)
    config_file = work / "sql.toml"
    write_sql_config(config_file, lake, MASTER)
    silver = lake.lake.table_path("silver", "events")
    result = command_start(config_file, silver, MASTER, repeats, work)
    print(f"  start: {result['median_first_row_s']}", flush=True)
    return result


def _freshness_part(spark: SparkSession, work: Path, rate: int, minutes: float) -> dict[str, Any]:
    """The freshness of the jobs, then of the bare streams."""
    empty = make_config(work / "empty", work / "landing" / "events", 1)
    register(spark, empty)  # every table, empty
    template = empty.lake.table_path("bronze", "events")
    runs = {}
    for kind in ("project", "bare"):
        runs[kind] = freshness_run(
            spark,
            work / f"fresh-{kind}",
            kind=kind,
            rate=rate,
            minutes=minutes,
            bronze_template=template,
        )
        shown = {k: v for k, v in runs[kind].items() if k != "lags_s"}
        print(f"  freshness {kind}: {shown}", flush=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"of {', '.join(PARTS)}")
    parser.add_argument("--sizes", default="1,1000,10000,100000", help="events per batch")
    parser.add_argument("--rate", type=int, default=500, help="freshness: events per second")
    parser.add_argument("--minutes", type=float, default=3.0, help="freshness: minutes per run")
    parser.add_argument("--repeats", type=int, default=3, help="start: runs of each process")
    parser.add_argument("--warm-repeats", type=int, default=3, help="warm: rounds per size")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "latency.json"))
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--parts: {unknown} not in {PARTS}")
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]

    spark = build_session(SparkConfig(master=MASTER, shuffle_partitions=2), "lakehouse-latency")
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {MASTER}, shared with "
        "other engineers' Spark tests (see the load averages)",
        "spark": spark.version,
        "parts": parts,
        "loadavg_start": os.getloadavg(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:  # after every part: a part that fails leaves the others' figures
        report["loadavg_end"] = os.getloadavg()
        out.write_text(json.dumps(report, indent=2) + "\n")

    work = Path(tempfile.mkdtemp(prefix="lakehouse-latency-"))
    try:
        lake: LakehouseConfig | None = None
        bench_size(spark, work / "warmup", 1_000)  # JVM, Delta, the gates: not reported
        if "batch" in parts:
            measured = []
            for events in sizes:
                result, lake = bench_size(spark, work / f"size-{events}", events)
                measured.append(result)
            report["batch"] = {"sizes": measured, "fits": batch_fits(measured)}
            save()
        if "warm" in parts:
            warm = warm_batches(spark, work / "warm", sizes, repeats=args.warm_repeats)
            report["warm"] = {"sizes": warm, "fits": batch_fits(warm)}
            save()
        if "start" in parts:
            report["start"] = _start_part(spark, work, lake, args.repeats)
            save()
        if "freshness" in parts:
            report["freshness"] = _freshness_part(spark, work, args.rate, args.minutes)
            save()
        if "profile" in parts:
            report["profile"] = profile(spark, work / "profile", 1_000)
            save()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(summary(report))
    print(f"\nresults: {out}")


def summary(report: dict[str, Any]) -> str:
    """The figures and ratios of every part the run measured."""
    lines: list[str] = []
    for part, title in (("batch", "first batch of a new stream"), ("warm", "running stream")):
        if part not in report:
            continue
        lines.append("")
        lines.append(f"{part} ({title})")
        lines.append(
            "layer  | fixed s/batch job (bare) | ratio | target | ms/1000 ev job (bare) | ratio"
        )
        for layer, f in report[part]["fits"].items():
            lines.append(
                f"{layer:<6} | {f['job']['fixed_s']:>7} ({f['bare']['fixed_s']})"
                f"{'':>8} | {f['fixed_ratio']:>5} | <= {f['fixed_target']:.0f}x"
                f" | {f['job']['ms_per_1000_events']} ({f['bare']['ms_per_1000_events']})"
                f" | {f['per_event_ratio']}"
            )
    if "freshness" in report:
        lines.append("")
        lines.append(
            "freshness | events/s | p50 s | p95 s | max s | trend s/min | never reflected"
            " | p95 s, unreflected at their lower bound"
        )
        for kind, r in report["freshness"].items():
            lines.append(
                f"{kind:<9} | {r['rate_events_per_s']} | {r.get('lag_p50_s')} | "
                f"{r.get('lag_p95_s')} | {r.get('lag_max_s')} | {r.get('lag_trend_s_per_min')}"
                f" | {r['files_never_reflected']} of {r['files']} files"
                f" | >= {r.get('all_files_lag_at_least_p95_s')}"
            )
        project, bare = report["freshness"]["project"], report["freshness"]["bare"]
        key = "all_files_lag_at_least_p95_s"  # files never reflected count too
        if key in project and key in bare:
            lines.append(f"p95 ratio job / bare (at least): {project[key] / bare[key]:.2f}")
    if "start" in report:
        s = report["start"]
        medians = s["median_first_row_s"]
        lines.append("")
        lines.append(
            f"lakehouse sql first row: {medians['lakehouse_sql']} s, bare process "
            f"{medians['bare']} s, ratio {s['ratio_sql_to_bare']} (target <= 1.2)"
        )
    if "profile" in report:
        lines.append("")
        lines.append("profile (1,000 events) | batch s | Spark jobs | job ms | Delta commits")
        p = report["profile"]
        for layer in LAYERS:
            for kind in ("job", "bare"):
                run = p[layer][kind]
                ms = sum(j["ms"] or 0 for j in run["jobs"])
                lines.append(
                    f"{layer} {kind:<4} | {run['batch_s']} | {len(run['jobs'])} | {ms} |"
                    f" {len(run['commits'])}"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
