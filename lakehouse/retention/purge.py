"""Physical purge of deleted rows, and retries of maintenance commits that race a stream.

A DELETE or MERGE with deletion vectors only marks rows deleted; the files still hold them.
``REORG TABLE ... APPLY (PURGE)`` rewrites the files that have deletion vectors, and
``VACUUM`` removes the files no version newer than its retention needs.

VACUUM with less than the table's ``delta.deletedFileRetentionDuration`` can delete files a
running stream that is behind still has to read (it then fails); ``purge_now`` (retention 0)
is for tests and for an erasure that must be complete at once, with the streams of the
table stopped or caught up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from lakehouse.io.retry import ATTEMPTS, with_retries
from lakehouse.ops import TableDef

__all__ = ["ATTEMPTS", "purge", "with_retries"]

_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"


@contextmanager
def _retention_check_off(spark: SparkSession) -> Iterator[None]:
    previous = spark.conf.get(_CHECK, "true")
    spark.conf.set(_CHECK, "false")
    try:
        yield
    finally:
        spark.conf.set(_CHECK, previous or "true")


def _quoted(path: str) -> str:
    return "delta.`" + path.replace("`", "``") + "`"


def purge(
    spark: SparkSession, table: TableDef, path: str, *, rewrite: bool, purge_now: bool
) -> None:
    """Rewrite files with deletion vectors (when ``rewrite``), then VACUUM with the table's
    deleted-file retention, or with none at all when ``purge_now``."""
    if rewrite:
        with_retries(
            f"REORG {table.name}", lambda: spark.sql(f"REORG TABLE {_quoted(path)} APPLY (PURGE)")
        )
    hours = 0.0 if purge_now else table.policy.deleted_file_retention_days * 24.0
    if purge_now:
        with _retention_check_off(spark):
            DeltaTable.forPath(spark, path).vacuum(hours)
    else:
        DeltaTable.forPath(spark, path).vacuum(hours)
