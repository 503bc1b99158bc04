"""Streams over Delta tables: bounded micro-batches."""

from __future__ import annotations

from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import TriggerConfig
from lakehouse.io.streams import await_stream, read_delta_stream, start_stream


def test_a_backlog_is_read_in_batches_of_bounded_size(spark: SparkSession, tmp_path: Path) -> None:
    table = str(tmp_path / "table")
    for start in (0, 10, 20):  # three commits of one data file each
        spark.range(start, start + 10, numPartitions=1).write.format("delta").mode("append").save(
            table
        )
    seen: list[tuple[int, int]] = []

    def collect(batch: DataFrame, batch_id: int) -> None:
        seen.extend((batch_id, int(row["id"])) for row in batch.collect())

    trigger = TriggerConfig(max_bytes_per_batch="1b")  # at least one file per batch
    query = start_stream(
        read_delta_stream(spark, table, trigger),
        collect,
        str(tmp_path / "checkpoint"),
        trigger,
        name="bounded",
    )
    await_stream(query, 120)

    actual = spark.createDataFrame(seen, "batch long, id long")
    expected = spark.createDataFrame(
        [(b, b * 10 + i) for b in range(3) for i in range(10)], "batch long, id long"
    )
    assert_df_equality(actual, expected, ignore_row_order=True)
