"""Monitoring inside a streaming job: measure the rows a batch promotes, compare them with
the table's history kept in memory, and say which findings block the batch."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import LakehouseConfig
from lakehouse.monitoring.detectors import detect
from lakehouse.monitoring.history import read_metrics
from lakehouse.monitoring.metrics import measure, metrics_from_values
from lakehouse.monitoring.model import BatchMetrics, Finding
from lakehouse.ops import TableDef

__all__ = ["ANOMALY_BLOCK_PREFIX", "Monitor", "Observation", "block_reason"]

ANOMALY_BLOCK_PREFIX = "anomaly_blocked:"


def block_reason(findings: list[Finding]) -> str:
    """``anomaly_blocked:detector:metric,...``: the quarantine reason of a blocked batch."""
    return ANOMALY_BLOCK_PREFIX + ",".join(f.label() for f in findings)


@dataclass
class Observation:
    """What monitoring saw in one table of one batch."""

    table: TableDef
    metrics: BatchMetrics
    findings: list[Finding]
    blocking: list[Finding] = field(default_factory=list)


class Monitor:
    """The metrics history of a job's tables, read from ``ops.table_metrics`` once (at the
    first batch that needs it), then kept in memory: at most ``history_batches`` per table.
    The tables a job watches together (:meth:`expect`) are read in one query, whichever of
    them is asked for first; threads judging tables side by side share it."""

    def __init__(self, config: LakehouseConfig) -> None:
        self.settings = config.monitoring
        self.lake = config.lake
        self._history: dict[str, deque[BatchMetrics]] = {}
        self._expected: list[str] = []
        self._lock = threading.Lock()

    def watches(self, table: TableDef) -> bool:
        return self.settings.enabled and table.monitoring is not None

    def expect(self, tables: Iterable[TableDef]) -> None:
        """The job watches ``tables`` too: their histories are read with the first one."""
        self._expected.extend(t.name for t in tables if self.watches(t))

    def unread(self) -> bool:
        """Whether a table the job watches (:meth:`expect`) has no history in memory yet."""
        return any(n not in self._history for n in self._expected)

    def read_ahead(self, spark: SparkSession) -> None:
        """Read the histories of the watched tables (:meth:`expect`) now, unless read: the
        batch's first :meth:`history` call then finds them in memory (or waits for this read
        to end) instead of reading them on the batch's critical path, after its rows are
        written. Raises what the read raises."""
        unread = [n for n in self._expected if n not in self._history]
        if unread:
            self._load(spark, unread[0])

    def history(self, spark: SparkSession, table: TableDef) -> deque[BatchMetrics]:
        self._load(spark, table.name)
        return self._history[table.name]

    def _load(self, spark: SparkSession, name: str) -> None:
        """Read the history of ``name``, and of every watched table not read yet, unless
        ``name``'s is in memory."""
        with self._lock:
            if name not in self._history:
                names = [name] + [n for n in self._expected if n != name and n not in self._history]
                stored = read_metrics(
                    spark,
                    self.lake,
                    tables=names,
                    days=self.settings.history_days,
                    per_table=self.settings.history_batches,
                )
                for read in names:
                    self._history[read] = deque(
                        stored.get(read, []), maxlen=self.settings.history_batches
                    )

    def observe(
        self,
        df: DataFrame,
        table: TableDef,
        *,
        job: str,
        batch_id: int,
        batch_ts: datetime,
        rows_in: int,
        rows_quarantined: int,
        can_block: bool = True,
        measured: Mapping[str, Any] | None = None,
        characters_removed: Mapping[str, int] | None = None,
    ) -> Observation:
        """Measure ``df`` (one Spark job; none when ``measured`` holds the values of its
        :func:`~lakehouse.monitoring.metrics.metric_aggregates`, observed while it was
        written) and run the detectors against the history."""
        monitoring = table.monitoring
        assert monitoring is not None, f"{table.name} is not monitored"
        if measured is None:
            measured = measure(df, monitoring)
        metrics = metrics_from_values(
            measured,
            monitoring,
            table_name=table.name,
            job=job,
            batch_id=batch_id,
            batch_ts=batch_ts,
            rows_in=rows_in,
            rows_quarantined=rows_quarantined,
            characters_removed=characters_removed,
        )
        return self.judge(df.sparkSession, table, metrics, can_block=can_block)

    def judge(
        self, spark: SparkSession, table: TableDef, metrics: BatchMetrics, *, can_block: bool = True
    ) -> Observation:
        """Run the detectors on measured metrics (a retried batch is not its own history)."""
        monitoring = table.monitoring
        assert monitoring is not None, f"{table.name} is not monitored"
        past = [
            h
            for h in self.history(spark, table)
            if not (h.job == metrics.job and h.batch_id == metrics.batch_id)
        ]
        findings = detect(metrics, past, monitoring, datetime.now(UTC))
        blocking = (
            [f for f in findings if f.critical]
            if can_block and monitoring.block_on_critical
            else []
        )
        return Observation(table, metrics, findings, blocking)

    def remember(self, observation: Observation) -> None:
        """Add a batch's metrics to the in-memory history, once its writes committed."""
        history = self._history.get(observation.table.name)
        if history is None:
            return  # never read: the next batch reads it from the table, with this batch
        metrics = observation.metrics
        kept = [h for h in history if not (h.job == metrics.job and h.batch_id == metrics.batch_id)]
        if len(kept) != len(history):
            history.clear()
            history.extend(kept)
        history.append(metrics)
