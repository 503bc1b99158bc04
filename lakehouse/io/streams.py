"""Starting streams: triggers, checkpoints, the stream identity, and waiting for them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming.query import StreamingQuery

from lakehouse.config import TriggerConfig, parse_size
from lakehouse.errors import LakehouseError
from lakehouse.io.delta import settle_prefetches

__all__ = [
    "BatchFn",
    "StreamFailed",
    "StreamIdentity",
    "await_stream",
    "read_delta_stream",
    "start_stream",
]

BatchFn = Callable[[DataFrame, int], None]


class StreamFailed(LakehouseError):
    """A streaming query stopped with an error."""


@dataclass
class StreamIdentity:
    """Who writes: the job name and the id of its streaming query.

    The query id is stored in the checkpoint and survives restarts; a new checkpoint gets
    a new id. ``job:query-id`` is the ``txnAppId`` of every idempotent write of the job,
    so a reset checkpoint (batch ids starting again at 0) is never mistaken for a retry.
    """

    job: str
    checkpoint: str
    _query_id: str | None = None

    def app_id(self, spark: SparkSession) -> str:
        if self._query_id is None:
            metadata = spark.read.text(f"{self.checkpoint.rstrip('/')}/metadata").first()
            if metadata is None:
                raise StreamFailed(f"checkpoint {self.checkpoint!r} has no query metadata")
            self._query_id = str(json.loads(metadata["value"])["id"])
        return f"{self.job}:{self._query_id}"


def read_delta_stream(spark: SparkSession, path: str, trigger: TriggerConfig) -> DataFrame:
    """Stream the appends of a Delta table, at most ``trigger.max_bytes_per_batch`` of data
    files per micro-batch; commits that delete or rewrite rows (retention, erasure) are
    skipped instead of failing the stream."""
    return (
        spark.readStream.format("delta")
        .option("skipChangeCommits", "true")
        .option(
            "maxBytesPerTrigger",
            parse_size(trigger.max_bytes_per_batch, "trigger.max_bytes_per_batch"),
        )
        .load(path)
    )


def start_stream(
    df: DataFrame,
    batch_fn: BatchFn,
    checkpoint: str,
    trigger: TriggerConfig,
    name: str,
) -> StreamingQuery:
    """Start ``df`` through ``batch_fn`` (``foreachBatch``) with the configured trigger."""
    writer = df.writeStream.queryName(name).option("checkpointLocation", checkpoint)
    writer = writer.foreachBatch(batch_fn)
    if trigger.mode == "available-now":
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=trigger.interval)
    return writer.start()


def await_stream(query: StreamingQuery, timeout_seconds: int | None = None) -> None:
    """Wait for a query to end (or for the timeout); raise :class:`StreamFailed` on error.

    Then the table-state reads the batches started ahead of time are cancelled (see
    :func:`~lakehouse.io.delta.settle_prefetches`), so none is left running in the
    background.
    """
    try:
        if timeout_seconds is None:
            query.awaitTermination()
        else:
            query.awaitTermination(timeout_seconds)
    except PySparkException as exc:
        raise StreamFailed(f"stream {query.name!r} failed: {_first_line(exc)}") from exc
    finally:
        settle_prefetches()


_PYTHON_ERROR = re.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Failed)): (.+?)(?: SQLSTATE: \w+)*$"
)


def _first_line(exc: BaseException) -> str:
    """The cause of a stream failure in one line: the Python error raised inside
    ``foreachBatch`` when there is one (Spark wraps it in pages of context), else the first
    line of Spark's message."""
    text = str(exc).strip()
    causes = [m for line in text.splitlines() if (m := _PYTHON_ERROR.match(line.strip()))]
    if causes:
        name, message = causes[-1].group(1), causes[-1].group(2)
        return f"{name.rsplit('.', 1)[-1]}: {message}"
    return text.splitlines()[0] if text else type(exc).__name__
