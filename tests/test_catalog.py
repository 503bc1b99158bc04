from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.catalog import apply_properties, register_tables, table_path
from lakehouse.config import LakeConfig
from lakehouse.errors import TableError
from tests.events import SILVER_EVENTS, lake_tables, platform


def test_registers_every_table_empty_with_its_schema(spark: SparkSession, tmp_path: Path) -> None:
    lake = LakeConfig(root=str(tmp_path / "lake"), checkpoint_root=str(tmp_path / "cp"))
    tables = lake_tables(spark)
    register_tables(spark, lake, tables.values())
    for name, definition in tables.items():
        df = spark.table(name)
        assert df.count() == 0, name
        assert df.schema.simpleString() == definition.schema.simpleString(), name
        assert (Path(table_path(lake, definition)) / "_delta_log").is_dir(), name
    partitions = [r["col_name"] for r in spark.sql("DESCRIBE TABLE silver.events").collect()]
    assert "# Partition Information" in partitions
    register_tables(spark, lake, tables.values())  # idempotent
    properties = {
        r["key"]: r["value"] for r in spark.sql("SHOW TBLPROPERTIES silver.events").collect()
    }
    assert {k: properties.get(k) for k in SILVER_EVENTS.properties} == SILVER_EVENTS.properties


def test_a_shared_metastore_name_at_another_location_is_an_error(
    spark: SparkSession, tmp_path: Path
) -> None:
    tables = lake_tables(spark).values()
    register_tables(spark, LakeConfig(root=str(tmp_path / "a"), checkpoint_root="cp"), tables)
    other = LakeConfig(root=str(tmp_path / "b"), checkpoint_root="cp")
    with pytest.raises(
        TableError, match=r"table bronze\.events is registered at .*/a/bronze/events"
    ):
        register_tables(spark, other, tables, replace_mismatched=False)


def test_unknown_table_lists_the_known_ones() -> None:
    assert platform().table("silver.events") == SILVER_EVENTS
    with pytest.raises(TableError, match=r"unknown table 'silver.evnts'; known tables are .*"):
        platform().table("silver.evnts")


def test_a_table_written_with_another_schema_is_a_clear_error(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = LakeConfig(root=str(tmp_path / "lake"), checkpoint_root=str(tmp_path / "cp"))
    spark.range(3).write.format("delta").save(lake.table_path("silver", "events"))
    with pytest.raises(TableError, match=r"cannot register silver\.events at .*another version"):
        register_tables(spark, lake, lake_tables(spark).values())


def test_a_lake_deleted_under_a_running_session_is_registered_again(
    spark: SparkSession, tmp_path: Path
) -> None:
    import shutil

    gone = LakeConfig(root=str(tmp_path / "gone"), checkpoint_root=str(tmp_path / "cp"))
    tables = lake_tables(spark).values()
    register_tables(spark, gone, tables)
    shutil.rmtree(tmp_path / "gone")
    lake = LakeConfig(root=str(tmp_path / "new"), checkpoint_root=str(tmp_path / "cp"))
    register_tables(spark, lake, tables)
    assert spark.table(SILVER_EVENTS.name).count() == 0
    assert spark.table(SILVER_EVENTS.name).inputFiles() == []
    location = (
        spark.sql(f"DESCRIBE TABLE EXTENDED {SILVER_EVENTS.name}")
        .where("col_name = 'Location'")
        .first()
    )
    assert location is not None and location["data_type"].endswith("new/silver/events")


def test_a_table_written_under_an_older_policy_gets_its_properties_once(
    spark: SparkSession, tmp_path: Path
) -> None:
    """A property changed since the table was written is set again at registration, in one
    commit; a table whose properties match gets no commit."""
    location = str(tmp_path / "silver_events")
    spark.createDataFrame([], SILVER_EVENTS.schema).write.format("delta").save(location)
    spark.sql(
        f"ALTER TABLE delta.`{location}` SET TBLPROPERTIES "
        "('delta.logRetentionDuration' = 'interval 60 days', 'other' = 'kept')"
    )
    assert apply_properties(spark, SILVER_EVENTS, location) is True
    properties = {
        r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{location}`").collect()
    }
    assert {k: properties.get(k) for k in SILVER_EVENTS.properties} == SILVER_EVENTS.properties
    assert properties["other"] == "kept"
    version = spark.sql(f"DESCRIBE HISTORY delta.`{location}`").first()
    assert apply_properties(spark, SILVER_EVENTS, location) is False
    assert spark.sql(f"DESCRIBE HISTORY delta.`{location}`").first() == version
