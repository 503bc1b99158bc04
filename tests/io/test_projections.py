"""A micro-batch's projections: interpreted for a small batch, generated for a large one, by
the size Spark's plan gives the batch, else by the previous batch's rows."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from lakehouse.io.projections import (
    FACTORY_MODE,
    FIRST_BYTES_PER_ROW,
    INTERPRETED_BELOW_ROWS,
    ProjectionChoice,
    batch_bytes,
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


def _sized(spark: SparkSession, size: int) -> DataFrame:
    """A DataFrame whose plan says it reads ``size`` bytes (a range: 8 bytes a row)."""
    assert size % 8 == 0
    return spark.range(size // 8)


def test_a_batch_is_sized_by_its_plan_and_the_rows_by_the_previous_batch(
    spark: SparkSession,
) -> None:
    session = clone_session(spark, {})
    choice = ProjectionChoice({})
    modes = []

    def batch(df: DataFrame, rows: int) -> None:
        choice.begin(session, df)
        modes.append(session.conf.get(FACTORY_MODE))
        choice.ended(rows)

    big = INTERPRETED_BELOW_ROWS * FIRST_BYTES_PER_ROW  # bytes
    # a job's first batch: its size at FIRST_BYTES_PER_ROW
    batch(_sized(session, big - 8), 500_000)  # ~20,000 rows expected: interpreted
    # from then on the previous batch's bytes per row: (big - 8) / 500,000, about 8
    batch(_sized(session, big), INTERPRETED_BELOW_ROWS)  # ~500,000 rows: generated
    # now 200 bytes a row again
    batch(_sized(session, big // 2), 10)  # 10,000 rows expected: interpreted
    # a batch whose size the plan does not know: as many rows as the previous one
    unknown = session.createDataFrame(session.sparkContext.parallelize([(1,)]), "x int")
    assert batch_bytes(unknown) is None
    batch(unknown, INTERPRETED_BELOW_ROWS)  # after 10 rows: interpreted
    batch(unknown, 5)  # after 20,000 rows: generated
    assert modes == ["NO_CODEGEN", "FALLBACK", "NO_CODEGEN", "NO_CODEGEN", "FALLBACK"]
    choice.begin(session)  # no batch given: the previous batch's 5 rows
    assert session.conf.get(FACTORY_MODE) == "NO_CODEGEN"


def test_a_delta_batch_is_sized_by_its_files(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    spark.range(1000).write.format("delta").save(path)
    spark.range(500).write.format("delta").mode("append").save(path)
    files = sum(f.stat().st_size for f in Path(path).glob("*.parquet"))
    assert batch_bytes(spark.read.format("delta").load(path)) == files


def test_a_configured_mode_is_left_alone_whatever_the_size(spark: SparkSession) -> None:
    session = clone_session(spark, {})
    session.conf.set(FACTORY_MODE, "CODEGEN_ONLY")
    ProjectionChoice({FACTORY_MODE: "CODEGEN_ONLY"}).begin(session, _sized(session, 8))
    assert session.conf.get(FACTORY_MODE) == "CODEGEN_ONLY"


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
