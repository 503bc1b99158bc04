"""What one day of silver or gold is when recomputed from the layer below, with the
streams' own transforms: silver from bronze through the current contract (parse, dedup,
minimization, the bronze->silver suite), gold from silver through the gold SQL and its
suite. Reads only; every read of silver is pinned to one version.

A silver day is *the rows silver held for that day at version V*, each recomputed from its
bronze delivery (same source coordinates): kept (the recomputed row) or refused (a
quarantine row with its reasons). Nothing else is chosen: a delivery silver did not hold at
V (one the stream appends later, or one in the quarantine, which ``lakehouse replay``
re-judges) is not the backfill's, so the backfill never writes an event id silver@V did not
have for the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.contracts.analyze import gold_frame
from lakehouse.contracts.model import GoldTable
from lakehouse.io.batch import BatchStats, BatchWriter
from lakehouse.io.gold_job import to_gold_quarantine
from lakehouse.io.silver_job import SilverJob
from lakehouse.layers.silver import (
    COORDINATES,
    DEDUP_COL,
    REASONS_COL,
    classify_duplicates,
    parse_events,
    to_quarantine,
    to_silver,
)
from lakehouse.ops import TableDef
from lakehouse.privacy.pseudonymize import minimize, pseudonymize
from lakehouse.quality.gate import GATE_REASONS, GateDecision
from lakehouse.quality.parameters import suite_parameters

__all__ = [
    "GoldDay",
    "SilverDay",
    "gold_day",
    "gold_predicate",
    "read_silver",
    "silver_day",
]

_BRONZE_COORDINATES = {"_source": "source", "_partition": "partition", "_offset": "offset"}


def gold_predicate(gold: GoldTable, day: date, alias: str | None = None) -> str:
    """The rows of ``gold`` whose window lies in ``day`` (the shipped windows lie in one day)."""
    column = f"{alias}.`{gold.window_key}`" if alias else f"`{gold.window_key}`"
    return f"CAST({column} AS DATE) = DATE'{day.isoformat()}'"


def read_silver(spark: SparkSession, path: str, version: int) -> DataFrame:
    """The silver table at ``path`` as of ``version``."""
    return spark.read.format("delta").option("versionAsOf", version).load(path)


@dataclass(frozen=True)
class SilverDay:
    """Silver@V's rows of one day, recomputed.

    ``before`` holds the coordinates of those rows; ``kept`` the recomputed silver rows
    (silver's columns), ``refused`` the quarantine rows (the quarantine's columns) of the
    deliveries the current contract or suite refuses. A row of ``before`` whose bronze
    delivery is gone (bronze keeps fewer days than silver) is in neither and stays as it is.
    ``blocked`` is the gate's reason when a critical table-level expectation failed: then
    the day is not written. ``decisions`` are the gate's verdicts (for
    ``ops.quality_results``; empty when the gates are off).
    """

    before: DataFrame
    kept: DataFrame
    refused: DataFrame
    blocked: str | None
    decisions: tuple[GateDecision, ...] = ()


def silver_day(
    job: SilverJob,
    silver: DataFrame,
    day: date,
    writer_id: str,
    started: datetime,
) -> SilverDay:
    """The rows ``silver`` (one version of the silver table) holds for ``day``, recomputed
    from their bronze deliveries (see the module docstring).

    Bronze is read over the ingest days of those rows only (its partitions). Duplicates are
    told apart as the stream does, against the same version's rows of the days around.
    """
    spark = silver.sparkSession
    dataset, tables = job.dataset, job.tables
    before = silver.where(F.col("event_date") == F.lit(day))
    bounds = before.agg(
        F.to_date(F.min("_ingest_ts")).alias("lo"), F.to_date(F.max("_ingest_ts")).alias("hi")
    ).first()
    bronze = spark.read.format("delta").load(job.path(tables.bronze))
    if bounds is None or bounds["lo"] is None:
        bronze = bronze.limit(0)
    else:
        bronze = bronze.where(F.col("ingest_date").between(bounds["lo"], bounds["hi"]))
    coordinates = before.select(*COORDINATES).withColumnsRenamed(_BRONZE_COORDINATES)
    parsed = (
        bronze.join(coordinates, list(_BRONZE_COORDINATES.values()), "left_semi")
        .transform(parse_events(dataset, job.rules))
        .localCheckpoint(eager=True)
    )
    window = math.ceil(job.dedup_window.total_seconds() / 86400) + 1
    others = silver.where(
        F.col("event_date").between(day - timedelta(days=window), day + timedelta(days=window))
        & (F.col("event_date") != F.lit(day))
    )
    classified = parsed.where(F.size(REASONS_COL) == 0).transform(
        classify_duplicates(others, dataset.id_field)
    )
    candidates = (
        classified.where(F.col(DEDUP_COL) != "duplicate")
        .drop(DEDUP_COL)
        .transform(minimize(tables.silver.policy.minimization, job.key))
    )
    stats = BatchStats()
    promoted, gated = job.gate(
        candidates,
        table=tables.silver,
        suite_name=dataset.silver_suite,
        keys=COORDINATES,
        batch_id=day.toordinal(),
        stats=stats,
        parameters=suite_parameters(
            job.rules.max_future_skew_seconds, started.replace(tzinfo=None)
        ),
    )
    refused = parsed.where(F.size(REASONS_COL) > 0).unionByName(
        classified.where(F.col(DEDUP_COL) == "duplicate").drop(DEDUP_COL)
    )
    if gated is not None:
        refused = refused.unionByName(
            gated.withColumn(REASONS_COL, F.col(GATE_REASONS)).drop(GATE_REASONS)
        )
    subject = [dataset.subject_field] if dataset.subject_field else []
    return SilverDay(
        before=before.select(*COORDINATES),
        kept=promoted.transform(to_silver(tables.silver, writer_id, day.toordinal(), started)),
        refused=refused.transform(
            to_quarantine(dataset, tables.quarantine, writer_id, day.toordinal(), started)
        )
        # the raw subject id becomes its pseudonym, as in the stream's quarantine rows
        .transform(pseudonymize(job.key, subject)),
        blocked="; ".join(stats.blocked_reasons) or None,
        decisions=tuple(stats.decisions),
    )


@dataclass(frozen=True)
class GoldDay:
    """A gold table's windows of one day recomputed from silver; ``refused`` names the
    critical expectations of the table's suite they fail (then nothing is written).
    ``quarantine`` holds the rows the gate refuses, as the table's quarantine rows (with
    their reasons; empty when none is refused), ``decisions`` the gate's verdicts."""

    rows: DataFrame
    refused: str | None
    quarantine: DataFrame
    decisions: tuple[GateDecision, ...] = ()


