"""Anomaly and drift detectors over a table's metrics history: plain Python, no Spark.

Every detector compares the current batch with the earlier batches of the same table and
stays silent until ``min_history`` of them exist (no alarms on a cold start); freshness is
an absolute threshold and speaks at once, and a new field needs one earlier batch.

- volume: robust z-score of the row count, ``(rows - median) / (1.4826 * MAD)``, against
  the batches of the same hour of day once that bucket holds ``min_bucket_history`` of
  them (daily seasonality), else against all history. The spread is floored at
  ``volume_min_spread`` of the median.
- rate_of_change: rows against the previous batch (warning only: batch sizes are noisy).
- null_rate / quarantine_rate: absolute rise of the rate over the history's median.
- category_psi: population stability index of the batch's category frequencies against the
  pooled history, with additive smoothing and minus its expected value under no drift,
  ``(k - 1) * (1/n + 1/N)``, so that small batches do not alarm on sampling noise.
- numeric_ks: the two-sample Kolmogorov-Smirnov distance between the batch's quantile
  sketch and the pooled sketches of the history (CDFs interpolated from the quantiles; the
  sketch resolves about 1/20), with the asymptotic p-value of that distance for the real
  value counts (``scipy.stats.kstwobign``). Both must pass their thresholds: large batches
  make tiny shifts significant, tiny batches make large distances noise.
- schema_drift: keys of the rescued-data map never seen in the history (new fields, from the
  second batch on), and keys present in each of the last ``min_history`` batches but
  absent now (vanished).
- freshness: the newest event of the batch older than the thresholds when processed.
- stall: no batch with rows for longer than the thresholds (:func:`detect_stall`, run by
  the batch job from the history, since a stalled stream writes no batches).
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from datetime import datetime

from lakehouse.monitoring.model import BatchMetrics, Finding
from lakehouse.monitoring.thresholds import QUANTILE_LEVELS, Monitoring

__all__ = [
    "DETECTORS",
    "detect",
    "detect_stall",
    "ks_distance",
    "population_stability_index",
    "robust_z",
]

DETECTORS = (
    "volume",
    "rate_of_change",
    "null_rate",
    "quarantine_rate",
    "category_psi",
    "numeric_ks",
    "schema_drift",
    "freshness",
    "stall",
)
MAD_SCALE = 1.4826  # MAD of a normal distribution times this is its standard deviation


def robust_z(
    value: float, history: Sequence[float], min_spread: float
) -> tuple[float, float, float]:
    """``(z, median, scale)`` of ``value`` against ``history`` (scale floored as documented)."""
    med = statistics.median(history)
    mad = statistics.median(abs(x - med) for x in history)
    scale = max(MAD_SCALE * mad, min_spread * abs(med), 1.0)
    return (value - med) / scale, med, scale


def population_stability_index(
    current: dict[str, int], reference: dict[str, int]
) -> tuple[float, float]:
    """``(psi, expected_noise)`` of two frequency tables, with add-one-half smoothing."""
    keys = sorted(set(current) | set(reference))
    k = len(keys)
    n, big_n = sum(current.values()), sum(reference.values())
    if k < 2 or n == 0 or big_n == 0:
        return 0.0, 0.0
    psi = 0.0
    for key in keys:
        p = (current.get(key, 0) + 0.5) / (n + 0.5 * k)
        q = (reference.get(key, 0) + 0.5) / (big_n + 0.5 * k)
        psi += (p - q) * math.log(p / q)
    return psi, (k - 1) * (1 / n + 1 / big_n)


def _cdf(points: Sequence[tuple[float, float]], x: float) -> float:
    """Weighted empirical CDF of sorted ``(value, cumulative weight share)`` at ``x``."""
    values = [v for v, _ in points]
    i = bisect.bisect_right(values, x)
    return 0.0 if i == 0 else points[i - 1][1]


def _sketch_points(sketches: Sequence[tuple[tuple[float, ...], int]]) -> list[tuple[float, float]]:
    """Pool quantile sketches: each quantile stands for an equal share of its batch's values."""
    weighted = sorted((q, count / len(qs)) for qs, count in sketches if qs and count for q in qs)
    total = sum(w for _, w in weighted)
    points: list[tuple[float, float]] = []
    running = 0.0
    for value, weight in weighted:
        running += weight
        if points and points[-1][0] == value:
            points[-1] = (value, running / total)
        else:
            points.append((value, running / total))
    return points


