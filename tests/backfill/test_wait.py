"""A gold backfill first waits for the gold stream's micro-batch in flight: a batch is in
flight when the checkpoint has its offsets and not its commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.backfill import BackfillError
from lakehouse.backfill.commit import unfinished_batch, wait_for_batch


def _checkpoint(root: Path, offsets: list[int], commits: list[int]) -> str:
    for folder, ids in (("offsets", offsets), ("commits", commits)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for batch in ids:
            (root / folder / str(batch)).write_text("v1\n")
            (root / folder / f".{batch}.crc").write_text("")
    return str(root)


def test_the_batch_in_flight_is_the_newest_planned_and_not_committed(
    spark: SparkSession, tmp_path: Path
) -> None:
    assert unfinished_batch(spark, str(tmp_path / "never-ran")) is None
    assert unfinished_batch(spark, _checkpoint(tmp_path / "a", [0, 1], [0, 1])) is None
    assert unfinished_batch(spark, _checkpoint(tmp_path / "b", [0, 1, 2], [0, 1])) == 2


def test_the_wait_ends_when_the_batch_commits_and_is_bounded(
    spark: SparkSession, tmp_path: Path
) -> None:
    checkpoint = _checkpoint(tmp_path, [0, 1], [0])
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        if clock[0] >= 2:  # the stream commits its batch after two seconds
            _checkpoint(tmp_path, [], [1])

    assert wait_for_batch(spark, checkpoint, 10, clock=lambda: clock[0], sleep=sleep) == 1
    assert clock[0] == 2

    stuck = _checkpoint(tmp_path / "stuck", [0, 1, 2], [0, 1])
    with pytest.raises(
        BackfillError, match=r"has not committed its batch 2 after 3 s.*--stream-wait 0"
    ):
        wait_for_batch(spark, stuck, 3, clock=lambda: clock[0], sleep=sleep)
    # 0: the stream is known to be stopped (it redoes the batch when it restarts)
    assert wait_for_batch(spark, stuck, 0) == 2
