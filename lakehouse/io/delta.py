"""Delta writes: idempotent appends, upserts, and the version a write produced."""

from __future__ import annotations

from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from lakehouse.io.retry import with_retries

__all__ = ["append_idempotent", "committed_in_session", "latest_version", "upsert"]

# Delta sets this in the session after each commit it makes. Every stream runs its batches
# in a session of its own (Spark clones it), so the value is the version of this write.
_LAST_COMMIT = "spark.databricks.delta.lastCommitVersionInSession"


def latest_version(spark: SparkSession, path: str) -> int:
    """The newest version of the Delta table at ``path``."""
    row = DeltaTable.forPath(spark, path).history(1).select("version").first()
    return int(row["version"]) if row is not None else -1


def append_idempotent(df: DataFrame, path: str, app_id: str, version: int) -> int:
    """Append ``df`` once per ``(app_id, version)``; return the table version afterwards.

    Delta records the pair in the table's transaction log: a retried micro-batch that
    already committed writes nothing the second time. A commit that conflicts with another
    writer (e.g. a property change) is attempted again (:func:`with_retries`).
    """
    spark = df.sparkSession
    spark.conf.unset(_LAST_COMMIT)
    with_retries(
        f"append to {path}",
        lambda: (
            df.write.format("delta")
            .mode("append")
            .option("txnAppId", app_id)
            .option("txnVersion", version)
            .save(path)
        ),
    )
    return _committed_version(spark, path)


def committed_in_session(spark: SparkSession) -> bool:
    """Whether the last :func:`append_idempotent` or :func:`upsert` in this session committed
    (False: an append of a batch the table had already, which ran no Spark job)."""
    return spark.conf.get(_LAST_COMMIT, None) is not None


def _committed_version(spark: SparkSession, path: str) -> int:
    """The version the write just made, read from the session without a Spark job; the
    table's newest version when the write committed nothing (a retried batch)."""
    committed = spark.conf.get(_LAST_COMMIT, None)
    return int(committed) if committed is not None else latest_version(spark, path)


def upsert(df: DataFrame, path: str, keys: Sequence[str]) -> int:
    """Insert or replace rows of the Delta table at ``path`` by ``keys``; return its version.

    Replacing whole rows with freshly computed values makes the write idempotent, so a MERGE
    that conflicts with another writer is simply run again (:func:`with_retries`).
    """
    spark = df.sparkSession
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    spark.conf.unset(_LAST_COMMIT)
    with_retries(
        f"upsert into {path}",
        lambda: (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(df.alias("s"), condition)
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        ),
    )
    return _committed_version(spark, path)
