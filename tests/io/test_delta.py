"""Delta writes: idempotent and blind appends, replaced windows, and the table state read
ahead of them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from lakehouse.io.delta import (
    RowsOutsideReplace,
    append,
    append_idempotent,
    batch_rows_present,
    committed_in_session,
    latest_version,
    prefetch_state,
    read_pinned,
    replace_where,
    settle_prefetches,
    upsert,
    wait_for_prefetches,
)
from tests.io.spark_jobs import jobs_during


def test_an_append_after_a_prefetch_runs_no_job_to_check_the_batch(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "table")
    spark.range(1).write.format("delta").save(path)
    df = spark.range(3)

    plain = jobs_during(spark, lambda: df.write.format("delta").mode("append").save(path))
    checked = jobs_during(spark, lambda: append_idempotent(df, path, "app", 0))
    prefetch_state(spark, path).result()
    ahead = jobs_during(spark, lambda: append_idempotent(df, path, "app", 1))

    assert len(checked) > len(plain)  # without the prefetch, Delta reads the state inline
    assert len(ahead) == len(plain)


def test_a_blind_append_reads_no_state_when_another_writer_committed_before(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "table")
    spark.range(1).write.format("delta").save(path)
    df, other = spark.range(3), spark.newSession()

    plain = jobs_during(spark, lambda: df.write.format("delta").mode("append").save(path))
    other.range(1).write.format("delta").mode("append").save(path)
    checked = jobs_during(spark, lambda: append_idempotent(df, path, "app", 0))
    other.range(1).write.format("delta").mode("append").save(path)
    blind = jobs_during(spark, lambda: append(df, path))

    assert len(checked) > len(plain)  # Delta reads the state of the newer version inline
    assert len(blind) == len(plain)
    assert spark.read.format("delta").load(path).count() == 1 + 3 + 1 + 3 + 1 + 3


def test_a_cached_read_of_the_pinned_version_survives_a_write_to_its_table(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "table")
    spark.range(3).write.format("delta").save(path)
    pinned = read_pinned(spark, path).persist()
    unpinned = spark.read.format("delta").load(path).where("id >= 0").persist()
    try:
        assert (pinned.count(), unpinned.count()) == (3, 3)

        append(spark.range(3, 5), path)
        # Spark re-plans a cached read of the table by path after the write: it is computed
        # again, from the new version; the pinned read keeps the rows it cached, and using
        # them runs no job that reads the table again
        assert unpinned.count() == 5
        again = jobs_during(spark, pinned.count)
        assert pinned.count() == 3
        assert not [j for j in again if "Filtering files" in j or "snapshot" in j]
    finally:
        pinned.unpersist()
        unpinned.unpersist()
    assert read_pinned(spark, path).count() == 5  # a new read pins the newest version


def test_the_latest_version_is_read_from_the_log(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    assert latest_version(spark, path) == -1
    spark.range(1).write.format("delta").save(path)
    other = spark.newSession()  # a commit this session did not make
    other.range(1).write.format("delta").mode("append").save(path)

    assert jobs_during(spark, lambda: latest_version(spark, path)) == []
    assert latest_version(spark, path) == 1


def test_waiting_for_the_reads_ahead_lets_them_finish(spark: SparkSession, tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    spark.range(1).write.format("delta").save(path)
    read = prefetch_state(spark, path)
    wait_for_prefetches()
    assert read.done() and not read.cancelled()
    df = spark.range(3)
    ahead = jobs_during(spark, lambda: append_idempotent(df, path, "app", 0))
    plain = jobs_during(spark, lambda: df.write.format("delta").mode("append").save(path))
    assert len(ahead) == len(plain)


def test_the_rows_of_a_batch_are_found_by_writer_and_batch(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "table")
    rows = [("job:q1", 0), ("job:q1", 1), ("job:q2", 2)]
    spark.createDataFrame(rows, "_writer_id string, batch_id long").write.format("delta").save(path)
    assert batch_rows_present(spark, path, "job:q1", 1)
    assert not batch_rows_present(spark, path, "job:q1", 2)
    assert not batch_rows_present(spark, path, "job:q2", 0)


def test_an_upsert_after_a_prefetch_reads_no_state_inline(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "table")
    spark.createDataFrame([(1, "a")], "k int, v string").write.format("delta").save(path)

    def rows(v: str) -> DataFrame:
        return spark.createDataFrame([(1, v), (2, v)], "k int, v string")

    inline = jobs_during(spark, lambda: upsert(rows("b"), path, ["k"]))
    ahead_version = upsert(rows("c"), path, ["k"])
    prefetch_state(spark, path).result()
    ahead = jobs_during(spark, lambda: upsert(rows("d"), path, ["k"]))

    def snapshots(jobs: list[str]) -> list[str]:
        return [j for j in jobs if "Compute snapshot" in j]

    assert snapshots(inline)  # without the prefetch, the MERGE reads the state inline
    assert not snapshots(ahead)  # it found the state of the table's version ready
    assert len(ahead) < len(inline)
    assert ahead_version == 2
    expected = spark.createDataFrame([(1, "d"), (2, "d")], "k int, v string")
    actual = spark.read.format("delta").load(path)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_retried_batch_is_still_skipped_when_the_state_was_read_ahead(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "table")
    spark.range(1).write.format("delta").save(path)
    first = append_idempotent(spark.range(2), path, "app", 7)
    prefetch_state(spark, path).result()

    again = append_idempotent(spark.range(5), path, "app", 7)

    assert again == first
    assert not committed_in_session(spark)
    actual = spark.read.format("delta").load(path)
    expected = spark.createDataFrame([(0,), (0,), (1,)], "id long")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_prefetch_that_fails_is_logged_not_raised(
    spark: SparkSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "not-delta"
    spark.range(1).write.parquet(str(folder))

    with caplog.at_level(logging.WARNING, logger="lakehouse.io.delta"):
        prefetch_state(spark, str(folder)).result()  # raises nothing

    assert f"prefetching the state of {folder} failed" in caplog.text


def test_settling_leaves_no_prefetch_running(
    spark: SparkSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    paths = [str(tmp_path / name) for name in ("a", "b", "c")]
    for path in paths:
        spark.range(1).write.format("delta").save(path)
    futures = [prefetch_state(spark, path) for path in paths]

    with caplog.at_level(logging.WARNING, logger="lakehouse.io.delta"):
        settle_prefetches()  # a stream ended: the running read is cancelled, not waited for

    assert all(f.done() for f in futures)  # read, cancelled, or dropped before it started
    assert spark.sparkContext.statusTracker().getActiveJobsIds() == []
    assert caplog.text == ""  # a cancelled read is no failure
    # a read cut short leaves nothing behind: the tables read and take writes as before
    for path in paths:
        assert append_idempotent(spark.range(1), path, "after", 0) == 1
        assert spark.read.format("delta").load(path).count() == 2


def test_a_replacement_replaces_only_its_rows_and_refuses_a_row_outside_them(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "table")
    schema = "w long, n string"
    spark.createDataFrame([(1, "old"), (2, "old"), (3, "old")], schema).write.format("delta").save(
        path
    )
    predicate = "w IN (2, 3, 4) OR w IS NULL"

    version = replace_where(
        spark.createDataFrame([(2, "new"), (4, "new")], schema), path, predicate
    )

    expected = spark.createDataFrame([(1, "old"), (2, "new"), (4, "new")], schema)
    stored = spark.read.format("delta").load(path)
    assert_df_equality(stored, expected, ignore_row_order=True, ignore_nullable=True)
    assert version == 1 == latest_version(spark, path)
    # a row outside (w = 5) fails the write, whatever else it holds; nothing is written
    outside = spark.createDataFrame([(3, "new"), (None, "new"), (5, "new")], schema)
    with pytest.raises(RowsOutsideReplace, match=r"table: a row to write is outside .*w IN"):
        replace_where(outside, path, predicate)
    assert latest_version(spark, path) == 1
    # Delta's own check (off during the write, which checks instead) is as it was
    conf = "spark.databricks.delta.replaceWhere.constraintCheck.enabled"
    assert spark.conf.get(conf, None) is None
    spark.conf.set(conf, "true")
    replace_where(spark.createDataFrame([(None, "null")], schema), path, predicate)
    assert spark.conf.get(conf) == "true"
    spark.conf.unset(conf)
    expected = spark.createDataFrame([(1, "old"), (None, "null")], schema)
    stored = spark.read.format("delta").load(path)
    assert_df_equality(stored, expected, ignore_row_order=True, ignore_nullable=True)
