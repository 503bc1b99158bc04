"""A silver backfill while the silver stream runs and bronze grows: every bronze delivery
ends in silver or the quarantine exactly once, and silver holds each event once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.backfill import backfill
from lakehouse.catalog import table_path
from lakehouse.config import TriggerConfig
from lakehouse.io.jobs import start_job
from lakehouse.platform import load_platform
from tests.conftest import event_line, make_config, register_lake
from tests.replay.scenario import TS, bronze

pytestmark = pytest.mark.slow


def _lines(first: int, count: int) -> list[bytes]:
    return [
        event_line(f"e-{i}", TS + timedelta(seconds=i), f"u{i}")
        for i in range(first, first + count)
    ]


def test_backfill_while_the_silver_stream_runs_loses_and_duplicates_nothing(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path, gates=False, monitoring=False)
    register_lake(spark, config)
    tables = load_platform(config).dataset("events")
    bronze_path = table_path(config.lake, tables.bronze)

    def land(lines: list[bytes], partition: str) -> None:
        rows = bronze(spark, lines).withColumn("partition", F.lit(partition))
        rows.write.format("delta").mode("append").save(bronze_path)

    land([*_lines(0, 10), event_line("e-0", TS, "u0")], "p1")  # e-0 delivered twice
    query = start_job(
        spark, config, "silver", TriggerConfig("processing-time", "1 second"), "events"
    )
    try:
        query.processAllAvailable()
        day = [TS.date()]
        land(_lines(10, 10), "p2")
        backfill(spark, config, tables, "silver", day)  # races the stream's batch of p2
        land(_lines(20, 10), "p3")
        backfill(spark, config, tables, "silver", day)
        query.processAllAvailable()
    finally:
        query.stop()
    silver = spark.table("silver.events").select("event_id", "_partition", "_offset")
    expected = spark.createDataFrame(
        [(f"e-{i}", f"p{i // 10 + 1}", i % 10) for i in range(30)],
        "event_id string, _partition string, _offset long",
    )
    assert_df_equality(silver, expected, ignore_row_order=True, ignore_nullable=True)
    quarantine = spark.table("quarantine.silver_events").select("_partition", "_offset", "reason")
    assert_df_equality(
        quarantine,
        spark.createDataFrame(
            [("p1", 10, "duplicate_event_id")], "_partition string, _offset long, reason string"
        ),
        ignore_nullable=True,
    )
