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

Every variant runs ``--rounds`` times (default 2) on fresh tables, the variants of a layer
one after the other in one round and in the reverse order in the next, so that none is
always the first in the process (which pays the JIT and the heap's growth for batches of
that size); the best of its runs is reported, every run's seconds are kept in the JSON.
Every stream's source table is read once untimed before its run (the project's runs read
fresh copies, the bare ones the same table every time: without it only the project paid
for reading a table's log the first time: 0.5 to 1.5 s of a gold run at 1M events).

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
from collections.abc import Callable
from dataclasses import dataclass
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


def _warm(spark: SparkSession, path: str) -> None:
    """Read the log and state of the Delta table at ``path`` once, untimed: a stream's source
    is a table the process has read before, for the project and the bare runs alike (the
    project's runs read copies, which the process would otherwise read for the first time,
    while the bare ones read the same table every round)."""
    spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()


def _job(spark: SparkSession, config: LakehouseConfig, layer: str) -> float:
    trigger = TriggerConfig(mode="available-now")
    source = {"silver": "bronze", "gold": "silver"}.get(layer)
    if source is not None:
        _warm(spark, config.lake.table_path(source, "events"))
    return timed(lambda: await_stream(start_job(spark, config, layer, trigger)))


def _bare_bronze(spark: SparkSession, landing: Path, files: int, table: str, out: Path) -> float:
    stream = bare_bronze(spark, landing, files, out / "_checkpoint").trigger(availableNow=True)
    return timed(lambda: stream.start(table).awaitTermination())


def _bare_silver(spark: SparkSession, bronze: str, out: Path) -> float:
    create_bare_silver(spark, bronze, str(out / "table"))
    _warm(spark, bronze)
    stream = bare_silver(spark, bronze, out / "_checkpoint", str(out / "table"))
    return timed(lambda: stream.trigger(availableNow=True).start().awaitTermination())


def _bare_append_silver(spark: SparkSession, bronze: str, out: Path) -> float:
    _warm(spark, bronze)
    stream = bare_append_silver(spark, bronze, out / "_checkpoint").trigger(availableNow=True)
    return timed(lambda: stream.start(str(out / "table")).awaitTermination())


def _bare_gold(spark: SparkSession, silver: str, out: Path) -> float:
    _warm(spark, silver)
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


def _rate(rows: int, runs: list[float]) -> dict[str, Any]:
    """The best of ``runs`` (seconds) as rates, with every run's seconds."""
    seconds = min(runs)
    return {
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds, 1),
        "seconds_per_million": round(seconds / rows * 1_000_000, 2),
        "runs": [round(r, 3) for r in runs],
    }


def _rounds(rounds: int, variants: dict[str, Callable[[int], float]]) -> dict[str, list[float]]:
    """Each variant once per round (the round's number its argument, for fresh tables), in
    the given order in even rounds and reversed in odd ones: with two rounds or more no
    variant is always the first, which pays the JIT and the heap's growth for a batch of
    this size, nor always the last."""
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for n in range(rounds):
        order = list(variants) if n % 2 == 0 else list(reversed(variants))
        for name in order:
            seconds[name].append(variants[name](n))
    return seconds


LAYERS = ("bronze", "silver", "gold", "gate")


@dataclass
class _Volume:
    """One volume's generated landing folder and the lakes its runs write."""

    spark: SparkSession
    work: Path
    landing: Path
    files: int
    rounds: int

    def fresh(
        self,
        name: str,
        gate: bool = True,
        engine: str = "fast",
        copy_from: LakehouseConfig | None = None,
        copy: tuple[str, ...] = ("bronze",),
    ) -> LakehouseConfig:
        """A new lake; with ``copy_from``, starting from a copy of that lake's ``copy``
        layers' event tables."""
        config = make_config(self.work / name, self.landing, self.files, gate=gate, engine=engine)
        if copy_from is not None:
            for layer in copy:
                shutil.copytree(
                    copy_from.lake.table_path(layer, "events"),
                    config.lake.table_path(layer, "events"),
                )
        register(self.spark, config)
        return config

    def rows(self, config: LakehouseConfig, layer: str) -> int:
        path = config.lake.table_path(layer, "events")
        return self.spark.read.format("delta").load(path).count()


