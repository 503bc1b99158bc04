"""``lakehouse backfill`` after a contract fix: silver's days are recomputed from the bronze
deliveries the stream processed (the fixed events join, duplicates and bad rows stay out),
gold's from silver; a dry run writes nothing, a second backfill gives the same rows, and
``ops.backfills`` has one row per table and day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.backfill import backfill, parse_range
from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError
from lakehouse.io.delta import latest_version
from lakehouse.platform import load_platform
from tests.conftest import make_config
from tests.replay.scenario import TS, quarantine_under_narrow_contract

DAYS = parse_range(TS.date().isoformat(), (TS + timedelta(minutes=1)).date().isoformat())


@pytest.fixture(scope="module")
def lake(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LakehouseConfig]:
    root = tmp_path_factory.mktemp("backfill")
    config = make_config(root, gates=False, monitoring=False)
    quarantine_under_narrow_contract(spark, config, root)
    yield config


def test_parse_range_refuses_a_reversed_or_too_long_range() -> None:
    assert parse_range("2026-12-01", "2026-12-03")[-1].isoformat() == "2026-12-03"
    with pytest.raises(ConfigError, match="before --from"):
        parse_range("2026-12-03", "2026-12-01")
    with pytest.raises(ConfigError, match="ISO dates"):
        parse_range("yesterday", "2026-12-01")
    with pytest.raises(ConfigError, match="at most 400"):
        parse_range("2020-01-01", "2026-12-01")


def test_backfill_silver_then_gold_after_a_contract_fix(
    spark: SparkSession, lake: LakehouseConfig
) -> None:
    platform = load_platform(lake, spark)
    tables = platform.dataset("events")
    silver_path = table_path(lake.lake, tables.silver)
    before = latest_version(spark, silver_path)
    dry = backfill(spark, lake, tables, "silver", DAYS, dry_run=True)
    assert sum(r.rows_before for r in dry) == 1  # ok-1
    assert sum(r.rows_after for r in dry) == 3  # ok-1 and the two fixed events
    assert latest_version(spark, silver_path) == before
    assert spark.table("ops.backfills").count() == 0

    done = backfill(spark, lake, tables, "silver", DAYS, requested_by="tester")
    assert [(r.rows_before, r.rows_after) for r in done if r.rows_after] == [
        (r.rows_before, r.rows_after) for r in dry if r.rows_after
    ]
    expected = spark.createDataFrame(
        [("ok-1", "page_view", 0), ("fixed-1", "signup", 1), ("fixed-2", "login", 2)],
        "event_id string, event_type string, _offset long",
    )
    silver = spark.table("silver.events").select("event_id", "event_type", "_offset")
    assert_df_equality(silver, expected, ignore_row_order=True, ignore_nullable=True)
    writers = {r["_writer_id"] for r in spark.table("silver.events").collect()}
    assert len(writers) == 1 and writers.pop().startswith("backfill:")
    # again: the same rows, one more commit per day
    backfill(spark, lake, tables, "silver", DAYS, requested_by="tester")
    assert_df_equality(silver, expected, ignore_row_order=True, ignore_nullable=True)
    log = (
        spark.table("ops.backfills")
        .groupBy("table_name")
        .agg(F.count(F.lit(1)).alias("rows"), F.max("rows_after").alias("most"))
    )
    assert_df_equality(
        log,
        spark.createDataFrame(
            [("silver.events", 2 * len(DAYS), max(r.rows_after for r in done))],
            "table_name string, rows long, most long",
        ),
        ignore_nullable=True,
    )

    backfill(spark, lake, tables, "gold", DAYS, requested_by="tester")
    users = spark.table("gold.daily_active_users").select("event_date", "active_users", "events")
    expected_users = (
        spark.table("silver.events")
        .groupBy("event_date")
        .agg(F.count_distinct("user_id").alias("active_users"), F.count(F.lit(1)).alias("events"))
    )
    assert_df_equality(users, expected_users, ignore_row_order=True, ignore_nullable=True)
    assert sum(r["events"] for r in users.collect()) == 3
