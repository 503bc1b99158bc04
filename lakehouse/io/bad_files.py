"""``ops.bad_files``: landing files the bronze stream could not read, and their retry.

The bronze stream leaves a file it cannot read out of its batch and records it here (path,
size, the cause in one line, the batch); the rest of the batch and later batches go on.
Spark's file stream never lists a file again once its log holds it, so a retry cannot go
through the stream: :func:`retry_bad_files` reads each pending file as a batch and appends
its lines to its dataset's bronze table with an idempotent write keyed by the file, so a
file is ingested exactly once however often the retry runs (or crashes half-way). The
table is append-only: each attempt adds a row, a file's newest row is its state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.engine_errors import is_engine_error, root_cause
from lakehouse.frames import local_frame
from lakehouse.io.batch import now
from lakehouse.io.commits import newest_checksum
from lakehouse.io.delta import append_idempotent
from lakehouse.io.retry import with_retries
from lakehouse.layers.bronze import to_bronze
from lakehouse.ops import BAD_FILES, BATCH_LOG
from lakehouse.sources.base import SkippedFile
from lakehouse.sources.landing import landing_envelopes, landing_session, read_landing_files

__all__ = [
    "PendingFile",
    "RetryOutcome",
    "bad_files_frame",
    "pending_bad_files",
    "render_bad_files",
    "retry_bad_files",
    "retry_job_name",
]

SKIPPED = "skipped"
INGESTED = "ingested"


@dataclass(frozen=True)
class PendingFile:
    """A landing file that was skipped and is not ingested yet."""

    path: str
    size_bytes: int | None
    error: str
    job: str
    dataset: str
    batch_id: int
    detected_ts: datetime
    attempts: int


@dataclass(frozen=True)
class RetryOutcome:
    """One retried file: ``ingested`` with its lines, or still ``skipped`` with the cause."""

    path: str
    status: str
    rows: int
    error: str | None


def retry_job_name(bronze_job: str) -> str:
    """The batch-log job of a retry of the files ``bronze_job`` skipped."""
    return f"{bronze_job}-retry"


def _size(spark: SparkSession, path: str) -> int | None:
    """The file's length through Hadoop's file system (local or ``gs://``); None when even
    that fails (the file is gone)."""
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        conf = spark.sparkContext._jsc.hadoopConfiguration()
        return int(hadoop_path.getFileSystem(conf).getFileStatus(hadoop_path).getLen())
    except Exception as exc:
        if not is_engine_error(exc):
            raise
        return None


def bad_files_frame(
    spark: SparkSession,
    skipped: Sequence[SkippedFile],
    *,
    job: str,
    dataset: str,
    batch_id: int,
    detected: datetime,
) -> DataFrame:
    """The ``ops.bad_files`` rows of the files one batch of ``job`` of ``dataset`` skipped."""
    rows = [
        {
            "path": f.path,
            "size_bytes": _size(spark, f.path),
            "error": f.error,
            "job": job,
            "dataset": dataset,
            "batch_id": batch_id,
            "detected_ts": detected,
            "status": SKIPPED,
            "attempts": 1,
            "resolved_ts": None,
            "rows_ingested": None,
        }
        for f in skipped
    ]
    return local_frame(spark, rows, BAD_FILES.schema)


def pending_bad_files(spark: SparkSession, config: LakehouseConfig) -> list[PendingFile]:
    """The files skipped and not ingested since (their newest row says ``skipped``), oldest
    first; none in a lake made before the table existed."""
    path = table_path(config.lake, BAD_FILES)
    checksum = newest_checksum(spark, path)
    if checksum is not None and checksum.get("numFiles") == 0:
        return []  # no bad file ever (the common case), told without reading the table
    if not DeltaTable.isDeltaTable(spark, path):
        return []
    newest = Window.partitionBy("path")
    rows = (
        spark.read.format("delta")
        .load(path)
        .withColumn("_newest", F.max("attempts").over(newest))
        .where((F.col("attempts") == F.col("_newest")) & (F.col("status") == SKIPPED))
        .orderBy("detected_ts", "path")
        .collect()
    )
    return [
        PendingFile(
            path=r["path"],
            size_bytes=r["size_bytes"],
            error=r["error"],
            job=r["job"],
            dataset=r["dataset"],
            batch_id=int(r["batch_id"]),
            detected_ts=r["detected_ts"],
            attempts=int(r["attempts"]),
        )
        for r in rows
    ]


def render_bad_files(files: Sequence[PendingFile]) -> str:
    """The pending bad files as ``lakehouse status`` shows them (one line each, the path in
    full), with what to do."""
    lines = [f"unreadable landing files ({len(files)}), skipped by bronze:"]
    for f in files:
        size = "?" if f.size_bytes is None else str(f.size_bytes)
        lines.append(
            f"  {f.path} ({size} bytes, batch {f.batch_id}, {f.detected_ts:%Y-%m-%d %H:%M}, "
            f"{f.attempts} attempt(s)): {f.error}"
        )
    lines.append("fix or replace them in place, then: lakehouse run --retry-bad-files")
    return "\n".join(lines)


def _app_id(path: str) -> str:
    return "lakehouse-bad-file-" + hashlib.sha256(path.encode("utf-8")).hexdigest()[:32]


def _retry_one(spark: SparkSession, bronze_path: str, file: PendingFile) -> RetryOutcome:
    started = now()
    try:
        envelopes = landing_envelopes(read_landing_files(spark, [file.path]))
    except Exception as exc:
        if not is_engine_error(exc):
            raise
        return RetryOutcome(file.path, SKIPPED, 0, root_cause(exc))
    if envelopes.skipped:
        return RetryOutcome(file.path, SKIPPED, 0, envelopes.skipped[0].error)
    rows = sum(r.rows for r in envelopes.ranges or ())
    bronze = envelopes.frame.transform(to_bronze(file.batch_id, started))
    # keyed by the file: a second retry of an ingested file (after a crash before its
    # status was updated) writes nothing
    append_idempotent(bronze, bronze_path, _app_id(file.path), 0)
    return RetryOutcome(file.path, INGESTED, rows, None)


def _record(
    spark: SparkSession, config: LakehouseConfig, file: PendingFile, outcome: RetryOutcome
) -> None:
    """Append the file's new state: the table is append-only, a file's newest row (most
    attempts) is its state, so the history of its attempts is kept."""
    ingested = outcome.status == INGESTED
    row = {
        "path": file.path,
        "size_bytes": file.size_bytes,
        "error": file.error if ingested else (outcome.error or file.error),
        "job": file.job,
        "dataset": file.dataset,
        "batch_id": file.batch_id,
        "detected_ts": file.detected_ts,
        "status": outcome.status,
        "attempts": file.attempts + 1,
        "resolved_ts": now() if ingested else None,
        "rows_ingested": outcome.rows if ingested else None,
    }
    frame = local_frame(spark, [row], BAD_FILES.schema)
    path = table_path(config.lake, BAD_FILES)
    with_retries(
        f"append to {BAD_FILES.name}",
        lambda: frame.write.format("delta").mode("append").save(path),
    )


def retry_bad_files(spark: SparkSession, config: LakehouseConfig) -> list[RetryOutcome]:
    """Read every pending bad file again; append the lines of those that read to their
    dataset's bronze table (once per file) and mark them ingested; count an attempt on the
    others. One ``ops.batch_log`` row per dataset and bronze job retried."""
    from lakehouse.platform import load_platform

    platform = load_platform(config)
    session = landing_session(spark)
    pending = pending_bad_files(spark, config)
    outcomes = []
    for dataset, job in sorted({(f.dataset, f.job) for f in pending}):
        started = now()
        bronze_path = table_path(config.lake, platform.dataset(dataset).bronze)
        done = []
        for file in (f for f in pending if (f.dataset, f.job) == (dataset, job)):
            outcome = _retry_one(session, bronze_path, file)
            _record(spark, config, file, outcome)
            done.append(outcome)
        _log(
            spark, config, job=retry_job_name(job), dataset=dataset, started=started, outcomes=done
        )
        outcomes += done
    return outcomes


def _log(
    spark: SparkSession,
    config: LakehouseConfig,
    *,
    job: str,
    dataset: str,
    started: datetime,
    outcomes: Sequence[RetryOutcome],
) -> None:
    finished = now()
    rows = sum(o.rows for o in outcomes if o.status == INGESTED)
    log = {
        "job": job,
        "dataset": dataset,
        "batch_id": int(started.timestamp() * 1000),
        "started_ts": started,
        "finished_ts": finished,
        "duration_ms": int((finished - started).total_seconds() * 1000),
        "rows_in": rows,
        "rows_out": rows,
        "rows_quarantined": 0,
        "status": "ok",
        "blocked_reason": None,
        "source_offsets": None,
        "versions_written": None,
        "step_ms": None,
    }
    local_frame(spark, [log], BATCH_LOG.schema).write.format("delta").mode("append").save(
        table_path(config.lake, BATCH_LOG)
    )
