"""A micro-batch's projections: interpreted after a small batch, generated after a large one."""

from __future__ import annotations

from pyspark.sql import SparkSession

from lakehouse.io.projections import (
    FACTORY_MODE,
    INTERPRETED_BELOW_ROWS,
    ProjectionChoice,
    projection_mode,
)
from lakehouse.io.side_by_side import clone_session


def test_the_mode_follows_the_previous_batch_and_a_configured_one_stays() -> None:
    assert projection_mode(None, {}) == "NO_CODEGEN"  # a job's first batch
    assert projection_mode(0, {}) == "NO_CODEGEN"
    assert projection_mode(INTERPRETED_BELOW_ROWS - 1, {}) == "NO_CODEGEN"
    assert projection_mode(INTERPRETED_BELOW_ROWS, {}) == "FALLBACK"
    assert projection_mode(None, {FACTORY_MODE: "FALLBACK"}) is None
    assert projection_mode(10**6, {FACTORY_MODE: "NO_CODEGEN"}) is None


def test_a_stream_starts_in_its_first_batch_mode_and_the_session_keeps_its_own(
    spark: SparkSession,
) -> None:
    session = clone_session(spark, {})
    session.conf.unset(FACTORY_MODE)  # (a batch run in the shared session may have set it)
    choice = ProjectionChoice({})
    with choice.starting(session):  # Spark clones the session for the stream here
        assert session.conf.get(FACTORY_MODE) == "NO_CODEGEN"
    assert session.conf.get(FACTORY_MODE, None) is None  # unset before, unset after
    session.conf.set(FACTORY_MODE, "CODEGEN_ONLY")
    choice.ended(INTERPRETED_BELOW_ROWS)
    with choice.starting(session):
        assert session.conf.get(FACTORY_MODE) == "FALLBACK"
    assert session.conf.get(FACTORY_MODE) == "CODEGEN_ONLY"
    with ProjectionChoice({FACTORY_MODE: "FALLBACK"}).starting(session):  # configured
        assert session.conf.get(FACTORY_MODE) == "CODEGEN_ONLY"
