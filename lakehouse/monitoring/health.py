"""What the health views show, read once from the ops tables: the batch log, the metrics
history, quality verdicts per batch and the findings of a time window; and the status of
each stream computed from them (plain Python, so the views render and test without Spark)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.monitoring.history import read_metrics
from lakehouse.monitoring.model import SEVERITY_RANK, BatchMetrics, Finding
from lakehouse.ops import ANOMALIES, BATCH_LOG, QUALITY_RESULTS, STREAM_FAILURES, TableDef

__all__ = [
    "BatchRow",
    "FailureRow",
    "FindingRow",
    "HealthData",
    "QualityRow",
    "StreamStatus",
    "gather",
]


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


@dataclass(frozen=True)
class BatchRow:
    job: str
    batch_id: int
    finished_ts: datetime
    duration_ms: int
    rows_in: int
    rows_out: int
    rows_quarantined: int
    status: str

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / (self.duration_ms / 1000) if self.duration_ms > 0 else 0.0


@dataclass(frozen=True)
class QualityRow:
    job: str
    batch_id: int
    validated_ts: datetime
    passed: int
    total: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 1.0


@dataclass(frozen=True)
class FindingRow(Finding):
    """A finding as ``ops.anomalies`` holds it: with its status and whether it blocked its
    batch."""

    status: str
    blocked: bool


@dataclass(frozen=True)
class FailureRow:
    """A stream that stopped with an error (``ops.stream_failures``)."""

    job: str  # the stream: dataset/job
    failed_ts: datetime
    error: str
    log_file: str | None


@dataclass(frozen=True)
class StreamStatus:
    """One stream as ``lakehouse status`` shows it: ``batch_status`` is FAILED when the
    stream stopped with an error after its last batch (``failure`` says why)."""

    job: str
    last_batch: int | None  # None: failed before its first batch in the window
    finished_ts: datetime | None
    batch_status: str
    rows_in: int
    rows_per_second: float
    event_lag_seconds: float | None
    idle_seconds: float
    quarantine_rate: float
    open_critical: int
    open_warning: int
    failure: FailureRow | None = None


@dataclass(frozen=True)
class HealthData:
    now: datetime
    days: int
    batches: list[BatchRow]
    metrics: list[BatchMetrics]
    quality: list[QualityRow]
    findings: list[FindingRow]
    failures: list[FailureRow] = dataclasses.field(default_factory=list)

    def failed(self) -> dict[str, FailureRow]:
        """Per stream, its newest failure when no batch finished after it (a stream that
        ran a batch since is running again)."""
        last: dict[str, datetime] = {}
        for b in self.batches:
            last[b.job] = max(b.finished_ts, last.get(b.job, b.finished_ts))
        newest: dict[str, FailureRow] = {}
        for f in sorted(self.failures, key=lambda f: f.failed_ts):
            newest[f.job] = f
        return {job: f for job, f in newest.items() if job not in last or f.failed_ts > last[job]}

    def streams(self) -> list[StreamStatus]:
        """The newest batch of every job, with its table's freshness and open findings, and
        FAILED for a stream whose last word was an error."""
        newest: dict[str, BatchRow] = {}
        for row in self.batches:
            if row.job not in newest or (row.finished_ts, row.batch_id) > (
                newest[row.job].finished_ts,
                newest[row.job].batch_id,
            ):
                newest[row.job] = row
        lag: dict[str, float | None] = {}
        for m in sorted(self.metrics, key=lambda m: (m.batch_ts, m.batch_id)):
            lag[m.job] = m.event_lag_seconds
        failed = self.failed()
        statuses = []
        for job in sorted(set(newest) | set(failed)):
            open_ = [f for f in self.findings if f.job == job and f.status == "open"]
            failure = failed.get(job)
            b: BatchRow | None = newest.get(job)
            since = b.finished_ts if b is not None else failure.failed_ts if failure else None
            statuses.append(
                StreamStatus(
                    job=job,
                    last_batch=b.batch_id if b else None,
                    finished_ts=b.finished_ts if b else None,
                    batch_status="FAILED" if failure else b.status if b else "-",
                    rows_in=b.rows_in if b else 0,
                    rows_per_second=b.rows_per_second if b else 0.0,
                    event_lag_seconds=lag.get(job),
                    idle_seconds=max(0.0, (self.now - since).total_seconds()) if since else 0.0,
                    quarantine_rate=(b.rows_quarantined / b.rows_in if b and b.rows_in else 0.0),
                    open_critical=sum(1 for f in open_ if f.severity == "critical"),
                    open_warning=sum(1 for f in open_ if f.severity == "warning"),
                    failure=failure,
                )
            )
        return statuses

    def open_findings(self) -> list[FindingRow]:
        """Open findings, the most severe and newest first."""
        return sorted(
            (f for f in self.findings if f.status == "open"),
            key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), -f.detected_ts.timestamp()),
        )


def gather(
    spark: SparkSession, config: LakehouseConfig, days: int = 7, now: datetime | None = None
) -> HealthData:
    """Read the ops tables of the last ``days`` days (five small reads)."""
    now = now or datetime.now(UTC)
    since = F.lit((now - timedelta(days=days)).astimezone(UTC).replace(tzinfo=None))

    def load(table: TableDef) -> DataFrame:
        path = table_path(config.lake, table)
        if not DeltaTable.isDeltaTable(spark, path):  # a lake older than the table
            return spark.createDataFrame([], table.schema)
        return spark.read.format("delta").load(path)

    # a stream is a dataset's job: "events/silver"; ops rows name the job and the table
    owners = _table_datasets(config)

    def stream(job: str, dataset: str | None) -> str:
        return job if not dataset else f"{dataset}/{job}"

    batches = [
        BatchRow(
            job=stream(r["job"], r["dataset"]),
            batch_id=int(r["batch_id"]),
            finished_ts=_utc(r["finished_ts"]),
            duration_ms=int(r["duration_ms"]),
            rows_in=int(r["rows_in"]),
            rows_out=int(r["rows_out"]),
            rows_quarantined=int(r["rows_quarantined"]),
            status=r["status"],
        )
        for r in load(BATCH_LOG).where(F.col("finished_ts") >= since).collect()
    ]
    quality = [
        QualityRow(
            job=stream(r["job"], owners.get(r["table_name"])),
            batch_id=int(r["batch_id"]),
            validated_ts=_utc(r["validated_ts"]),
            passed=int(r["passed"]),
            total=int(r["total"]),
        )
        for r in load(QUALITY_RESULTS)
        .where(F.col("validated_ts") >= since)
        # a backfill's verdicts: job backfill, a day as the batch id, a writer per backfill
        .groupBy("job", "table_name", "batch_id", "_writer_id")
        .agg(
            F.max("validated_ts").alias("validated_ts"),
            F.count_if("success").alias("passed"),
            F.count(F.lit(1)).alias("total"),
        )
        .collect()
    ]
    findings = [
        FindingRow(
            table_name=r["table_name"],
            job=stream(r["job"], owners.get(r["table_name"])),
            batch_id=int(r["batch_id"]),
            detector=r["detector"],
            metric=r["metric"],
            severity=r["severity"],
            expected_low=r["expected_low"],
            expected_high=r["expected_high"],
            observed=r["observed"],
            message=r["message"],
            detected_ts=_utc(r["detected_ts"]),
            status=r["status"],
            blocked=bool(r["blocked"]),
        )
        for r in load(ANOMALIES)
        .where((F.col("detected_ts") >= since) | (F.col("status") == "open"))
        .collect()
    ]
    failures = [
        FailureRow(
            job=stream(r["job"], r["dataset"]),
            failed_ts=_utc(r["failed_ts"]),
            error=r["error"],
            log_file=r["log_file"],
        )
        for r in load(STREAM_FAILURES).where(F.col("failed_ts") >= since).collect()
    ]
    history = read_metrics(
        spark, config.lake, days=days, per_table=config.monitoring.history_batches, now=now
    )
    metrics = [
        dataclasses.replace(m, job=stream(m.job, owners.get(m.table_name)))
        for points in history.values()
        for m in points
    ]
    return HealthData(now, days, batches, metrics, quality, findings, failures)


def _table_datasets(config: LakehouseConfig) -> dict[str, str]:
    """The dataset each table of a dataset belongs to, by table name."""
    from lakehouse.platform import load_platform

    owners: dict[str, str] = {}
    for name, tables in load_platform(config).datasets.items():
        for table in tables.all:
            owners[table.name] = name
        for gold in tables.dataset.gold:
            owners[f"gold.{gold.name}"] = name
            owners[f"quarantine.gold_{gold.name}"] = name
    return owners
