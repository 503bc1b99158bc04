"""The ops rows of a micro-batch: its metrics, findings and quality results, its row of the
batch log, and how each is appended once (:class:`~lakehouse.io.batch.BatchWriter` writes
them at the end of the batch)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from lakehouse.io.batch_stats import BatchStats, cost_columns
from lakehouse.io.delta import append, append_idempotent, batch_rows_present, latest_version
from lakehouse.monitoring.history import anomalies_frame, metrics_frame
from lakehouse.ops import ANOMALIES, QUALITY_RESULTS, TABLE_METRICS, TableDef
from lakehouse.quality.results import quality_rows

__all__ = ["append_ops", "batch_log_row", "ops_frames"]


def append_ops(df: DataFrame, path: str, writer_id: str, batch_id: int, first: bool) -> int:
    """Append the ops rows ``df`` of a batch to the table at ``path`` (one every stream
    appends to: ``_writer_id`` and ``batch_id`` say whose rows they are), once; return the
    table's version afterwards.

    A batch that runs for the first time (``first``: :mod:`lakehouse.io.attempts`) appends
    blindly, with no Spark job of Delta's: its rows cannot be there. One that may have run
    before (the first batch after a restart) writes only when the table has no row of it
    yet, and then as an idempotent append, which also finds the batches that lakes written
    before ``_writer_id`` was in the batch log recorded."""
    if first:
        return append(df, path)
    if batch_rows_present(df.sparkSession, path, writer_id, batch_id):
        return latest_version(df.sparkSession, path)
    return append_idempotent(df, path, writer_id, batch_id)


def ops_frames(
    job: str,
    *,
    batch_id: int,
    started: datetime,
    stats: BatchStats,
    writer_id: str,
    gated: Mapping[str, TableDef],
) -> list[tuple[TableDef, Callable[[SparkSession], DataFrame]]]:
    """The batch's metrics, findings and quality results (those it has): each ops table with
    the rows for it, built in the session they are given (``gated``: the tables the batch's
    gates judged, by name)."""
    frames: list[tuple[TableDef, Callable[[SparkSession], DataFrame]]] = []
    if stats.observations:
        metrics = [o.metrics for o in stats.observations]
        frames.append((TABLE_METRICS, lambda s: metrics_frame(s, metrics, writer_id)))
    findings = [f for o in stats.observations for f in o.findings] + stats.cost_findings
    if findings:
        blocked = [f.finding_id for o in stats.observations for f in o.blocking]
        frames.append((ANOMALIES, lambda s: anomalies_frame(s, findings, writer_id, blocked)))
    if stats.decisions:
        decisions, judged = list(stats.decisions), dict(gated)
        frames.append(
            (
                QUALITY_RESULTS,
                lambda s: quality_rows(
                    s,
                    job,
                    batch_id,
                    decisions,
                    judged,
                    validated_ts=started,
                    writer_id=writer_id,
                ),
            )
        )
    return frames


def batch_log_row(
    *,
    job: str,
    dataset: str | None,
    contract_hash: str | None,
    batch_id: int,
    started: datetime,
    finished: datetime,
    stats: BatchStats,
    writer_id: str,
) -> dict[str, Any]:
    """The batch's row of ``ops.batch_log``."""
    return {
        "job": job,
        "dataset": dataset,
        "batch_id": batch_id,
        "started_ts": started,
        "finished_ts": finished,
        "duration_ms": int((finished - started).total_seconds() * 1000),
        "rows_in": stats.rows_in,
        "rows_out": stats.rows_out,
        "rows_quarantined": stats.rows_quarantined,
        "status": stats.status,
        "blocked_reason": "; ".join(stats.blocked_reasons) or None,
        "source_offsets": stats.source_offsets,
        "versions_written": stats.versions_written,
        "step_ms": stats.step_ms,
        "contract_hash": contract_hash,
        "key_version": stats.key_version,
        "source_backlog_messages": stats.source_backlog_messages,
        "source_backlog_oldest_s": stats.source_backlog_oldest_s,
        **cost_columns(stats.task, stats.files_written),
        "_writer_id": writer_id,
    }
