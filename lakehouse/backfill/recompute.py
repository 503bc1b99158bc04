"""What one day of silver or gold is when recomputed from the layer below, with the
streams' own transforms: silver from bronze through the current contract (parse, dedup,
minimization, the bronze->silver suite), gold from silver through the gold SQL. Reads only.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.contracts.analyze import gold_frame
from lakehouse.contracts.model import GoldTable
from lakehouse.io.batch import BatchStats
from lakehouse.io.silver_job import SilverJob
from lakehouse.layers.silver import (
    COORDINATES,
    DEDUP_COL,
    REASONS_COL,
    classify_duplicates,
    parse_events,
    to_silver,
)
from lakehouse.ops import TableDef
from lakehouse.privacy.pseudonymize import minimize
from lakehouse.quality.parameters import suite_parameters

__all__ = ["gold_day", "gold_predicate", "silver_day", "silver_predicate"]


def silver_predicate(day: date) -> str:
    return f"event_date = DATE'{day.isoformat()}'"


def gold_predicate(gold: GoldTable, day: date) -> str:
    return f"CAST(`{gold.window_key}` AS DATE) = DATE'{day.isoformat()}'"


def _days(seconds: int) -> int:
    return math.ceil(seconds / 86400) + 1


def silver_day(
    job: SilverJob, spark: SparkSession, day: date, writer_id: str, started: datetime
) -> DataFrame:
    """Silver's rows of ``day`` recomputed from bronze.

    Only deliveries the silver stream has processed (their coordinates are in silver or in
    the quarantine) are taken: one the stream has not reached yet is left to it, so the
    stream never appends a row the backfill wrote. Bronze is partitioned by ingest day, so
    the days an event of ``day`` can have arrived on are read (the dataset's lateness and
    future skew). Duplicates are told apart as the stream does, against silver's other days.
    """
    dataset, tables = job.dataset, job.tables
    late, skew = _days(job.rules.max_lateness_seconds), _days(job.rules.max_future_skew_seconds)
    window = _days(int(job.dedup_window.total_seconds()))
    silver = spark.read.format("delta").load(job.path(tables.silver))
    quarantine = spark.read.format("delta").load(job.path(tables.quarantine))
    processed = silver.select(*COORDINATES).unionByName(quarantine.select(*COORDINATES))
    bronze = (
        spark.read.format("delta")
        .load(job.path(tables.bronze))
        .where(F.col("ingest_date").between(day - timedelta(days=skew), day + timedelta(days=late)))
    )
    bronze = bronze.join(
        processed.withColumnsRenamed(
            {"_source": "source", "_partition": "partition", "_offset": "offset"}
        ),
        ["source", "partition", "offset"],
        "left_semi",
    )
    parsed = bronze.transform(parse_events(dataset, job.rules))
    good = parsed.where((F.size(REASONS_COL) == 0) & (F.col("event_date") == F.lit(day)))
    others = silver.where(
        F.col("event_date").between(day - timedelta(days=window), day + timedelta(days=window))
        & (F.col("event_date") != F.lit(day))
    )
    candidates = (
        good.transform(classify_duplicates(others, dataset.id_field))
        .where(F.col(DEDUP_COL) == "new")
        .drop(DEDUP_COL)
        .transform(minimize(tables.silver.policy.minimization, job.key))
    )
    parameters = suite_parameters(job.rules.max_future_skew_seconds, started.replace(tzinfo=None))
    promoted, _ = job.gate(
        candidates,
        table=tables.silver,
        suite_name=dataset.silver_suite,
        keys=COORDINATES,
        batch_id=day.toordinal(),
        stats=BatchStats(),
        parameters=parameters,
    )
    return promoted.transform(to_silver(tables.silver, writer_id, day.toordinal(), started))


def gold_day(
    spark: SparkSession, silver: DataFrame, gold: GoldTable, table: TableDef, started: datetime
) -> DataFrame:
    """The rows of ``gold``'s windows of ``day`` recomputed from ``silver`` (its rows of that
    day: the windows of the shipped gold tables lie within one day)."""
    return (
        gold_frame(spark, gold, silver)
        .withColumn("updated_ts", F.lit(started).cast("timestamp"))
        .select(*table.schema.fieldNames())
    )
