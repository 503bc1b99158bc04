"""Interpreted or generated projections, chosen per micro-batch by its size.

A Spark task builds its projections, predicates and orderings (Delta's write statistics,
the partition values appended to a file's rows, the operators outside whole-stage code) by
generating their Java source, even when the class compiled from it is cached. In a small
batch that is most of a task's work: in a freshness run of the three layers on two cores,
code generation was 28% of the driver JVM's CPU samples. Spark's interpreted projections
(``spark.sql.codegen.factoryMode`` ``NO_CODEGEN``, an internal setting read wherever one is
made) skip it and cost more per row: measured here, a warm silver batch's fixed cost fell
from 3.1 to 2.4 s while the cost per 1,000 events of bronze and gold about doubled (README,
Performance). So a batch runs interpreted when the job's previous batch had fewer than
:data:`INTERPRETED_BELOW_ROWS` input rows (or it is the job's first), generated otherwise;
whole-stage generated code is the same either way. A value in ``[spark] extra`` is kept
for every batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from pyspark.sql import SparkSession

__all__ = ["FACTORY_MODE", "INTERPRETED_BELOW_ROWS", "ProjectionChoice", "projection_mode"]

FACTORY_MODE = "spark.sql.codegen.factoryMode"
INTERPRETED_BELOW_ROWS = 20_000
INTERPRETED = "NO_CODEGEN"
GENERATED = "FALLBACK"  # Spark's default: generated, interpreted if compiling fails


def projection_mode(previous_rows: int | None, extra: Mapping[str, str]) -> str | None:
    """The factory mode of a batch whose job's previous batch read ``previous_rows`` (None:
    none yet); None when ``extra`` (the configured Spark settings) sets it."""
    if FACTORY_MODE in extra:
        return None
    if previous_rows is None or previous_rows < INTERPRETED_BELOW_ROWS:
        return INTERPRETED
    return GENERATED


class ProjectionChoice:
    """The projection mode of one job's batches, set in each batch's session."""

    def __init__(self, extra: Mapping[str, str]) -> None:
        self._extra = extra
        self._previous_rows: int | None = None

    def begin(self, spark: SparkSession) -> None:
        """Set the mode of the batch about to run in ``spark`` (the batch's session; the
        pieces it runs side by side clone its settings)."""
        mode = projection_mode(self._previous_rows, self._extra)
        if mode is not None:
            spark.conf.set(FACTORY_MODE, mode)

    @contextmanager
    def starting(self, spark: SparkSession) -> Iterator[None]:
        """Start a stream of the job in the block: Spark gives the stream a clone of
        ``spark``'s settings, so its own work (planning each batch, reading the source's
        log) runs in the mode of the first batch; ``spark`` keeps its value afterwards."""
        mode = projection_mode(self._previous_rows, self._extra)
        if mode is None:
            yield
            return
        before = spark.conf.get(FACTORY_MODE, None)
        spark.conf.set(FACTORY_MODE, mode)
        try:
            yield
        finally:
            if before is None:
                spark.conf.unset(FACTORY_MODE)
            else:
                spark.conf.set(FACTORY_MODE, before)

    def ended(self, rows_in: int) -> None:
        """The batch read ``rows_in`` rows: the next batch's mode follows."""
        self._previous_rows = rows_in
