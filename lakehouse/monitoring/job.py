"""``lakehouse anomalies detect``: the detectors as a batch job over the stored history.

It judges the newest batch of every monitored table against the batches before it (what
the streams do after each batch, for streams that ran with monitoring off or to re-judge
after a threshold change), finds stalled sources from the batch log (a stalled stream
writes no batch, so only a job outside it can notice), records new findings once (by id)
and resolves open findings that the newest batch no longer shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.monitoring.detectors import detect, detect_stall
from lakehouse.monitoring.history import (
    read_anomalies,
    read_metrics,
    record_findings,
    resolve_findings,
)
from lakehouse.monitoring.model import BatchMetrics, Finding
from lakehouse.monitoring.thresholds import Monitoring
from lakehouse.ops import BATCH_LOG, TableDef
from lakehouse.platform import Platform, load_platform

__all__ = ["DetectionRun", "job_table", "last_batches_with_rows", "run_detection"]

WRITER_ID = "anomalies-detect"


def job_table(platform: Platform, job: str, dataset: str | None) -> TableDef | None:
    """The table a dataset's streaming job promotes into (its thresholds judge the job's
    stalls); None for a job of no declared dataset (one removed from the configuration)."""
    tables = platform.datasets.get(dataset or "")
    if tables is None:
        return None
    if job.startswith("bronze"):
        return tables.bronze
    if job == "silver" or not tables.gold:
        return tables.silver
    return tables.gold[0][1]


@dataclass(frozen=True)
class DetectionRun:
    findings: list[Finding]
    recorded: int
    resolved: int


def last_batches_with_rows(spark: SparkSession, config: LakehouseConfig) -> list[Any]:
    """Per job of the batch log: its newest batch that read rows."""
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    newest = Window.partitionBy("dataset", "job").orderBy(F.desc("finished_ts"), F.desc("batch_id"))
    return (
        log.where(F.col("rows_in") > 0)
        .withColumn("_n", F.row_number().over(newest))
        .where(F.col("_n") == 1)
        .select("dataset", "job", "batch_id", "finished_ts")
        .collect()
    )


def _stalls(platform: Platform, rows: Sequence[Any], now: datetime) -> list[Finding]:
    findings = []
    for row in rows:
        table = job_table(platform, row["job"], row["dataset"])
        if table is None:
            continue
        monitoring = table.monitoring or Monitoring()
        finished = row["finished_ts"].replace(tzinfo=UTC)
        last = BatchMetrics(
            table_name=table.name,
            job=row["job"],
            batch_id=int(row["batch_id"]),
            batch_ts=finished,
            rows=1,
        )
        stall = detect_stall([last], monitoring, now)
        if stall is not None:
            findings.append(stall)
    return findings


def run_detection(
    spark: SparkSession, config: LakehouseConfig, now: datetime | None = None
) -> DetectionRun:
    now = now or datetime.now(UTC)
    platform = load_platform(config, spark)
    monitored = [t for t in platform.tables.values() if t.monitoring is not None]
    history = read_metrics(
        spark,
        config.lake,
        tables=[t.name for t in monitored],
        days=config.monitoring.history_days,
        per_table=config.monitoring.history_batches,
        now=now,
    )
    findings: list[Finding] = []
    latest: dict[tuple[str, str], int] = {}
    for table in monitored:
        assert table.monitoring is not None
        points = history.get(table.name, [])
        if not points:
            continue
        newest = points[-1]
        latest[(table.name, newest.job)] = newest.batch_id
        findings += detect(newest, points[:-1], table.monitoring, now)
    stalls = _stalls(platform, last_batches_with_rows(spark, config), now)
    findings += stalls
    recorded = record_findings(spark, config.lake, findings, WRITER_ID)
    # an open finding is resolved when a newer batch no longer shows its detector and metric
    showing = {(f.table_name, f.job, f.detector, f.metric) for f in findings}
    open_rows = (
        read_anomalies(spark, config.lake)
        .where(F.col("status") == "open")
        .select("finding_id", "table_name", "job", "batch_id", "detector", "metric")
        .collect()
    )
    gone = [
        r["finding_id"]
        for r in open_rows
        if (r["table_name"], r["job"], r["detector"], r["metric"]) not in showing
        and (
            r["detector"] == "stall" or r["batch_id"] < latest.get((r["table_name"], r["job"]), -1)
        )
    ]
    resolve_findings(spark, config.lake, gone, now)
    return DetectionRun(findings, recorded, len(gone))
