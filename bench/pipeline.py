"""Benchmark: every layer against bare Spark doing the same reads and writes, in one process.

For each volume the harness generates events into a landing folder once, then times, on
fresh tables and checkpoints:

- bronze: the bronze job, and Delta's streaming sink appending the same files' lines with
  the columns of bronze to a copy of the empty bronze table (same schema, partitioning and
  properties; the offset of the file split instead of line numbers; no monitoring, no
  batch log);
- silver: the silver job with the gate off, with the fast gate, and with Great Expectations
  as the gate engine, and a bare stream that parses the same bronze payloads with
  ``from_json`` and appends them to Delta (no reasons, no dedup, no quarantine);
- gold: the gold job, and a bare ``foreachBatch`` that aggregates each batch and MERGEs it
  into three Delta tables;
- the gate alone: the bronze_to_silver suite on one micro-batch of silver rows, fast gate
  against Great Expectations, best of ``--repeats``.

Bronze micro-batches hold ``--batch-events`` events (files of 5,000) in every run; silver
and gold, project and bare alike, read at most ``trigger.max_bytes_per_batch`` (default) of
the layer below per micro-batch. Prints rows/s, seconds per million events and the ratios,
and writes everything to ``--out`` (JSON).

    .venv/bin/python bench/pipeline.py --volumes 100000,1000000
"""

from __future__ import annotations

import argparse
import json
import platform
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import register_tables
from lakehouse.config import (
    DatasetsConfig,
    LakeConfig,
    LakehouseConfig,
    PrivacyConfig,
    QualityConfig,
    SourceConfig,
    SparkConfig,
    TriggerConfig,
    parse_size,
)
from lakehouse.generator import GeneratorSpec, generate_events, write_landing
from lakehouse.io.jobs import start_job
from lakehouse.io.streams import await_stream
from lakehouse.platform import load_platform
from lakehouse.quality.parameters import suite_parameters
from lakehouse.quality.runner import run_suite
from lakehouse.quality.suites import find_suite, load_suite
from lakehouse.session import build_session

ROOT = Path(__file__).resolve().parents[1]
SUITES = ROOT / "expectations"
EVENTS_PER_FILE = 5_000
MAX_BYTES_PER_BATCH = parse_size(TriggerConfig().max_bytes_per_batch, "max_bytes_per_batch")
KEY = secrets.token_hex(32)  # the pseudonym key of this run's throwaway lakes
PAYLOAD_SCHEMA = (
    "event_id string, event_type string, event_ts timestamp, user_id string, "
    "session_id string, device string, ip string, country string, "
    "properties map<string,string>, amount decimal(18,2), currency string, schema_version int"
)


def _config(root: Path, landing: Path, files: int, gate: bool, engine: str) -> LakehouseConfig:
    return LakehouseConfig(
        lake=LakeConfig(root=str(root / "lake"), checkpoint_root=str(root / "checkpoints")),
        source=SourceConfig(landing_path=str(landing.parent), max_files_per_trigger=files),
        spark=SparkConfig(master="local[2]", shuffle_partitions=2),
        quality=QualityConfig(enabled=gate, suite_dir=str(SUITES), engine=engine),
        privacy=PrivacyConfig(pseudonym_key=KEY),
        datasets=DatasetsConfig(dir=str(ROOT / "datasets"), names=("events",)),
    )


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _job(spark: SparkSession, config: LakehouseConfig, layer: str) -> float:
    trigger = TriggerConfig(mode="available-now")
    return _timed(lambda: await_stream(start_job(spark, config, layer, trigger)))


def _bare_bronze(spark: SparkSession, landing: Path, files: int, table: str, out: Path) -> float:
    """Delta's own streaming sink appending the landing lines with the columns of bronze to
    ``table`` (a copy of the empty bronze table: same schema, partitioning, properties)."""
    stream = (
        spark.readStream.format("text")
        .option("maxFilesPerTrigger", files)
        .load(str(landing))
        .select(
            F.lit("landing").alias("source"),
            F.col("_metadata.file_path").alias("partition"),
            # bare Spark has no line numbers (and no row ids in a stream): a split's offset
            F.col("_metadata.file_block_start").alias("offset"),
            F.lit(None).cast("binary").alias("key"),
            F.col("value").cast("binary").alias("payload"),
            F.lit(None).cast("map<string,string>").alias("attributes"),
            F.col("_metadata.file_modification_time").alias("publish_ts"),
            F.lit(None).cast("timestamp").alias("source_event_ts"),
            F.current_timestamp().alias("ingest_ts"),
            F.to_date(F.current_timestamp()).alias("ingest_date"),
            F.lit(-1).cast("long").alias("batch_id"),
        )
        .writeStream.format("delta")
        .option("checkpointLocation", str(out / "_checkpoint"))
        .trigger(availableNow=True)
    )
    return _timed(lambda: stream.start(table).awaitTermination())


