"""A statement of ``lakehouse sql --allow-writes``, run and recorded in ``ops.batch_log``.

The row names the kind of statement (``sql:DeleteFromTable``) and the table versions it
made, never the statement's text: a predicate typed by hand may hold a personal id.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Row, SparkSession

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.frames import local_frame
from lakehouse.io.batch import now
from lakehouse.io.delta import latest_version
from lakehouse.ops import BATCH_LOG

__all__ = ["run_recorded", "table_versions"]


def table_versions(spark: SparkSession, config: LakehouseConfig) -> dict[str, int]:
    """The newest version of every table of the lake that exists."""
    from lakehouse.platform import load_platform

    versions = {}
    for table in load_platform(config).tables.values():
        version = latest_version(spark, table_path(config.lake, table))
        if version >= 0:  # -1: no Delta table there
            versions[table.name] = version
    return versions


def run_recorded(
    spark: SparkSession, config: LakehouseConfig, statement: str, kind: str, limit: int
) -> tuple[DataFrame, list[Row]]:
    """Run a statement that may write; append one ``ops.batch_log`` row (job ``sql:<kind>``)
    with the versions of the tables it changed. Returns its result and first rows."""
    before = table_versions(spark, config)
    started = now()
    df = spark.sql(statement)  # a command runs here
    rows = df.limit(limit).collect()
    finished = now()
    after = table_versions(spark, config)
    changed = {name: v for name, v in after.items() if before.get(name) != v}
    log = {
        "job": f"sql:{kind}",
        "dataset": None,
        "batch_id": int(started.timestamp() * 1000),
        "started_ts": started,
        "finished_ts": finished,
        "duration_ms": int((finished - started).total_seconds() * 1000),
        "rows_in": 0,
        "rows_out": 0,
        "rows_quarantined": 0,
        "status": "ok",
        "blocked_reason": None,
        "source_offsets": None,
        "versions_written": changed,
        "step_ms": None,
    }
    local_frame(spark, [log], BATCH_LOG.schema).write.format("delta").mode("append").save(
        table_path(config.lake, BATCH_LOG)
    )
    return df, rows
