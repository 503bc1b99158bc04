"""The windows a gold batch replaces: literals Spark reads back as the values they name, and
the upsert a table falls back to when its rows are not in the windows its header names."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType

from lakehouse.config import LakehouseConfig
from lakehouse.io.gold_job import quoted, sql_literal, windows_predicate
from lakehouse.io.jobs import GoldJob, SilverJob
from tests.conftest import event_line, landing_bronze, with_checkpoint
from tests.events import platform

NOW = datetime.now(UTC).replace(microsecond=0)


def test_window_literals_read_back_as_the_values_they_name(spark: SparkSession) -> None:
    values = spark.sql(
        "SELECT TIMESTAMP'2026-12-05 10:01:00.123456' AS ts, DATE'2026-12-05' AS d, "
        "'it''s a \\\\ path' AS s, CAST(42 AS BIGINT) AS n, "
        "CAST(NULL AS TIMESTAMP) AS missing"
    )
    columns = {
        name: sql_literal(F.col(name), values.schema[name].dataType) for name in values.columns
    }
    texts = values.select(*[c.alias(n) for n, c in columns.items() if c is not None]).first()
    assert texts is not None
    assert texts["ts"] == "TIMESTAMP'2026-12-05 10:01:00.123456'"
    assert texts["missing"] is None  # the null window: IS NULL in the predicate
    back = spark.sql(
        f"SELECT {texts['ts']} AS ts, {texts['d']} AS d, {texts['s']} AS s, {texts['n']} AS n"
    ).first()
    assert back is not None
    assert back.asDict() == {
        "ts": datetime(2026, 12, 5, 10, 1, 0, 123456),
        "d": date(2026, 12, 5),
        "s": "it's a \\ path",
        "n": 42,
    }


def test_a_window_type_without_a_literal_here_has_none() -> None:
    assert sql_literal(F.col("x"), DoubleType()) is None


def test_windows_predicate_names_each_window_and_the_null_one() -> None:
    literals = {"DATE'2026-12-05'", "DATE'2026-12-04'", None}
    assert windows_predicate(quoted("event_date"), literals) == (
        "`event_date` IN (DATE'2026-12-04', DATE'2026-12-05') OR `event_date` IS NULL"
    )
    assert windows_predicate(quoted("a`b"), {"1"}) == "`a``b` IN (1)"
    assert windows_predicate("(to_date(ts))", {None}) == "(to_date(ts)) IS NULL"


def test_a_table_whose_rows_fall_outside_their_windows_is_upserted_from_then_on(
    spark: SparkSession, lake: LakehouseConfig, caplog: pytest.LogCaptureFixture
) -> None:
    # the header says the window is the hour while the SQL writes minutes: the replacement
    # refuses a row outside its predicate, the job warns and upserts the table instead
    tables = platform(spark).dataset("events")
    hourly = tuple(
        (dataclasses.replace(g, window_expr="date_trunc('hour', event_ts)"), t, q)
        if g.name == "events_per_minute"
        else (g, t, q)
        for g, t, q in tables.gold
    )
    tables = dataclasses.replace(tables, gold=hourly)
    for job in ("silver", "gold"):
        with_checkpoint(lake, job)
    hour = (NOW - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    silver = SilverJob(lake, platform().dataset("events"))
    gold = GoldJob(lake, tables)
    lines = [event_line("a", hour + timedelta(minutes=1), "u1")]
    silver(landing_bronze(spark, lines, NOW, "f1"), 0)
    later = [event_line("b", hour + timedelta(minutes=2), "u2")]
    with caplog.at_level(logging.WARNING, logger="lakehouse.io.gold_job"):
        gold(spark.table("silver.events"), 0)
        silver(landing_bronze(spark, later, NOW, "f2"), 1)
        gold(spark.table("silver.events").where("event_id = 'b'"), 1)
    warned = [r for r in caplog.records if "upserted instead" in r.getMessage()]
    assert len(warned) == 1  # once: the second batch upserts without trying

    start = hour.replace(tzinfo=None)
    expected = spark.createDataFrame(
        [(start + timedelta(minutes=1), 1), (start + timedelta(minutes=2), 1)],
        "window_start timestamp, events long",
    )
    stored = spark.table("gold.events_per_minute").select(*expected.columns)
    assert_df_equality(stored, expected, ignore_nullable=True, ignore_row_order=True)
    operations = DeltaTable.forName(spark, "gold.events_per_minute").history(2).collect()
    assert [r["operation"] for r in operations] == ["MERGE", "MERGE"]
    # the other tables' windows are replaced as before
    newest = DeltaTable.forName(spark, "gold.daily_active_users").history(1).first()
    assert newest is not None and newest["operation"] == "WRITE"


def test_windows_past_the_cap_are_found_by_a_join_with_the_batch_and_upserted(
    spark: SparkSession, lake: LakehouseConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # more windows than the cap (here: any): no literals, the windows are the batch's own,
    # joined with silver, and the recomputed rows are upserted
    monkeypatch.setattr("lakehouse.io.gold_job.MAX_REPLACED_WINDOWS", 0)
    for job in ("silver", "gold"):
        with_checkpoint(lake, job)
    hour = (NOW - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    silver = SilverJob(lake, platform().dataset("events"))
    gold = GoldJob(lake, platform(spark).dataset("events"))
    first = [event_line("a", hour + timedelta(minutes=1), "u1")]
    silver(landing_bronze(spark, first, NOW, "f1"), 0)
    gold(spark.table("silver.events"), 0)
    # a late event in the first minute, and one in a minute of its own
    later = [
        event_line("b", hour + timedelta(minutes=1, seconds=30), "u2"),
        event_line("c", hour + timedelta(minutes=3), "u2"),
    ]
    silver(landing_bronze(spark, later, NOW, "f2"), 1)
    gold(spark.table("silver.events").where("event_id != 'a'"), 1)

    start = hour.replace(tzinfo=None)
    expected = spark.createDataFrame(
        [(start + timedelta(minutes=1), 2, 2), (start + timedelta(minutes=3), 1, 1)],
        "window_start timestamp, events long, users long",
    )
    stored = spark.table("gold.events_per_minute").select(*expected.columns)
    assert_df_equality(stored, expected, ignore_nullable=True, ignore_row_order=True)
    expected = spark.createDataFrame(
        [(start.date(), 2, 3)], "event_date date, active_users long, events long"
    )
    stored = spark.table("gold.daily_active_users").select(*expected.columns)
    assert_df_equality(stored, expected, ignore_nullable=True, ignore_row_order=True)
    newest = DeltaTable.forName(spark, "gold.events_per_minute").history(1).first()
    assert newest is not None and newest["operation"] == "MERGE"
