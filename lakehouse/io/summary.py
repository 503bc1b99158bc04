"""What a micro-batch read, summarized in the Spark jobs it runs anyway: its rows and source
offsets (:func:`batch_summary`), and metrics observed while a batch is written
(:func:`observed`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import Observation as SparkObservation
from pyspark.sql import functions as F

from lakehouse.sources.base import OffsetRange

__all__ = ["MAX_OFFSET_ENTRIES", "batch_summary", "observed", "offset_summary", "summarize_offsets"]

MAX_OFFSET_ENTRIES = 50


def offset_summary(
    df: DataFrame, source: str, partition: str, offset: str
) -> tuple[int, str | None]:
    """The rows of a batch, and JSON of the first and last offset read per source partition
    (:func:`summarize_offsets`), from one aggregate job."""
    rows, offsets, _, _ = batch_summary(df, source, partition, offset)
    return rows, offsets


def batch_summary(
    df: DataFrame,
    source: str,
    partition: str,
    offset: str,
    *,
    sums: Mapping[str, Column] | None = None,
    bounds: Mapping[str, Column] | None = None,
) -> tuple[int, str | None, dict[str, int], dict[str, tuple[int | None, int | None]]]:
    """:func:`offset_summary`, the totals of ``sums`` (name -> an integer column, null counts
    as 0) and the smallest and largest value of ``bounds`` (name -> an integer column; None
    when every value is null) over the batch, from the same aggregate job."""
    extra, ranges = dict(sums or {}), dict(bounds or {})
    rows = (
        df.groupBy(source, partition)
        .agg(
            F.min(offset).alias("first"),
            F.max(offset).alias("last"),
            F.count(F.lit(1)).alias("rows"),
            *[
                F.coalesce(F.sum(c), F.lit(0)).alias(f"sum_{i}")
                for i, c in enumerate(extra.values())
            ],
            *[F.min(c).alias(f"lo_{i}") for i, c in enumerate(ranges.values())],
            *[F.max(c).alias(f"hi_{i}") for i, c in enumerate(ranges.values())],
        )
        .collect()
    )
    count, offsets = summarize_offsets(
        OffsetRange(r[source], r[partition], r["first"], r["last"], r["rows"]) for r in rows
    )
    totals = {name: sum(int(r[f"sum_{i}"]) for r in rows) for i, name in enumerate(extra)}
    found: dict[str, tuple[int | None, int | None]] = {}
    for i, name in enumerate(ranges):
        lows = [int(r[f"lo_{i}"]) for r in rows if r[f"lo_{i}"] is not None]
        highs = [int(r[f"hi_{i}"]) for r in rows if r[f"hi_{i}"] is not None]
        found[name] = (min(lows) if lows else None, max(highs) if highs else None)
    return count, offsets, totals, found


def summarize_offsets(ranges: Iterable[OffsetRange]) -> tuple[int, str | None]:
    """The rows of a batch, and JSON of the first and last offset read per source partition
    (at most 50 entries, then ``"...": []``); None for an empty batch."""
    ordered = sorted(ranges, key=lambda r: (r.source, r.partition))
    total = sum(r.rows for r in ordered)
    if not ordered:
        return total, None
    summary: dict[str, list[int]] = {
        f"{r.source}/{r.partition}": [r.first, r.last] for r in ordered[:MAX_OFFSET_ENTRIES]
    }
    if len(ordered) > MAX_OFFSET_ENTRIES:
        summary["..."] = []
    return total, json.dumps(summary, sort_keys=True)


def observed(observation: SparkObservation, timeout: float = 60.0) -> dict[str, Any] | None:
    """The metrics ``observation`` collected during the action that ran its DataFrame; None
    when they did not arrive within ``timeout`` seconds. Spark delivers them when the action
    ends; the wait is bounded so that a write that ran no job can never hang a batch."""
    deadline = time.monotonic() + timeout
    while True:
        # Observation.get would wait without end; getRowOrEmpty waits at most 100 ms
        row = observation._jo.getRowOrEmpty() if observation._jo is not None else None
        if row is not None and row.isDefined():
            return observation.get
        if row is None or time.monotonic() >= deadline:
            return None
