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
from lakehouse.engine_errors import interruption
from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.io.attempts import run_id
from lakehouse.io.batch import BatchStats
from lakehouse.io.bronze_job import BronzeJob
from lakehouse.io.contracts import record_contract
from lakehouse.io.faults import fault_point
from lakehouse.io.gold_job import GoldJob
from lakehouse.io.silver_job import SilverJob
from lakehouse.io.streams import BatchFn, start_stream
from lakehouse.platform import DatasetTables, load_platform

__all__ = [
    "JOBS",
    "BatchInterrupted",
    "BatchStats",
    "BronzeJob",
    "GoldJob",
    "SilverJob",
    "job_for",
    "start_job",
    "start_job_stream",
]

JOBS: dict[str, Callable[[LakehouseConfig, DatasetTables], BronzeJob | SilverJob | GoldJob]] = {
    "bronze": BronzeJob,
    "silver": SilverJob,
    "gold": GoldJob,
}


def job_for(
    spark: SparkSession, config: LakehouseConfig, name: str, dataset: str | None = None
) -> BronzeJob | SilverJob | GoldJob:
    """The job ``name`` (bronze, silver or gold) of a dataset; ``dataset`` may be left out
    when the configuration runs one dataset only."""
    if name not in JOBS:
        raise ConfigError(f"unknown job {name!r}; choose one of {', '.join(JOBS)}")
    platform = load_platform(config, spark if name == "gold" else None)
    if dataset is None:
        if len(platform.datasets) != 1:
            raise ConfigError(
                f"job {name!r}: name the dataset, one of {', '.join(platform.datasets)}"
            )
        dataset = next(iter(platform.datasets))
    return JOBS[name](config, platform.dataset(dataset))


def start_job(
    spark: SparkSession,
    config: LakehouseConfig,
    name: str,
    trigger: TriggerConfig | None = None,
    dataset: str | None = None,
) -> StreamingQuery:
    """Start the streaming job ``name`` (bronze, silver or gold) of a dataset.

    The checkpoint is ``<checkpoint_root>/<dataset>/<job>``, the query is named
    ``lakehouse-<dataset>-<job>``; the job is ``bronze-<source type>`` for bronze (one
    checkpoint per source), ``silver`` and ``gold``.
    """
    if trigger is not None:  # the whole job sees it: the batch size limits are read with it
        config = dataclasses.replace(config, trigger=trigger)
    job = job_for(spark, config, name, dataset)
    record_contract(spark, config, job.tables.dataset)
    return start_job_stream(spark, job)


def start_job_stream(spark: SparkSession, job: BronzeJob | SilverJob | GoldJob) -> StreamingQuery:
    """Start the stream of a job made by :func:`job_for`, with its configuration's trigger.

    A job object keeps what its batches learn (the monitors' history, the suites, the cost
    history) for as long as it lives: :func:`start_job` makes a new one, as a new process
    does; starting the same one again continues where its last stream stopped, as a stream
    that never stopped would (the latency benchmark's warm batches). The checkpoint is read
    first: which batches of the run may have run before (:mod:`lakehouse.io.attempts`); the
    monitors' history is read meanwhile (:meth:`~lakehouse.io.batch.BatchWriter.read_ahead`)."""
    job.attempts.starting(spark, job.checkpoint)
    job.read_ahead(spark)
    with job.projections.starting(spark):  # the stream's session: lakehouse.io.projections
        return start_stream(
            job.read(spark),
            _with_commit_fault_point(job, job.job),
            job.checkpoint,
            job.config.trigger,
            name=f"lakehouse-{job.dataset_name}-{job.job}",
        )


class BatchInterrupted(LakehouseError):
    """A micro-batch stopped because its stream was told to stop (the batch runs again from
    the checkpoint when the stream starts again)."""


def _with_commit_fault_point(batch_fn: BatchFn, job: str) -> BatchFn:
    """``batch_fn``, then the ``before_commit`` fault point: every write of the batch is
    done, and Spark has not yet recorded the batch in the checkpoint's commit log.

    A batch interrupted by its stream's stop ends with :class:`BatchInterrupted` saying so
    in one line (:func:`~lakehouse.engine_errors.interruption`), not with the JVM's whole
    stack trace, which Spark could not tell from a failure without overflowing a stack."""

    def run(df: DataFrame, batch_id: int) -> None:
        try:
            batch_fn(df, batch_id)
        except Exception as exc:
            stopped = interruption(exc, run_id(df.sparkSession))
            if stopped is None:
                raise
            raise BatchInterrupted(stopped) from None
        fault_point(job, "before_commit", batch_id)

    return run
