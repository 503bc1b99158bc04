"""The open findings worth a message, computed from the ops tables (each pass, in any
process): critical anomalies, runs of batches a critical table-level gate blocked, stalled
streams, and failed streams (recorded by the driver that saw them fail)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from lakehouse.alerts.model import Alert, alert_id
from lakehouse.alerts.state import Stored
from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.monitoring.detectors import detect_stall
from lakehouse.monitoring.job import job_table
from lakehouse.monitoring.model import SEVERITY_RANK, BatchMetrics
from lakehouse.monitoring.thresholds import Monitoring
from lakehouse.ops import ANOMALIES, BATCH_LOG, QUALITY_RESULTS, TableDef
from lakehouse.platform import Platform, load_platform
from lakehouse.quality.gate import BLOCK_PREFIX

__all__ = ["Scope", "StreamLog", "failed_alert", "open_alerts", "stream_logs"]


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


@dataclass(frozen=True)
class Scope:
    """What a pass judges: every stream (``lakehouse alerts check``), or one stream of a
    dataset (its monitoring step, which cannot see itself stall)."""

    dataset: str | None = None
    job: str | None = None

    @property
    def everything(self) -> bool:
        return self.dataset is None and self.job is None

    @property
    def kinds(self) -> tuple[str, ...]:
        base = ("anomaly", "blocked", "failed")
        return (*base, "stalled") if self.everything else base

    def covers(self, dataset: str | None, job: str) -> bool:
        return self.everything or (dataset == self.dataset and job == self.job)


def _owners(platform: Platform) -> dict[str, str]:
    owners: dict[str, str] = {}
    for name, tables in platform.datasets.items():
        for table in tables.all:
            owners[table.name] = name
    return owners


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _anomalies(spark: SparkSession, config: LakehouseConfig, owners: dict[str, str]) -> list[Alert]:
    rows = (
        spark.read.format("delta")
        .load(table_path(config.lake, ANOMALIES))
        .where(
            (F.col("status") == "open")
            & (F.col("severity") == "critical")
            & (F.col("detector") != "stall")  # stalls are judged live (_stalls)
        )
        .collect()
    )
    return [
        Alert(
            finding_id=r["finding_id"],
            kind="anomaly",
            severity="critical",
            dataset=owners.get(r["table_name"]),
            table_name=r["table_name"],
            job=r["job"],
            batch_id=int(r["batch_id"]),
            observed=f"{r['metric']} = {_number(r['observed'])}",
            expected=f"{r['metric']} in {_number(r['expected_low'])} .. "
            f"{_number(r['expected_high'])} ({r['detector']})"
            + ("; the batch was blocked" if r["blocked"] else ""),
            detail=r["message"],
            detected_ts=_utc(r["detected_ts"]),
        )
        for r in rows
    ]


def _gate_blocks(reason: str | None) -> list[tuple[str, str]]:
    """``(table, expectations)`` of the gate blocks in a batch log ``blocked_reason``
    (``table: batch_blocked:a,b; table: anomaly_blocked:...``); anomaly blocks are left to
    their critical finding."""
    blocks = []
    for part in (reason or "").split("; "):
        table, _, what = part.partition(": ")
        if what.startswith(BLOCK_PREFIX):
            blocks.append((table, what[len(BLOCK_PREFIX) :]))
    return blocks


@dataclass(frozen=True)
class StreamLog:
    """One stream's batch log, summed up: its newest batch, the newest that read rows and
    the newest that was not blocked (one aggregate over ``ops.batch_log``)."""

    dataset: str | None
    job: str
    newest_batch: int
    newest_ts: datetime
    newest_status: str
    newest_reason: str | None
    rows_batch: int | None
    rows_ts: datetime | None
    ok_batch: int | None
    ok_ts: datetime | None


def stream_logs(spark: SparkSession, config: LakehouseConfig, scope: Scope) -> list[StreamLog]:
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    if not scope.everything:
        log = log.where(
            (F.col("dataset") == F.lit(scope.dataset)) & (F.col("job") == F.lit(scope.job))
        )
    rows_ts = F.when(F.col("rows_in") > 0, F.col("finished_ts"))
    ok_ts = F.when(F.col("status") != "blocked", F.col("finished_ts"))
    rows = (
        log.groupBy("dataset", "job")
        .agg(
            F.max_by("batch_id", "finished_ts").alias("newest_batch"),
            F.max("finished_ts").alias("newest_ts"),
            F.max_by("status", "finished_ts").alias("newest_status"),
            F.max_by("blocked_reason", "finished_ts").alias("newest_reason"),
            F.max_by("batch_id", rows_ts).alias("rows_batch"),
            F.max(rows_ts).alias("rows_ts"),
            F.max_by("batch_id", ok_ts).alias("ok_batch"),
            F.max(ok_ts).alias("ok_ts"),
        )
        .collect()
    )

    def ts(value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    return [
        StreamLog(
            dataset=r["dataset"],
            job=r["job"],
            newest_batch=int(r["newest_batch"]),
            newest_ts=_utc(r["newest_ts"]),
            newest_status=r["newest_status"],
            newest_reason=r["newest_reason"],
            rows_batch=r["rows_batch"],
            rows_ts=ts(r["rows_ts"]),
            ok_batch=r["ok_batch"],
            ok_ts=ts(r["ok_ts"]),
        )
        for r in rows
    ]


def _verdicts(
    spark: SparkSession, config: LakehouseConfig, wanted: list[tuple[str, str, int]]
) -> dict[tuple[str, str, int], list[Any]]:
    """The blocking verdicts (``ops.quality_results``) of some (job, table, batch) triples
    (the job too: a backfill's verdicts carry a day's ordinal as their batch id)."""
    if not wanted:
        return {}
    match: Column = F.lit(False)
    for job, table, batch in wanted:
        match = match | (
            (F.col("job") == job) & (F.col("table_name") == table) & (F.col("batch_id") == batch)
        )
    verdicts: dict[tuple[str, str, int], list[Any]] = {}
    for v in (
        spark.read.format("delta")
        .load(table_path(config.lake, QUALITY_RESULTS))
        .where(match & (F.col("action") == "blocked_batch"))
        .collect()
    ):
        verdicts.setdefault((v["job"], v["table_name"], int(v["batch_id"])), []).append(v)
    return verdicts


def _blocked(
    spark: SparkSession, config: LakehouseConfig, logs: Sequence[StreamLog]
) -> list[Alert]:
    """A stream whose newest batch a critical table-level gate blocked: one finding per
    run of blocked batches (named by the last batch before it that was not blocked)."""
    runs = [
        (s, blocks)
        for s in logs
        if s.dataset is not None
        and s.newest_status == "blocked"
        and (blocks := _gate_blocks(s.newest_reason))
    ]
    verdicts = _verdicts(spark, config, [(s.job, b[0][0], s.newest_batch) for s, b in runs])
    alerts = []
    for s, blocks in runs:
        table, labels = blocks[0]
        found = verdicts.get((s.job, table, s.newest_batch), [])
        observed = "; ".join(
            f"{v['expectation_type']}: observed {v['observed_value']}"
            + (f", {v['unexpected_count']} unexpected" if v["unexpected_count"] is not None else "")
            for v in found
        )
        expected = "; ".join(f"{v['expectation_type']} {v['kwargs']}" for v in found)
        since = (
            "no batch before it passed"
            if s.ok_batch is None
            else f"every batch since batch {s.ok_batch} is blocked"
        )
        alerts.append(
            Alert(
                finding_id=alert_id(
                    "blocked", s.dataset, s.job, s.ok_batch, s.ok_ts.isoformat() if s.ok_ts else ""
                ),
                kind="blocked",
                severity="critical",
                dataset=s.dataset,
                table_name=table,
                job=s.job,
                batch_id=s.newest_batch,
                observed=observed or f"critical table-level expectation(s) failed: {labels}",
                expected=expected or f"{labels} to pass",
                detail=f"batch {s.newest_batch} was not promoted ({since}): {s.newest_reason}",
                detected_ts=s.newest_ts,
            )
        )
    return alerts


def _stalls(
    config: LakehouseConfig, platform: Platform, logs: Sequence[StreamLog], now: datetime
) -> list[Alert]:
    floor = SEVERITY_RANK[config.alerts.stall_severity]
    alerts = []
    for s in logs:
        table: TableDef | None = job_table(platform, s.job, s.dataset)
        if table is None or s.rows_batch is None or s.rows_ts is None:
            continue
        monitoring = table.monitoring or Monitoring()
        last = BatchMetrics(table.name, s.job, s.rows_batch, s.rows_ts, rows=1)
        stall = detect_stall([last], monitoring, now)
        if stall is None or SEVERITY_RANK[stall.severity] < floor:
            continue
        alerts.append(
            Alert(
                # no severity in the id: a stall that grows from warning to critical is one
                finding_id=alert_id("stalled", table.name, s.job, s.rows_batch),
                kind="stalled",
                severity=stall.severity,
                dataset=s.dataset,
                table_name=table.name,
                job=s.job,
                batch_id=s.rows_batch,
                observed=f"no rows for {stall.observed or 0:.0f} s",
                expected=f"rows at least every {monitoring.stall_warning_seconds} s "
                f"(critical after {monitoring.stall_critical_seconds} s)",
                detail=stall.message,
                detected_ts=s.rows_ts,
            )
        )
    return alerts


def failed_alert(
    platform: Platform, dataset: str | None, job: str, error: str, when: datetime
) -> Alert:
    """The alert of a stream its driver saw fail; it stays open until the batch log has a
    batch of the stream that finished later (see :func:`_failures`)."""
    table = job_table(platform, job, dataset)
    return Alert(
        finding_id=alert_id("failed", dataset, job, when.isoformat()),
        kind="failed",
        severity="critical",
        dataset=dataset,
        table_name=table.name if table else None,
        job=job,
        batch_id=None,
        observed=f"stopped: {error}"[:1000],
        expected="running",
        detail="the streaming query stopped with an error; its checkpoint keeps its place",
        detected_ts=when,
    )


def _failures(state: Sequence[Stored], logs: Sequence[StreamLog], scope: Scope) -> list[Alert]:
    """Failed streams (known from their open messages) with no batch finished since."""
    failed = {
        s.finding_id: s.alert
        for s in state
        if s.alert.kind == "failed"
        and s.event == "open"
        and scope.covers(s.alert.dataset, s.alert.job)
    }
    newest = {(s.dataset, s.job): s.newest_ts for s in logs}
    return [
        a
        for a in failed.values()
        if (last := newest.get((a.dataset, a.job))) is None or last <= a.detected_ts
    ]


def open_alerts(
    spark: SparkSession,
    config: LakehouseConfig,
    state: Sequence[Stored],
    scope: Scope,
    now: datetime,
) -> list[Alert]:
    """The open findings of ``scope`` a person should hear about (three small reads: the
    open critical anomalies, one aggregate of the batch log, and the verdicts of blocked
    batches when there are any)."""
    platform = load_platform(config, spark)
    alerts = [
        a for a in _anomalies(spark, config, _owners(platform)) if scope.covers(a.dataset, a.job)
    ]
    logs = stream_logs(spark, config, scope)
    alerts += _blocked(spark, config, logs)
    alerts += _failures(state, logs, scope)
    if "stalled" in scope.kinds:
        alerts += _stalls(config, platform, logs, now)
    return alerts
