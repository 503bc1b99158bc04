"""Running retention: count (dry run) or delete the rows past their window, then purge them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakeConfig
from lakehouse.io.delta import latest_version
from lakehouse.retention.plan import RetentionStep
from lakehouse.retention.purge import purge, with_retries

__all__ = ["RetentionResult", "run_retention"]


@dataclass(frozen=True)
class RetentionResult:
    """Rows past the window of one table (deleted unless a dry run), and the versions."""

    step: RetentionStep
    rows: int
    version_before: int
    version_after: int


def _expired(step: RetentionStep) -> Column:
    return F.col(step.column) < F.lit(step.cutoff)


def run_retention(
    spark: SparkSession,
    lake: LakeConfig,
    steps: Sequence[RetentionStep],
    *,
    dry_run: bool = False,
    purge_now: bool = False,
) -> list[RetentionResult]:
    """Delete the expired rows of every step's table and purge them from the files.

    A dry run only counts. Downstream streams skip these delete commits
    (``skipChangeCommits``) and keep running.
    """
    results = []
    for step in steps:
        path = table_path(lake, step.table)
        before = latest_version(spark, path)
        rows = spark.read.format("delta").load(path).where(_expired(step)).count()
        if not dry_run:
            if rows:
                with_retries(
                    f"DELETE from {step.table.name}",
                    lambda: DeltaTable.forPath(spark, path).delete(_expired(step)),  # noqa: B023
                )
            purge(spark, step.table, path, rewrite=rows > 0, purge_now=purge_now)
        results.append(RetentionResult(step, rows, before, latest_version(spark, path)))
    return results
