"""Writes of one batch side by side: each in its own session, with its own committed version,
the batch thread's local properties, and every piece run before the first error is raised."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.io.delta import append_idempotent, committed_in_session, latest_version
from lakehouse.io.side_by_side import beside, clone_session, in_session, run_side_by_side


def _rows(spark: SparkSession, n: int) -> DataFrame:
    return spark.createDataFrame([(i, f"r{i}") for i in range(n)], "id long, name string")


def test_each_piece_records_the_version_of_its_own_commit(
    spark: SparkSession, tmp_path: Path
) -> None:
    paths = [str(tmp_path / name) for name in ("a", "b", "c")]
    # the tables are at different versions: a piece reading another's version would show
    for extra, path in enumerate(paths):
        for v in range(extra + 1):
            append_idempotent(_rows(spark, 1), path, "setup", v)
    spark.conf.set("spark.databricks.delta.lastCommitVersionInSession", "77")

    def append_to(path: str, n: int):  # type: ignore[no-untyped-def]
        def piece(session: SparkSession) -> tuple[int, bool, bool]:
            version = append_idempotent(_rows(session, n), path, "sbs", 0)
            return version, committed_in_session(session), session is not spark

        return piece

    results = run_side_by_side(spark, [append_to(p, i + 2) for i, p in enumerate(paths)])

    assert results == [(latest_version(spark, p), True, True) for p in paths]
    assert [r[0] for r in results] == [1, 2, 3]
    assert [spark.read.format("delta").load(p).count() for p in paths] == [3, 5, 7]
    # the batch's own session was left as it was
    assert spark.conf.get("spark.databricks.delta.lastCommitVersionInSession") == "77"
    spark.conf.unset("spark.databricks.delta.lastCommitVersionInSession")


def test_every_piece_runs_then_the_first_error_in_their_order_is_raised(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "t")
    ran: list[str] = []

    def fails(name: str):  # type: ignore[no-untyped-def]
        def piece(session: SparkSession) -> None:
            ran.append(name)
            raise ValueError(name)

        return piece

    def writes(session: SparkSession) -> int:
        ran.append("writes")
        return append_idempotent(_rows(session, 2), path, "sbs", 0)

    with pytest.raises(ValueError, match=r"^first$"):
        run_side_by_side(spark, [fails("first"), writes, fails("second")])
    assert sorted(ran) == ["first", "second", "writes"]
    assert spark.read.format("delta").load(path).count() == 2


def test_pieces_inherit_the_batch_threads_local_properties_and_get_the_settings(
    spark: SparkSession,
) -> None:
    sc = spark.sparkContext
    sc.setLocalProperty("lakehouse.test.property", "batch-7")
    try:

        def piece(session: SparkSession) -> tuple[str | None, str | None, str | None, bool]:
            return (
                session.sparkContext.getLocalProperty("lakehouse.test.property"),
                session.conf.get("spark.sql.shuffle.partitions"),
                session.conf.get("lakehouse.test.setting", None),
                threading.current_thread() is not threading.main_thread(),
            )

        results = run_side_by_side(spark, [piece, piece], {"lakehouse.test.setting": "on"})
    finally:
        sc.setLocalProperty("lakehouse.test.property", None)  # type: ignore[arg-type]
    partitions = spark.conf.get("spark.sql.shuffle.partitions")
    assert results == [("batch-7", partitions, "on", True)] * 2
    assert spark.conf.get("lakehouse.test.setting", None) is None
    assert run_side_by_side(spark, []) == []


def test_a_frame_moved_into_a_clone_keeps_its_rows_and_reads_the_cache(
    spark: SparkSession,
) -> None:
    df = _rows(spark, 5).withColumn("twice", F.col("id") * 2).persist()
    try:
        clone = clone_session(spark, {})
        moved = in_session(df, clone)
        assert moved.sparkSession is clone
        assert_df_equality(moved, df, ignore_row_order=True)
        assert "InMemoryRelation" in moved._jdf.queryExecution().optimizedPlan().toString()
    finally:
        df.unpersist()


def test_a_piece_beside_runs_while_the_block_runs_and_the_block_waits_for_it(
    spark: SparkSession,
) -> None:
    started, release = threading.Event(), threading.Event()
    spark.sparkContext.setLocalProperty("lakehouse.test", "batch")

    def piece(session: SparkSession) -> tuple[str | None, bool, int]:
        started.set()
        release.wait(timeout=30)
        local = session.sparkContext.getLocalProperty("lakehouse.test")
        return local, session is not spark, session.range(3).count()

    try:
        with beside(spark, piece) as ahead:
            assert started.wait(timeout=30)  # running while the block runs
            assert not ahead.done()
            release.set()
        assert ahead.result() == ("batch", True, 3)

        finished = threading.Event()

        def slow(_: SparkSession) -> None:
            time.sleep(0.5)  # still running when the block fails
            finished.set()

        with pytest.raises(ValueError, match="the block failed"), beside(spark, slow):
            raise ValueError("the block failed")
        assert finished.is_set()  # the piece ended before the error left the block
    finally:
        spark.sparkContext.setLocalProperty("lakehouse.test", None)  # type: ignore[arg-type]
