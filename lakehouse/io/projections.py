"""Interpreted or generated projections, chosen per micro-batch by its size.

A Spark task builds its projections, predicates and orderings (Delta's write statistics,
the partition values appended to a file's rows, the operators outside whole-stage code) by
generating their Java source, even when the class compiled from it is cached. In a small
batch that is most of a task's work: in a freshness run of the three layers on two cores,
code generation was 28% of the driver JVM's CPU samples. Spark's interpreted projections
(``spark.sql.codegen.factoryMode`` ``NO_CODEGEN``, an internal setting read wherever one is
made) skip it and cost more per row: measured here, a warm silver batch's fixed cost fell
from 3.1 to 2.4 s while the cost per 1,000 events of bronze and gold about doubled (README,
Performance). So a batch runs interpreted when it is expected to hold fewer than
:data:`INTERPRETED_BELOW_ROWS` rows, generated otherwise; whole-stage generated code is the
same either way. A value in ``[spark] extra`` is kept for every batch.

The rows a batch holds are known only once it has been read, so they are expected from
what Spark's plan says the batch reads: a file or Delta source's batch names its files and
their sizes (no Spark job), turned into rows with the bytes per row of the job's previous
batch (:data:`FIRST_BYTES_PER_ROW` before it has one). A source whose plan has no size
(Kafka, Pub/Sub Lite) is expected to hold what its previous batch held, and a job's first
such batch runs interpreted. A drained backlog's first batch of a million rows is thus
generated, and a freshness stream's batches of a few thousand interpreted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from py4j.protocol import Py4JError  # type: ignore[import-untyped]
from pyspark.sql import DataFrame, SparkSession

from lakehouse.io.side_by_side import setting

__all__ = [
    "FACTORY_MODE",
    "FIRST_BYTES_PER_ROW",
    "INTERPRETED_BELOW_ROWS",
    "ProjectionChoice",
    "batch_bytes",
    "projection_mode",
]

FACTORY_MODE = "spark.sql.codegen.factoryMode"
INTERPRETED_BELOW_ROWS = 20_000
# bytes per row of a job's first batch: between landing JSON lines (about 285 bytes an
# event) and the layers' Parquet files (65-105 bytes a row), measured on product events
FIRST_BYTES_PER_ROW = 200
INTERPRETED = "NO_CODEGEN"
GENERATED = "FALLBACK"  # Spark's default: generated, interpreted if compiling fails


def projection_mode(expected_rows: int | None, extra: Mapping[str, str]) -> str | None:
    """The factory mode of a batch expected to hold ``expected_rows`` rows (None: unknown,
    a job's first batch of a source without sizes); None when ``extra`` (the configured
    Spark settings) sets it."""
    if FACTORY_MODE in extra:
        return None
    if expected_rows is None or expected_rows < INTERPRETED_BELOW_ROWS:
        return INTERPRETED
    return GENERATED


def batch_bytes(batch: DataFrame) -> int | None:
    """The bytes Spark's optimized plan says ``batch`` reads (its files' sizes); None when
    the plan does not know (Spark's default estimate, ``spark.sql.defaultSizeInBytes``).

    In a stream's ``foreachBatch`` the plan is the one the batch runs, already optimized.
    """
    try:
        execution = batch._jdf.queryExecution()
        size = int(str(execution.optimizedPlan().stats().sizeInBytes()))
        unknown = int(execution.sparkSession().sessionState().conf().defaultSizeInBytes())
    except (Py4JError, ValueError):
        return None
    return None if size >= unknown else size


class ProjectionChoice:
    """The projection mode of one job's batches, set in each batch's session."""

    def __init__(self, extra: Mapping[str, str]) -> None:
        self._extra = extra
        self._previous_rows: int | None = None
        self._bytes_per_row: float = FIRST_BYTES_PER_ROW
        self._bytes: int | None = None  # of the batch running

    def expected_rows(self, size: int | None) -> int | None:
        """The rows of a batch of ``size`` bytes (None: not known): the size at the bytes
        per row of the job's previous batch, else as many as the previous batch read."""
        if size is None:
            return self._previous_rows
        return int(size / self._bytes_per_row)

    def begin(self, spark: SparkSession, batch: DataFrame | None = None) -> None:
        """Set the mode of the batch about to run in ``spark`` (the batch's session; the
        pieces it runs side by side clone its settings); ``batch``: what it reads."""
        self._bytes = batch_bytes(batch) if batch is not None else None
        mode = projection_mode(self.expected_rows(self._bytes), self._extra)
        if mode is not None:
            spark.conf.set(FACTORY_MODE, mode)

    @contextmanager
    def starting(self, spark: SparkSession) -> Iterator[None]:
        """Start a stream of the job in the block: Spark gives the stream a clone of
        ``spark``'s settings, so its own work (planning each batch, reading the source's
        log) runs in the mode the previous batch's size calls for; ``spark`` keeps its
        value afterwards."""
        mode = projection_mode(self._previous_rows, self._extra)
        if mode is None:
            yield
            return
        with setting(spark, FACTORY_MODE, mode):
            yield

    def ended(self, rows_in: int) -> None:
        """The batch read ``rows_in`` rows: the next batch's expectation follows."""
        self._previous_rows = rows_in
        if self._bytes and rows_in > 0:
            self._bytes_per_row = self._bytes / rows_in
        self._bytes = None
