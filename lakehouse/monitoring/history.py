"""Delta I/O of monitoring: metrics rows (``ops.table_metrics``) and findings
(``ops.anomalies``) to and from the plain values of :mod:`lakehouse.monitoring.model`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakeConfig
from lakehouse.frames import local_frame
from lakehouse.monitoring.model import BatchMetrics, Finding
from lakehouse.ops import ANOMALIES, TABLE_METRICS

__all__ = [
    "anomalies_frame",
    "metrics_frame",
    "metrics_from_row",
    "read_anomalies",
    "read_metrics",
    "record_findings",
    "resolve_findings",
]


def _utc(ts: datetime | None) -> datetime | None:
    """Spark returns naive timestamps in the session time zone; the lake runs in UTC."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def _naive(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def _metrics_row(m: BatchMetrics, writer_id: str) -> dict[str, Any]:
    return {
        "table_name": m.table_name,
        "job": m.job,
        "batch_id": m.batch_id,
        "batch_ts": _naive(m.batch_ts),
        "batch_date": m.batch_ts.astimezone(UTC).date(),
        "rows": m.rows,
        "rows_in": m.rows_in,
        "rows_quarantined": m.rows_quarantined,
        "quarantine_rate": m.quarantine_rate,
        "null_rates": dict(m.null_rates),
        "distinct_counts": dict(m.distinct_counts),
        "means": dict(m.means),
        "numeric_counts": dict(m.numeric_counts),
        "quantiles": {k: list(v) for k, v in m.quantiles.items()},
        "category_counts": {k: dict(v) for k, v in m.category_counts.items()},
        "rescued_keys": list(m.rescued_keys),
        "characters_removed": dict(m.characters_removed),
        "max_event_ts": _naive(m.max_event_ts),
        "event_lag_seconds": m.event_lag_seconds,
        "_writer_id": writer_id,
    }


def metrics_frame(spark: SparkSession, points: Sequence[BatchMetrics], writer_id: str) -> DataFrame:
    return local_frame(spark, [_metrics_row(p, writer_id) for p in points], TABLE_METRICS.schema)


def metrics_from_row(row: Any) -> BatchMetrics:
    batch_ts = _utc(row["batch_ts"])
    assert batch_ts is not None
    return BatchMetrics(
        table_name=row["table_name"],
        job=row["job"],
        batch_id=int(row["batch_id"]),
        batch_ts=batch_ts,
        rows=int(row["rows"]),
        rows_in=int(row["rows_in"]),
        rows_quarantined=int(row["rows_quarantined"]),
        null_rates=dict(row["null_rates"]),
        distinct_counts=dict(row["distinct_counts"]),
        means=dict(row["means"]),
        numeric_counts=dict(row["numeric_counts"]),
        quantiles={k: tuple(v) for k, v in row["quantiles"].items()},
        category_counts={k: dict(v) for k, v in row["category_counts"].items()},
        rescued_keys=tuple(row["rescued_keys"]),
        # a lake older than the column has none (read commands never change a table)
        characters_removed=dict(row.asDict().get("characters_removed") or {}),
        max_event_ts=_utc(row["max_event_ts"]),
        event_lag_seconds=row["event_lag_seconds"],
    )


def read_metrics(
    spark: SparkSession,
    lake: LakeConfig,
    *,
    tables: Iterable[str] | None = None,
    days: int,
    per_table: int,
    now: datetime | None = None,
) -> dict[str, list[BatchMetrics]]:
    """The newest ``per_table`` metrics of the last ``days`` days per table, oldest first.

    A table's stream identity changes when its checkpoint is replaced; the history is per
    table, across writers (one row per writer and batch)."""
    now = now or datetime.now(UTC)
    df = spark.read.format("delta").load(table_path(lake, TABLE_METRICS))
    df = df.where(F.col("batch_ts") >= F.lit(_naive(now - timedelta(days=days))))
    names = list(tables) if tables is not None else None
    if names is not None:
        df = df.where(F.col("table_name").isin(names))
    newest = Window.partitionBy("table_name").orderBy(F.desc("batch_ts"), F.desc("batch_id"))
    df = df.withColumn("_n", F.row_number().over(newest)).where(F.col("_n") <= per_table)
    history: dict[str, list[BatchMetrics]] = {n: [] for n in names or ()}
    for row in df.drop("_n").collect():
        history.setdefault(row["table_name"], []).append(metrics_from_row(row))
    for points in history.values():
        points.sort(key=lambda p: (p.batch_ts, p.batch_id))
    return history


def anomalies_frame(
    spark: SparkSession,
    findings: Sequence[Finding],
    writer_id: str,
    blocked: Iterable[str] = (),
) -> DataFrame:
    """Rows of ``ops.anomalies``, open; ``blocked`` holds the ids of findings that blocked
    their batch."""
    blocking = set(blocked)
    rows = [
        {
            "finding_id": f.finding_id,
            "table_name": f.table_name,
            "job": f.job,
            "batch_id": f.batch_id,
            "detector": f.detector,
            "metric": f.metric,
            "severity": f.severity,
            "expected_low": f.expected_low,
            "expected_high": f.expected_high,
            "observed": f.observed,
            "message": f.message,
            "detected_ts": _naive(f.detected_ts),
            "status": "open",
            "resolved_ts": None,
            "blocked": f.finding_id in blocking,
            "_writer_id": writer_id,
        }
        for f in findings
    ]
    return local_frame(spark, rows, ANOMALIES.schema)


def record_findings(
    spark: SparkSession, lake: LakeConfig, findings: Sequence[Finding], writer_id: str
) -> int:
    """Insert findings not recorded yet (by id); return how many were new."""
    if not findings:
        return 0
    path = table_path(lake, ANOMALIES)
    known = {
        r["finding_id"]
        for r in spark.read.format("delta")
        .load(path)
        .where(F.col("finding_id").isin([f.finding_id for f in findings]))
        .select("finding_id")
        .collect()
    }
    fresh = [f for f in findings if f.finding_id not in known]
    if fresh:
        (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(
                anomalies_frame(spark, fresh, writer_id).alias("s"), "t.finding_id = s.finding_id"
            )
            .whenNotMatchedInsertAll()
            .execute()
        )
    return len(fresh)


def resolve_findings(
    spark: SparkSession, lake: LakeConfig, finding_ids: Sequence[str], when: datetime
) -> None:
    """Mark open findings resolved."""
    if not finding_ids:
        return
    DeltaTable.forPath(spark, table_path(lake, ANOMALIES)).update(
        (F.col("status") == "open") & F.col("finding_id").isin(list(finding_ids)),
        {"status": F.lit("resolved"), "resolved_ts": F.lit(_naive(when)).cast("timestamp")},
    )


def read_anomalies(spark: SparkSession, lake: LakeConfig) -> DataFrame:
    return spark.read.format("delta").load(table_path(lake, ANOMALIES))
