"""The streaming jobs by name, and how to start one.

Every micro-batch writes all its tables with Delta idempotent appends keyed by the stream
identity and the batch id, or with upserts of recomputed rows, so a retried batch writes
nothing twice. The transformations themselves live in :mod:`lakehouse.layers`; the shared
bookkeeping in :mod:`lakehouse.io.batch`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming.query import StreamingQuery

from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.errors import ConfigError
from lakehouse.io.batch import BatchStats
from lakehouse.io.bronze_job import BronzeJob
from lakehouse.io.faults import fault_point
from lakehouse.io.gold_job import GoldJob
from lakehouse.io.silver_job import SilverJob
from lakehouse.io.streams import BatchFn, start_stream

__all__ = ["JOBS", "BatchStats", "BronzeJob", "GoldJob", "SilverJob", "start_job"]

JOBS: dict[str, Callable[[LakehouseConfig], BronzeJob | SilverJob | GoldJob]] = {
    "bronze": BronzeJob,
    "silver": SilverJob,
    "gold": GoldJob,
}


def start_job(
    spark: SparkSession,
    config: LakehouseConfig,
    name: str,
    trigger: TriggerConfig | None = None,
) -> StreamingQuery:
    """Start the streaming job ``name`` (bronze, silver or gold) with its checkpoint.

    The checkpoint and the query are named after the job: ``bronze-<source type>`` for
    bronze (one checkpoint per source), ``silver`` and ``gold``.
    """
    if name not in JOBS:
        raise ConfigError(f"unknown job {name!r}; choose one of {', '.join(JOBS)}")
    if trigger is not None:  # the whole job sees it: the batch size limits are read with it
        config = dataclasses.replace(config, trigger=trigger)
    job = JOBS[name](config)
    return start_stream(
        job.read(spark),
        _with_commit_fault_point(job, job.job),
        config.lake.checkpoint(job.job),
        config.trigger,
        name=f"lakehouse-{job.job}",
    )


def _with_commit_fault_point(batch_fn: BatchFn, job: str) -> BatchFn:
    """``batch_fn``, then the ``before_commit`` fault point: every write of the batch is
    done, and Spark has not yet recorded the batch in the checkpoint's commit log."""

    def run(df: DataFrame, batch_id: int) -> None:
        batch_fn(df, batch_id)
        fault_point(job, "before_commit", batch_id)

    return run
