"""One SparkSession per test process (Delta, UI off, two shuffle partitions) and a lake per test."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.catalog import register_tables
from lakehouse.config import LakeConfig, LakehouseConfig, SourceConfig, SparkConfig
from lakehouse.session import build_session

# Python turns naive datetimes to and from Spark timestamps in local time; the lake is UTC.
os.environ["TZ"] = "UTC"
time.tzset()

TEST_SPARK = SparkConfig(master="local[2]", shuffle_partitions=2)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = build_session(TEST_SPARK, "lakehouse-tests")
    yield session
    session.stop()


def make_config(root: Path, max_files_per_trigger: int = 100) -> LakehouseConfig:
    """A configuration whose lake, checkpoints and landing folder are under ``root``."""
    return LakehouseConfig(
        lake=LakeConfig(root=str(root / "lake"), checkpoint_root=str(root / "checkpoints")),
        source=SourceConfig(
            landing_path=str(root / "landing"), max_files_per_trigger=max_files_per_trigger
        ),
        spark=TEST_SPARK,
    )


@pytest.fixture
def lake(spark: SparkSession, tmp_path: Path) -> LakehouseConfig:
    """A fresh, registered lake under the test's temporary folder."""
    config = make_config(tmp_path)
    register_tables(spark, config.lake)
    return config
