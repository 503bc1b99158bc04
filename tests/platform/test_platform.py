"""The platform: which datasets a deployment runs, their tables, their sources, and their
retention from each contract's SLA."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.config import DatasetsConfig, LakehouseConfig, QualityConfig, SourceConfig
from lakehouse.contracts.model import Servers
from lakehouse.errors import ConfigError
from lakehouse.platform import load_platform, source_config
from lakehouse.retention.plan import plan_retention, select_tables

ROOT = Path(__file__).resolve().parents[2]
CONFIG = LakehouseConfig(
    source=SourceConfig(landing_path="/landing"),
    quality=QualityConfig(suite_dir=str(ROOT / "expectations")),
    datasets=DatasetsConfig(dir=str(ROOT / "datasets")),
)


def test_every_declared_dataset_runs_unless_names_say_otherwise() -> None:
    assert list(load_platform(CONFIG).datasets) == ["events", "orders"]
    only = dataclasses.replace(
        CONFIG, datasets=DatasetsConfig(dir=CONFIG.datasets.dir, names=("orders",))
    )
    platform = load_platform(only)
    assert list(platform.datasets) == ["orders"]
    assert "silver.events" not in platform.tables and "silver.orders" in platform.tables
    assert "ops.batch_log" in platform.tables


def test_unknown_dataset_names_the_declared_ones() -> None:
    wrong = dataclasses.replace(
        CONFIG, datasets=DatasetsConfig(dir=CONFIG.datasets.dir, names=("ordres",))
    )
    with pytest.raises(
        ConfigError, match=r"'ordres' is not declared .*the datasets are events, orders"
    ):
        load_platform(wrong)
    with pytest.raises(ConfigError, match="unknown dataset 'x'; the datasets are events, orders"):
        load_platform(CONFIG).only(["x"])


def test_retention_per_dataset_follows_its_sla() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    steps = {s.table.name: s for s in plan_retention(select_tables(load_platform(CONFIG)), now)}
    assert steps["bronze.orders"].cutoff == now - timedelta(days=7)
    assert steps["silver.orders"].cutoff == now - timedelta(days=730)
    assert (steps["silver.orders"].column, steps["silver.events"].column) == (
        "ordered_at",
        "event_ts",
    )
    assert steps["silver.events"].cutoff == now - timedelta(days=400)
    assert steps["quarantine.silver_orders"].cutoff == now - timedelta(days=30)


def test_each_dataset_reads_its_own_source() -> None:
    platform = load_platform(CONFIG)
    events, orders = (platform.dataset(n).dataset for n in ("events", "orders"))
    assert source_config(CONFIG, events).landing_path == "/landing/events"
    assert source_config(CONFIG, events).kafka_topics == CONFIG.source.kafka_topics
    named = dataclasses.replace(events, servers=Servers(kafka_topics=("clicks", "taps")))
    assert source_config(CONFIG, named).kafka_topics == "clicks,taps"
    assert source_config(CONFIG, orders).landing_path == "/landing/orders"
    assert source_config(CONFIG, orders).kafka_topics == CONFIG.source.kafka_topics


def test_each_dataset_has_its_own_tables_and_owner() -> None:
    platform = load_platform(CONFIG)
    orders = platform.dataset("orders")
    assert [t.name for t in orders.all] == [
        "bronze.orders",
        "silver.orders",
        "quarantine.silver_orders",
    ]
    assert orders.silver.policy.owner == "commerce-finance"
    assert orders.silver.partition_by == ("event_date",)
    assert platform.dataset_of("silver.orders") is orders
    assert platform.dataset_of("ops.batch_log") is None
