from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse.errors import PolicyError
from lakehouse.ops import TableDef
from lakehouse.policy import CLASSIFICATIONS, NONE, Policy, Retention, Rule
from tests.events import SILVER_EVENTS, lake_tables


def test_every_column_of_every_table_is_classified(spark: SparkSession) -> None:
    for name, definition in lake_tables(spark).items():
        columns = definition.schema.fieldNames()
        assert sorted(definition.policy.columns) == sorted(columns), name
        assert set(definition.policy.columns.values()) <= set(CLASSIFICATIONS), name
        assert definition.policy.owner, name


def test_a_table_with_an_unclassified_column_is_refused() -> None:
    schema = StructType([StructField("a", StringType()), StructField("email", StringType())])
    with pytest.raises(PolicyError, match=r"unclassified column\(s\) \['email'\]"):
        TableDef("ops.t", schema, (), "t", Policy("me", {"a": NONE}, Retention.keep("test data")))


def test_retention_is_a_window_or_a_stated_reason() -> None:
    assert Retention.window("ts", 7).describe() == "7 days on ts"
    with pytest.raises(PolicyError, match="not both"):
        Retention(column="ts", days=7, keep_reason="why")
    with pytest.raises(PolicyError, match="not both"):
        Retention()
    with pytest.raises(PolicyError, match=r"action 'hash' is not valid; choose one of"):
        Rule("user_id", "hash")


def test_gold_and_ops_hold_no_personal_data(spark: SparkSession) -> None:
    for name, definition in lake_tables(spark).items():
        if definition.layer in ("gold", "ops") or name.startswith("quarantine.gold_"):
            personal = definition.policy.personal_columns
            assert personal in ((), ("subject_hash",)), name


def test_delta_properties_keep_personal_columns_out_of_log_statistics() -> None:
    props = SILVER_EVENTS.properties
    stats = props["delta.dataSkippingStatsColumns"].split(",")
    assert "event_ts" in stats
    assert not {"user_id", "session_id", "ip", "properties", "event_date"} & set(stats)
    assert props["delta.enableDeletionVectors"] == "true"
    assert props["delta.deletedFileRetentionDuration"] == "interval 7 days"
