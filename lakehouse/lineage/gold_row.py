"""``lakehouse trace --table gold.T --where PREDICATE``: what one gold row was computed
from: its silver rows (the rows of its window whose own group, by the gold SQL, is the
row's keys), their silver batches, their exact source offset ranges and the bronze batches
that ingested them, with the ranges ``ops.batch_log`` recorded for those batches.

The predicate is checked read-only (:func:`lakehouse.sql_guard.classify`) before it runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.contracts.model import GoldTable
from lakehouse.engine_errors import root_cause
from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.lineage.gold_keys import row_keys, window_rows
from lakehouse.lineage.ops_reads import BatchRef, batch_refs
from lakehouse.platform import DatasetTables, Platform
from lakehouse.sql_guard import classify

__all__ = ["GoldRowTrace", "SourceRange", "find_gold", "gold_rows", "trace_gold"]


@dataclass(frozen=True)
class SourceRange:
    """The offsets of one source partition that a gold row's silver rows came from."""

    source: str
    partition: str
    first: int
    last: int
    rows: int


@dataclass
class GoldRowTrace:
    table: str
    dataset: str
    keys: dict[str, Any]
    row: dict[str, Any]
    silver_rows: int = 0
    window_rows: int = 0
    silver_batches: list[tuple[BatchRef, int]] = field(default_factory=list)
    bronze_batches: list[tuple[BatchRef, int]] = field(default_factory=list)
    source_ranges: list[SourceRange] = field(default_factory=list)


def find_gold(platform: Platform, table: str) -> tuple[DatasetTables, GoldTable]:
    """The dataset and the gold query of gold table ``table``; an error naming them all."""
    for tables in platform.datasets.values():
        for gold, definition, _ in tables.gold:
            if definition.name == table:
                return tables, gold
    known = [d.name for t in platform.datasets.values() for _, d, _ in t.gold]
    raise ConfigError(
        f"--table: unknown gold table {table!r}; the gold tables are {', '.join(known)}"
    )


def gold_rows(spark: SparkSession, table: str, where: str, limit: int) -> list[dict[str, Any]]:
    """The rows of ``table`` matching ``where`` (at most ``limit + 1``); the predicate must
    only read and be valid SQL: a one-line error otherwise."""
    statement = f"SELECT * FROM {table} WHERE {where}"
    if not classify(spark, statement).reads_only:
        raise ConfigError(f"--where: {where!r} is not a read-only predicate")
    try:
        rows = spark.sql(statement).limit(limit + 1).collect()
    except PySparkException as exc:
        raise LakehouseError(f"--where {where!r}: {root_cause(exc)}") from exc
    if not rows:
        raise LakehouseError(f"no row of {table} matches --where {where!r}")
    return [r.asDict(recursive=True) for r in rows]


def trace_gold(
    spark: SparkSession,
    config: LakehouseConfig,
    tables: DatasetTables,
    gold: GoldTable,
    row: dict[str, Any],
    *,
    max_rows: int,
) -> GoldRowTrace:
    """What gold row ``row`` (of ``gold``) was computed from."""
    keys = tuple(row[k] for k in gold.keys)
    table = f"gold.{gold.name}"
    trace = GoldRowTrace(table, tables.dataset.name, dict(zip(gold.keys, keys, strict=True)), row)
    silver = spark.read.format("delta").load(table_path(config.lake, tables.silver))
    candidates = window_rows(silver, gold, row[gold.window_key]).limit(max_rows + 1).collect()
    if len(candidates) > max_rows:
        raise LakehouseError(
            f"the window {gold.window_key} = {row[gold.window_key]} of {table} has more than "
            f"{max_rows} silver rows; raise --max-rows to trace it"
        )
    trace.window_rows = len(candidates)
    found = row_keys(spark, gold, silver.schema, candidates)
    used = [r for r, k in zip(candidates, found, strict=True) if keys in k]
    trace.silver_rows = len(used)
    per_batch = Counter(r["_batch_id"] for r in used)
    refs = batch_refs(spark, config, tables.dataset.name, tables.silver.name, per_batch)
    trace.silver_batches = [(refs[b], n) for b, n in sorted(per_batch.items())]
    ranges: dict[tuple[str, str], list[int]] = {}
    for r in used:
        ranges.setdefault((r["_source"], r["_partition"]), []).append(r["_offset"])
    trace.source_ranges = [
        SourceRange(s, p, min(offsets), max(offsets), len(offsets))
        for (s, p), offsets in sorted(ranges.items())
    ]
    if used:
        coordinates = spark.createDataFrame(
            [(r["_source"], r["_partition"], r["_offset"]) for r in used],
            "source string, partition string, offset long",
        )
        bronze = spark.read.format("delta").load(table_path(config.lake, tables.bronze))
        ingested = Counter(
            r["batch_id"]
            for r in bronze.join(coordinates, ["source", "partition", "offset"])
            .select("batch_id")
            .collect()
        )
        refs = batch_refs(spark, config, tables.dataset.name, tables.bronze.name, ingested)
        trace.bronze_batches = [(refs[b], n) for b, n in sorted(ingested.items())]
    return trace
