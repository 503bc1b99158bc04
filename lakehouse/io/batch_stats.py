"""What one micro-batch did: :class:`BatchStats`, the rows of its batch log, and the timing of
its steps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lakehouse.cost.capture import TaskTotals
from lakehouse.monitoring.model import Finding
from lakehouse.monitoring.monitor import Observation
from lakehouse.quality.gate import GateDecision

__all__ = ["BatchStats", "cost_columns", "now", "timed"]


@dataclass
class BatchStats:
    """What one micro-batch did, for the batch log."""

    rows_in: int = 0
    rows_out: int = 0
    rows_quarantined: int = 0
    blocked_reasons: list[str] = field(default_factory=list)
    source_offsets: str | None = None
    versions_written: dict[str, int] = field(default_factory=dict)
    step_ms: dict[str, int] = field(default_factory=dict)
    key_version: str | None = None  # the pseudonym key's version, in jobs that use it
    decisions: list[GateDecision] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    source_backlog_messages: int | None = None  # unacked at the source (Pub/Sub), if sampled
    source_backlog_oldest_s: int | None = None  # age of the oldest unacked message, seconds
    task: TaskTotals | None = None  # Spark task metrics of the batch's jobs
    # (table path, version) of every commit the batch's writes made; a write a retried batch
    # skipped (the table has the batch already) made none
    commits: list[tuple[str, int]] = field(default_factory=list)
    # data files those commits added, up to the batch log step (see BatchWriter.log)
    files_written: int | None = None
    cost_findings: list[Finding] = field(default_factory=list)
    # code field -> control and format characters silver's normalization removed (silver)
    characters_removed: dict[str, int] = field(default_factory=dict)

    def add(self, part: BatchStats) -> None:
        """Add what a part of the batch did (written side by side in a :class:`BatchStats`
        of its own) to this batch's statistics."""
        self.rows_out += part.rows_out
        self.rows_quarantined += part.rows_quarantined
        self.blocked_reasons += part.blocked_reasons
        self.versions_written.update(part.versions_written)
        for step, ms in part.step_ms.items():
            self.step_ms[step] = self.step_ms.get(step, 0) + ms
        self.decisions += part.decisions
        self.observations += part.observations
        self.commits += part.commits
        self.cost_findings += part.cost_findings

    @property
    def status(self) -> str:
        """ok, quarantined_rows (some rows refused) or blocked (a gate held the batch back)."""
        if self.blocked_reasons:
            return "blocked"
        return "quarantined_rows" if self.rows_quarantined else "ok"


def now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def timed(stats: BatchStats, step: str) -> Iterator[None]:
    """Add the milliseconds the block takes to ``stats.step_ms[step]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = int((time.perf_counter() - started) * 1000)
        stats.step_ms[step] = stats.step_ms.get(step, 0) + elapsed


def cost_columns(task: TaskTotals | None, written: int | None) -> dict[str, int | None]:
    """The batch log's task-metric and file columns (null when the batch was not measured)."""
    if task is None:
        return {}
    return {
        "input_bytes": task.input_bytes,
        "output_bytes": task.output_bytes,
        "shuffle_read_bytes": task.shuffle_read_bytes,
        "shuffle_write_bytes": task.shuffle_write_bytes,
        "task_cpu_ms": task.task_cpu_ms,
        "task_run_ms": task.task_run_ms,
        "spark_jobs": task.jobs,
        "spark_stages": task.stages,
        "files_read": task.files_read,
        "files_written": written,
    }
