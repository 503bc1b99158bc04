"""What the benchmarks share: the configuration of a throwaway lake, a timer, and the bare
Spark streams the jobs are measured against.

The bare streams are returned as writers without a trigger: a benchmark that drains what is
there adds ``trigger(availableNow=True)``, a freshness run a processing-time trigger.

- bronze: Delta's own streaming sink appending the landing lines with the columns of bronze
  (the offset of the file split instead of line numbers; no monitoring, no batch log);
- silver: ``from_json`` of the bronze payloads, the batch's first row per event id, and the
  Delta documentation's insert-only MERGE for deduplication against the silver rows of the
  last days (no reasons, no quarantine, no gate); :func:`bare_append_silver` is the same
  parse appended without dedup, a second reference;
- gold: a ``foreachBatch`` that aggregates each batch and MERGEs it into three Delta tables.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.readwriter import DataStreamWriter

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
from lakehouse.platform import load_platform

__all__ = [
    "EVENTS_PER_FILE",
    "KEY",
    "MAX_BYTES_PER_BATCH",
    "PAYLOAD_SCHEMA",
    "ROOT",
    "SUITES",
    "bare_append_silver",
    "bare_bronze",
    "bare_gold",
    "bare_parse",
    "bare_silver",
    "create_bare_silver",
    "make_config",
    "register",
    "timed",
]

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


def make_config(
    root: Path,
    landing: Path,
    files: int,
    *,
    gate: bool = True,
    engine: str = "fast",
    trigger: TriggerConfig | None = None,
) -> LakehouseConfig:
    """A lake under ``root`` of the ``events`` dataset, whose landing folder is ``landing``
    (``<landing root>/events``), ``files`` files per bronze batch, on ``local[2]``."""
    return LakehouseConfig(
        lake=LakeConfig(root=str(root / "lake"), checkpoint_root=str(root / "checkpoints")),
        source=SourceConfig(landing_path=str(landing.parent), max_files_per_trigger=files),
        spark=SparkConfig(master="local[2]", shuffle_partitions=2),
        quality=QualityConfig(enabled=gate, suite_dir=str(SUITES), engine=engine),
        privacy=PrivacyConfig(pseudonym_key=KEY),
        trigger=trigger or TriggerConfig(),
        datasets=DatasetsConfig(dir=str(ROOT / "datasets"), names=("events",)),
    )


def register(spark: SparkSession, config: LakehouseConfig) -> None:
    """Create and register every table of the lake of ``config`` (the platform's tables)."""
    register_tables(spark, config.lake, load_platform(config, spark).tables.values())


def timed(run: Callable[[], object]) -> float:
    """Seconds ``run`` takes."""
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def bare_bronze(
    spark: SparkSession, landing: Path, files: int, checkpoint: Path
) -> DataStreamWriter:
    """The landing lines with the columns of bronze, for Delta's streaming sink; start it
    with a copy of the empty bronze table as its path (same schema, partitioning,
    properties)."""
    return (
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
        .option("checkpointLocation", str(checkpoint))
    )


def bare_parse(bronze: DataFrame) -> DataFrame:
    """Bronze payloads parsed with ``from_json``, with their event date."""
    return (
        bronze.select(F.from_json(F.col("payload").cast("string"), PAYLOAD_SCHEMA).alias("e"))
        .select("e.*")
        .withColumn("event_date", F.to_date("event_ts"))
    )


def bare_append_silver(spark: SparkSession, bronze: str, checkpoint: Path) -> DataStreamWriter:
    """The parsed bronze payloads (:func:`bare_parse`) for Delta's streaming sink, in the
    batches the jobs read (``maxBytesPerTrigger``), no dedup; start it with the table's
    path."""
    return (
        spark.readStream.format("delta")
        .option("maxBytesPerTrigger", MAX_BYTES_PER_BATCH)
        .load(bronze)
        .transform(bare_parse)
        .writeStream.format("delta")
        .partitionBy("event_date")
        .option("checkpointLocation", str(checkpoint))
    )


def create_bare_silver(spark: SparkSession, bronze: str, table: str) -> None:
    """The empty table of :func:`bare_silver` (the parsed columns, by ``event_date``)."""
    empty = spark.read.format("delta").load(bronze).limit(0).transform(bare_parse)
    empty.write.format("delta").partitionBy("event_date").save(table)


# the days of silver the bare dedup looks in: the jobs' 48 h window around events up to
# 36 h old (the benchmarks' oldest), from today
BARE_DEDUP_DAYS = 4


def bare_silver(spark: SparkSession, bronze: str, checkpoint: Path, table: str) -> DataStreamWriter:
    """From_json, dedup and append, as a bare ``foreachBatch`` would: each batch (the
    batches the jobs read, ``maxBytesPerTrigger``) parsed (:func:`bare_parse`), its first
    row per ``event_id`` kept, and inserted where silver has no row of that id in the last
    :data:`BARE_DEDUP_DAYS` days (the insert-only MERGE the Delta documentation gives for
    deduplication). The silver ``table`` must exist (:func:`create_bare_silver`); start the
    writer with ``start()``."""

    def write(batch: DataFrame, _batch_id: int) -> None:
        rows = batch.transform(bare_parse).dropDuplicates(["event_id"])
        (
            DeltaTable.forPath(batch.sparkSession, table)
            .alias("t")
            .merge(
                rows.alias("s"),
                "t.event_id = s.event_id"
                f" AND t.event_date >= current_date() - INTERVAL {BARE_DEDUP_DAYS} DAYS",
            )
            .whenNotMatchedInsertAll()
            .execute()
        )

    return (
        spark.readStream.format("delta")
        .option("maxBytesPerTrigger", MAX_BYTES_PER_BATCH)
        .load(bronze)
        .writeStream.foreachBatch(write)
        .option("checkpointLocation", str(checkpoint))
    )


# name -> (merge keys, the columns a MERGE that accumulates adds up, the aggregate)
_AGGREGATES: dict[str, tuple[list[str], list[str], Callable[[DataFrame], DataFrame]]] = {
    "per_minute": (
        ["window_start", "event_type", "country"],
        ["events"],
        lambda df: df.groupBy(
            F.date_trunc("minute", "event_ts").alias("window_start"),
            "event_type",
            F.coalesce("country", F.lit("unknown")).alias("country"),
        ).agg(F.count("*").alias("events"), F.count_distinct("user_id").alias("users")),
    ),
    "dau": (
        ["event_date"],
        ["events"],
        lambda df: df.groupBy("event_date").agg(
            F.count_distinct("user_id").alias("active_users"), F.count("*").alias("events")
        ),
    ),
    "revenue": (
        ["hour_start", "currency"],
        ["revenue", "purchases"],
        lambda df: (
            df.where(F.col("event_type") == "purchase")
            .groupBy(F.date_trunc("hour", "event_ts").alias("hour_start"), "currency")
            .agg(F.sum("amount").alias("revenue"), F.count("*").alias("purchases"))
        ),
    ),
}


def bare_gold(
    spark: SparkSession, silver: str, out: Path, *, accumulate: bool = False
) -> DataStreamWriter:
    """A ``foreachBatch`` that aggregates each batch of ``silver`` and MERGEs it into three
    tables under ``out`` (``per_minute``, ``dau``, ``revenue``; plain Delta API). A matched
    row is replaced by the batch's values, or with ``accumulate`` its counts and sums are
    added to (so that the tables count every event streamed, as the jobs' gold does)."""

    def write(batch: DataFrame, _batch_id: int) -> None:
        for name, (keys, additive, compute) in _AGGREGATES.items():
            rows = compute(batch)
            path = str(out / name)
            if not DeltaTable.isDeltaTable(batch.sparkSession, path):
                rows.write.format("delta").save(path)
                continue
            on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
            merge = (
                DeltaTable.forPath(batch.sparkSession, path).alias("t").merge(rows.alias("s"), on)
            )
            if accumulate:
                update: dict[str, str | Column] = {
                    c: (f"t.{c} + s.{c}" if c in additive else f"s.{c}") for c in rows.columns
                }
                merge = merge.whenMatchedUpdate(set=update)
            else:
                merge = merge.whenMatchedUpdateAll()
            merge.whenNotMatchedInsertAll().execute()

    return (
        spark.readStream.format("delta")
        .option("maxBytesPerTrigger", MAX_BYTES_PER_BATCH)
        .load(silver)
        .writeStream.foreachBatch(write)
        .option("checkpointLocation", str(out / "_checkpoint"))
    )
