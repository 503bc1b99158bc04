"""Cost per million events per stream (dataset and layer) and day, from ``ops.batch_log``.

:func:`daily_cost` is the pure transform; :func:`read_daily_cost` reads the batch log and
applies it; :func:`trend` compares the newest day with the days before.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.cost.price import vcpu_hour_price
from lakehouse.ops import BATCH_LOG

__all__ = ["DailyCost", "daily_cost", "read_daily_cost", "trend"]

_PER_MILLION = 1_000_000.0


def _per_million(column: str) -> Column:
    return F.when(F.col("events") > 0, F.col(column) * F.lit(_PER_MILLION) / F.col("events")).cast(
        "double"
    )


def daily_cost(batch_log: DataFrame, vcpu_hour: float) -> DataFrame:
    """Per dataset, job and UTC day of ``finished_ts``: batches, events (``rows_in``), task
    CPU, bytes, and per million events the task CPU milliseconds, the input bytes and the
    price (``task_cpu_ms / 3.6e6 * vcpu_hour``); ``file_batches``, the batches that recorded
    the files they read and wrote, and those files. Batches without task metrics (written
    before they were recorded) are left out."""
    measured = batch_log.where(F.col("task_cpu_ms").isNotNull())
    with_files = F.col("files_read").isNotNull() & F.col("files_written").isNotNull()
    return (
        measured.groupBy("dataset", "job", F.to_date("finished_ts").alias("day"))
        .agg(
            F.count(F.lit(1)).alias("batches"),
            F.sum("rows_in").alias("events"),
            F.sum("task_cpu_ms").alias("task_cpu_ms"),
            F.sum("input_bytes").alias("input_bytes"),
            F.sum("output_bytes").alias("output_bytes"),
            F.sum(F.col("shuffle_read_bytes") + F.col("shuffle_write_bytes")).alias(
                "shuffle_bytes"
            ),
            F.count(F.when(with_files, F.lit(1))).alias("file_batches"),
            F.sum(F.when(with_files, F.col("files_read"))).alias("files_read"),
            F.sum(F.when(with_files, F.col("files_written"))).alias("files_written"),
        )
        .withColumn("cpu_ms_per_million", _per_million("task_cpu_ms"))
        .withColumn("input_bytes_per_million", _per_million("input_bytes"))
        .withColumn(
            "usd_per_million",
            F.col("cpu_ms_per_million") / F.lit(3_600_000.0) * F.lit(float(vcpu_hour)),
        )
    )


@dataclass(frozen=True)
class DailyCost:
    """One stream's day (a row of :func:`daily_cost`)."""

    stream: str
    day: date
    batches: int
    events: int
    task_cpu_ms: int
    input_bytes: int
    output_bytes: int
    shuffle_bytes: int
    cpu_ms_per_million: float | None
    usd_per_million: float | None
    file_batches: int = 0  # batches that recorded their files (older ones did not)
    files_read: int = 0  # over those batches
    files_written: int = 0


def read_daily_cost(
    spark: SparkSession, config: LakehouseConfig, days: int, now: datetime | None = None
) -> list[DailyCost]:
    """The rows of :func:`daily_cost` over the batch log of the last ``days`` days."""
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=days)).astimezone(UTC).replace(tzinfo=None)
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    frame = daily_cost(
        log.where(F.col("finished_ts") >= F.lit(since)), vcpu_hour_price(config.cost)
    )
    return [
        DailyCost(
            stream=r["job"] if not r["dataset"] else f"{r['dataset']}/{r['job']}",
            day=r["day"],
            batches=int(r["batches"]),
            events=int(r["events"]),
            task_cpu_ms=int(r["task_cpu_ms"]),
            input_bytes=int(r["input_bytes"] or 0),
            output_bytes=int(r["output_bytes"] or 0),
            shuffle_bytes=int(r["shuffle_bytes"] or 0),
            cpu_ms_per_million=r["cpu_ms_per_million"],
            usd_per_million=r["usd_per_million"],
            file_batches=int(r["file_batches"]),
            files_read=int(r["files_read"] or 0),
            files_written=int(r["files_written"] or 0),
        )
        for r in frame.orderBy("dataset", "job", "day").collect()
    ]


def trend(values: list[float]) -> float | None:
    """The newest value against the median of the ones before, as a fraction (0.25: 25 %
    dearer); None without an earlier value or with a median of 0."""
    if len(values) < 2:
        return None
    base = statistics.median(values[:-1])
    return values[-1] / base - 1 if base else None
