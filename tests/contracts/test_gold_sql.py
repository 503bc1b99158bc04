"""Gold tables as SQL files: the product events' files compute what the Python aggregates
computed, Spark's analysis gives the table schema, and a query naming a missing column is
refused naming the file."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.contracts import load_datasets
from lakehouse.contracts.analyze import gold_frame, gold_tables
from lakehouse.contracts.tables import silver_table
from lakehouse.errors import ContractError
from tests.contracts.declared_events import (
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_EVENTS_PER_MINUTE,
    GOLD_HOURLY_REVENUE,
    SILVER_EVENTS,
)
from tests.contracts.declared_gold import AGGREGATES

ROOT = Path(__file__).resolve().parents[2]
DATASETS = load_datasets(ROOT / "datasets", ROOT / "expectations")
T0 = datetime(2026, 11, 23, 10, 0, 5)


def _silver(spark: SparkSession) -> DataFrame:
    rows = [
        ("e1", "purchase", T0, "u1", "ES", Decimal("10.50"), "EUR"),
        ("e2", "purchase", T0.replace(second=40), "u2", "ES", Decimal("4.50"), "EUR"),
        ("e3", "click", T0.replace(minute=1), "u1", None, None, None),
        ("e4", "purchase", T0.replace(hour=11), "u3", "FR", Decimal("1.00"), "USD"),
        ("e5", "purchase", T0, "u3", "FR", None, "USD"),
    ]
    frame = spark.createDataFrame(
        rows,
        "event_id string, event_type string, event_ts timestamp, user_id string, "
        "country string, amount decimal(18,2), currency string",
    )
    return frame.select(
        *[
            F.col(c) if c in frame.columns else F.lit(None).cast(t).alias(c)
            for c, t in ((f.name, f.dataType) for f in SILVER_EVENTS.schema.fields)
            if c != "event_date"
        ],
        F.to_date("event_ts").alias("event_date"),
    ).select(*SILVER_EVENTS.schema.fieldNames())


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.table.name)
def test_the_sql_files_compute_what_the_python_aggregates_did(
    spark: SparkSession, aggregate: object
) -> None:
    from tests.contracts.declared_gold import Aggregate

    assert isinstance(aggregate, Aggregate)
    silver = _silver(spark)
    gold = next(g for g in DATASETS["events"].gold if f"gold.{g.name}" == aggregate.table.name)
    expected = silver.transform(aggregate.compute(T0)).drop("updated_ts")
    actual = gold_frame(spark, gold, silver).select(*expected.columns)
    assert_df_equality(
        actual, expected, ignore_row_order=True, ignore_nullable=True, ignore_column_order=False
    )


def test_analysis_gives_the_gold_schemas(spark: SparkSession) -> None:
    tables = gold_tables(spark, DATASETS["events"])
    for declared in (GOLD_EVENTS_PER_MINUTE, GOLD_DAILY_ACTIVE_USERS, GOLD_HOURLY_REVENUE):
        table, quarantine = tables[declared.short_name]
        assert [(f.name, f.dataType) for f in table.schema] == [
            (f.name, f.dataType) for f in declared.schema
        ]
        assert dict(table.policy.columns) == dict(declared.policy.columns)
        assert quarantine.name == f"quarantine.gold_{declared.short_name}"
        assert all(not table.schema[k].nullable for k in declared.schema.fieldNames()[:1])


def test_orders_revenue_per_day_from_nested_items(spark: SparkSession) -> None:
    orders = DATASETS["orders"]
    schema = silver_table(orders).schema
    item = "struct<sku:string,quantity:int,unit_price:decimal(12,2)>"
    frame = spark.createDataFrame(
        [
            (
                "o1",
                T0,
                "ES",
                "EUR",
                Decimal("12.00"),
                [("a", 2, Decimal("5.00")), ("b", 1, Decimal("2.00"))],
            ),
            ("o2", T0, "ES", "EUR", Decimal("3.00"), [("a", 3, Decimal("1.00"))]),
            ("o3", T0, "FR", "EUR", Decimal("1.00"), [("c", 1, Decimal("1.00"))]),
        ],
        f"order_id string, ordered_at timestamp, country string, currency string, "
        f"total decimal(14,2), items array<{item}>",
    )
    silver = frame.select(
        *[
            F.col(f.name) if f.name in frame.columns else F.lit(None).cast(f.dataType).alias(f.name)
            for f in schema.fields
            if f.name != "event_date"
        ],
        F.to_date("ordered_at").alias("event_date"),
    )
    actual = gold_frame(spark, orders.gold[0], silver)
    expected = spark.createDataFrame(
        [
            (date(2026, 11, 23), "ES", "EUR", Decimal("15.00"), 2, 6),
            (date(2026, 11, 23), "FR", "EUR", Decimal("1.00"), 1, 1),
        ],
        "order_date date, country string, currency string, revenue decimal(38,2), "
        "orders bigint, units bigint",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_query_naming_a_missing_column_is_refused(spark: SparkSession, tmp_path: Path) -> None:
    import dataclasses

    events = DATASETS["events"]
    gold = events.gold[0]
    bad = dataclasses.replace(gold, sql=gold.sql.replace("user_id", "customer_id"))
    with pytest.raises(ContractError) as error:
        gold_tables(spark, dataclasses.replace(events, gold=(bad,)))
    assert str(gold.path) in str(error.value)
    assert "customer_id" in str(error.value)
    assert "\n" not in str(error.value)
