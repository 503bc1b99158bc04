"""Run quarantined rows again through the current contract and gates, with the silver job's
own transforms (parse, dedup against silver, minimization, the bronze->silver suite): what
would be promoted, and the new reasons of what is still refused. Reads, never writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

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
from lakehouse.privacy.pseudonymize import minimize
from lakehouse.quality.gate import GATE_REASONS
from lakehouse.quality.parameters import suite_parameters

__all__ = ["OUTCOME_COLUMNS", "Evaluation", "as_bronze", "evaluate", "writer_id"]

# outcome: promoted (passes now, or its delivery is in silver already) or refused
OUTCOME_COLUMNS = (*COORDINATES, "quarantine_date", "reason_before", "outcome", "reasons")


def writer_id(replay_id: str) -> str:
    """The ``_writer_id`` of the silver rows a replay promotes: the replay names them."""
    return f"replay:{replay_id}"


@dataclass(frozen=True)
class Evaluation:
    """The silver rows a replay would promote and one outcome row per chosen row."""

    silver_rows: DataFrame
    outcomes: DataFrame  # OUTCOME_COLUMNS
    stats: BatchStats


def as_bronze(quarantined: DataFrame) -> DataFrame:
    """Quarantine rows as the bronze rows the silver job read (the columns it uses)."""
    return quarantined.select(
        F.col("_source").alias("source"),
        F.col("_partition").alias("partition"),
        F.col("_offset").alias("offset"),
        "payload",
        F.col("_ingest_ts").alias("ingest_ts"),
    )


def evaluate(job: SilverJob, chosen: DataFrame, replay_id: str, started: datetime) -> Evaluation:
    """Refine ``chosen`` quarantine rows as the silver stream would now.

    A row passes when it parses under the current contract, is not a second delivery of an
    event silver has (``classify_duplicates``: a delivery silver already has, e.g. promoted
    by an interrupted attempt of this replay, counts as promoted and is written nothing)
    and passes the bronze->silver suite. Both frames are materialized (local checkpoints):
    the writes that follow change the tables they were computed from.
    """
    spark = chosen.sparkSession
    dataset, silver_table = job.dataset, job.tables.silver
    wid = writer_id(replay_id)
    parsed = as_bronze(chosen).transform(parse_events(dataset, job.rules)).persist()
    try:
        good = parsed.where(F.size(REASONS_COL) == 0)
        existing = job._existing(spark, good, wid, 0)
        classified = good.transform(classify_duplicates(existing, dataset.id_field))
        stats = BatchStats(key_version=job.key_version)
        candidates = (
            classified.where(F.col(DEDUP_COL) == "new")
            .drop(DEDUP_COL)
            .transform(minimize(silver_table.policy.minimization, job.key))
        )
        parameters = suite_parameters(
            job.rules.max_future_skew_seconds, started.replace(tzinfo=None)
        )
        promoted, gated = job.gate(
            candidates,
            table=silver_table,
            suite_name=dataset.silver_suite,
            keys=COORDINATES,
            batch_id=0,
            stats=stats,
            parameters=parameters,
        )
        silver_rows = promoted.transform(to_silver(silver_table, wid, 0, started))
        silver_rows = silver_rows.localCheckpoint(eager=True)
        passed = silver_rows.select(*COORDINATES).unionByName(
            classified.where(F.col(DEDUP_COL) == "promoted").select(*COORDINATES)
        )
        refused = parsed.where(F.size(REASONS_COL) > 0).select(*COORDINATES, REASONS_COL)
        refused = refused.unionByName(
            classified.where(F.col(DEDUP_COL) == "duplicate").select(*COORDINATES, REASONS_COL)
        )
        if gated is not None:
            refused = refused.unionByName(
                gated.select(*COORDINATES, F.col(GATE_REASONS).alias(REASONS_COL))
            )
        outcomes = (
            chosen.select(*COORDINATES, "quarantine_date", F.col("reason").alias("reason_before"))
            .join(passed.withColumn("_passed", F.lit(True)), list(COORDINATES), "left")
            .join(refused, list(COORDINATES), "left")
            .select(
                *COORDINATES,
                "quarantine_date",
                "reason_before",
                F.when(F.col("_passed"), F.lit("promoted")).otherwise("refused").alias("outcome"),
                F.when(F.col("_passed").isNull(), F.col(REASONS_COL)).alias("reasons"),
            )
            .localCheckpoint(eager=True)
        )
    finally:
        parsed.unpersist()
    return Evaluation(silver_rows, outcomes, stats)
