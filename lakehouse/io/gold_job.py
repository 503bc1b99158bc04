"""silver.events -> gold aggregates, recomputing every window a micro-batch touches."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig
from lakehouse.datasets import GOLD_QUARANTINE, SILVER_EVENTS
from lakehouse.io.batch import BatchStats, BatchWriter, now, timed
from lakehouse.io.delta import upsert
from lakehouse.io.faults import fault_point
from lakehouse.io.streams import read_delta_stream
from lakehouse.layers.gold import AGGREGATES, Aggregate, to_gold_quarantine

__all__ = ["GoldJob"]


class GoldJob(BatchWriter):
    """silver.events -> gold aggregates, recomputing every window a batch touches."""

    def __init__(self, config: LakehouseConfig) -> None:
        super().__init__(config, "gold")

    def read(self, spark: SparkSession) -> DataFrame:
        return read_delta_stream(spark, self.path(SILVER_EVENTS), self.config.trigger)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        spark = batch.sparkSession
        started = now()
        writer_id = self.identity.app_id(spark)
        batch = batch.select("event_date", "event_ts").persist()
        try:
            stats = BatchStats(rows_in=batch.count())
            dates = [r["event_date"] for r in batch.select("event_date").distinct().collect()]
            if dates:
                silver = spark.read.format("delta").load(self.path(SILVER_EVENTS))
                silver = silver.where(F.col("event_date").isin(dates))
                for aggregate in AGGREGATES:
                    touched = batch.select(aggregate.window_of().alias("_w")).distinct()
                    rows = (
                        silver.join(
                            F.broadcast(touched), aggregate.window_of() == F.col("_w"), "left_semi"
                        )
                        .transform(aggregate.compute(started))
                        .persist()
                    )
                    try:
                        self._promote(
                            rows,
                            aggregate,
                            batch_id=batch_id,
                            writer_id=writer_id,
                            started=started,
                            stats=stats,
                        )
                    finally:
                        rows.unpersist()
            self.log(spark, batch_id, started, stats)
        finally:
            batch.unpersist()

    def _promote(
        self,
        rows: DataFrame,
        aggregate: Aggregate,
        *,
        batch_id: int,
        writer_id: str,
        started: datetime,
        stats: BatchStats,
    ) -> None:
        table = aggregate.table
        promoted, gated = self.gate(
            rows,
            table=table,
            suite_name=f"silver_to_gold_{table.short_name}",
            keys=aggregate.keys,
            batch_id=batch_id,
            stats=stats,
        )
        promoted_count = promoted.count()
        if promoted_count:
            with timed(stats, f"write {table.name}"):
                stats.versions_written[table.name] = upsert(
                    promoted, self.path(table), aggregate.keys
                )
            fault_point(self.job, f"after_write:{table.name}", batch_id)
        stats.rows_out += promoted_count
        refused_count = 0
        if gated is not None:
            quarantine = gated.transform(to_gold_quarantine(table, writer_id, batch_id, started))
            refused_count = quarantine.count()
            stats.rows_quarantined += refused_count
            if refused_count:  # an empty append would only add a commit
                self.append(quarantine, GOLD_QUARANTINE[table.name], batch_id, stats)
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
        )
