"""The Spark task metrics of one micro-batch, read from the driver's status store.

Spark keeps the metrics of every stage in ``AppStatusStore`` (also with the UI disabled: the
store feeds ``SparkStatusTracker``). A streaming query runs its batches in a thread whose
job group is the query's run id, and ``foreachBatch`` runs in that thread: the jobs of the
group that are new since the batch began are the batch's jobs. A batch run outside a
stream (no job group) gets a group of its own for its duration. Jobs other threads start
(e.g. Delta's background state prefetch of :func:`lakehouse.io.delta.prefetch_state`) are
not counted.

Reading costs a few py4j calls per job and stage of the batch (about 10 to 50 ms locally);
the batch log records it as the step ``cost metrics``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
from pyspark.sql import SparkSession

__all__ = ["TaskMeter", "TaskTotals"]

_GROUP = "spark.jobGroup.id"
_TERMINAL = {"SUCCEEDED", "FAILED"}  # JobExecutionStatus
_SETTLE_SECONDS = 2.0  # the listener bus records a job's end shortly after the action returns


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
        while (
            store.job(new[-1]).status().toString() not in _TERMINAL and time.monotonic() < deadline
        ):
            time.sleep(0.01)
        for job_id in new:
            stage_ids = str(store.job(job_id).stageIds().mkString(","))  # one py4j call
            for stage_id in (int(s) for s in stage_ids.split(",") if s):
                try:
                    stage = store.lastStageAttempt(stage_id)
                except Py4JJavaError:  # dropped from the store (spark.ui.retainedStages)
                    continue
                totals += _stage_totals(stage)
        return totals
