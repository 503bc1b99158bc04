"""``ops.stream_failures``: a stream that stopped with an error, recorded by the driver that
saw it (``lakehouse run`` and the Dataproc job entry points, which run it), so that
``lakehouse status`` can say FAILED instead of showing the last good batch as current."""

from __future__ import annotations

import logging
import socket
import uuid
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.frames import local_frame
from lakehouse.ops import STREAM_FAILURES

__all__ = ["ERROR_CHARS", "record_stream_failure"]

ERROR_CHARS = 1000
_log = logging.getLogger(__name__)


def _one_line(error: str) -> str:
    line = " ".join(error.split())
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 3] + "..."


def record_stream_failure(
    spark: SparkSession,
    config: LakehouseConfig,
    *,
    dataset: str | None,
    job: str,
    query_name: str,
    error: str,
    log_file: str | None = None,
    failed_ts: datetime | None = None,
) -> bool:
    """Append one row for a stream that stopped with ``error``; True when written. Never
    raises: the failure being recorded is what the caller reports, whatever happens here
    (e.g. the lake itself is what failed)."""
    row = {
        "failure_id": uuid.uuid4().hex,
        "dataset": dataset,
        "job": job,
        "query_name": query_name,
        "failed_ts": (failed_ts or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None),
        "error": _one_line(error),
        "log_file": log_file,
        "host": socket.gethostname(),
    }
    try:
        frame = local_frame(spark, [row], STREAM_FAILURES.schema)
        frame.write.format("delta").mode("append").save(table_path(config.lake, STREAM_FAILURES))
    except Exception:
        _log.warning(
            "could not record the failure of %s in %s",
            query_name,
            STREAM_FAILURES.name,
            exc_info=True,
        )
        return False
    return True
