"""Bookkeeping shared by the streaming jobs: idempotent appends keyed by the stream identity
and batch id, the quality gate of a promotion, the monitors, and the batch log.

What a batch did is a :class:`~lakehouse.io.batch_stats.BatchStats`; the summaries it computes
of what it read (rows, source offsets, observed metrics) are in :mod:`lakehouse.io.summary`;
both are importable from here as well. The ops rows a batch writes at its end (metrics,
findings, quality results, its batch log row) and their once-only appends are in
:mod:`lakehouse.io.ops_rows`; the gates' suites and their split of a batch in
:mod:`lakehouse.io.gates`."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import Observation as SparkObservation
from pyspark.sql import functions as F

from lakehouse.alerts.notify import after_batch as alert_after_batch
from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.cost.capture import TaskMeter
from lakehouse.cost.detector import CostSample, detect_cost_rise
from lakehouse.frames import local_frame
from lakehouse.io.attempts import FirstAttempts
from lakehouse.io.batch_stats import BatchStats, now, timed
from lakehouse.io.commits import files_written
from lakehouse.io.delta import (
    append_idempotent,
    committed_in_session,
    prefetch_state,
    replace_where,
    upsert,
)
from lakehouse.io.faults import fault_point
from lakehouse.io.gates import Gates
from lakehouse.io.ops_rows import append_ops, batch_log_row, ops_frames
from lakehouse.io.projections import ProjectionChoice
from lakehouse.io.side_by_side import in_background, run_side_by_side
from lakehouse.io.streams import StreamIdentity
from lakehouse.io.summary import batch_summary, observed, offset_summary, summarize_offsets
from lakehouse.monitoring.metrics import measure, metric_aggregates, metric_columns
from lakehouse.monitoring.model import Finding
from lakehouse.monitoring.monitor import Monitor, block_reason
from lakehouse.monitoring.thresholds import Monitoring
from lakehouse.ops import BATCH_LOG, TableDef

__all__ = [
    "BatchStats",
    "BatchWriter",
    "batch_summary",
    "now",
    "observed",
    "offset_summary",
    "summarize_offsets",
    "timed",
]

_log = logging.getLogger(__name__)


class BatchWriter:
    """Shared bookkeeping of a job's micro-batches: identity, paths, batch log."""

    def __init__(
        self,
        config: LakehouseConfig,
        job: str,
        dataset: str | None = None,
        contract_hash: str | None = None,
    ) -> None:
        self.config = config
        self.job = job
        self.dataset_name = dataset
        self.contract_hash = contract_hash
        self.checkpoint = config.lake.checkpoint(job, dataset)
        self.identity = StreamIdentity(
            job if dataset is None else f"{dataset}/{job}", self.checkpoint
        )
        self.gates = Gates(config)
        self.monitor = Monitor(config)
        self._meter = TaskMeter()
        self.projections = ProjectionChoice(config.spark.extra)
        self._cost_history: deque[CostSample] = deque(maxlen=500)
        # which batches run for the first time: their ops rows need no check for a retry
        self.attempts = FirstAttempts()
        self._history_read: Future[None] | None = None  # :meth:`read_ahead`
        self._states_read = False  # :meth:`read_ahead`: the tables' states, once

    def begin(self, spark: SparkSession, batch: DataFrame | None = None) -> datetime:
        """Start of a micro-batch (``batch``: what it reads): choose its projections
        (:mod:`lakehouse.io.projections`), start measuring its Spark jobs, start reading the
        monitors' history unless it is in memory (:meth:`Monitor.read_ahead`); return its
        start time."""
        self.projections.begin(spark, batch)
        self._meter.start(spark)
        self.read_ahead(spark)  # unless the stream's start began it
        return now()

    def written(self) -> list[TableDef]:
        """The layer tables the job's batches write (their state is read ahead)."""
        return []

    def read_ahead(self, spark: SparkSession) -> None:
        """Start reading, in the background, the monitors' history unless it is in memory
        or being read, and, the first time only, the state of the tables the job writes
        (:meth:`written`, :func:`~lakehouse.io.delta.prefetch_state`; later batches find
        them read ahead by the batch before, :meth:`log`).
        :func:`~lakehouse.io.jobs.start_job_stream` calls it before the stream starts, so
        that the reads overlap the stream's start (the driver's work, which leaves the cores
        free) rather than the first batch's own jobs."""
        if self.monitor.unread() and (self._history_read is None or self._history_read.done()):
            self._history_read = in_background(spark, self._read_history_ahead)
        if not self._states_read:
            self._states_read = True
            for table in self.written():
                prefetch_state(spark, self.path(table))

    def _read_history_ahead(self, spark: SparkSession) -> None:
        try:
            self.monitor.read_ahead(spark)
        except Exception as exc:  # the batch's monitors read it again and report the error
            _log.debug("reading the monitors' history ahead failed: %s", exc)

    def _measure_cost(self, spark: SparkSession, batch_id: int, stats: BatchStats) -> None:
        """The batch's task metrics (jobs since :meth:`begin`), the files its commits added,
        and the cost-rise detector."""
        with timed(stats, "cost metrics"):
            stats.task = self._meter.stop(spark)
            if stats.task is not None:
                stats.files_written = files_written(spark, stats.commits)
        if stats.task is None:
            return
        sample = CostSample(batch_id, stats.rows_in, stats.task.task_cpu_ms)
        tables = [t for t in stats.versions_written if not t.startswith("ops.")]
        finding = detect_cost_rise(
            sample,
            self._cost_history,
            self.config.cost,
            table_name=tables[0] if tables else BATCH_LOG.name,
            job=self.job,
            now=now(),
        )
        if finding is not None:
            stats.cost_findings.append(finding)
        if sample.rows >= self.config.cost.min_rows:
            self._cost_history.append(sample)

    def path(self, table: TableDef) -> str:
        return table_path(self.config.lake, table)

    def _written(self, spark: SparkSession, path: str, version: int, stats: BatchStats) -> bool:
        """Record the version a write left ``path`` at; return whether the write committed
        (False: an append of a batch the table has already, which ran no Spark job)."""
        committed = committed_in_session(spark)
        if committed:
            stats.commits.append((path, version))
        return committed

    def _write_table(
        self,
        df: DataFrame,
        table: TableDef,
        batch_id: int,
        stats: BatchStats,
        write: Callable[[str], int],
    ) -> bool:
        """``write`` ``df`` to ``table`` (called with its path; it returns the version the
        table is at after it), timed, its version in the batch log row and its commit
        recorded; return whether it committed."""
        spark, path = df.sparkSession, self.path(table)
        with timed(stats, f"write {table.name}"):
            version = write(path)
            stats.versions_written[table.name] = version
            committed = self._written(spark, path, version, stats)
        fault_point(self.job, f"after_write:{table.name}", batch_id)
        return committed

    def append(self, df: DataFrame, table: TableDef, batch_id: int, stats: BatchStats) -> bool:
        """Append ``df`` to ``table`` once per batch (a retried batch the table has already
        writes nothing); return whether it committed."""
        app_id = self.identity.app_id(df.sparkSession)
        return self._write_table(
            df, table, batch_id, stats, lambda path: append_idempotent(df, path, app_id, batch_id)
        )

    def upsert(
        self,
        df: DataFrame,
        table: TableDef,
        keys: Sequence[str],
        batch_id: int,
        stats: BatchStats,
    ) -> None:
        """Insert or replace the rows of ``table`` by ``keys`` (:func:`~.delta.upsert`)."""
        self._write_table(df, table, batch_id, stats, lambda path: upsert(df, path, keys))

    def replace(
        self,
        df: DataFrame,
        table: TableDef,
        predicate: str,
        batch_id: int,
        stats: BatchStats,
    ) -> None:
        """Replace the rows of ``table`` that match ``predicate`` by ``df``
        (:func:`~.delta.replace_where`)."""
        self._write_table(
            df, table, batch_id, stats, lambda path: replace_where(df, path, predicate)
        )

    def _watched(self, table: TableDef) -> Monitoring | None:
        """The monitoring of ``table`` when the monitors watch it, else None."""
        return table.monitoring if self.monitor.watches(table) else None

    def _append_observing(
        self,
        df: DataFrame,
        table: TableDef,
        batch_id: int,
        stats: BatchStats,
        aggregates: Sequence[Column],
    ) -> dict[str, Any] | None:
        """Append ``df`` as :meth:`append` does, computing ``aggregates`` over it in the write
        itself (``DataFrame.observe``): no pass of their own. Returns their values by alias;
        None when the write ran no job (a retried batch the table has already)."""
        observation = SparkObservation()
        if not self.append(df.observe(observation, *aggregates), table, batch_id, stats):
            return None
        return observed(observation)

    def append_measured(
        self, df: DataFrame, table: TableDef, batch_id: int, stats: BatchStats
    ) -> dict[str, Any] | None:
        """Append ``df`` as :meth:`append` does; when the monitors watch ``table``, the write
        itself computes the metrics, so measuring the batch costs no second pass over it.
        Returns those values for :meth:`observe`; None when the table is not watched or the
        write ran no job (a retried batch the table has already)."""
        monitoring = self._watched(table)
        if monitoring is None:
            self.append(df, table, batch_id, stats)
            return None
        return self._append_observing(df, table, batch_id, stats, metric_aggregates(monitoring))

    def append_counted(
        self, df: DataFrame, table: TableDef, batch_id: int, stats: BatchStats
    ) -> int:
        """Append ``df`` as :meth:`append` does and return its rows, counted by the write
        itself rather than by a pass of their own; a write that ran no job (a retried batch
        the table has already) is counted apart."""
        rows = [F.count(F.lit(1)).alias("rows")]
        values = self._append_observing(df, table, batch_id, stats, rows)
        return int(values["rows"]) if values is not None else df.count()

    def measure(self, df: DataFrame, table: TableDef, stats: BatchStats) -> dict[str, Any] | None:
        """The metric values of ``df`` for :meth:`observe` (one Spark job, which also counts
        the rows: ``"rows"``); None when the monitors do not watch ``table``."""
        monitoring = self._watched(table)
        if monitoring is None:
            return None
        with timed(stats, f"monitor {table.name}"):
            return measure(df, monitoring)

    def gate(
        self,
        df: DataFrame,
        *,
        table: TableDef,
        suite_name: str,
        keys: Sequence[str],
        batch_id: int,
        stats: BatchStats,
        parameters: dict[str, Any] | None = None,
    ) -> tuple[DataFrame, DataFrame | None]:
        """Validate ``df`` with the promotion's suite and split it: rows to promote, and rows
        to quarantine with ``_gate_reasons`` (None when the gates are off). ``keys`` identify
        a row for the expectations Great Expectations evaluates."""
        promoted, gated, _ = self.gates.judge(
            df,
            table=table,
            suite_name=suite_name,
            keys=keys,
            batch_id=batch_id,
            stats=stats,
            parameters=parameters,
        )
        return promoted, gated

    def gate_measured(
        self,
        df: DataFrame,
        *,
        table: TableDef,
        suite_name: str,
        keys: Sequence[str],
        batch_id: int,
        stats: BatchStats,
    ) -> tuple[DataFrame, DataFrame | None, dict[str, Any] | None]:
        """:meth:`gate`, with what the fast gate's own job saw of ``df`` (no pass of its own):
        ``"rows"``, and when the monitors watch ``table`` the values :meth:`measure` would
        give (for :meth:`observe`). They are the promoted rows' only when the gate refuses
        none; None when the gate ran no such job (gates off, Great Expectations, a suite
        whose checks cannot take the metrics along)."""
        monitoring = self._watched(table)
        return self.gates.judge(
            df,
            table=table,
            suite_name=suite_name,
            keys=keys,
            batch_id=batch_id,
            stats=stats,
            also=metric_columns(monitoring) if monitoring is not None else {},
        )

    def observe(
        self,
        df: DataFrame,
        *,
        table: TableDef,
        batch_id: int,
        started: datetime,
        stats: BatchStats,
        rows_in: int,
        rows_quarantined: int,
        can_block: bool = True,
        measured: dict[str, Any] | None = None,
    ) -> list[Finding]:
        """Measure the rows ``df`` the batch promotes into ``table`` (unless ``measured`` has
        the values :meth:`append_measured` observed) and run the detectors; return the
        critical findings that block the batch (the table's monitoring says
        ``block_on_critical``), which are then in ``stats.blocked_reasons``. The metrics and
        findings are written with the batch log."""
        if not self.monitor.watches(table):
            return []
        with timed(stats, f"monitor {table.name}"):
            observation = self.monitor.observe(
                df,
                table,
                job=self.job,
                batch_id=batch_id,
                batch_ts=started,
                rows_in=rows_in,
                rows_quarantined=rows_quarantined,
                can_block=can_block,
                measured=measured,
                characters_removed=stats.characters_removed,
            )
        stats.observations.append(observation)
        if observation.blocking:
            stats.blocked_reasons.append(f"{table.name}: {block_reason(observation.blocking)}")
        return observation.blocking

    def _timed_ops_append(
        self,
        df: DataFrame,
        table: TableDef,
        writer_id: str,
        batch_id: int,
        first: bool,
        *,
        stats: BatchStats,
    ) -> None:
        """:func:`~lakehouse.io.ops_rows.append_ops`, timed, its version in the batch log
        row."""
        with timed(stats, f"write {table.name}"):
            stats.versions_written[table.name] = append_ops(
                df, self.path(table), writer_id, batch_id, first
            )
        fault_point(self.job, f"after_write:{table.name}", batch_id)

    def _ops_appends(
        self, batch_id: int, started: datetime, stats: BatchStats, writer_id: str, first: bool
    ) -> list[Callable[[SparkSession], None]]:
        """The appends of the batch's metrics, findings and quality results (those it has),
        each building its rows in the session it is given."""

        def piece(
            table: TableDef, rows: Callable[[SparkSession], DataFrame]
        ) -> Callable[[SparkSession], None]:
            return lambda s: self._timed_ops_append(
                rows(s), table, writer_id, batch_id, first, stats=stats
            )

        frames = ops_frames(
            self.job,
            batch_id=batch_id,
            started=started,
            stats=stats,
            writer_id=writer_id,
            gated=self.gates.judged,
        )
        return [piece(table, rows) for table, rows in frames]

    def log(self, spark: SparkSession, batch_id: int, started: datetime, stats: BatchStats) -> None:
        """Write the batch's ops rows: metrics, findings and quality results side by side
        (:func:`~lakehouse.io.side_by_side.run_side_by_side`), then, when they have all
        committed, its row of the batch log.

        The cost columns are measured first, so they cover the batch up to here and not the
        ops rows written here: the task metrics and ``files_read`` of the jobs since
        :meth:`begin`, ``files_written`` of the commits of :meth:`append` and :meth:`upsert`
        before this call (the layer tables, quarantine, ``ops.bad_files``)."""
        writer_id = self.identity.app_id(spark)
        first = self.attempts.first_attempt(spark, batch_id)
        self._measure_cost(spark, batch_id, stats)
        self.projections.ended(stats.rows_in)
        run_side_by_side(spark, self._ops_appends(batch_id, started, stats, writer_id, first))
        row = batch_log_row(
            job=self.job,
            dataset=self.dataset_name,
            contract_hash=self.contract_hash,
            batch_id=batch_id,
            started=started,
            finished=now(),
            stats=stats,
            writer_id=writer_id,
        )
        df = local_frame(spark, [row], BATCH_LOG.schema)
        append_ops(df, self.path(BATCH_LOG), writer_id, batch_id, first)
        # the state of each table the batch committed to is read ahead for the next batch's
        # append or MERGE (and silver's lookups), now that this batch has nothing left to
        # write: read earlier, it took a core from the batch's own writes
        for path in dict.fromkeys(path for path, _ in stats.commits):
            prefetch_state(spark, path)
        for observation in stats.observations:
            self.monitor.remember(observation)
        # tell a person about a critical finding or a blocked batch (never raises)
        critical = any(f.critical for o in stats.observations for f in o.findings)
        alert_after_batch(
            spark,
            self.config,
            self.dataset_name,
            self.job,
            critical=critical or stats.blocked_reasons != [],
        )
        fault_point(self.job, "after_log", batch_id)