def _bare_silver(spark: SparkSession, bronze: str, out: Path) -> float:
    stream = (
        spark.readStream.format("delta")
        .option("maxBytesPerTrigger", MAX_BYTES_PER_BATCH)  # the batches the jobs read
        .load(bronze)
        .select(F.from_json(F.col("payload").cast("string"), PAYLOAD_SCHEMA).alias("e"))
        .select("e.*")
        .withColumn("event_date", F.to_date("event_ts"))
        .writeStream.format("delta")
        .partitionBy("event_date")
        .option("checkpointLocation", str(out / "_checkpoint"))
        .trigger(availableNow=True)
    )
    return _timed(lambda: stream.start(str(out / "table")).awaitTermination())


def _bare_gold(spark: SparkSession, silver: str, out: Path) -> float:
    """Aggregate each batch of silver and MERGE it into three tables (plain Delta API)."""
    aggregates: dict[str, tuple[list[str], Callable[[DataFrame], DataFrame]]] = {
        "per_minute": (
            ["window_start", "event_type", "country"],
            lambda df: df.groupBy(
                F.date_trunc("minute", "event_ts").alias("window_start"),
                "event_type",
                F.coalesce("country", F.lit("unknown")).alias("country"),
            ).agg(F.count("*").alias("events"), F.count_distinct("user_id").alias("users")),
        ),
        "dau": (
            ["event_date"],
            lambda df: df.groupBy("event_date").agg(
                F.count_distinct("user_id").alias("active_users"), F.count("*").alias("events")
            ),
        ),
        "revenue": (
            ["hour_start", "currency"],
            lambda df: (
                df.where(F.col("event_type") == "purchase")
                .groupBy(F.date_trunc("hour", "event_ts").alias("hour_start"), "currency")
                .agg(F.sum("amount").alias("revenue"), F.count("*").alias("purchases"))
            ),
        ),
    }

    def write(batch: DataFrame, _batch_id: int) -> None:
        for name, (keys, compute) in aggregates.items():
            rows = compute(batch)
            path = str(out / name)
            if not DeltaTable.isDeltaTable(batch.sparkSession, path):
                rows.write.format("delta").save(path)
                continue
            on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
            (
                DeltaTable.forPath(batch.sparkSession, path)
                .alias("t")
                .merge(rows.alias("s"), on)
                .whenMatchedUpdateAll()
                .whenNotMatchedInsertAll()
                .execute()
            )

    stream = (
        spark.readStream.format("delta")
        .option("maxBytesPerTrigger", MAX_BYTES_PER_BATCH)
        .load(silver)
        .writeStream.foreachBatch(write)
        .option("checkpointLocation", str(out / "_checkpoint"))
        .trigger(availableNow=True)
    )
    return _timed(lambda: stream.start().awaitTermination())


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
    generated = _timed(
        lambda: write_landing(generate_events(spec), landing, events_per_file=EVENTS_PER_FILE)
    )
    print(f"{events} events generated in {generated:.0f}s", flush=True)

    def fresh(
        name: str, gate: bool = True, engine: str = "fast", bronze: LakehouseConfig | None = None
    ) -> LakehouseConfig:
        """A new lake; with ``bronze``, starting from a copy of that lake's bronze table."""
        config = _config(work / name, landing, files, gate, engine)
        if bronze is not None:
            shutil.copytree(
                bronze.lake.table_path("bronze", "events"),
                config.lake.table_path("bronze", "events"),
            )
        tables = load_platform(config, spark).tables.values()
        register_tables(spark, config.lake, tables)
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
    silver["ratio_gate_on_to_off"] = round(
        silver["gate_off"]["seconds"] / silver["fast_gate"]["seconds"], 3
    )
    silver["ratio_ge_gate_to_off"] = round(
        silver["gate_off"]["seconds"] / silver["ge_gate"]["seconds"], 3
    )
    silver["ratio_gate_off_to_bare"] = round(
        silver["bare"]["seconds"] / silver["gate_off"]["seconds"], 3
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
        "events     | bronze s/M (bare) | silver s/M off / fast / GE (bare) | gold s/M (bare)"
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
                f" / {s['ge_gate']['seconds_per_million']} ({s['bare']['seconds_per_million']})"
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