def gold_day(
    job: BatchWriter,
    silver: DataFrame,
    *,
    gold: GoldTable,
    table: TableDef,
    day: date,
    stamp: datetime,
    writer_id: str,
) -> GoldDay:
    """The rows of ``gold``'s windows of ``day`` recomputed from ``silver`` (its rows of that
    day), stamped ``updated_ts = stamp``, and the verdict of the table's suite on them: the
    gate the gold stream runs (any critical failure refuses the day). The rows the gate
    refuses become quarantine rows as the gold stream writes them (``_writer_id =
    writer_id``, ``_batch_id`` the day's ordinal)."""
    spark = silver.sparkSession
    rows = (
        gold_frame(spark, gold, silver.where(F.col("event_date") == F.lit(day)))
        .withColumn("updated_ts", F.lit(stamp).cast("timestamp"))
        .select(*table.schema.fieldNames())
        .localCheckpoint(eager=True)
    )
    stats = BatchStats()
    _, gated = job.gate(
        rows,
        table=table,
        suite_name=gold.suite,
        keys=gold.keys,
        batch_id=day.toordinal(),
        stats=stats,
    )
    if gated is None:  # the gates are off
        gated = rows.limit(0).withColumn(GATE_REASONS, F.array().cast("array<string>"))
    quarantine = gated.transform(
        to_gold_quarantine(table, writer_id, day.toordinal(), stamp)
    ).localCheckpoint(eager=True)
    failed = [o.label for d in stats.decisions for o in d.critical_failures]
    return GoldDay(rows, ", ".join(failed) if failed else None, quarantine, tuple(stats.decisions))
