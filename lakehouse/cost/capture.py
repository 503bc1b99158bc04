"""The Spark task metrics of one micro-batch, read from the driver's status store.

Spark keeps the metrics of every stage in ``AppStatusStore`` (also with the UI disabled: the
store feeds ``SparkStatusTracker``). A streaming query runs its batches in a thread whose
job group is the query's run id, and ``foreachBatch`` runs in that thread: the jobs of the
group that are new since the batch began are the batch's jobs. A batch run outside a
stream (no job group) gets a group of its own for its duration. Jobs other threads start
(e.g. Delta's background state prefetch of :func:`lakehouse.io.delta.prefetch_state`) are
not counted.

The files the batch read are not in the task metrics: they are a SQL metric of each file
scan (``number of files read``, counted by the driver when it plans the scan), which Spark's
SQL status store keeps per SQL execution (also with the UI disabled). A scan's files are read
by jobs that read input, and each job records its execution; the scans are those of these
executions and, in a stream, of the micro-batch's own execution: ``foreachBatch`` runs in
it and gets the micro-batch as already planned RDDs, so the source's scan (landing files, a
Delta table's files) belongs to that execution, which runs no job, and the batch's queries
only read its output. A scan is counted once, however many plan versions of an adaptive
query show it and however often its output is computed (``input_bytes`` counts every read:
the micro-batch's source scan that two queries of the batch read counts once here, twice
there); two scans of the same file count it twice. Delta's reconstruction
of a table's state, when it runs in the batch's thread, is a query of the batch like any
other: the log files (JSON commits, checkpoints) it reads count, as their bytes count in
``input_bytes``; Delta's background prefetch of :func:`lakehouse.io.delta.prefetch_state`
does not.

Reading costs a few py4j calls per job and stage of the batch, two more per job that read
input, seven per SQL execution of those jobs and, in one that scanned files, one more and
two per scan: about 10 to 50 ms locally, of which the file counts (with
:mod:`lakehouse.io.commits`) take about 35 ms for a batch of a few dozen jobs. The batch log
records it as the step ``cost metrics``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
from pyspark.sql import SparkSession

__all__ = ["TaskMeter", "TaskTotals", "files_read"]

_GROUP = "spark.jobGroup.id"
_EXECUTION = "spark.sql.execution.id"  # the SQL execution the thread runs in, if any
_TERMINAL = {"SUCCEEDED", "FAILED"}  # JobExecutionStatus
_SETTLE_SECONDS = 2.0  # the listener bus records a job's end shortly after the action returns
_SEP = "\u0001"  # joins the elements of a Scala collection into one string
_JOB_EXECUTION = re.compile(r",Some\((\d+)\)\)$")
# An element of an execution's plan metrics is a case class, SQLPlanMetric(<name>,<accumulator
# id>,<metric type>): replaced by "$1", with its separator, a file scan's count becomes
# "<accumulator id>," and every other element nothing (FileSourceScanExec's numFiles; Java
# puts nothing for a group that did not match)
_SCAN_FILES = r"SQLPlanMetric\(number of files read,(\d+,)[^\x01]*\)\x01?|[^\x01]+\x01?"


@dataclass(frozen=True)
class TaskTotals:
    """Sums over the stages of a batch's jobs (skipped stages count nothing)."""

    jobs: int = 0
    stages: int = 0
    input_bytes: int = 0
    output_bytes: int = 0
    shuffle_read_bytes: int = 0
    shuffle_write_bytes: int = 0
    task_cpu_ms: int = 0
    task_run_ms: int = 0
    files_read: int = 0  # files the batch's queries scanned (module docstring)

    def __add__(self, other: TaskTotals) -> TaskTotals:
        return TaskTotals(
            *(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__)
        )


def _stage_totals(stage: Any) -> TaskTotals:
    run_ms = int(stage.executorRunTime())
    return TaskTotals(
        stages=1 if run_ms > 0 else 0,  # a skipped stage (shuffle output reused) ran nothing
        input_bytes=int(stage.inputBytes()),
        output_bytes=int(stage.outputBytes()),
        shuffle_read_bytes=int(stage.shuffleReadBytes()),
        shuffle_write_bytes=int(stage.shuffleWriteBytes()),
        task_cpu_ms=int(stage.executorCpuTime()) // 1_000_000,  # nanoseconds
        task_run_ms=run_ms,
    )


