"""The cost-rise detector: task CPU time per event of a batch against the stream's earlier
batches. Plain Python, like :mod:`lakehouse.monitoring.detectors`.

A batch is judged when it read at least ``min_rows`` events (smaller batches are dominated
by fixed overhead) and at least ``min_history`` earlier such batches of the stream exist.
It is a finding when its CPU milliseconds per million events reach ``rise_factor`` times
the median of those batches (``critical_factor`` times: critical). The median ignores a
few outliers, and a ratio threshold ignores the usual jitter of batch timings.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lakehouse.config import CostConfig
from lakehouse.monitoring.model import Finding

__all__ = ["DETECTOR", "METRIC", "CostSample", "detect_cost_rise"]

DETECTOR = "cost_rise"
METRIC = "task_cpu_ms_per_million_events"


@dataclass(frozen=True)
class CostSample:
    """One batch of a stream: events read and the task CPU its jobs used."""

    batch_id: int
    rows: int
    task_cpu_ms: int

    @property
    def per_million(self) -> float:
        return self.task_cpu_ms * 1_000_000 / self.rows if self.rows else 0.0


def detect_cost_rise(
    current: CostSample,
    history: Sequence[CostSample],
    config: CostConfig,
    *,
    table_name: str,
    job: str,
    now: datetime,
) -> Finding | None:
    """A finding when ``current`` costs ``rise_factor`` times the median of ``history`` (the
    stream's earlier batches of at least ``min_rows`` events) per event; else None."""
    judged = [h for h in history if h.rows >= config.min_rows]
    if current.rows < config.min_rows or len(judged) < config.min_history:
        return None
    median = statistics.median(h.per_million for h in judged)
    if median <= 0:
        return None
    ratio = current.per_million / median
    if ratio < config.rise_factor:
        return None
    severity = "critical" if ratio >= config.critical_factor else "warning"
    return Finding(
        table_name=table_name,
        job=job,
        batch_id=current.batch_id,
        detector=DETECTOR,
        metric=METRIC,
        severity=severity,
        expected_low=0.0,
        expected_high=median * config.rise_factor,
        observed=current.per_million,
        message=(
            f"task CPU per event rose to {ratio:.1f}x the median of the last {len(judged)} "
            f"batches ({current.per_million:.0f} ms per million events, median "
            f"{median:.0f}); see `lakehouse cost` and the batch's step_ms in ops.batch_log"
        ),
        detected_ts=now,
    )
