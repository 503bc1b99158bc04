"""The lineage graph of the report, read from the platform and ``ops.batch_log``."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.lineage.graph import lineage_edges, lineage_nodes, lineage_svg
from lakehouse.ops import BATCH_LOG
from lakehouse.platform import load_platform

__all__ = ["lineage_graph"]


def lineage_graph(spark: SparkSession, config: LakehouseConfig) -> str:
    """The SVG of every dataset's graph with each edge's last batch (one aggregate read of
    the batch log: the newest batch per dataset, job and table written)."""
    platform = load_platform(config, spark)
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    written = log.where(F.col("dataset").isNotNull() & F.col("versions_written").isNotNull())
    newest = (
        written.select("*", F.explode(F.map_keys("versions_written")).alias("_table"))
        .groupBy("dataset", "job", "_table")
        .agg(F.max(F.struct("finished_ts", "batch_id", "rows_out", "rows_quarantined")).alias("b"))
        .collect()
    )
    batches = [  # one row per dataset, job and table: its newest batch
        {
            "dataset": r["dataset"],
            "job": r["job"],
            "batch_id": r["b"]["batch_id"],
            "finished_ts": r["b"]["finished_ts"],
            "rows_out": r["b"]["rows_out"],
            "rows_quarantined": r["b"]["rows_quarantined"],
            "versions_written": {r["_table"]: 0},
        }
        for r in newest
    ]
    return lineage_svg(lineage_nodes(platform), lineage_edges(platform, batches))
