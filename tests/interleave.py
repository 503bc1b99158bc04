"""Forcing an interleaving of two writers: one Spark task holds still until another writer,
run by a thread, has finished."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


@contextmanager
def held_inside_task(
    source: DataFrame, column: str, folder: Path, during: Callable[[], None]
) -> Iterator[DataFrame]:
    """``source`` as one task whose ``column`` passes through a function that waits, inside
    the task (e.g. after a MERGE has read its target), until ``during`` has returned; a
    thread runs ``during`` once the task has started. Leaving the block joins the thread."""
    waiting, done = folder / f"{column}-waiting", folder / f"{column}-done"

    def wait(value: Any) -> Any:  # runs in the Python worker of the task
        waiting.touch()
        deadline = time.monotonic() + 180
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return value

    def other_writer() -> None:
        deadline = time.monotonic() + 180
        while not waiting.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            during()
        finally:
            done.touch()

    thread = threading.Thread(target=other_writer, daemon=True)
    thread.start()
    waiting_udf = F.udf(wait, source.schema[column].dataType)
    try:
        yield source.repartition(1).withColumn(column, waiting_udf(column))
    finally:
        thread.join(timeout=200)
