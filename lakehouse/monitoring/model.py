"""The values monitoring passes around: one batch's metrics, a day's rollup, a finding.
Plain Python (no Spark), so the detectors run and test without a session."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

__all__ = ["SEVERITY_RANK", "BatchMetrics", "DailyMetrics", "Finding", "rollup_daily"]

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class BatchMetrics:
    """Metrics of the rows one batch promoted into a table (one row of ``ops.table_metrics``).

    ``rows_in`` and ``rows_quarantined`` are the batch's counts (the quarantine rate);
    ``rows`` the rows measured. ``quantiles`` holds the sketch at
    :data:`~lakehouse.monitoring.thresholds.QUANTILE_LEVELS` (empty without values).
    """

    table_name: str
    job: str
    batch_id: int
    batch_ts: datetime
    rows: int
    rows_in: int = 0
    rows_quarantined: int = 0
    null_rates: Mapping[str, float] = field(default_factory=dict)
    distinct_counts: Mapping[str, int] = field(default_factory=dict)
    means: Mapping[str, float] = field(default_factory=dict)
    numeric_counts: Mapping[str, int] = field(default_factory=dict)
    quantiles: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    category_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    rescued_keys: tuple[str, ...] = ()
    # code field -> control and format characters silver's normalization removed
    characters_removed: Mapping[str, int] = field(default_factory=dict)
    max_event_ts: datetime | None = None
    event_lag_seconds: float | None = None

    @property
    def quarantine_rate(self) -> float:
        return self.rows_quarantined / self.rows_in if self.rows_in else 0.0


@dataclass(frozen=True)
class DailyMetrics:
    """A day of one table: sums, row-weighted rates and the worst lag of its batches."""

    table_name: str
    day: date
    batches: int
    rows: int
    rows_in: int
    rows_quarantined: int
    null_rates: Mapping[str, float]
    means: Mapping[str, float]
    max_event_lag_seconds: float | None

    @property
    def quarantine_rate(self) -> float:
        return self.rows_quarantined / self.rows_in if self.rows_in else 0.0


def rollup_daily(points: Sequence[BatchMetrics]) -> list[DailyMetrics]:
    """Per table and UTC day of the batch: row sums, null rates and means weighted by rows."""
    groups: dict[tuple[str, date], list[BatchMetrics]] = {}
    for p in points:
        groups.setdefault((p.table_name, p.batch_ts.date()), []).append(p)
    days = []
    for (table, day), batch in sorted(groups.items()):
        rows = sum(p.rows for p in batch)
        null_rates = {
            c: sum(p.null_rates[c] * p.rows for p in batch if c in p.null_rates) / rows
            for c in sorted({c for p in batch for c in p.null_rates})
            if rows
        }
        means: dict[str, float] = {}
        for c in sorted({c for p in batch for c in p.means}):
            measured = [p for p in batch if c in p.means]  # batches without values have none
            n = sum(p.numeric_counts.get(c, 0) for p in measured)
            if n:
                means[c] = sum(p.means[c] * p.numeric_counts.get(c, 0) for p in measured) / n
        lags = [p.event_lag_seconds for p in batch if p.event_lag_seconds is not None]
        days.append(
            DailyMetrics(
                table_name=table,
                day=day,
                batches=len(batch),
                rows=rows,
                rows_in=sum(p.rows_in for p in batch),
                rows_quarantined=sum(p.rows_quarantined for p in batch),
                null_rates=null_rates,
                means=means,
                max_event_lag_seconds=max(lags) if lags else None,
            )
        )
    return days


@dataclass(frozen=True)
class Finding:
    """One anomaly: which detector saw what on which table and batch, against what range.

    ``batch_id`` is the batch where it was seen (for a stalled source: the last batch with
    rows). The id is stable, so recording a finding twice keeps one row.
    """

    table_name: str
    job: str
    batch_id: int
    detector: str
    metric: str
    severity: str
    expected_low: float | None
    expected_high: float | None
    observed: float | None
    message: str
    detected_ts: datetime

    @property
    def finding_id(self) -> str:
        key = "|".join(
            (
                self.table_name,
                self.job,
                str(self.batch_id),
                self.detector,
                self.metric,
                self.severity,
            )
        )
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    @property
    def critical(self) -> bool:
        return self.severity == "critical"

    def label(self) -> str:
        """``detector:metric``, as a block reason names it."""
        return f"{self.detector}:{self.metric}"
