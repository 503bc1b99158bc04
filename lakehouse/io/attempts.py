"""Which micro-batches of a stream run for the first time.

Spark writes a batch's entry in the checkpoint's offset log (``offsets/<n>``) before it
runs the batch, and runs a batch again only after a restart: the newest planned batch, when
the stream stopped before recording it done (``commits/<n>``). So a batch whose id is above
the newest entry of the offset log when its run started has never run before, and nothing
of it can be in any table. The jobs use this to write their operational rows (metrics,
findings, quality results, the batch log) without Delta's check for a retried batch, which
reads the whole state of a table that every stream appends to (about 0.4 s an append,
paid again after each other writer's commit); a batch that may have run before is checked
(:meth:`lakehouse.io.batch.BatchWriter.append_ops`).
"""

from __future__ import annotations

from pyspark.sql import SparkSession

__all__ = ["FirstAttempts", "batch_ids", "newest_planned_batch", "run_id"]

# Spark runs a stream's batches under a job group named after the run's id
_RUN_ID = "spark.jobGroup.id"


def run_id(spark: SparkSession) -> str | None:
    """The id of the stream run whose batch this thread runs (Spark's job group of the
    batch); None outside a stream's batch."""
    return spark.sparkContext.getLocalProperty(_RUN_ID)


def batch_ids(spark: SparkSession, folder: str) -> set[int]:
    """The batch ids of a checkpoint's ``offsets`` or ``commits`` folder (local or ``gs://``);
    empty when the folder does not exist."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(folder)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return set()
    names = [status.getPath().getName() for status in fs.listStatus(path)]
    return {int(name) for name in names if name.isdigit()}


def newest_planned_batch(spark: SparkSession, checkpoint: str) -> int:
    """The newest batch id in the offset log of ``checkpoint``; -1 when it has none (a new
    stream)."""
    return max(batch_ids(spark, f"{checkpoint.rstrip('/')}/offsets"), default=-1)


class FirstAttempts:
    """Tells whether a batch of a job's stream runs for the first time.

    :meth:`starting` reads the checkpoint just before the stream starts; the first batch
    that asks afterwards ties that reading to its run (Spark's run id, the job group of the
    batch's thread). A batch of another run, of a run whose start was not read, or outside
    any stream (no run id) may have run before: the answer is False, the safe one.
    """

    def __init__(self) -> None:
        self._planned: int | None = None  # newest planned batch when the run started
        self._run: str | None = None  # the run that reading belongs to, once tied

    def starting(self, spark: SparkSession, checkpoint: str) -> None:
        """The stream of ``checkpoint`` is about to start a new run."""
        self._planned = newest_planned_batch(spark, checkpoint)
        self._run = None

    def first_attempt(self, spark: SparkSession, batch_id: int) -> bool:
        """True when batch ``batch_id`` of the current run cannot have run before."""
        run = run_id(spark)
        if run is None or self._planned is None:
            return False
        if self._run is None:
            self._run = run
        elif self._run != run:  # a run started without :meth:`starting`
            self._planned = None
            return False
        return batch_id > self._planned