class TaskMeter:
    """Measures the jobs one thread runs between :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self._group: str | None = None
        self._own_group = False
        self._seen: set[int] = set()
        self._execution: int | None = None  # the micro-batch's, in a stream

    def start(self, spark: SparkSession) -> None:
        sc = spark.sparkContext
        if self._own_group and self._group is not None:  # the last batch failed: not stopped
            sc.setLocalProperty(_GROUP, None)  # type: ignore[arg-type]
        group = sc.getLocalProperty(_GROUP)
        self._own_group = group is None
        if group is None:
            group = f"lakehouse-cost-{uuid.uuid4()}"
            sc.setLocalProperty(_GROUP, group)
        self._group = group
        self._seen = set(sc.statusTracker().getJobIdsForGroup(group))
        execution = sc.getLocalProperty(_EXECUTION)
        self._execution = int(execution) if execution else None

    def stop(self, spark: SparkSession) -> TaskTotals | None:
        """The totals of the jobs since :meth:`start`; None when it was not started.

        The jobs ran one after the other in this thread and the listener records their ends
        in order: once the newest is recorded as ended, so are the others and their stages
        (waited for at most two seconds)."""
        if self._group is None:
            return None
        sc = spark.sparkContext
        group, self._group = self._group, None
        if self._own_group:
            sc.setLocalProperty(_GROUP, None)  # type: ignore[arg-type]
        store = sc._jsc.sc().statusStore()
        new = sorted(set(sc.statusTracker().getJobIdsForGroup(group)) - self._seen)
        totals = TaskTotals(jobs=len(new))
        if not new:
            return totals
        deadline = time.monotonic() + _SETTLE_SECONDS
        while time.monotonic() < deadline:
            newest = _job(store, new[-1])
            if newest is None or newest.status().toString() in _TERMINAL:
                break
            time.sleep(0.01)
        executions = {self._execution} if self._execution is not None else set()
        for job_id in new:
            data = _job(store, job_id)
            if data is None:
                continue
            stage_ids = str(data.stageIds().mkString(","))  # one py4j call
            job = TaskTotals()
            for stage_id in (int(s) for s in stage_ids.split(",") if s):
                try:
                    stage = store.lastStageAttempt(stage_id)
                except Py4JJavaError:  # dropped from the store (spark.ui.retainedStages)
                    continue
                job += _stage_totals(stage)
            if job.input_bytes:  # it may have scanned files: its SQL execution
                # (JobData@<hash>,Some(<execution id>)) or (JobData@<hash>,None)
                try:
                    sql = str(store.jobWithAssociatedSql(job_id).toString())
                except Py4JJavaError:  # dropped from the store since (see _job)
                    sql = ""
                found = _JOB_EXECUTION.search(sql)
                if found is not None:
                    executions.add(int(found.group(1)))
            totals += job
        return TaskTotals(files_read=files_read(spark, executions)) + totals


def _job(store: Any, job_id: int) -> Any | None:
    """The status store's data of job ``job_id``; None when the store no longer has it: the
    listener drops the oldest ended jobs past ``spark.ui.retainedJobs``, also between the
    listing of a batch's jobs and the reading of one (its tasks then count nothing, as those
    of a dropped stage do; the batch is not failed for a measurement)."""
    try:
        return store.job(job_id)
    except Py4JJavaError:  # NoSuchElementException
        return None


def files_read(spark: SparkSession, executions: Iterable[int]) -> int:
    """The files the scans of these SQL executions read (``number of files read``, each scan
    once: see the module docstring); executions the store no longer has
    (``spark.sql.ui.retainedExecutions``) count 0."""
    store = spark._jsparkSession.sharedState().statusStore()  # SQLAppStatusStore
    scans_in = _Scans(spark)
    scans: dict[int, int] = {}  # accumulator id -> files
    for execution_id in sorted(executions):
        try:
            metrics = store.execution(execution_id).get().metrics()
        except Py4JJavaError:  # None.get: dropped from the store
            continue
        accumulators = scans_in(metrics)
        if not accumulators:
            continue
        values = store.executionMetrics(execution_id)  # accumulator id -> formatted value
        for accumulator in accumulators:
            # Some(<count>), or None for a copy of the scan that did not run (an error
            # instead would cost PySpark dozens of py4j calls to convert)
            files = _count(str(values.get(accumulator).toString()))
            # the driver posts a scan's count to the one execution that planned it
            scans[accumulator] = max(scans.get(accumulator, 0), files)
    return sum(scans.values())


class _Scans:
    """The accumulator ids of the file scans' counts in an execution's plan metrics (a Scala
    collection of SQLPlanMetric), found in the JVM: the elements are joined and
    :data:`_SCAN_FILES` replaced in them there, so that only the ids cross py4j. An answer of
    more than about 8 kB takes py4j about 40 ms however fast the JVM made it, and an
    adaptive query's plan metrics run to 60 kB. Four py4j calls."""

    def __init__(self, spark: SparkSession) -> None:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        known = _CLASSES.get(id(jvm))
        if known is None or known[0] is not jvm:
            # finding a class takes one py4j call per part of its name: once per JVM
            builder = jvm.scala.collection.mutable.StringBuilder
            pattern = jvm.java.util.regex.Pattern.compile(_SCAN_FILES)
            known = _CLASSES[id(jvm)] = (jvm, builder, pattern)
        _, self._builder, self._pattern = known

    def __call__(self, metrics: Any) -> set[int]:
        joined = metrics.addString(self._builder(), _SEP)
        found = str(self._pattern.matcher(joined).replaceAll("$1"))  # "<id>,<id>,"
        return {int(a) for a in found.split(",") if a.isdigit()}


# id of a JVM view -> it, Scala's StringBuilder class and _SCAN_FILES compiled in it
_CLASSES: dict[int, tuple[Any, Any, Any]] = {}


def _count(value: str) -> int:
    """A count as the status store formats it, in an option (``Some(1,234)``); 0 for
    anything else (``None``)."""
    digits = value.removeprefix("Some(").removesuffix(")").replace(",", "")
    return int(digits) if digits.isdigit() else 0
