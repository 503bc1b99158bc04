"""The product events dataset (datasets/events/) as the tests use it: its tables derived
from the contract, and its fields. Tests may know the product events; the package does not."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.config import DatasetsConfig, LakehouseConfig, QualityConfig
from lakehouse.contracts import load_dataset
from lakehouse.contracts.tables import bronze_table, quarantine_table, silver_table
from lakehouse.ops import TableDef
from lakehouse.platform import Platform, load_platform

ROOT = Path(__file__).resolve().parents[1]
DATASETS_DIR = ROOT / "datasets"
EVENTS = load_dataset(DATASETS_DIR / "events", ROOT / "expectations")
BRONZE_EVENTS = bronze_table(EVENTS)
SILVER_EVENTS = silver_table(EVENTS)
QUARANTINE_SILVER_EVENTS = quarantine_table(EVENTS)
EVENT_FIELDS = EVENTS.latest.fields
KNOWN_EVENT_TYPES = EVENTS.latest.field("event_type").allowed  # type: ignore[union-attr]


def lake_tables(spark: SparkSession) -> dict[str, TableDef]:
    """Every table of a lake running the product events: theirs (gold from the SQL files'
    analysis) and the ops tables."""
    return platform(spark).tables


def platform(spark: SparkSession | None = None) -> Platform:
    """The platform of a configuration running the product events (with gold with ``spark``)."""
    config = LakehouseConfig(
        quality=QualityConfig(suite_dir=str(ROOT / "expectations")),
        datasets=DatasetsConfig(dir=str(DATASETS_DIR), names=("events",)),
    )
    return load_platform(config, spark)


def gold_tables(spark: SparkSession) -> list[TableDef]:
    """The product events' gold tables (events_per_minute, daily_active_users, ...)."""
    return [table for _, table, _ in platform(spark).datasets["events"].gold]
