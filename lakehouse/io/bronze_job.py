"""Source -> bronze.events: every received event with its source coordinates, append only."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import LakehouseConfig
from lakehouse.datasets import BRONZE_EVENTS
from lakehouse.io.batch import BatchStats, BatchWriter, now, offset_summary
from lakehouse.layers.bronze import to_bronze
from lakehouse.sources.base import EventSource
from lakehouse.sources.registry import source_for

__all__ = ["BronzeJob", "bronze_job_name"]


def bronze_job_name(source_type: str) -> str:
    """``bronze-<source type>``: the checkpoint folder, stream identity and batch-log job of
    the bronze stream. Each source has its own checkpoint (a Kafka checkpoint cannot continue
    a Pub/Sub Lite one); all of them append to the one bronze.events table."""
    return f"bronze-{source_type}"


class BronzeJob(BatchWriter):
    """Source -> bronze.events: every received event, with its coordinates, append only."""

    def __init__(self, config: LakehouseConfig, source: EventSource | None = None) -> None:
        super().__init__(config, bronze_job_name(config.source.type))
        self._source = source

    @property
    def source(self) -> EventSource:
        """The configured source, built on first use (a missing setting is a ConfigError)."""
        if self._source is None:
            self._source = source_for(self.config.source)
        return self._source

    def read(self, spark: SparkSession) -> DataFrame:
        return self.source.read_stream(spark)

    def __call__(self, raw: DataFrame, batch_id: int) -> None:
        started = now()
        # The source is read once and the envelopes (line numbers: a join) built once: the
        # raw batch is cached while the first job fills the cache of the envelopes, which the
        # count, the write and the metrics then read.
        raw = raw.persist()
        bronze: DataFrame | None = None
        try:
            bronze = self.source.to_envelope(raw).transform(to_bronze(batch_id, started)).persist()
            rows, offsets = offset_summary(bronze, "source", "partition", "offset")
            raw.unpersist()
            stats = BatchStats(rows_in=rows, rows_out=rows, source_offsets=offsets)
            self.append(bronze, BRONZE_EVENTS, batch_id, stats)
            # bronze never refuses an event: its findings are recorded, never blocking
            self.observe(
                bronze,
                table=BRONZE_EVENTS,
                batch_id=batch_id,
                started=started,
                stats=stats,
                rows_in=rows,
                rows_quarantined=0,
                can_block=False,
            )
            self.log(raw.sparkSession, batch_id, started, stats)
        finally:
            raw.unpersist()
            if bronze is not None:
                bronze.unpersist()
