"""The open findings worth a message, computed from the ops tables (each pass, in any
process): critical anomalies, runs of batches a critical table-level gate blocked, stalled
streams, and failed streams (recorded by the driver that saw them fail)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.alerts.model import Alert, alert_id
from lakehouse.alerts.state import Stored
from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.monitoring.detectors import detect_stall
from lakehouse.monitoring.job import job_table, last_batches_with_rows
from lakehouse.monitoring.model import SEVERITY_RANK, BatchMetrics
from lakehouse.monitoring.thresholds import Monitoring
from lakehouse.ops import ANOMALIES, BATCH_LOG, QUALITY_RESULTS, TableDef
from lakehouse.platform import Platform, load_platform
from lakehouse.quality.gate import BLOCK_PREFIX

__all__ = ["BLOCKED_LOOKBACK_DAYS", "Scope", "failed_alert", "open_alerts"]

BLOCKED_LOOKBACK_DAYS = 7


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def _naive(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None)


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


def _blocked_runs(log: DataFrame) -> list[Any]:
    """Per stream whose newest batch is blocked: the run of blocked batches since its last
    batch that was not (first and newest batch, their times, the newest reason)."""
    key = ["dataset", "job"]
    last_ok = (
        log.where(F.col("status") != "blocked")
        .groupBy(*key)
        .agg(F.max("finished_ts").alias("last_ok"))
    )
    return (
        log.where((F.col("status") == "blocked") & F.col("dataset").isNotNull())
        .join(last_ok, key, "left")
        .where(F.col("last_ok").isNull() | (F.col("finished_ts") > F.col("last_ok")))
        .groupBy(*key)
        .agg(
            F.min_by("batch_id", "finished_ts").alias("first_batch"),
            F.min("finished_ts").alias("first_ts"),
            F.max_by("batch_id", "finished_ts").alias("last_batch"),
            F.max_by("blocked_reason", "finished_ts").alias("reason"),
            F.count(F.lit(1)).alias("batches"),
        )
        .collect()
    )


def _blocked(
    spark: SparkSession, config: LakehouseConfig, scope: Scope, now: datetime
) -> list[Alert]:
    since = F.lit(_naive(now - timedelta(days=BLOCKED_LOOKBACK_DAYS)))
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    log = log.where(F.col("finished_ts") >= since)
    if not scope.everything:
        log = log.where(
            (F.col("dataset") == F.lit(scope.dataset)) & (F.col("job") == F.lit(scope.job))
        )
    runs = [(r, blocks) for r in _blocked_runs(log) if (blocks := _gate_blocks(r["reason"]))]
    if not runs:
        return []
    verdicts: dict[tuple[str, int], list[Any]] = {}
    wanted: Column = F.lit(False)
    for r, blocks in runs:
        for table, _ in blocks:
            wanted = wanted | (
                (F.col("table_name") == table) & (F.col("batch_id") == r["last_batch"])
            )
    for v in (
        spark.read.format("delta")
        .load(table_path(config.lake, QUALITY_RESULTS))
        .where(wanted & (F.col("action") == "blocked_batch"))
        .collect()
    ):
        verdicts.setdefault((v["table_name"], int(v["batch_id"])), []).append(v)
    alerts = []
    for r, blocks in runs:
        table = blocks[0][0]
        found = verdicts.get((table, int(r["last_batch"])), [])
        observed = (
            "; ".join(
                f"{v['expectation_type']}: observed {v['observed_value']}"
                + (
                    f", {v['unexpected_count']} unexpected"
                    if v["unexpected_count"] is not None
                    else ""
                )
                for v in found
            )
            or f"critical table-level expectation(s) failed: {blocks[0][1]}"
        )
        expected = "; ".join(f"{v['expectation_type']} {v['kwargs']}" for v in found) or (
            f"{blocks[0][1]} to pass"
        )
        first_ts = _utc(r["first_ts"])
        alerts.append(
            Alert(
                finding_id=alert_id(
                    "blocked", r["dataset"], r["job"], r["first_batch"], first_ts.isoformat()
                ),
                kind="blocked",
                severity="critical",
                dataset=r["dataset"],
                table_name=table,
                job=r["job"],
                batch_id=int(r["last_batch"]),
                observed=observed,
                expected=expected,
                detail=(
                    f"{r['batches']} batch(es) blocked since batch {r['first_batch']}; the "
                    f"newest: {r['reason']}"
                ),
                detected_ts=first_ts,
            )
        )
    return alerts


def _stalls(
    spark: SparkSession, config: LakehouseConfig, platform: Platform, now: datetime
) -> list[Alert]:
    floor = SEVERITY_RANK[config.alerts.stall_severity]
    alerts = []
    for row in last_batches_with_rows(spark, config):
        table: TableDef | None = job_table(platform, row["job"], row["dataset"])
        if table is None:
            continue
        finished = _utc(row["finished_ts"])
        last = BatchMetrics(table.name, row["job"], int(row["batch_id"]), finished, rows=1)
        stall = detect_stall([last], table.monitoring or Monitoring(), now)
        if stall is None or SEVERITY_RANK[stall.severity] < floor:
            continue
        alerts.append(
            Alert(
                # no severity in the id: a stall that grows from warning to critical is one
                finding_id=alert_id("stalled", table.name, row["job"], row["batch_id"]),
                kind="stalled",
                severity=stall.severity,
                dataset=row["dataset"],
                table_name=table.name,
                job=row["job"],
                batch_id=int(row["batch_id"]),
                observed=f"no rows for {stall.observed or 0:.0f} s",
                expected=f"rows at least every {stall.expected_high or 0:.0f} s "
                f"({stall.severity} after "
                f"{(table.monitoring or Monitoring()).stall_critical_seconds} s)",
                detail=stall.message,
                detected_ts=finished,
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


def _failures(
    spark: SparkSession, config: LakehouseConfig, state: Sequence[Stored], scope: Scope
) -> list[Alert]:
    """Failed streams (known from their open messages) with no batch finished since."""
    failed = {
        s.finding_id: s.alert
        for s in state
        if s.alert.kind == "failed"
        and s.event == "open"
        and scope.covers(s.alert.dataset, s.alert.job)
    }
    if not failed:
        return []
    newest = {
        (r["dataset"], r["job"]): _utc(r["last"])
        for r in spark.read.format("delta")
        .load(table_path(config.lake, BATCH_LOG))
        .groupBy("dataset", "job")
        .agg(F.max("finished_ts").alias("last"))
        .collect()
    }
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
    """The open findings of ``scope`` a person should hear about."""
    platform = load_platform(config, spark)
    owners = _owners(platform)
    alerts = [a for a in _anomalies(spark, config, owners) if scope.covers(a.dataset, a.job)]
    alerts += _blocked(spark, config, scope, now)
    alerts += _failures(spark, config, state, scope)
    if "stalled" in scope.kinds:
        alerts += _stalls(spark, config, platform, now)
    return alerts