def ks_distance(
    current: tuple[float, ...], history: Sequence[tuple[tuple[float, ...], int]]
) -> float:
    """Kolmogorov-Smirnov distance between a quantile sketch and pooled history sketches."""
    a = _sketch_points([(current, len(current))])
    b = _sketch_points(history)
    if not a or not b:
        return 0.0
    grid = sorted({v for v, _ in a} | {v for v, _ in b})
    return max(abs(_cdf(a, x) - _cdf(b, x)) for x in grid)


def _severity(value: float, warning: float, critical: float) -> str | None:
    if value >= critical:
        return "critical"
    if value >= warning:
        return "warning"
    return None


class _Finder:
    def __init__(self, current: BatchMetrics, now: datetime) -> None:
        self.current = current
        self.now = now
        self.findings: list[Finding] = []

    def add(  # noqa: PLR0917 - every finding names all of these
        self,
        detector: str,
        metric: str,
        severity: str | None,
        low: float | None,
        high: float | None,
        observed: float | None,
        message: str,
    ) -> None:
        if severity is None:
            return
        c = self.current
        self.findings.append(
            Finding(
                table_name=c.table_name,
                job=c.job,
                batch_id=c.batch_id,
                detector=detector,
                metric=metric,
                severity=severity,
                expected_low=low,
                expected_high=high,
                observed=observed,
                message=f"{c.table_name} batch {c.batch_id}: {message}",
                detected_ts=self.now,
            )
        )


def _volume(f: _Finder, history: Sequence[BatchMetrics], m: Monitoring) -> None:
    c = f.current
    same_hour = [h.rows for h in history if h.batch_ts.hour == c.batch_ts.hour]
    bucket = same_hour if len(same_hour) >= m.min_bucket_history else [h.rows for h in history]
    scope = f"hour {c.batch_ts.hour:02d}" if bucket is same_hour else "all hours"
    z, med, scale = robust_z(c.rows, bucket, m.volume_min_spread)
    low, high = max(0.0, med - m.volume_z_warning * scale), med + m.volume_z_warning * scale
    f.add(
        "volume",
        "rows",
        _severity(abs(z), m.volume_z_warning, m.volume_z_critical),
        low,
        high,
        float(c.rows),
        f"{c.rows} rows, robust z {z:+.1f} against a median of {med:g} ({scope}, "
        f"{len(bucket)} batches)",
    )
    previous = history[-1].rows
    if previous > 0:
        ratio = c.rows / previous
        r = m.change_ratio_warning
        if ratio >= r or ratio <= 1 / r:
            f.add(
                "rate_of_change",
                "rows",
                "warning",
                previous / r,
                previous * r,
                float(c.rows),
                f"{c.rows} rows after {previous} in the previous batch (x{ratio:.2f})",
            )


def _rate(  # noqa: PLR0917
    f: _Finder,
    detector: str,
    metric: str,
    observed: float,
    history: Sequence[float],
    warning: float,
    critical: float,
) -> None:
    med = statistics.median(history)
    rise = observed - med
    f.add(
        detector,
        metric,
        _severity(rise, warning, critical),
        0.0,
        min(1.0, med + warning),
        observed,
        f"{metric} {observed:.3f}, {rise:+.3f} over the usual {med:.3f}",
    )


def _categories(f: _Finder, history: Sequence[BatchMetrics], m: Monitoring) -> None:
    c = f.current
    if c.rows < m.min_rows:
        return
    for column in m.category_columns:
        current = dict(c.category_counts.get(column, {}))
        reference: dict[str, int] = {}
        for h in history:
            for value, count in h.category_counts.get(column, {}).items():
                reference[value] = reference.get(value, 0) + count
        psi, noise = population_stability_index(current, reference)
        drift = psi - noise
        top = sorted(current.items(), key=lambda kv: -kv[1])[:3]
        f.add(
            "category_psi",
            column,
            _severity(drift, m.psi_warning, m.psi_critical),
            0.0,
            m.psi_warning,
            drift,
            f"{column} frequencies moved (PSI {drift:.3f} above noise); now mostly "
            + ", ".join(f"{k}={v}" for k, v in top),
        )


