from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

from lakehouse.catalog import apply_properties, prepare_tables, register_tables, table_path
from lakehouse.config import LakeConfig
from lakehouse.errors import TableError
from lakehouse.ops import BATCH_LOG
from tests.events import SILVER_EVENTS, lake_tables, platform
from tests.io.spark_jobs import jobs_during


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
        "('delta.logRetentionDuration' = 'interval 60 days', 'other' = 'kept',"
        " 'delta.checkpointInterval' = '100')"  # the lakes of 2026-12-05 had 100
    )
    assert apply_properties(spark, SILVER_EVENTS, location) is True
    properties = {
        r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{location}`").collect()
    }
    assert {k: properties.get(k) for k in SILVER_EVENTS.properties} == SILVER_EVENTS.properties
    assert properties["other"] == "kept"
    assert properties["delta.checkpointInterval"] == "10"
    version = spark.sql(f"DESCRIBE HISTORY delta.`{location}`").first()
    assert apply_properties(spark, SILVER_EVENTS, location) is False
    assert spark.sql(f"DESCRIBE HISTORY delta.`{location}`").first() == version


def _properties(spark: SparkSession, location: str) -> dict[str, str]:
    rows = spark.sql(f"SHOW TBLPROPERTIES delta.`{location}`").collect()
    return {r["key"]: r["value"] for r in rows}


def test_prepared_tables_are_created_by_path_with_schema_and_properties_and_no_name(
    spark: SparkSession, tmp_path: Path
) -> None:
    lake = LakeConfig(root=str(tmp_path / "lake"), checkpoint_root=str(tmp_path / "cp"))
    unnamed = dataclasses.replace(SILVER_EVENTS, name="prepared.events")
    prepare_tables(spark, lake, [unnamed, BATCH_LOG])
    for table in (unnamed, BATCH_LOG):
        location = table_path(lake, table)
        df = spark.read.format("delta").load(location)
        assert df.count() == 0, table.name
        assert df.schema.simpleString() == table.schema.simpleString(), table.name
        properties = _properties(spark, location)
        assert {k: properties.get(k) for k in table.properties} == table.properties
    assert not spark.catalog.tableExists("prepared.events")
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{table_path(lake, unnamed)}`").first()
    assert detail is not None
    assert detail["partitionColumns"] == list(SILVER_EVENTS.partition_by)
    assert detail["description"] == SILVER_EVENTS.description


def test_an_up_to_date_lake_is_prepared_without_a_spark_job_or_a_commit(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The newest checksum tells the columns and properties: nothing to run, nothing to
    write. A table written before a column and a property were declared gets both."""
    lake = LakeConfig(root=str(tmp_path / "lake"), checkpoint_root=str(tmp_path / "cp"))
    tables = [t for t in lake_tables(spark).values() if t.layer != "gold"]
    prepare_tables(spark, lake, tables)
    logs = {t.name: sorted(os.listdir(f"{table_path(lake, t)}/_delta_log")) for t in tables}
    assert jobs_during(spark, lambda: prepare_tables(spark, lake, tables)) == []
    assert {t.name: sorted(os.listdir(f"{table_path(lake, t)}/_delta_log")) for t in tables} == (
        logs
    )

    older = table_path(lake, BATCH_LOG)
    shutil.rmtree(older)
    last = BATCH_LOG.schema.fields[-1]
    assert last.nullable
    spark.createDataFrame([], StructType(BATCH_LOG.schema.fields[:-1])).write.format("delta").save(
        older
    )
    prepare_tables(spark, lake, [BATCH_LOG])
    schema = spark.read.format("delta").load(older).schema
    assert schema.simpleString() == BATCH_LOG.schema.simpleString()
    properties = _properties(spark, older)
    assert {k: properties.get(k) for k in BATCH_LOG.properties} == BATCH_LOG.properties
