"""Landing-folder source: JSON-lines files dropped into a folder (the local default)."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BinaryType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse.config import SourceConfig
from lakehouse.errors import SourceError
from lakehouse.frames import local_frame
from lakehouse.sources.base import Envelopes, NoSessionNeeds, OffsetRange
from lakehouse.sources.envelope import ENVELOPE_COLUMNS

__all__ = [
    "LANDING_SOURCE",
    "LandingSource",
    "landing_envelopes",
    "landing_to_envelope",
    "read_landing_stream",
]

LANDING_SOURCE = "landing"


# Line numbers come from two scans of a batch's files, which must plan the same splits: one
# counts the lines of each split, the other writes them. Spark sizes file splits from the
# cores it has when it plans a job; with the minimum number of partitions pinned for the
# stream, the split plan depends on the files alone, whatever executors come and go
# (Dataproc autoscaling) between the two scans.
_PINNED_PARTITIONS = "spark.sql.files.minPartitionNum"

_SPLITS = StructType(
    [
        StructField("file_path", StringType(), False),
        StructField("file_block_start", LongType(), False),
        StructField("_first", LongType(), False),
        StructField("_before", LongType(), False),
    ]
)


def read_landing_stream(spark: SparkSession, source: SourceConfig) -> DataFrame:
    """Stream the lines of new files in the landing folder, with each file's metadata.

    Files are taken whole and in arrival order (``maxFilesPerTrigger`` per batch); names
    starting with ``.`` or ``_`` are ignored, so writers can rename a finished file in. The
    stream runs in a session of its own whose split planning does not depend on the cores
    of the moment (see :func:`landing_envelopes`).
    """
    path = source.landing_path
    if "://" not in path:
        if Path(path).exists() and not Path(path).is_dir():
            raise SourceError(f"source.landing_path {path!r} is a file; it must be a folder")
        Path(path).mkdir(parents=True, exist_ok=True)
    session = spark.newSession()
    session.conf.set(_PINNED_PARTITIONS, str(max(2, spark.sparkContext.defaultParallelism)))
    return (
        session.readStream.format("text")
        .option("maxFilesPerTrigger", source.max_files_per_trigger)
        .load(path)
        .select(
            "value",
            F.col("_metadata.file_path").alias("file_path"),
            F.col("_metadata.file_block_start").alias("file_block_start"),
            F.col("_metadata.file_modification_time").alias("file_modification_time"),
        )
    )


def landing_envelopes(lines: DataFrame) -> Envelopes:
    """One micro-batch of landing lines as source envelopes, with each file's line range.

    ``offset`` is the 0-based line number within the file, found without shuffling lines and
    without caching the batch. A file is never split across micro-batches, and a file split
    is read in order by one task, so ``monotonically_increasing_id`` counts the lines of a
    split from its first one. One Spark job counts the lines of each split (its first id
    and its lines: one row per split, to the driver); the write's scan then joins the lines
    with that small table, broadcast: a line's number is its id minus the split's first id
    plus the lines of the file's earlier splits. Both scans plan the same splits, so the ids
    agree (:func:`read_landing_stream` pins what the plan depends on).

    Every line becomes an envelope, empty and undecodable ones included: nothing is dropped.
    """
    rows = lines.withColumn("_row", F.monotonically_increasing_id())
    split = ["file_path", "file_block_start"]
    counted = (
        rows.groupBy(*split)
        .agg(F.min("_row").alias("_first"), F.count(F.lit(1)).alias("_lines"))
        .collect()
    )
    splits: list[tuple[str, int, int, int]] = []
    lines_per_file: dict[str, int] = {}
    for c in sorted(counted, key=lambda c: (c["file_path"], c["file_block_start"])):
        before = lines_per_file.get(c["file_path"], 0)
        splits.append((c["file_path"], c["file_block_start"], c["_first"], before))
        lines_per_file[c["file_path"]] = before + c["_lines"]
    numbered = rows.join(
        F.broadcast(local_frame(lines.sparkSession, splits, _SPLITS)), split
    ).withColumn("offset", (F.col("_row") - F.col("_first") + F.col("_before")).cast("long"))
    frame = numbered.select(
        F.lit(LANDING_SOURCE).alias("source"),
        F.col("file_path").alias("partition"),
        F.col("offset"),
        F.lit(None).cast(BinaryType()).alias("key"),
        F.col("value").cast(BinaryType()).alias("payload"),
        F.lit(None).cast(MapType(StringType(), StringType())).alias("attributes"),
        F.col("file_modification_time").cast(TimestampType()).alias("publish_ts"),
        F.lit(None).cast(TimestampType()).alias("source_event_ts"),
    ).select(*ENVELOPE_COLUMNS)
    ranges = tuple(
        OffsetRange(LANDING_SOURCE, file, 0, count - 1, count)
        for file, count in lines_per_file.items()
    )
    return Envelopes(frame, ranges)


def landing_to_envelope(lines: DataFrame) -> DataFrame:
    """The envelopes of :func:`landing_envelopes` (one Spark job counts the lines)."""
    return landing_envelopes(lines).frame


class LandingSource(NoSessionNeeds):
    """The landing folder as an :class:`~lakehouse.sources.base.EventSource`."""

    name = LANDING_SOURCE

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    def read_stream(self, spark: SparkSession) -> DataFrame:
        return read_landing_stream(spark, self.config)

    def to_envelope(self, raw: DataFrame) -> DataFrame:
        return landing_to_envelope(raw)

    def envelopes(self, raw: DataFrame) -> Envelopes:
        return landing_envelopes(raw)
