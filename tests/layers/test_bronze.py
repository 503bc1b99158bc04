from __future__ import annotations

from datetime import UTC, date, datetime

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from lakehouse.layers.bronze import to_bronze
from tests.events import BRONZE_EVENTS


def test_to_bronze_adds_ingest_columns_in_table_order(spark: SparkSession) -> None:
    envelopes = spark.createDataFrame(
        [("kafka", "events/3", 41, b"k", b"{}", {"h": "v"}, None, None)],
        "source string, partition string, offset long, key binary, payload binary, "
        "attributes map<string,string>, publish_ts timestamp, source_event_ts timestamp",
    )
    ingest = datetime(2026, 11, 23, 23, 59, 59, tzinfo=UTC)
    actual = envelopes.transform(to_bronze(7, ingest))
    expected = spark.createDataFrame(
        [
            (
                "kafka",
                "events/3",
                41,
                b"k",
                b"{}",
                {"h": "v"},
                None,
                None,
                datetime(2026, 11, 23, 23, 59, 59),
                date(2026, 11, 23),
                7,
            )
        ],
        BRONZE_EVENTS.schema,
    )
    assert_df_equality(actual, expected, ignore_nullable=True)
