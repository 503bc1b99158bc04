"""Landing-folder source: JSON-lines files dropped into a folder (the local default)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, Row, SparkSession
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
from lakehouse.engine_errors import failed_read_path, path_forms, root_cause
from lakehouse.errors import SourceError
from lakehouse.frames import local_frame
from lakehouse.sources.base import Envelopes, NoSessionNeeds, OffsetRange, SkippedFile
from lakehouse.sources.envelope import ENVELOPE_COLUMNS

__all__ = [
    "LANDING_SOURCE",
    "LandingSource",
    "landing_envelopes",
    "landing_session",
    "landing_to_envelope",
    "read_landing_files",
    "read_landing_stream",
    "stream_batch_files",
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


def landing_session(spark: SparkSession) -> SparkSession:
    """A session of its own whose split planning does not depend on the cores of the
    moment (see :func:`landing_envelopes`)."""
    session = spark.newSession()
    session.conf.set(_PINNED_PARTITIONS, str(max(2, spark.sparkContext.defaultParallelism)))
    return session


def _with_metadata(lines: DataFrame) -> DataFrame:
    return lines.select(
        "value",
        F.col("_metadata.file_path").alias("file_path"),
        F.col("_metadata.file_block_start").alias("file_block_start"),
        F.col("_metadata.file_modification_time").alias("file_modification_time"),
    )


def read_landing_stream(spark: SparkSession, source: SourceConfig) -> DataFrame:
    """Stream the lines of new files in the landing folder, with each file's metadata.

    Files are taken whole and in arrival order (``maxFilesPerTrigger`` per batch); names
    starting with ``.`` or ``_`` are ignored, so writers can rename a finished file in. The
    stream runs in a :func:`landing_session`.
    """
    path = source.landing_path
    if "://" not in path:
        if Path(path).exists() and not Path(path).is_dir():
            raise SourceError(f"source.landing_path {path!r} is a file; it must be a folder")
        Path(path).mkdir(parents=True, exist_ok=True)
    session = landing_session(spark)
    return _with_metadata(
        session.readStream.format("text")
        .option("maxFilesPerTrigger", source.max_files_per_trigger)
        .load(path)
    )


def read_landing_files(spark: SparkSession, paths: list[str]) -> DataFrame:
    """The lines of some landing files as one batch, with the columns of
    :func:`read_landing_stream` (to ingest files the stream skipped); ``spark`` should be a
    :func:`landing_session`."""
    return _with_metadata(spark.read.format("text").load(paths))


def stream_batch_files(spark: SparkSession, checkpoint: str, batch_id: int) -> list[str]:
    """The files of micro-batch ``batch_id`` of the landing stream, from its checkpoint.

    The stream's offset log gives the batch's end in the file source's own log (line 3 of
    ``offsets/<batch>``, ``{"logOffset": N}``), the previous batch's its start; the source log
    (``sources/0/``, compacted every few batches) lists each file with its log batch. Read
    only when a batch holds a file that cannot be read: the micro-batch Spark hands the
    bronze job is already planned, so the readable files are read again without the bad one.
    """
    root = checkpoint.rstrip("/")

    def log_offset(batch: int) -> int | None:
        try:
            lines = [r["value"] for r in spark.read.text(f"{root}/offsets/{batch}").collect()]
        except AnalysisException:
            return None
        return int(json.loads(lines[2])["logOffset"])

    end = log_offset(batch_id)
    if end is None:
        raise SourceError(
            f"offsets of batch {batch_id} are missing from checkpoint {root!r}; "
            "the checkpoint is damaged: restore it"
        )
    before = -1 if batch_id == 0 else log_offset(batch_id - 1)
    first = end if before is None else before + 1
    entries = spark.read.text(f"{root}/sources/0").where(F.col("value").startswith("{"))
    files: dict[str, None] = {}
    for row in entries.collect():
        entry = json.loads(row["value"])
        if first <= int(entry["batchId"]) <= end:
            files[str(entry["path"])] = None
    return list(files)


def _without(
    lines: DataFrame, skipped: list[SkippedFile], listing: Callable[[], list[str]] | None
) -> DataFrame:
    """``lines`` without the skipped files: re-read from the batch's file list when there is
    one (a micro-batch of the stream is a planned RDD, a filter would read the file again),
    else filtered (a batch read prunes the files a filter on their path excludes)."""
    left_out = set().union(*(path_forms(f.path) for f in skipped))
    if listing is None:
        return lines.where(~F.col("file_path").isin(sorted(left_out)))
    readable = [f for f in listing() if not path_forms(f) & left_out]
    if not readable:
        return lines.limit(0)
    return read_landing_files(lines.sparkSession, readable)


def _count_splits(
    lines: DataFrame, listing: Callable[[], list[str]] | None
) -> tuple[DataFrame, list[Row], tuple[SkippedFile, ...]]:
    """The lines with their ids, and per file split its first id and its lines (one job).

    A file that cannot be read (corrupt compression, unreadable bytes, no permission) fails
    the job; it is left out and the count runs again without it, so one bad file costs one
    failed job, and a batch of good files no more than it did. Spark names the file in its
    error (``FAILED_READ_FILE``); an error that names no file, or a file already left out,
    is raised as it is."""
    skipped: list[SkippedFile] = []
    if listing is not None:
        listing = functools.cache(listing)
    while True:
        rows = lines.withColumn("_row", F.monotonically_increasing_id())
        try:
            counted = (
                rows.groupBy("file_path", "file_block_start")
                .agg(F.min("_row").alias("_first"), F.count(F.lit(1)).alias("_lines"))
                .collect()
            )
        except Exception as exc:
            path = failed_read_path(exc)
            if path is None or any(f.path == path for f in skipped):
                raise
            skipped.append(SkippedFile(path, root_cause(exc)))
            lines = _without(lines, skipped, listing)
            continue
        return rows, counted, tuple(skipped)


def landing_envelopes(
    lines: DataFrame, listing: Callable[[], list[str]] | None = None
) -> Envelopes:
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
    A file that cannot be read at all is left out of the batch and named in ``skipped``;
    ``listing`` gives the batch's files (:func:`stream_batch_files`) for a micro-batch of
    the stream.
    """
    rows, counted, skipped = _count_splits(lines, listing)
    split = ["file_path", "file_block_start"]
    splits: list[tuple[str, int, int, int]] = []
    lines_per_file: dict[str, int] = {}
    for c in sorted(counted, key=lambda c: (c["file_path"], c["file_block_start"])):
        before = lines_per_file.get(c["file_path"], 0)
        splits.append((c["file_path"], c["file_block_start"], c["_first"], before))
        lines_per_file[c["file_path"]] = before + c["_lines"]
    numbered = rows.join(
        F.broadcast(local_frame(rows.sparkSession, splits, _SPLITS)), split
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
    return Envelopes(frame, ranges, skipped)


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

    def envelopes(
        self, raw: DataFrame, listing: Callable[[], list[str]] | None = None
    ) -> Envelopes:
        return landing_envelopes(raw, listing)
