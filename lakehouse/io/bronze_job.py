"""Source -> bronze.<dataset>: every received event with its source coordinates, append only."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import LakehouseConfig
from lakehouse.io.bad_files import bad_files_frame
from lakehouse.io.batch import BatchStats, BatchWriter
from lakehouse.io.summary import offset_summary, summarize_offsets
from lakehouse.layers.bronze import to_bronze
from lakehouse.ops import BAD_FILES, TableDef
from lakehouse.platform import DatasetTables, source_config
from lakehouse.sources.base import AcknowledgingSource, Envelopes, EventSource
from lakehouse.sources.landing import LandingSource, stream_batch_files
from lakehouse.sources.registry import source_for

__all__ = ["BronzeJob", "bronze_job_name"]


def bronze_job_name(source_type: str) -> str:
    """``bronze-<source type>``: the checkpoint folder, stream identity and batch-log job of
    the bronze stream. Each source has its own checkpoint (a Kafka checkpoint cannot continue
    a Pub/Sub Lite one); all of them append to the dataset's one bronze table."""
    return f"bronze-{source_type}"


class BronzeJob(BatchWriter):
    """Source -> bronze.<dataset>: every received event, with its coordinates, append only."""

    def __init__(
        self, config: LakehouseConfig, tables: DatasetTables, source: EventSource | None = None
    ) -> None:
        super().__init__(
            config,
            bronze_job_name(config.source.type),
            tables.dataset.name,
            tables.dataset.content_hash,
        )
        self.tables = tables
        self.monitor.expect([tables.bronze])  # its history read ahead, in the first batch
        self._source = source

    @property
    def source(self) -> EventSource:
        """The dataset's source, built on first use (a missing setting is a ConfigError)."""
        if self._source is None:
            self._source = source_for(source_config(self.config, self.tables.dataset))
        return self._source

    def written(self) -> list[TableDef]:
        return [self.tables.bronze]

    def read(self, spark: SparkSession) -> DataFrame:
        return self.source.read_stream(spark)

    def _envelopes(self, raw: DataFrame, batch_id: int) -> Envelopes:
        """The batch's envelopes; landing counts each file's lines in one job, and finds the
        batch's files in the checkpoint when one of them cannot be read."""
        if isinstance(self.source, LandingSource):
            checkpoint = self.checkpoint
            spark = raw.sparkSession
            return self.source.envelopes(
                raw, lambda: stream_batch_files(spark, checkpoint, batch_id)
            )
        return self.source.envelopes(raw)

    def __call__(self, raw: DataFrame, batch_id: int) -> None:
        started = self.begin(raw.sparkSession, raw)
        envelopes = self._envelopes(raw, batch_id)
        bronze = envelopes.frame.transform(to_bronze(batch_id, started))
        # A source that has the offset ranges at hand is read once more, by the write; the
        # others are cached, counted, then written from the cache.
        cached = envelopes.ranges is None
        if envelopes.ranges is None:
            bronze = bronze.persist()
            rows, offsets = offset_summary(bronze, "source", "partition", "offset")
        else:
            rows, offsets = summarize_offsets(envelopes.ranges)
        try:
            stats = BatchStats(rows_in=rows, rows_out=rows, source_offsets=offsets)
            if envelopes.backlog is not None:
                stats.source_backlog_messages, stats.source_backlog_oldest_s = envelopes.backlog
            # the write measures the batch for monitoring on its way (no pass of its own)
            measured = self.append_measured(bronze, self.tables.bronze, batch_id, stats)
            # bronze never refuses an event: its findings are recorded, never blocking
            self.observe(
                bronze,
                table=self.tables.bronze,
                batch_id=batch_id,
                started=started,
                stats=stats,
                rows_in=rows,
                rows_quarantined=0,
                can_block=False,
                measured=measured,
            )
            if envelopes.skipped:  # unreadable files: left out of the batch, recorded
                spark = raw.sparkSession
                skipped = bad_files_frame(
                    spark,
                    envelopes.skipped,
                    job=self.job,
                    dataset=self.tables.dataset.name,
                    batch_id=batch_id,
                    detected=started,
                )
                self.append(skipped, BAD_FILES, batch_id, stats)
            self.log(raw.sparkSession, batch_id, started, stats)
            # the batch is in bronze: a source with leases (Pub/Sub) may acknowledge it now
            # (a crash before this line means the messages come again, never that they are lost)
            if isinstance(self.source, AcknowledgingSource):
                self.source.acknowledge(batch_id)
        finally:
            if cached:
                bronze.unpersist()
