"""The lineage graph of the report, from batch log rows: nodes, edges, last batch and rows
(pure: no Spark), parsed back from the SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from pyspark.sql.types import StringType, StructField, StructType

from lakehouse.contracts import load_dataset
from lakehouse.contracts.tables import (
    bronze_table,
    gold_quarantine_table,
    gold_table,
    quarantine_table,
    silver_table,
)
from lakehouse.lineage.graph import Edge, lineage_edges, lineage_nodes, lineage_svg
from lakehouse.monitoring.health import HealthData
from lakehouse.monitoring.report import render_report
from lakehouse.platform import DatasetTables, Platform
from tests.events import DATASETS_DIR, ROOT

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 11, 20, 10, 0)


def _platform() -> Platform:
    """The product events and the orders with their gold tables (no Spark: each gold table
    declared with its key columns only, which is all the graph reads)."""
    datasets = {}
    for name in ("events", "orders"):
        d = load_dataset(DATASETS_DIR / name, ROOT / "expectations")
        golds = []
        for g in d.gold:
            table = gold_table(g, StructType([StructField(k, StringType()) for k in g.keys]))
            golds.append((g, table, gold_quarantine_table(table)))
        datasets[name] = DatasetTables(
            d, bronze_table(d), silver_table(d), quarantine_table(d), tuple(golds)
        )
    return Platform(datasets)


def _batch(
    dataset: str, job: str, batch: int, minute: int, rows: tuple[int, int], *tables: str
) -> dict[str, object]:
    return {
        "dataset": dataset,
        "job": job,
        "batch_id": batch,
        "finished_ts": T0.replace(minute=minute),
        "rows_out": rows[0],
        "rows_quarantined": rows[1],
        "versions_written": dict.fromkeys(tables, batch + 1),
    }


BATCHES = [
    _batch("events", "bronze-landing", 0, 1, (100, 0), "bronze.events"),
    _batch("events", "bronze-landing", 1, 2, (40, 0), "bronze.events"),
    _batch("events", "silver", 0, 3, (95, 5), "silver.events", "quarantine.silver_events"),
    _batch("events", "silver", 1, 4, (38, 0), "silver.events"),
    _batch(
        "events",
        "gold",
        0,
        5,
        (12, 0),
        *(f"gold.{t}" for t in ("daily_active_users", "events_per_minute", "hourly_revenue")),
    ),
    # a command that changed silver is not the silver stream: not an edge's last batch
    _batch("events", "sql:DeleteFromTable", 9, 9, (0, 0), "silver.events"),
    # the orders' bronze batch is not the events'
    _batch("orders", "bronze-landing", 7, 6, (3, 0), "bronze.orders"),
]


def test_edges_carry_the_last_batch_of_the_stream_that_wrote_their_table() -> None:
    edges = lineage_edges(_platform(), BATCHES)
    assert edges == [
        Edge("source:events", "bronze.events", "bronze-landing", 1, 40, T0.replace(minute=2)),
        Edge("bronze.events", "silver.events", "silver", 1, 38, T0.replace(minute=4)),
        Edge("bronze.events", "quarantine.silver_events", "silver", 0, 5, T0.replace(minute=3)),
        *(
            Edge("silver.events", f"gold.{t}", "gold", 0, 12, T0.replace(minute=5))
            for t in ("daily_active_users", "events_per_minute", "hourly_revenue")
        ),
        Edge("source:orders", "bronze.orders", "bronze-landing", 7, 3, T0.replace(minute=6)),
        Edge("bronze.orders", "silver.orders"),
        Edge("bronze.orders", "quarantine.silver_orders"),
        Edge("silver.orders", "gold.revenue_per_day"),
    ]


def test_the_svg_draws_every_node_and_edge_with_its_label() -> None:
    platform = _platform()
    svg = ET.fromstring(lineage_svg(lineage_nodes(platform), lineage_edges(platform, BATCHES)))
    assert svg.tag == f"{SVG}svg" and svg.get("data-chart") == "lineage"
    assert svg.get("class") == "lineage"  # not a time chart: the report's charts are .chart
    nodes = {
        g.get("data-node"): (g.get("data-layer"), g.find(f"{SVG}text").text)  # type: ignore[union-attr]
        for g in svg.iter(f"{SVG}g")
        if g.get("class") == "node"
    }
    assert nodes == {
        "source:events": ("source", "events (source)"),
        "bronze.events": ("bronze", "bronze.events"),
        "silver.events": ("silver", "silver.events"),
        "quarantine.silver_events": ("silver", "quarantine.silver_events"),
        "gold.daily_active_users": ("gold", "gold.daily_active_users"),
        "gold.events_per_minute": ("gold", "gold.events_per_minute"),
        "gold.hourly_revenue": ("gold", "gold.hourly_revenue"),
        "source:orders": ("source", "orders (source)"),
        "bronze.orders": ("bronze", "bronze.orders"),
        "silver.orders": ("silver", "silver.orders"),
        "quarantine.silver_orders": ("silver", "quarantine.silver_orders"),
        "gold.revenue_per_day": ("gold", "gold.revenue_per_day"),
    }
    edges = {
        (g.get("data-source"), g.get("data-target")): (
            g.get("data-batch"),
            g.get("data-rows"),
            g.find(f"{SVG}text").text,  # type: ignore[union-attr]
        )
        for g in svg.iter(f"{SVG}g")
        if g.get("class") == "edge"
    }
    gold = ("0", "12", "batch 0 · 12 rows")
    assert edges == {
        ("source:events", "bronze.events"): ("1", "40", "batch 1 · 40 rows"),
        ("bronze.events", "silver.events"): ("1", "38", "batch 1 · 38 rows"),
        ("bronze.events", "quarantine.silver_events"): ("0", "5", "batch 0 · 5 rows"),
        ("silver.events", "gold.daily_active_users"): gold,
        ("silver.events", "gold.events_per_minute"): gold,
        ("silver.events", "gold.hourly_revenue"): gold,
        ("source:orders", "bronze.orders"): ("7", "3", "batch 7 · 3 rows"),
        ("bronze.orders", "silver.orders"): (None, None, "no batch yet"),
        ("bronze.orders", "quarantine.silver_orders"): (None, None, "no batch yet"),
        ("silver.orders", "gold.revenue_per_day"): (None, None, "no batch yet"),
    }
    # every edge's line starts at its source node's right side and ends at its target's left
    rects = {
        g.get("data-node"): g.find(f"{SVG}rect")
        for g in svg.iter(f"{SVG}g")
        if g.get("class") == "node"
    }
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") != "edge":
            continue
        line = g.find(f"{SVG}line")
        source, target = rects[g.get("data-source")], rects[g.get("data-target")]
        assert line is not None and source is not None and target is not None
        right = float(source.get("x", "nan")) + float(source.get("width", "nan"))
        assert float(line.get("x1", "nan")) == right
        assert float(line.get("x2", "nan")) == float(target.get("x", "nan"))


def test_the_report_has_a_lineage_section_when_given_the_graph() -> None:
    platform = _platform()
    svg = lineage_svg(lineage_nodes(platform), lineage_edges(platform, BATCHES))
    empty = HealthData(datetime(2026, 11, 23, tzinfo=UTC), 7, [], [], [], [])
    page = render_report(empty, lineage=svg)
    assert "<h2>Lineage</h2>\n" + svg + "\n<h2>Throughput</h2>" in page
    assert "<h2>Lineage</h2>" not in render_report(empty)
