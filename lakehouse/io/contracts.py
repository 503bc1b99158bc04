"""``ops.contracts``: the dataset contracts the jobs ran with, one row per contract content.

A job records its dataset's contract when it starts, exactly once per content (an
idempotent append keyed by the content hash), so the table says which contract versions the
lake was processed with; each batch names its contract in ``ops.batch_log.contract_hash``,
which gives the first and last batch of each.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.contracts.model import Dataset
from lakehouse.frames import local_frame
from lakehouse.io.commits import transaction_recorded
from lakehouse.io.delta import append_idempotent
from lakehouse.ops import BATCH_LOG, CONTRACTS

__all__ = ["contracts_in_use", "record_contract"]


# (table path, app id) of the contracts this process recorded or found recorded: the jobs of
# one process (e.g. ``lakehouse run bronze silver gold``) share a dataset's contract
_RECORDED: set[tuple[str, str]] = set()


def record_contract(spark: SparkSession, config: LakehouseConfig, dataset: Dataset) -> None:
    """Add ``dataset``'s contract to ``ops.contracts`` unless that content is there already."""
    path = table_path(config.lake, CONTRACTS)
    app_id = f"contract:{dataset.name}:{dataset.content_hash}"
    if (path, app_id) in _RECORDED:
        return
    # a contract already recorded (every start but the first of a content) is found in the
    # table's checksum file; an idempotent append that has nothing to do would reconstruct
    # the table's state first (seconds, at the start of every job process)
    if transaction_recorded(spark, path, app_id, 0):
        _RECORDED.add((path, app_id))
        return
    row = {
        "dataset": dataset.name,
        "version": dataset.version,
        "content_hash": dataset.content_hash,
        "owner": dataset.owner,
        "status": dataset.status,
        "schema_versions": sorted(v.version for v in dataset.versions),
        "gold_tables": [f"gold.{g.name}" for g in dataset.gold],
        "recorded_ts": datetime.now(UTC),
    }
    frame = local_frame(spark, [row], CONTRACTS.schema)
    append_idempotent(frame, path, app_id, 0)
    _RECORDED.add((path, app_id))


def contracts_in_use(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    """Every recorded contract with the first and last batch (and time) that ran with it."""
    contracts = spark.read.format("delta").load(table_path(config.lake, CONTRACTS))
    batches = (
        spark.read.format("delta")
        .load(table_path(config.lake, BATCH_LOG))
        .where(F.col("contract_hash").isNotNull())
        .groupBy("dataset", "contract_hash")
        .agg(
            F.min("started_ts").alias("first_batch_ts"),
            F.max("finished_ts").alias("last_batch_ts"),
            F.count(F.lit(1)).alias("batches"),
        )
    )
    joined = contracts.join(
        batches,
        (contracts["dataset"] == batches["dataset"])
        & (contracts["content_hash"] == batches["contract_hash"]),
        "left",
    )
    return joined.select(
        contracts["dataset"],
        "version",
        F.substring("content_hash", 1, 12).alias("content_hash"),
        "owner",
        "status",
        "recorded_ts",
        "first_batch_ts",
        "last_batch_ts",
        F.coalesce("batches", F.lit(0)).alias("batches"),
    ).orderBy("dataset", "recorded_ts")
