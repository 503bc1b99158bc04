"""A batch's metrics against explicitly computed expectations, in one Spark job."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.monitoring.history import metrics_frame, metrics_from_row
from lakehouse.monitoring.metrics import measure, metrics_from_values
from lakehouse.monitoring.thresholds import Monitoring
from lakehouse.ops import TABLE_METRICS
from tests.events import SILVER_EVENTS

M = Monitoring(
    null_columns=("device",),
    distinct_columns=("user_id",),
    numeric_columns=("amount",),
    category_columns=("event_type",),
    event_time="event_ts",
    rescued="rescued_data",
)
BATCH_TS = datetime(2026, 11, 23, 12, 0, 30)


def _batch(spark: SparkSession) -> object:
    schema = ", ".join(
        f"{f.name} {f.dataType.simpleString()}"
        for f in SILVER_EVENTS.schema.fields
        if f.name in M.columns
    )
    rows = [
        ("u1", "x", Decimal("1.00"), "a", datetime(2026, 11, 23, 11, 59), {"k": "1"}),
        ("u2", None, Decimal("2.00"), "a", datetime(2026, 11, 23, 12, 0), None),
        ("u3", "y", Decimal("3.00"), "b", datetime(2026, 11, 23, 11, 58), {"k2": "v"}),
        ("u1", None, None, None, datetime(2026, 11, 23, 11, 0), None),
    ]
    columns = ["user_id", "device", "amount", "event_type", "event_ts", "rescued_data"]
    df = spark.createDataFrame(rows, columns).selectExpr(
        *[f"CAST({c} AS {SILVER_EVENTS.schema[c].dataType.simpleString()}) AS {c}" for c in columns]
    )
    assert schema  # every monitored column is a silver column
    return df


def test_metrics_of_a_batch_in_one_spark_job(spark: SparkSession) -> None:
    df = _batch(spark)
    tracker = spark.sparkContext.statusTracker()
    spark.sparkContext.setJobGroup("bare-count", "a bare global count")
    df.agg(F.count(F.lit(1))).first()  # type: ignore[attr-defined]
    spark.sparkContext.setJobGroup("metrics-test", "metrics of one batch")
    try:
        metrics = metrics_from_values(
            measure(df, M),  # type: ignore[arg-type]
            M,
            table_name="silver.events",
            job="silver",
            batch_id=7,
            batch_ts=BATCH_TS.replace(tzinfo=UTC),
            rows_in=6,
            rows_quarantined=2,
            characters_removed={"country": 2, "currency": 0},
        )
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
    # one aggregate: as many Spark jobs as a bare count (adaptive execution runs the
    # shuffle stage of a global aggregate as its own job)
    bare = len(tracker.getJobIdsForGroup("bare-count"))
    assert len(tracker.getJobIdsForGroup("metrics-test")) == bare

    actual = metrics_frame(spark, [metrics], "w1")
    levels_low, levels_mid, levels_high = [1.0] * 6, [2.0] * 7, [3.0] * 6
    expected = spark.createDataFrame(
        [
            {
                "table_name": "silver.events",
                "job": "silver",
                "batch_id": 7,
                "batch_ts": BATCH_TS,
                "batch_date": BATCH_TS.date(),
                "rows": 4,
                "rows_in": 6,
                "rows_quarantined": 2,
                "quarantine_rate": 2 / 6,
                "null_rates": {"device": 0.5},
                "distinct_counts": {"user_id": 3},
                "means": {"amount": 2.0},
                "numeric_counts": {"amount": 3},
                "quantiles": {"amount": levels_low + levels_mid + levels_high},
                "category_counts": {"event_type": {"a": 2, "b": 1, "(null)": 1}},
                "rescued_keys": ["k", "k2"],
                "max_event_ts": datetime(2026, 11, 23, 12, 0),
                "event_lag_seconds": 30.0,
                "_writer_id": "w1",
                "characters_removed": {"country": 2, "currency": 0},
            }
        ],
        TABLE_METRICS.schema,
    )
    assert_df_equality(actual, expected)
    # and the row reads back as the same metrics
    assert metrics_from_row(actual.first()) == metrics


def test_metrics_of_an_empty_batch(spark: SparkSession) -> None:
    df = _batch(spark).limit(0)  # type: ignore[attr-defined]
    metrics = metrics_from_values(
        measure(df, M),
        M,
        table_name="silver.events",
        job="silver",
        batch_id=8,
        batch_ts=BATCH_TS.replace(tzinfo=UTC),
        rows_in=0,
        rows_quarantined=0,
    )
    assert metrics.rows == 0
    assert metrics.null_rates == {"device": 0.0}
    assert metrics.means == {}
    assert metrics.quantiles == {}
    assert metrics.category_counts == {"event_type": {}}
    assert metrics.rescued_keys == ()
    assert metrics.event_lag_seconds is None
