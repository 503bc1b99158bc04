"""``lakehouse backfill``: replace a date range of silver or gold with its recomputation
from the layer below, one Delta commit per table and day (``replaceWhere``).

Each day is recomputed and written in one attempt; an attempt whose commit conflicts with
another writer is recomputed and written again (:func:`~lakehouse.io.retry.with_retries`).
A day replaced again gives the same rows: a backfill killed halfway is run again as asked.
Not safe for a day a stream still writes into: the recomputation reads one snapshot and the
replace commits later, and a stream's blind append in between is no conflict under
WriteSerializable, so its rows are replaced away (see the README's limitation).
``ops.backfills`` gets one row per
table and day written.

The streams reading the replaced table read with ``skipChangeCommits``: they skip a
backfill's commits (which remove files) and go on; a silver backfill therefore changes gold
only when gold is backfilled too. Rows a silver backfill refuses are not written to the
quarantine (``lakehouse replay`` owns the quarantine).
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.backfill.recompute import gold_day, gold_predicate, silver_day, silver_predicate
from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.contracts.model import GoldTable
from lakehouse.errors import ConfigError
from lakehouse.frames import local_frame
from lakehouse.io.batch import now
from lakehouse.io.delta import latest_version
from lakehouse.io.faults import fault_point
from lakehouse.io.retry import with_retries
from lakehouse.io.silver_job import SilverJob
from lakehouse.ops import TableDef
from lakehouse.ops.backfills import BACKFILLS
from lakehouse.platform import DatasetTables

__all__ = ["JOB", "MAX_DAYS", "DayResult", "backfill", "parse_range"]

JOB = "backfill"  # the job of the fault points: backfill:after_write:<table>
MAX_DAYS = 400
_LAST_COMMIT = "spark.databricks.delta.lastCommitVersionInSession"


@dataclass(frozen=True)
class DayResult:
    table: str
    day: date
    rows_before: int
    rows_after: int
    version: int | None  # None in a dry run


def parse_range(start: str, end: str) -> list[date]:
    """The days from ``start`` to ``end`` (ISO dates, both included)."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise ConfigError(
            f"--from {start} / --to {end}: write ISO dates, e.g. 2026-12-01"
        ) from None
    if last < first:
        raise ConfigError(f"--to {end} is before --from {start}")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ConfigError(f"--from {start} --to {end} spans {count} days; at most {MAX_DAYS}")
    return [first + timedelta(days=i) for i in range(count)]


def _replace(
    spark: SparkSession, compute: Callable[[], DataFrame], path: str, predicate: str
) -> tuple[int, int]:
    """Recompute and replace the rows of ``predicate``; (rows written, version)."""
    written = 0

    def attempt() -> None:
        nonlocal written
        rows = compute().localCheckpoint(eager=True)
        written = rows.count()
        spark.conf.unset(_LAST_COMMIT)
        rows.write.format("delta").mode("overwrite").option("replaceWhere", predicate).save(path)

    with_retries(f"backfill {predicate} of {path}", attempt)
    version = spark.conf.get(_LAST_COMMIT, None)
    return written, int(version) if version is not None else latest_version(spark, path)


def _targets(
    spark: SparkSession,
    config: LakehouseConfig,
    tables: DatasetTables,
    layer: str,
    *,
    started: datetime,
    writer: str,
) -> list[tuple[TableDef, Callable[[date], str], Callable[[date], DataFrame]]]:
    """Per table of ``layer``: the table, its predicate of a day, its recomputation of a day."""
    if layer == "silver":
        job = SilverJob(config, tables)
        return [
            (tables.silver, silver_predicate, lambda d: silver_day(job, spark, d, writer, started))
        ]
    if layer != "gold":
        raise ConfigError(f"--layer: {layer!r}; choose silver or gold")
    silver_path = table_path(config.lake, tables.silver)

    def of_gold(
        gold: GoldTable, table: TableDef
    ) -> tuple[TableDef, Callable[[date], str], Callable[[date], DataFrame]]:
        def compute(d: date) -> DataFrame:
            silver = spark.read.format("delta").load(silver_path)
            return gold_day(
                spark, silver.where(F.col("event_date") == F.lit(d)), gold, table, started
            )

        return (table, lambda d: gold_predicate(gold, d), compute)

    return [of_gold(gold, table) for gold, table, _ in tables.gold]


def backfill(
    spark: SparkSession,
    config: LakehouseConfig,
    tables: DatasetTables,
    layer: str,
    days: list[date],
    *,
    dry_run: bool = False,
    requested_by: str | None = None,
) -> list[DayResult]:
    """Recompute ``days`` of ``layer`` of a dataset (see the module docstring)."""
    started = now()
    backfill_id = uuid.uuid4().hex
    writer = f"backfill:{backfill_id}"
    results: list[DayResult] = []
    for table, predicate, compute in _targets(
        spark, config, tables, layer, started=started, writer=writer
    ):
        path = table_path(config.lake, table)
        for day in days:
            before = spark.read.format("delta").load(path).where(predicate(day)).count()
            if dry_run:
                after = compute(day).count()
                results.append(DayResult(table.name, day, before, after, None))
                continue
            after, version = _replace(spark, partial(compute, day), path, predicate(day))
            fault_point(JOB, f"after_write:{table.name}", day.toordinal())
            row = {
                "backfill_id": backfill_id,
                "dataset": tables.dataset.name,
                "table_name": table.name,
                "day": day,
                "requested_by": requested_by or getpass.getuser(),
                "contract_hash": tables.dataset.content_hash,
                "rows_before": before,
                "rows_after": after,
                "version_written": version,
                "finished_ts": now(),
            }
            local_frame(spark, [row], BACKFILLS.schema).write.format("delta").mode("append").save(
                table_path(config.lake, BACKFILLS)
            )
            results.append(DayResult(table.name, day, before, after, version))
    return results
