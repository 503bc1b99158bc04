"""The Spark jobs an action runs, for tests of what a write or a check costs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession

__all__ = ["in_run", "jobs_during"]


@contextmanager
def in_run(spark: SparkSession, run: str) -> Iterator[None]:
    """This thread's Spark jobs run as those of a stream's run ``run`` do (Spark names the
    job group of a stream's batches after the run's id)."""
    context = spark.sparkContext
    context.setLocalProperty("spark.jobGroup.id", run)
    try:
        yield
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]


def jobs_during(spark: SparkSession, action: Callable[[], object]) -> list[str]:
    """The descriptions of the Spark jobs submitted while ``action`` runs, in any thread
    (Delta computes a snapshot in a thread of its own); no background read may run then."""
    store = spark.sparkContext._jsc.sc().statusStore()

    def newest() -> int:
        jobs = store.jobsList(None)
        return max((jobs.apply(i).jobId() for i in range(jobs.size())), default=-1)

    before = newest()
    action()
    jobs = store.jobsList(None)
    found = [jobs.apply(i) for i in range(jobs.size())]
    return [
        str(j.description().get()) if j.description().isDefined() else ""
        for j in found
        if j.jobId() > before
    ]
