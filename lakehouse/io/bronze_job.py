"""Source -> bronze.events: every received event with its source coordinates, append only."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import LakehouseConfig
from lakehouse.datasets import BRONZE_EVENTS
from lakehouse.errors import SourceError
from lakehouse.io.batch import BatchStats, BatchWriter, now, offset_summary
from lakehouse.layers.bronze import to_bronze
from lakehouse.sources.landing import landing_to_envelope, read_landing_stream

__all__ = ["BronzeJob"]


class BronzeJob(BatchWriter):
    """Source -> bronze.events: every received event, with its coordinates, append only."""

    def __init__(self, config: LakehouseConfig) -> None:
        super().__init__(config, "bronze")

    def read(self, spark: SparkSession) -> DataFrame:
        if self.config.source.type != "landing":
            raise SourceError(
                f"source.type {self.config.source.type!r} has no reader in this build; "
                "use 'landing'"
            )
        return read_landing_stream(spark, self.config.source)

    def __call__(self, lines: DataFrame, batch_id: int) -> None:
        started = now()
        bronze = landing_to_envelope(lines).transform(to_bronze(batch_id, started)).persist()
        try:
            rows, offsets = offset_summary(bronze, "source", "partition", "offset")
            stats = BatchStats(rows_in=rows, rows_out=rows, source_offsets=offsets)
            self.append(bronze, BRONZE_EVENTS, batch_id, stats)
            self.log(lines.sparkSession, batch_id, started, stats)
        finally:
            bronze.unpersist()
