from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.contracts.analyze import gold_frame
from tests.events import EVENTS

UPDATED = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
UPDATED_NAIVE = datetime(2026, 11, 23, 13, 0)


def _gold(name: str) -> Callable[[datetime], Callable[[DataFrame], DataFrame]]:
    """The gold SQL file ``name`` of the product events, stamped as the gold job does."""
    gold = next(g for g in EVENTS.gold if g.name == name)

    def compute(updated: datetime) -> Callable[[DataFrame], DataFrame]:
        def transform(silver: DataFrame) -> DataFrame:
            rows = gold_frame(silver.sparkSession, gold, silver)
            return rows.withColumn("updated_ts", F.lit(updated).cast("timestamp"))

        return transform

    return compute


events_per_minute = _gold("events_per_minute")
daily_active_users = _gold("daily_active_users")
hourly_revenue = _gold("hourly_revenue")


def _silver(spark: SparkSession) -> DataFrame:
    rows = [
        # event_ts, event_type, user_id, country, amount, currency
        (datetime(2026, 11, 23, 10, 0, 5), "page_view", "u1", "DE", None, None),
        (datetime(2026, 11, 23, 10, 0, 59), "page_view", "u1", "DE", None, None),
        (datetime(2026, 11, 23, 10, 0, 30), "page_view", "u2", "DE", None, None),
        (datetime(2026, 11, 23, 10, 1, 0), "page_view", "u2", None, None, None),
        (datetime(2026, 11, 23, 10, 15, 0), "purchase", "u1", "DE", Decimal("10.50"), "EUR"),
        (datetime(2026, 11, 23, 10, 59, 59), "purchase", "u2", "DE", Decimal("4.25"), "EUR"),
        (datetime(2026, 11, 23, 11, 0, 0), "purchase", "u3", "US", Decimal("7.00"), "USD"),
        (datetime(2026, 11, 24, 0, 0, 1), "purchase", "u3", "US", None, "USD"),
    ]
    df = spark.createDataFrame(
        rows,
        "event_ts timestamp, event_type string, user_id string, country string, "
        "amount decimal(18,2), currency string",
    )
    return df.selectExpr("*", "to_date(event_ts) AS event_date")


def test_events_per_minute(spark: SparkSession) -> None:
    actual = _silver(spark).transform(events_per_minute(UPDATED))
    m = datetime(2026, 11, 23, 10, 0)
    expected = spark.createDataFrame(
        [
            (m, datetime(2026, 11, 23, 10, 1), "page_view", "DE", 3, 2, UPDATED_NAIVE),
            (
                datetime(2026, 11, 23, 10, 1),
                datetime(2026, 11, 23, 10, 2),
                "page_view",
                "unknown",
                1,
                1,
                UPDATED_NAIVE,
            ),
            (
                datetime(2026, 11, 23, 10, 15),
                datetime(2026, 11, 23, 10, 16),
                "purchase",
                "DE",
                1,
                1,
                UPDATED_NAIVE,
            ),
            (
                datetime(2026, 11, 23, 10, 59),
                datetime(2026, 11, 23, 11, 0),
                "purchase",
                "DE",
                1,
                1,
                UPDATED_NAIVE,
            ),
            (
                datetime(2026, 11, 23, 11, 0),
                datetime(2026, 11, 23, 11, 1),
                "purchase",
                "US",
                1,
                1,
                UPDATED_NAIVE,
            ),
            (
                datetime(2026, 11, 24, 0, 0),
                datetime(2026, 11, 24, 0, 1),
                "purchase",
                "US",
                1,
                1,
                UPDATED_NAIVE,
            ),
        ],
        "window_start timestamp, window_end timestamp, event_type string, country string, "
        "events long, users long, updated_ts timestamp",
    )
    assert_df_equality(actual, expected, ignore_nullable=True, ignore_row_order=True)


def test_daily_active_users(spark: SparkSession) -> None:
    actual = _silver(spark).transform(daily_active_users(UPDATED))
    expected = spark.createDataFrame(
        [(date(2026, 11, 23), 3, 7, UPDATED_NAIVE), (date(2026, 11, 24), 1, 1, UPDATED_NAIVE)],
        "event_date date, active_users long, events long, updated_ts timestamp",
    )
    assert_df_equality(actual, expected, ignore_nullable=True, ignore_row_order=True)


def test_hourly_revenue_counts_only_priced_purchases(spark: SparkSession) -> None:
    actual = _silver(spark).transform(hourly_revenue(UPDATED))
    expected = spark.createDataFrame(
        [
            (datetime(2026, 11, 23, 10, 0), "EUR", Decimal("14.75"), 2, UPDATED_NAIVE),
            (datetime(2026, 11, 23, 11, 0), "USD", Decimal("7.00"), 1, UPDATED_NAIVE),
        ],
        "hour_start timestamp, currency string, revenue decimal(38,2), purchases long, "
        "updated_ts timestamp",
    )
    assert_df_equality(actual, expected, ignore_nullable=True, ignore_row_order=True)
