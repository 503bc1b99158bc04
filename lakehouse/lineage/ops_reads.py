"""What a trace reads from the ops tables: the batch log rows of the batches that wrote a
table, the erasures of a dataset's tables and, when the catalog has it, ``ops.replays``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.engine_errors import is_engine_error
from lakehouse.ops import BATCH_LOG, ERASURE_AUDIT, ERASURE_REQUESTS

__all__ = ["REPLAYS", "BatchRef", "batch_refs", "erasures", "replays"]

REPLAYS = "ops.replays"


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
    spark: SparkSession, dataset: str, marks: Iterable[str] = ()
) -> list[dict[str, Any]] | None:
    """The rows of ``ops.replays`` of ``dataset`` (every column the table has), or None when
    the catalog has no such table (or it cannot be read: not created yet). Its schema is the
    replay command's: only ``dataset`` and ``replay_id`` are relied on, each when present.
    ``marks`` (replay ids found on the event's own rows) narrow the rows to those replays."""
    if not spark.catalog.tableExists(REPLAYS):
        return None
    try:
        frame = spark.table(REPLAYS)
        if "dataset" in frame.columns:
            frame = frame.where(F.col("dataset") == dataset)
        chosen = sorted(set(marks))
        if chosen and "replay_id" in frame.columns:
            frame = frame.where(F.col("replay_id").isin(chosen))
        return [r.asDict(recursive=True) for r in frame.collect()]
    except Exception as exc:
        if not is_engine_error(exc):
            raise
        return None
