"""silver.<dataset> -> its gold tables, recomputing every window a micro-batch touches.

Each gold table is a Spark SQL file of the dataset (:mod:`lakehouse.contracts.gold`); its
header names the table's time key and the same key computed from a silver row. For every
window a batch touches, the whole window is recomputed from silver and upserted: late
events update the right window, and a retried batch writes the same values again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig
from lakehouse.contracts.analyze import gold_frame
from lakehouse.contracts.model import GoldTable
from lakehouse.io.batch import BatchStats, BatchWriter
from lakehouse.io.delta import read_pinned
from lakehouse.io.side_by_side import in_session, run_side_by_side
from lakehouse.io.streams import read_delta_stream
from lakehouse.ops import TableDef
from lakehouse.platform import DatasetTables

__all__ = ["GoldJob", "to_gold_quarantine"]


def to_gold_quarantine(
    table: TableDef, writer_id: str, batch_id: int, quarantine_ts: datetime
) -> Callable[[DataFrame], DataFrame]:
    """Rows of a gold table refused by its gate (``_gate_reasons``), as quarantine rows."""

    def transform(refused: DataFrame) -> DataFrame:
        return refused.select(
            *table.schema.fieldNames(),
            F.get(F.col("_gate_reasons"), 0).alias("reason"),
            F.col("_gate_reasons").alias("reasons"),
            F.lit(quarantine_ts).cast("timestamp").alias("quarantine_ts"),
            F.lit(writer_id).alias("_writer_id"),
            F.lit(batch_id).cast("long").alias("_batch_id"),
        )

    return transform


class GoldJob(BatchWriter):
    """silver.<dataset> -> its gold tables, recomputing every window a batch touches."""

    def __init__(self, config: LakehouseConfig, tables: DatasetTables) -> None:
        super().__init__(config, "gold", tables.dataset.name, tables.dataset.content_hash)
        self.tables = tables
        self.monitor.expect(table for _, table, _ in tables.gold)

    def read(self, spark: SparkSession) -> DataFrame:
        return read_delta_stream(spark, self.path(self.tables.silver), self.config.trigger)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        spark = batch.sparkSession
        started = self.begin(spark, batch)
        writer_id = self.identity.app_id(spark)
        windows = [
            F.expr(g.window_expr).alias(f"_w{i}") for i, (g, _, _) in enumerate(self.tables.gold)
        ]
        # the batch's rows per day and windows (a few per window, not a row per event), kept
        # for the promotions to find the windows they recompute
        counts = batch.groupBy("event_date", *windows).count().persist()
        try:
            # the rows read and the days they touch, in one job
            per_day = counts.groupBy("event_date").agg(F.sum("count").alias("count")).collect()
            stats = BatchStats(rows_in=sum(int(r["count"]) for r in per_day))
            dates = [r["event_date"] for r in per_day]
            if dates:
                # the gold tables are independent of each other: promoted side by side
                pieces = [
                    self._promotion(
                        i, counts, dates, batch_id=batch_id, writer_id=writer_id, started=started
                    )
                    for i in range(len(self.tables.gold))
                ]
                for part in run_side_by_side(spark, pieces):
                    stats.add(part)  # in the order of the tables, whatever finished first
            self.log(spark, batch_id, started, stats)
        finally:
            counts.unpersist()

    def _promotion(
        self,
        i: int,
        counts: DataFrame,
        dates: list[Any],
        *,
        batch_id: int,
        writer_id: str,
        started: datetime,
    ) -> Callable[[SparkSession], BatchStats]:
        """The promotion of the ``i``-th gold table: its windows the batch touches (in
        ``counts``, the batch's rows per day and window), recomputed from silver, gated,
        upserted and observed; what it did, in a :class:`BatchStats` of its own."""
        gold, table, quarantine = self.tables.gold[i]

        def promote(spark: SparkSession) -> BatchStats:
            stats = BatchStats()
            # pinned: the silver stream may write silver while these rows are cached
            silver = read_pinned(spark, self.path(self.tables.silver))
            silver = silver.where(F.col("event_date").isin(dates))
            touched = in_session(counts, spark).select(F.col(f"_w{i}").alias("_w")).distinct()
            window = F.expr(gold.window_expr)
            source = silver.join(F.broadcast(touched), window == F.col("_w"), "left_semi")
            rows = (
                gold_frame(spark, gold, source)
                .withColumn("updated_ts", F.lit(started).cast("timestamp"))
                .select(*table.schema.fieldNames())
                .persist()
            )
            try:
                self._promote(
                    rows,
                    gold,
                    table,
                    quarantine,
                    batch_id=batch_id,
                    writer_id=writer_id,
                    started=started,
                    stats=stats,
                )
            finally:
                rows.unpersist()
            return stats

        return promote

    def _promote(
        self,
        rows: DataFrame,
        gold: GoldTable,
        table: TableDef,
        quarantine_table: TableDef,
        *,
        batch_id: int,
        writer_id: str,
        started: datetime,
        stats: BatchStats,
    ) -> None:
        promoted, gated = self.gate(
            rows,
            table=table,
            suite_name=gold.suite,
            keys=gold.keys,
            batch_id=batch_id,
            stats=stats,
        )
        # the monitors' measurement counts the rows too (one job for both, when watched)
        measured = self.measure(promoted, table, stats)
        promoted_count = int(measured["rows"]) if measured is not None else promoted.count()
        if promoted_count:
            self.upsert(promoted, table, gold.keys, batch_id, stats)
        stats.rows_out += promoted_count
        refused_count = 0
        # only a critical failure refuses rows: without one there is nothing to count
        if gated is not None and stats.decisions[-1].critical_failures:
            quarantine = gated.transform(to_gold_quarantine(table, writer_id, batch_id, started))
            refused_count = quarantine.count()
            stats.rows_quarantined += refused_count
            if refused_count:  # an empty append would only add a commit
                self.append(quarantine, quarantine_table, batch_id, stats)
        # the windows are upserted already: gold's findings are recorded, never blocking
        self.observe(
            promoted,
            table=table,
            batch_id=batch_id,
            started=started,
            stats=stats,
            rows_in=promoted_count + refused_count,
            rows_quarantined=refused_count,
            can_block=False,
            measured=measured,
        )
