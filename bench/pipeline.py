"""Benchmark: every layer against bare Spark doing the same reads and writes, in one process.

For each volume the harness generates events into a landing folder once, then times, on
fresh tables and checkpoints:

- bronze: the bronze job, and Delta's streaming sink appending the same files' lines with
  the columns of bronze to a copy of the empty bronze table (same schema, partitioning and
  properties; the offset of the file split instead of line numbers; no monitoring, no
  batch log);
- silver: the silver job with the gate off, with the fast gate, and with Great Expectations
  as the gate engine, against a bare stream that parses the same bronze payloads with
  ``from_json``, dedups them on ``event_id`` (within the batch and, by the Delta
  documentation's insert-only MERGE, against silver's last days) and inserts them (no
  reasons, no quarantine), and against the same parse appended without dedup;
- gold: the gold job, and a bare ``foreachBatch`` that aggregates each batch and MERGEs it
  into three Delta tables;
- the gate alone: the bronze_to_silver suite on one micro-batch of silver rows, fast gate
  against Great Expectations, best of ``--repeats``.

Bronze micro-batches hold ``--batch-events`` events (files of 5,000) in every run; silver
and gold, project and bare alike, read at most ``trigger.max_bytes_per_batch`` (default) of
the layer below per micro-batch. Prints rows/s, seconds per million events and the ratios,
and writes everything to ``--out`` (JSON).

    .venv/bin/python -m bench.pipeline --volumes 100000,1000000
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from bench.common import (
    EVENTS_PER_FILE,
    ROOT,
    SUITES,
    bare_append_silver,
    bare_bronze,
    bare_gold,
    bare_silver,
    create_bare_silver,
    make_config,
    register,
    timed,
)
from lakehouse.config import LakehouseConfig, SparkConfig, TriggerConfig
from lakehouse.io.jobs import start_job
from lakehouse.io.streams import await_stream
from lakehouse.quality.parameters import suite_parameters
from lakehouse.quality.runner import run_suite
from lakehouse.quality.suites import find_suite, load_suite
from lakehouse.session import build_session
from tests.product_generator import GeneratorSpec, generate_events, write_landing


def _job(spark: SparkSession, config: LakehouseConfig, layer: str) -> float:
    trigger = TriggerConfig(mode="available-now")
    return timed(lambda: await_stream(start_job(spark, config, layer, trigger)))


def _bare_bronze(spark: SparkSession, landing: Path, files: int, table: str, out: Path) -> float:
    stream = bare_bronze(spark, landing, files, out / "_checkpoint").trigger(availableNow=True)
    return timed(lambda: stream.start(table).awaitTermination())


def _bare_silver(spark: SparkSession, bronze: str, out: Path) -> float:
    create_bare_silver(spark, bronze, str(out / "table"))
    stream = bare_silver(spark, bronze, out / "_checkpoint", str(out / "table"))
    return timed(lambda: stream.trigger(availableNow=True).start().awaitTermination())


def _bare_append_silver(spark: SparkSession, bronze: str, out: Path) -> float:
    stream = bare_append_silver(spark, bronze, out / "_checkpoint").trigger(availableNow=True)
    return timed(lambda: stream.start(str(out / "table")).awaitTermination())


def _bare_gold(spark: SparkSession, silver: str, out: Path) -> float:
    stream = bare_gold(spark, silver, out).trigger(availableNow=True)
    return timed(lambda: stream.start().awaitTermination())


def _gate_alone(
    spark: SparkSession, base: LakehouseConfig, batch_rows: int, repeats: int
) -> dict[str, float]:
    """The bronze_to_silver suite on one micro-batch of silver rows: fast gate vs GE."""
    silver = spark.read.format("delta").load(base.lake.table_path("silver", "events"))
    batch = silver.limit(batch_rows).persist()
    rows = batch.count()
    suite = load_suite(find_suite("bronze_to_silver", SUITES))
    parameters = suite_parameters(
        base.silver.max_future_skew_seconds, datetime.now(UTC).replace(tzinfo=None)
    )
    keys = ("_source", "_partition", "_offset")
    best: dict[str, float] = {}
    for engine in ("fast", "great_expectations") * (repeats + 1):  # the first pair warms up
        started = time.perf_counter()
        run_suite(batch, suite, parameters, keys, engine)
        best[engine] = min(best.get(engine, float("inf")), time.perf_counter() - started)
    batch.unpersist()
    return {"rows": rows, **{f"{k}_seconds": v for k, v in best.items()}}


def _rate(rows: int, seconds: float) -> dict[str, float]:
    return {
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1),
        "seconds_per_million": round(seconds / rows * 1_000_000, 2),
    }


LAYERS = ("bronze", "silver", "gold", "gate")


def bench_volume(
    spark: SparkSession,
    work: Path,
    events: int,
    batch_events: int,
    repeats: int,
    *,
    layers: tuple[str, ...] = LAYERS,
) -> dict[str, Any]:
    """Time the ``layers`` (each needs the ones before it: silver reads the bronze table the
    bronze run wrote) on ``events`` generated events."""
    landing = work / "landing" / "events"  # the product events' folder under the landing root
    files = max(1, batch_events // EVENTS_PER_FILE)
    start = datetime.now(UTC) - timedelta(hours=36)
    spec = GeneratorSpec(count=events, bad_share=0.05, seed=1, rate=events / 30 / 3600, start=start)
    generated = timed(
        lambda: write_landing(generate_events(spec), landing, events_per_file=EVENTS_PER_FILE)
    )
    print(f"{events} events generated in {generated:.0f}s", flush=True)

    def fresh(
        name: str, gate: bool = True, engine: str = "fast", bronze: LakehouseConfig | None = None
    ) -> LakehouseConfig:
        """A new lake; with ``bronze``, starting from a copy of that lake's bronze table."""
        config = make_config(work / name, landing, files, gate=gate, engine=engine)
        if bronze is not None:
            shutil.copytree(
                bronze.lake.table_path("bronze", "events"),
                config.lake.table_path("bronze", "events"),
            )
        register(spark, config)
        return config

    result: dict[str, Any] = {"events": events, "batch_events": batch_events}
    base = fresh("base")
    bare_table = work / "bare-bronze" / "table"
    shutil.copytree(base.lake.table_path("bronze", "events"), bare_table)  # still empty
    # read the files once untimed, so that neither run pays for the first read from disk
    spark.read.text(str(landing)).write.format("noop").mode("overwrite").save()
    project = _job(spark, base, "bronze")
    bare = _bare_bronze(spark, landing, files, str(bare_table), work / "bare-bronze")
    rows = spark.read.format("delta").load(base.lake.table_path("bronze", "events")).count()
    result["bronze"] = {"project": _rate(rows, project), "bare": _rate(rows, bare)}
    result["bronze"]["ratio"] = round(bare / project, 3)
    print(f"  bronze: {result['bronze']}", flush=True)
    if "silver" not in layers:
        return result

    silver: dict[str, Any] = {}
    bronze_path = base.lake.table_path("bronze", "events")
    for name, gate, engine in (
        ("gate_off", False, "fast"),
        ("fast_gate", True, "fast"),
        ("ge_gate", True, "great_expectations"),
    ):
        config = base if name == "fast_gate" else fresh(f"silver-{name}", gate, engine, base)
        silver[name] = _rate(rows, _job(spark, config, "silver"))
    silver["bare"] = _rate(rows, _bare_silver(spark, bronze_path, work / "bare-s"))
    silver["bare_append"] = _rate(rows, _bare_append_silver(spark, bronze_path, work / "bare-a"))
    silver["ratio_gate_on_to_off"] = round(
        silver["gate_off"]["seconds"] / silver["fast_gate"]["seconds"], 3
    )
    silver["ratio_ge_gate_to_off"] = round(
        silver["gate_off"]["seconds"] / silver["ge_gate"]["seconds"], 3
    )
    for gate_name in ("gate_off", "fast_gate"):
        for bare_name in ("bare", "bare_append"):
            silver[f"ratio_{gate_name}_to_{bare_name}"] = round(
                silver[bare_name]["seconds"] / silver[gate_name]["seconds"], 3
            )
    result["silver"] = silver
    print(f"  silver: {silver}", flush=True)
    if "gold" not in layers:
        return result

    silver_path = base.lake.table_path("silver", "events")
    silver_rows = spark.read.format("delta").load(silver_path).count()
    gold_project = _job(spark, base, "gold")
    gold_bare = _bare_gold(spark, silver_path, work / "bare-gold")
    result["gold"] = {
        "project": _rate(silver_rows, gold_project),
        "bare": _rate(silver_rows, gold_bare),
        "ratio": round(gold_bare / gold_project, 3),
    }
    print(f"  gold: {result['gold']}", flush=True)
    if "gate" not in layers:
        return result

    alone = _gate_alone(spark, base, batch_events, repeats)
    alone["fast_speedup_vs_ge"] = round(
        alone["great_expectations_seconds"] / alone["fast_seconds"], 2
    )
    result["gate_alone"] = alone
    print(f"  gate alone: {alone}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volumes", default="100000", help="comma-separated event counts")
    parser.add_argument("--batch-events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "pipeline.json"))
    parser.add_argument(
        "--upto",
        choices=LAYERS,
        default=LAYERS[-1],
        help="the last layer to time (each needs the ones before it); default: all",
    )
    args = parser.parse_args()
    volumes = [int(v.replace("_", "")) for v in args.volumes.split(",")]
    layers = LAYERS[: LAYERS.index(args.upto) + 1]

    spark = build_session(SparkConfig(master="local[2]", shuffle_partitions=2), "lakehouse-bench")
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, local[2]",
        "spark": spark.version,
        "batch_events": args.batch_events,
        "layers": list(layers),
        "volumes": [],
    }
    work = Path(tempfile.mkdtemp(prefix="lakehouse-bench-"))
    try:
        # warm up the JVM, Delta and GE on a small volume first: not reported
        bench_volume(spark, work / "warmup", 5_000, 2_500, 0, layers=layers)
        shutil.rmtree(work / "warmup", ignore_errors=True)
        for events in volumes:
            report["volumes"].append(
                bench_volume(
                    spark,
                    work / str(events),
                    events,
                    args.batch_events,
                    args.repeats,
                    layers=layers,
                )
            )
            shutil.rmtree(work / str(events), ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(summary(report))
    print(f"\nresults: {out}")


def summary(report: dict[str, Any]) -> str:
    """The table the README shows: per volume, s per million events and the ratios ("-" for
    a layer the run did not time)."""
    lines = [
        "events     | bronze s/M (bare) | silver s/M off / fast / GE (bare; append only)"
        " | gold s/M (bare)"
        " | bronze/bare | gate on/off | GE on/off | fast vs GE",
    ]
    for v in report["volumes"]:
        b = v["bronze"]
        cells = [
            f"{v['events']:>10}",
            f"{b['project']['seconds_per_million']:>7} ({b['bare']['seconds_per_million']})",
            "-",
            "-",
            f"{b['ratio']:.2f}",
            "-",
            "-",
            "-",
        ]
        if "silver" in v:
            s = v["silver"]
            cells[2] = (
                f"{s['gate_off']['seconds_per_million']} / {s['fast_gate']['seconds_per_million']}"
                f" / {s['ge_gate']['seconds_per_million']} ({s['bare']['seconds_per_million']};"
                f" {s['bare_append']['seconds_per_million'] if 'bare_append' in s else '-'})"
            )
            cells[5] = f"{s['ratio_gate_on_to_off']:.2f}"
            cells[6] = f"{s['ratio_ge_gate_to_off']:.2f}"
        if "gold" in v:
            g = v["gold"]
            cells[3] = f"{g['project']['seconds_per_million']} ({g['bare']['seconds_per_million']})"
        if "gate_alone" in v:
            cells[7] = f"{v['gate_alone']['fast_speedup_vs_ge']:.1f}x"
        lines.append(" | ".join(cells))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
