"""A batch's metrics from one aggregate Spark job: row count, null rates, approximate
distinct counts, numeric means and quantile sketches, category frequencies (approximate
top values), the rescued field names and the newest event time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.monitoring.model import BatchMetrics
from lakehouse.monitoring.thresholds import QUANTILE_LEVELS, Monitoring

__all__ = [
    "MAX_CATEGORIES",
    "MAX_RESCUED_KEYS",
    "NULL_CATEGORY",
    "measure",
    "metric_aggregates",
    "metric_columns",
    "metrics_from_values",
]

MAX_CATEGORIES = 50  # most frequent values kept per category column (approx_top_k)
MAX_RESCUED_KEYS = 100
NULL_CATEGORY = "(null)"
_QUANTILE_ACCURACY = 1000  # relative error of the sketch about 1/1000
_DISTINCT_RSD = 0.05


def _quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def metric_columns(m: Monitoring) -> dict[str, Column]:
    """Every metric as one aggregate expression, by name (``rows``, ``n0``, ``d0`` ...): none
    is a distinct aggregate, which ``DataFrame.observe`` refuses."""
    aggs: dict[str, Column] = {"rows": F.count(F.lit(1))}
    aggs |= {f"n{i}": F.count_if(F.col(c).isNull()) for i, c in enumerate(m.null_columns)}
    aggs |= {
        f"d{i}": F.approx_count_distinct(c, _DISTINCT_RSD) for i, c in enumerate(m.distinct_columns)
    }
    levels = list(QUANTILE_LEVELS)
    for i, c in enumerate(m.numeric_columns):
        value = F.col(c).cast("double")
        aggs[f"c{i}"] = F.count(value)
        aggs[f"a{i}"] = F.avg(value)
        aggs[f"q{i}"] = F.percentile_approx(value, levels, _QUANTILE_ACCURACY)
    for i, c in enumerate(m.category_columns):
        aggs[f"t{i}"] = F.expr(
            f"approx_top_k(coalesce(cast({_quoted(c)} as string), '{NULL_CATEGORY}'), "
            f"{MAX_CATEGORIES}, {MAX_CATEGORIES * 20})"
        )
    if m.rescued is not None:
        keys = F.array_distinct(F.flatten(F.collect_set(F.map_keys(F.col(m.rescued)))))
        aggs["rescued"] = F.slice(F.array_sort(keys), 1, MAX_RESCUED_KEYS)
    if m.event_time is not None:
        aggs["max_event_ts"] = F.max(m.event_time)
    return aggs


def metric_aggregates(m: Monitoring) -> list[Column]:
    """:func:`metric_columns` aliased by their names: for ``DataFrame.agg``, or for
    ``DataFrame.observe`` to measure a batch while it is written."""
    return [column.alias(name) for name, column in metric_columns(m).items()]


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def measure(df: DataFrame, monitoring: Monitoring) -> dict[str, Any]:
    """The values of :func:`metric_aggregates` over ``df``, by alias (one Spark job)."""
    row = df.agg(*metric_aggregates(monitoring)).first()
    assert row is not None  # a global aggregate always has one row
    return row.asDict(recursive=False)


def metrics_from_values(
    row: Mapping[str, Any],
    monitoring: Monitoring,
    *,
    table_name: str,
    job: str,
    batch_id: int,
    batch_ts: datetime,
    rows_in: int,
    rows_quarantined: int,
    characters_removed: Mapping[str, int] | None = None,
) -> BatchMetrics:
    """The metrics from the values of :func:`metric_aggregates` (by alias), with the
    characters normalization removed per code field (silver) when given."""
    m = monitoring
    rows = int(row["rows"])

    def rate(count: int) -> float:
        return count / rows if rows else 0.0

    categories: dict[str, dict[str, int]] = {}
    for i, c in enumerate(m.category_columns):
        top = row[f"t{i}"] or []
        categories[c] = {str(entry[0]): int(entry[1]) for entry in top}
    quantiles: dict[str, tuple[float, ...]] = {}
    means: dict[str, float] = {}
    counts: dict[str, int] = {}
    for i, c in enumerate(m.numeric_columns):
        counts[c] = int(row[f"c{i}"])
        if row[f"a{i}"] is not None:
            means[c] = float(row[f"a{i}"])
            quantiles[c] = tuple(float(q) for q in row[f"q{i}"])
    batch_ts = _utc(batch_ts) or batch_ts
    newest = _utc(row["max_event_ts"]) if m.event_time is not None else None
    return BatchMetrics(
        table_name=table_name,
        job=job,
        batch_id=batch_id,
        batch_ts=batch_ts,
        rows=rows,
        rows_in=rows_in,
        rows_quarantined=rows_quarantined,
        null_rates={c: rate(int(row[f"n{i}"])) for i, c in enumerate(m.null_columns)},
        distinct_counts={c: int(row[f"d{i}"]) for i, c in enumerate(m.distinct_columns)},
        means=means,
        numeric_counts=counts,
        quantiles=quantiles,
        category_counts=categories,
        rescued_keys=tuple(row["rescued"] or ()) if m.rescued is not None else (),
        characters_removed=dict(characters_removed or {}),
        max_event_ts=newest,
        event_lag_seconds=(
            None if newest is None else max(0.0, (batch_ts - newest).total_seconds())
        ),
    )
