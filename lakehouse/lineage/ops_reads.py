"""What a trace reads from the ops tables: the batch log rows of the batches that wrote a
table, the erasures of a dataset's tables and the replays that chose an event's deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.ops import BATCH_LOG, ERASURE_AUDIT, ERASURE_REQUESTS, REPLAYED_ROWS, REPLAYS

__all__ = ["BatchRef", "batch_refs", "erasures", "replays"]


@dataclass(frozen=True)
class BatchRef:
    """One batch that wrote a table: its job, id, the table's Delta version it wrote, when,
    and the source offset ranges it logged (``source/partition -> [first, last]``)."""

    table: str
    job: str | None
    batch_id: int
    version: int | None
    finished_ts: datetime | None
    source_offsets: dict[str, list[int]] | None


def batch_refs(
    spark: SparkSession, config: LakehouseConfig, dataset: str, table: str, ids: Iterable[int]
) -> dict[int, BatchRef]:
    """The batch log rows of the batches ``ids`` of ``dataset`` that wrote ``table`` (the
    batch log names the tables a batch wrote in ``versions_written``); a batch the log does
    not have (retention) is returned with its id only."""
    wanted = sorted(set(ids))
    refs = {i: BatchRef(table, None, i, None, None, None) for i in wanted}
    if not wanted:
        return refs
    rows = (
        spark.read.format("delta")
        .load(table_path(config.lake, BATCH_LOG))
        .where(
            (F.col("dataset") == dataset)
            & F.col("batch_id").isin(wanted)
            & F.array_contains(F.map_keys("versions_written"), table)
        )
        .select("job", "batch_id", "versions_written", "finished_ts", "source_offsets")
        .collect()
    )
    for r in rows:
        offsets = json.loads(r["source_offsets"]) if r["source_offsets"] else None
        refs[r["batch_id"]] = BatchRef(
            table, r["job"], r["batch_id"], r["versions_written"][table], r["finished_ts"], offsets
        )
    return refs


def erasures(
    spark: SparkSession, config: LakehouseConfig, tables: Iterable[str]
) -> list[dict[str, Any]]:
    """Every erasure that deleted rows from ``tables``: request, table, rows deleted, the
    Delta versions before and after, when (oldest first)."""
    audit = spark.read.format("delta").load(table_path(config.lake, ERASURE_AUDIT))
    requests = spark.read.format("delta").load(table_path(config.lake, ERASURE_REQUESTS))
    rows = (
        audit.where(F.col("table_name").isin(list(tables)) & (F.col("rows_deleted") > 0))
        .join(requests.select("request_id", "requested_ts", "status"), "request_id", "left")
        .orderBy("erased_ts", "table_name")
        .collect()
    )
    return [
        {
            "request_id": r["request_id"],
            "table": r["table_name"],
            "rows_deleted": r["rows_deleted"],
            "version_before": r["version_before"],
            "version_after": r["version_after"],
            "erased_ts": r["erased_ts"],
            "requested_ts": r["requested_ts"],
        }
        for r in rows
    ]


def replays(
    spark: SparkSession,
    config: LakehouseConfig,
    dataset: str,
    coordinates: Iterable[tuple[str, str, int]],
) -> list[dict[str, Any]]:
    """Every replay that chose one of the deliveries ``coordinates`` (source, partition,
    offset) of ``dataset``, oldest first: the replay's id, who asked, its status, and the
    delivery's outcome (promoted or refused, with the new reasons of a refusal), from
    ``ops.replayed_rows`` joined with ``ops.replays``. A lake made before replays existed
    (no such tables) has none."""
    wanted = sorted(set(coordinates))
    rows_path = table_path(config.lake, REPLAYED_ROWS)
    if not wanted or not DeltaTable.isDeltaTable(spark, rows_path):
        return []
    chosen = F.lit(False)
    for source, partition, offset in wanted:
        chosen = chosen | (
            (F.col("_source") == source)
            & (F.col("_partition") == partition)
            & (F.col("_offset") == offset)
        )
    replayed = (
        spark.read.format("delta").load(rows_path).where((F.col("dataset") == dataset) & chosen)
    )
    runs = spark.read.format("delta").load(table_path(config.lake, REPLAYS))
    rows = (
        replayed.join(
            runs.select("replay_id", "requested_by", "status", "started_ts"), "replay_id", "left"
        )
        .orderBy("replayed_ts", "replay_id", "_source", "_partition", "_offset")
        .collect()
    )
    return [
        {
            "replay_id": r["replay_id"],
            "requested_by": r["requested_by"],
            "status": r["status"],
            "replayed_ts": r["replayed_ts"],
            "source": r["_source"],
            "partition": r["_partition"],
            "offset": r["_offset"],
            "outcome": r["outcome"],
            "reasons": list(r["reasons"]) if r["reasons"] is not None else [],
        }
        for r in rows
    ]
