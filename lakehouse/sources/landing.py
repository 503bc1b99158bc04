"""Landing-folder source: JSON-lines files dropped into a folder (the local default)."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BinaryType, MapType, StringType, TimestampType

from lakehouse.config import SourceConfig
from lakehouse.errors import SourceError
from lakehouse.sources.base import NoSessionNeeds
from lakehouse.sources.envelope import ENVELOPE_COLUMNS

__all__ = ["LANDING_SOURCE", "LandingSource", "landing_to_envelope", "read_landing_stream"]

LANDING_SOURCE = "landing"


def read_landing_stream(spark: SparkSession, source: SourceConfig) -> DataFrame:
    """Stream the lines of new files in the landing folder, with each file's metadata.

    Files are taken whole and in arrival order (``maxFilesPerTrigger`` per batch); names
    starting with ``.`` or ``_`` are ignored, so writers can rename a finished file in.
    """
    path = source.landing_path
    if "://" not in path:
        if Path(path).exists() and not Path(path).is_dir():
            raise SourceError(f"source.landing_path {path!r} is a file; it must be a folder")
        Path(path).mkdir(parents=True, exist_ok=True)
    return (
        spark.readStream.format("text")
        .option("maxFilesPerTrigger", source.max_files_per_trigger)
        .load(path)
        .select(
            "value",
            F.col("_metadata.file_path").alias("file_path"),
            F.col("_metadata.file_block_start").alias("file_block_start"),
            F.col("_metadata.file_modification_time").alias("file_modification_time"),
        )
    )


def _with_line_numbers(lines: DataFrame) -> DataFrame:
    """Add ``offset``: the 0-based line number within each file, without shuffling lines.

    A file is never split across micro-batches, and a file split is read in order by one
    task, so ``monotonically_increasing_id`` counts the lines of a split from its first
    one. Only one row per split is aggregated (first id, line count) and broadcast back:
    a line's number is its id minus the split's first id plus the lines of the file's
    earlier splits. Both reads of the batch's files plan the same splits, so the ids agree.
    """
    rows = lines.withColumn("_row", F.monotonically_increasing_id())
    split = ["file_path", "file_block_start"]
    earlier = Window.partitionBy("file_path").orderBy("file_block_start")
    splits = (
        rows.groupBy(*split)
        .agg(F.min("_row").alias("_first"), F.count(F.lit(1)).alias("_lines"))
        .select(
            *split,
            "_first",
            F.coalesce(
                F.sum("_lines").over(earlier.rowsBetween(Window.unboundedPreceding, -1)),
                F.lit(0),
            ).alias("_before"),
        )
    )
    return rows.join(F.broadcast(splits), split).withColumn(
        "offset", (F.col("_row") - F.col("_first") + F.col("_before")).cast("long")
    )


def landing_to_envelope(lines: DataFrame) -> DataFrame:
    """Turn one micro-batch of landing lines into source envelopes (a static DataFrame).

    Every line becomes an envelope, empty and undecodable ones included: nothing is dropped.
    """
    return (
        _with_line_numbers(lines)
        .select(
            F.lit(LANDING_SOURCE).alias("source"),
            F.col("file_path").alias("partition"),
            F.col("offset"),
            F.lit(None).cast(BinaryType()).alias("key"),
            F.col("value").cast(BinaryType()).alias("payload"),
            F.lit(None).cast(MapType(StringType(), StringType())).alias("attributes"),
            F.col("file_modification_time").cast(TimestampType()).alias("publish_ts"),
            F.lit(None).cast(TimestampType()).alias("source_event_ts"),
        )
        .select(*ENVELOPE_COLUMNS)
    )


class LandingSource(NoSessionNeeds):
    """The landing folder as an :class:`~lakehouse.sources.base.EventSource`."""

    name = LANDING_SOURCE

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    def read_stream(self, spark: SparkSession) -> DataFrame:
        return read_landing_stream(spark, self.config)

    def to_envelope(self, raw: DataFrame) -> DataFrame:
        return landing_to_envelope(raw)
