"""Which batches of a stream run for the first time: those above the newest batch of the
checkpoint's offset log when the run started, in that run only."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.io.attempts import FirstAttempts, batch_ids, newest_planned_batch
from tests.io.spark_jobs import in_run


def _checkpoint(root: Path, offsets: list[int]) -> str:
    (root / "offsets").mkdir(parents=True)
    for batch in offsets:
        (root / "offsets" / str(batch)).write_text("v1\n")
        (root / "offsets" / f".{batch}.crc").write_text("")
    return str(root)


def test_the_newest_planned_batch_is_the_newest_of_the_offset_log(
    spark: SparkSession, tmp_path: Path
) -> None:
    assert newest_planned_batch(spark, str(tmp_path / "new")) == -1
    checkpoint = _checkpoint(tmp_path / "c", [0, 1, 2, 10])
    assert batch_ids(spark, f"{checkpoint}/offsets") == {0, 1, 2, 10}
    assert newest_planned_batch(spark, checkpoint) == 10


def test_only_batches_above_the_newest_planned_one_run_for_the_first_time(
    spark: SparkSession, tmp_path: Path
) -> None:
    checkpoint = _checkpoint(tmp_path / "c", [0, 1, 2])  # batch 2 may have run, partly
    attempts = FirstAttempts()
    assert not attempts.first_attempt(spark, 3)  # no run read yet
    attempts.starting(spark, checkpoint)
    assert not attempts.first_attempt(spark, 3)  # outside a stream's run
    with in_run(spark, "run-a"):
        assert not attempts.first_attempt(spark, 2)  # the batch the last run left
        assert attempts.first_attempt(spark, 3)
        assert attempts.first_attempt(spark, 4)
    with in_run(spark, "run-b"):  # a run whose start was not read: nothing is known
        assert not attempts.first_attempt(spark, 5)
    with in_run(spark, "run-a"):
        assert not attempts.first_attempt(spark, 6)  # nor after it
    attempts.starting(spark, checkpoint)  # the next run, read at its start
    with in_run(spark, "run-c"):
        assert attempts.first_attempt(spark, 3)


def test_every_batch_of_a_new_stream_runs_for_the_first_time(
    spark: SparkSession, tmp_path: Path
) -> None:
    attempts = FirstAttempts()
    attempts.starting(spark, str(tmp_path / "new"))
    with in_run(spark, "run-a"):
        assert attempts.first_attempt(spark, 0)