def _numeric(f: _Finder, history: Sequence[BatchMetrics], m: Monitoring) -> None:
    c = f.current
    for column in m.numeric_columns:
        n = c.numeric_counts.get(column, 0)
        sketch = c.quantiles.get(column, ())
        past = [
            (h.quantiles[column], h.numeric_counts.get(column, 0))
            for h in history
            if h.quantiles.get(column) and h.numeric_counts.get(column, 0)
        ]
        big_n = sum(count for _, count in past)
        if n < m.min_numeric_values or not sketch or big_n < m.min_numeric_values:
            continue
        distance = ks_distance(tuple(sketch), past)
        # imported here: scipy.stats takes about a second to import, and every job and
        # command imports this module, most of them never reaching a drift test
        from scipy.stats import kstwobign

        p_value = float(kstwobign.sf(distance * math.sqrt(n * big_n / (n + big_n))))
        severity = _severity(distance, m.ks_warning, m.ks_critical)
        if p_value > m.ks_p_value:
            severity = None
        median_index = QUANTILE_LEVELS.index(0.5)
        f.add(
            "numeric_ks",
            column,
            severity,
            0.0,
            m.ks_warning,
            distance,
            f"{column} distribution moved: KS distance {distance:.3f} (p={p_value:.2g}), "
            f"median now {sketch[median_index]:g}",
        )


def _schema(f: _Finder, history: Sequence[BatchMetrics], m: Monitoring) -> None:
    c = f.current
    column = m.rescued or "rescued"
    seen = {k for h in history for k in h.rescued_keys}
    for key in sorted(set(c.rescued_keys) - seen):
        f.add(
            "schema_drift",
            f"{column}.{key}",
            m.schema_drift_severity,
            0.0,
            0.0,
            1.0,
            f"new field {key!r} in {column} (never seen in {len(history)} batches)",
        )
    recent = [h for h in history if h.rows > 0][-m.min_history :]
    if len(recent) < m.min_history or c.rows == 0:
        return
    steady = set.intersection(*(set(h.rescued_keys) for h in recent))
    for key in sorted(steady - set(c.rescued_keys)):
        f.add(
            "schema_drift",
            f"{column}.{key}",
            m.schema_drift_severity,
            1.0,
            1.0,
            0.0,
            f"field {key!r} vanished from {column} (in each of the last {len(recent)} batches)",
        )


def detect(
    current: BatchMetrics, history: Sequence[BatchMetrics], monitoring: Monitoring, now: datetime
) -> list[Finding]:
    """Findings of every detector for ``current`` against the earlier batches ``history``
    (oldest first, same table)."""
    m = monitoring
    f = _Finder(current, now)
    lag = current.event_lag_seconds
    if lag is not None:
        f.add(
            "freshness",
            "event_lag_seconds",
            _severity(lag, m.freshness_warning_seconds, m.freshness_critical_seconds),
            0.0,
            float(m.freshness_warning_seconds),
            lag,
            f"newest event is {lag:.0f} s old when processed",
        )
    if m.rescued is not None and history:
        # a field never seen before needs no long history to be news: one earlier batch
        _schema(f, history, m)
    if len(history) < m.min_history:
        return f.findings
    if m.volume:
        _volume(f, history, m)
    if current.rows >= m.min_rows:
        for column in m.null_columns:
            past = [h.null_rates[column] for h in history if column in h.null_rates and h.rows]
            if past and column in current.null_rates:
                observed = current.null_rates[column]
                _rate(
                    f,
                    "null_rate",
                    column,
                    observed,
                    past,
                    m.null_rate_warning,
                    m.null_rate_critical,
                )
    if current.rows_in >= m.min_rows:
        past = [h.quarantine_rate for h in history if h.rows_in]
        if past:
            _rate(
                f,
                "quarantine_rate",
                "quarantine_rate",
                current.quarantine_rate,
                past,
                m.quarantine_rate_warning,
                m.quarantine_rate_critical,
            )
    _categories(f, history, m)
    _numeric(f, history, m)
    return f.findings


def detect_stall(
    history: Sequence[BatchMetrics], monitoring: Monitoring, now: datetime
) -> Finding | None:
    """A finding when the newest batch with rows of the table is older than the thresholds
    (None without any batch: a table that never ran has not stalled)."""
    with_rows = [h for h in history if h.rows > 0]
    if not with_rows:
        return None
    last = max(with_rows, key=lambda h: h.batch_ts)
    silent = (now - last.batch_ts).total_seconds()
    severity = _severity(
        silent, monitoring.stall_warning_seconds, monitoring.stall_critical_seconds
    )
    if severity is None:
        return None
    return Finding(
        table_name=last.table_name,
        job=last.job,
        batch_id=last.batch_id,
        detector="stall",
        metric="seconds_since_rows",
        severity=severity,
        expected_low=0.0,
        expected_high=float(monitoring.stall_warning_seconds),
        observed=silent,
        message=(
            f"{last.table_name}: no rows for {silent / 60:.0f} min since batch "
            f"{last.batch_id} at {last.batch_ts.isoformat(sep=' ', timespec='seconds')}"
        ),
        detected_ts=now,
    )
