"""``ops.contracts``: one row per contract content a job ran with, however many starts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.io import contracts
from lakehouse.io.contracts import record_contract
from lakehouse.io.delta import latest_version
from lakehouse.ops import CONTRACTS
from lakehouse.platform import load_platform
from tests.io.spark_jobs import jobs_during


def test_a_contract_is_recorded_once_per_content_whatever_the_process(
    spark: SparkSession, lake: LakehouseConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = load_platform(lake, spark).dataset("events").dataset
    path = table_path(lake.lake, CONTRACTS)
    record_contract(spark, lake, dataset)
    recorded = latest_version(spark, path)

    # a new process (nothing remembered) finds the contract in the table's checksum file
    monkeypatch.setattr(contracts, "_RECORDED", set())
    assert jobs_during(spark, lambda: record_contract(spark, lake, dataset)) == []
    assert latest_version(spark, path) == recorded, "a second row or an empty commit"

    # without a checksum to read, Delta's own check in the append skips it all the same
    monkeypatch.setattr(contracts, "_RECORDED", set())
    (Path(path) / "_delta_log" / f"{recorded:020d}.crc").unlink()
    record_contract(spark, lake, dataset)

    # another content (e.g. an edited gold SQL file) is another row
    changed = dataclasses.replace(dataset, content=dataset.content + b"\n# edited\n")
    record_contract(spark, lake, changed)

    rows = spark.read.format("delta").load(path).drop("recorded_ts")
    expected = spark.createDataFrame(
        [
            (
                "events",
                dataset.version,
                content_hash,
                dataset.owner,
                dataset.status,
                sorted(v.version for v in dataset.versions),
                [f"gold.{g.name}" for g in dataset.gold],
            )
            for content_hash in (dataset.content_hash, changed.content_hash)
        ],
        StructType(CONTRACTS.schema.fields[:-1]),
    )
    assert_df_equality(rows, expected, ignore_row_order=True, ignore_nullable=True)
