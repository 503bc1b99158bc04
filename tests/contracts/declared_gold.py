"""Gold aggregates of the product events as the package computed them in Python before the
gold SQL files (datasets/events/gold/): the reference of the SQL equivalence tests.

Each aggregate is a pure function of silver rows. The gold job recomputes, for every
window a micro-batch touches, the whole window from silver and upserts it: late events
update the right window, and a retried batch writes the same values again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.ops import TableDef
from tests.contracts.declared_events import (
    GOLD_DAILY_ACTIVE_USERS,
    GOLD_EVENTS_PER_MINUTE,
    GOLD_HOURLY_REVENUE,
    REVENUE_TYPE,
)

__all__ = [
    "AGGREGATES",
    "UNKNOWN_COUNTRY",
    "Aggregate",
    "daily_active_users",
    "events_per_minute",
    "hourly_revenue",
    "to_gold_quarantine",
]

UNKNOWN_COUNTRY = "unknown"


def _stamp(df: DataFrame, updated_ts: datetime, table: TableDef) -> DataFrame:
    return df.withColumn("updated_ts", F.lit(updated_ts).cast("timestamp")).select(
        *table.schema.fieldNames()
    )


def events_per_minute(updated_ts: datetime) -> Callable[[DataFrame], DataFrame]:
    """Events and distinct users per minute, event type and country."""

    def transform(silver: DataFrame) -> DataFrame:
        start = F.date_trunc("minute", "event_ts")
        agg = silver.groupBy(
            start.alias("window_start"),
            "event_type",
            F.coalesce("country", F.lit(UNKNOWN_COUNTRY)).alias("country"),
        ).agg(F.count(F.lit(1)).alias("events"), F.count_distinct("user_id").alias("users"))
        agg = agg.withColumn("window_end", F.col("window_start") + F.expr("INTERVAL 1 MINUTE"))
        return _stamp(agg, updated_ts, GOLD_EVENTS_PER_MINUTE)

    return transform


def daily_active_users(updated_ts: datetime) -> Callable[[DataFrame], DataFrame]:
    """Distinct users and events per UTC day."""

    def transform(silver: DataFrame) -> DataFrame:
        agg = silver.groupBy("event_date").agg(
            F.count_distinct("user_id").alias("active_users"),
            F.count(F.lit(1)).alias("events"),
        )
        return _stamp(agg, updated_ts, GOLD_DAILY_ACTIVE_USERS)

    return transform


def hourly_revenue(updated_ts: datetime) -> Callable[[DataFrame], DataFrame]:
    """Revenue and number of purchases per hour and currency."""

    def transform(silver: DataFrame) -> DataFrame:
        purchases = silver.where(
            (F.col("event_type") == "purchase")
            & F.col("amount").isNotNull()
            & F.col("currency").isNotNull()
        )
        agg = purchases.groupBy(
            F.date_trunc("hour", "event_ts").alias("hour_start"), "currency"
        ).agg(
            F.sum("amount").cast(REVENUE_TYPE).alias("revenue"),
            F.count(F.lit(1)).alias("purchases"),
        )
        return _stamp(agg, updated_ts, GOLD_HOURLY_REVENUE)

    return transform


@dataclass(frozen=True)
class Aggregate:
    """A gold table: how to compute it, its keys, and which silver rows a window needs."""

    table: TableDef
    compute: Callable[[datetime], Callable[[DataFrame], DataFrame]]
    keys: tuple[str, ...]
    window_key: str  # the time key of the table
    window_of: Callable[[], Column]  # the same key computed from a silver row


AGGREGATES: tuple[Aggregate, ...] = (
    Aggregate(
        GOLD_EVENTS_PER_MINUTE,
        events_per_minute,
        ("window_start", "event_type", "country"),
        "window_start",
        lambda: F.date_trunc("minute", "event_ts"),
    ),
    Aggregate(
        GOLD_DAILY_ACTIVE_USERS,
        daily_active_users,
        ("event_date",),
        "event_date",
        lambda: F.col("event_date"),
    ),
    Aggregate(
        GOLD_HOURLY_REVENUE,
        hourly_revenue,
        ("hour_start", "currency"),
        "hour_start",
        lambda: F.date_trunc("hour", "event_ts"),
    ),
)


def to_gold_quarantine(
    table: TableDef, writer_id: str, batch_id: int, quarantine_ts: datetime
) -> Callable[[DataFrame], DataFrame]:
    """Rows of a gold table refused by its gate (``_gate_reasons``), as quarantine rows."""

    def transform(refused: DataFrame) -> DataFrame:
        return refused.select(
            *table.schema.fieldNames(),
            F.get(F.col("_gate_reasons"), 0).alias("reason"),
            F.col("_gate_reasons").alias("reasons"),
            F.lit(quarantine_ts).cast("timestamp").alias("quarantine_ts"),
            F.lit(writer_id).alias("_writer_id"),
            F.lit(batch_id).cast("long").alias("_batch_id"),
        )

    return transform