def _bronze(v: _Volume, base: LakehouseConfig) -> dict[str, Any]:
    empty = v.work / "empty-bronze"
    shutil.copytree(base.lake.table_path("bronze", "events"), empty)  # still empty
    # read the files once untimed, so that neither run pays for the first read from disk
    v.spark.read.text(str(v.landing)).write.format("noop").mode("overwrite").save()

    def project(n: int) -> float:
        return _job(v.spark, base if n == 0 else v.fresh(f"bronze-{n}"), "bronze")

    def bare(n: int) -> float:
        out = v.work / f"bare-bronze-{n}"
        shutil.copytree(empty, out / "table")
        return _bare_bronze(v.spark, v.landing, v.files, str(out / "table"), out)

    runs = _rounds(v.rounds, {"project": project, "bare": bare})
    rows = v.rows(base, "bronze")
    result: dict[str, Any] = {name: _rate(rows, seconds) for name, seconds in runs.items()}
    result["ratio"] = round(result["bare"]["seconds"] / result["project"]["seconds"], 3)
    return result


def _silver(v: _Volume, base: LakehouseConfig) -> dict[str, Any]:
    bronze = base.lake.table_path("bronze", "events")

    def project(name: str, gate: bool, engine: str) -> Callable[[int], float]:
        def run(n: int) -> float:
            if name == "fast_gate" and n == 0:
                config = base  # gold reads this lake's silver
            else:
                config = v.fresh(f"silver-{name}-{n}", gate, engine, base)
            return _job(v.spark, config, "silver")

        return run

    runs = _rounds(
        v.rounds,
        {
            "gate_off": project("gate_off", False, "fast"),
            "fast_gate": project("fast_gate", True, "fast"),
            "ge_gate": project("ge_gate", True, "great_expectations"),
            "bare": lambda n: _bare_silver(v.spark, bronze, v.work / f"bare-s-{n}"),
            "bare_append": lambda n: _bare_append_silver(v.spark, bronze, v.work / f"bare-a-{n}"),
        },
    )
    rows = v.rows(base, "bronze")
    silver: dict[str, Any] = {name: _rate(rows, seconds) for name, seconds in runs.items()}
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
    return silver


def _gold(v: _Volume, base: LakehouseConfig) -> dict[str, Any]:
    silver = base.lake.table_path("silver", "events")

    def project(n: int) -> float:
        config = base if n == 0 else v.fresh(f"gold-{n}", copy_from=base, copy=("bronze", "silver"))
        return _job(v.spark, config, "gold")

    runs = _rounds(
        v.rounds,
        {"project": project, "bare": lambda n: _bare_gold(v.spark, silver, v.work / f"bare-g-{n}")},
    )
    rows = v.rows(base, "silver")
    result: dict[str, Any] = {name: _rate(rows, seconds) for name, seconds in runs.items()}
    result["ratio"] = round(result["bare"]["seconds"] / result["project"]["seconds"], 3)
    return result


def bench_volume(
    spark: SparkSession,
    work: Path,
    events: int,
    batch_events: int,
    repeats: int,
    *,
    layers: tuple[str, ...] = LAYERS,
    rounds: int = 1,
) -> dict[str, Any]:
    """Time the ``layers`` (each needs the ones before it: silver reads the bronze table the
    bronze run wrote) on ``events`` generated events, each variant ``rounds`` times on fresh
    tables (see ``_rounds``), the best of its runs reported."""
    landing = work / "landing" / "events"  # the product events' folder under the landing root
    spec = GeneratorSpec(
        count=events,
        bad_share=0.05,
        seed=1,
        rate=events / 30 / 3600,
        start=datetime.now(UTC) - timedelta(hours=36),
    )
    generated = timed(
        lambda: write_landing(generate_events(spec), landing, events_per_file=EVENTS_PER_FILE)
    )
    print(f"{events} events generated in {generated:.0f}s", flush=True)
    v = _Volume(spark, work, landing, max(1, batch_events // EVENTS_PER_FILE), rounds)
    base = v.fresh("base")
    result: dict[str, Any] = {"events": events, "batch_events": batch_events, "rounds": rounds}
    for layer, bench in (("bronze", _bronze), ("silver", _silver), ("gold", _gold)):
        if layer not in layers:
            return result
        result[layer] = bench(v, base)
        print(f"  {layer}: {result[layer]}", flush=True)
    if "gate" in layers:
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
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs of the gate alone (best of them)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="runs of every layer's project and bare variants, alternating which goes first"
        " (best of them); default: 2",
    )
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
                    rounds=args.rounds,
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
