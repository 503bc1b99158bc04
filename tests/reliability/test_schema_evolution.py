"""Schema evolution of the producers while the streams run: a new optional field, a field
whose type is widened, a field removed. The streams keep running, the change is visible
(new fields in silver's rescued data, and a schema_drift finding in ops.anomalies in the
batch that brings each), and every event is accounted for."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from lakehouse.catalog import table_path
from lakehouse.config import TriggerConfig
from lakehouse.io.jobs import start_job
from lakehouse.ops import ANOMALIES
from tests.conftest import landing_lake, make_config
from tests.events import SILVER_EVENTS
from tests.reliability.helpers import account, assert_gold_equals_recomputation

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

PER_PHASE = 20
TS = datetime.now(UTC) - timedelta(minutes=30)


def _v1(n: int, i: int) -> dict[str, Any]:
    return {
        "event_id": f"p{n}-{i}",
        "event_type": "purchase",
        "event_ts": (TS + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "user_id": f"u{i % 5}",
        "session_id": "s1",
        "device": "web",
        "country": "DE",
        "amount": 3,
        "currency": "EUR",
        "properties": {"sku": "S-1", "quantity": 1},
        "schema_version": 1,
    }


def _added(event: dict[str, Any]) -> dict[str, Any]:
    """A new optional field, scalar and nested."""
    return {**event, "app_version": "2.1.0", "experiment": {"arm": "b", "id": 7}}


def _widened(event: dict[str, Any]) -> dict[str, Any]:
    """int -> long -> double -> string: amount, a quantity and a new counter."""
    i = int(event["event_id"].rsplit("-", 1)[1])
    amount: Any = [3, 3.75, "4.25"][i % 3]
    quantity: Any = [2, 3_000_000_000, 2.5][i % 3]
    return {
        **event,
        "amount": amount,
        "properties": {"sku": "S-1", "quantity": quantity},
        "retries": [1, 5_000_000_000, "many"][i % 3],
    }


def _removed(event: dict[str, Any]) -> dict[str, Any]:
    """Optional fields dropped by the producer."""
    gone = {"session_id", "device", "country", "properties", "amount", "currency"}
    return {k: v for k, v in event.items() if k not in gone}


PHASES: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("v1", lambda e: e),
    ("added", _added),
    ("widened", _widened),
    ("removed", _removed),
]


def _await_count(spark: SparkSession, lake: str, rows: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accounting = account(spark, lake)
        if sum(accounting.silver.values()) + sum(accounting.quarantine.values()) >= rows:
            return
        time.sleep(1)
    raise AssertionError(f"silver and quarantine did not reach {rows} rows in {timeout} s")


def test_producer_schema_changes_keep_the_streams_running_and_lose_nothing(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path, gates=True)
    landing = landing_lake(spark, config)
    every = TriggerConfig(mode="processing-time", interval="1 second")
    queries = [start_job(spark, config, layer, every) for layer in ("bronze", "silver", "gold")]
    sent: dict[str, dict[str, Any]] = {}
    try:
        for n, (name, change) in enumerate(PHASES):
            events = [change(_v1(n, i)) for i in range(PER_PHASE)]
            sent.update({e["event_id"]: e for e in events})
            tmp = landing / f".{name}.tmp"
            tmp.write_text("".join(json.dumps(e) + "\n" for e in events))
            tmp.rename(landing / f"{n}-{name}.jsonl")
            _await_count(spark, config.lake.root, len(sent))
            assert all(q.isActive for q in queries), [q.exception() for q in queries]
        for query in queries:
            query.processAllAvailable()
    finally:
        for query in queries:
            query.stop()
    assert all(q.exception() is None for q in queries)

    accounting = account(spark, config.lake.root)
    accounting.assert_exactly_once()
    assert sum(accounting.bronze.values()) == len(sent)
    assert not accounting.quarantine, "a compatible change was refused"
    silver = spark.read.format("delta").load(table_path(config.lake, SILVER_EVENTS))
    rows = {r["event_id"]: r for r in silver.collect()}
    assert set(rows) == set(sent)
    for event_id, event in sent.items():
        row = rows[event_id]
        phase = event_id.split("-")[0]
        rescued = row["rescued_data"] or {}
        if phase == "p1":  # the new field is kept, visible as rescued data
            assert rescued == {"app_version": "2.1.0", "experiment": '{"arm":"b","id":7}'}
        elif phase == "p2":  # widened values arrive intact
            assert row["amount"] == Decimal(str(event["amount"]))
            assert row["properties"]["quantity"] == str(event["properties"]["quantity"])
            assert rescued == {"retries": str(event["retries"])}
        elif phase == "p3":  # removed optional fields are nulls, not refusals
            assert row["amount"] is None and row["country"] is None
            assert row["properties"] is None and not rescued
        else:
            assert not rescued and row["amount"] == Decimal(3)
    assert_gold_equals_recomputation(spark, config.lake.root)
    # each new field is a schema-drift finding of the silver batch that first carried it
    first_batch = {
        r["key"]: r["batch_id"]
        for r in silver.selectExpr(
            "explode(map_keys(rescued_data)) AS key", "_batch_id AS batch_id"
        )
        .groupBy("key")
        .min("batch_id")
        .withColumnRenamed("min(batch_id)", "batch_id")
        .collect()
    }
    anomalies = spark.read.format("delta").load(table_path(config.lake, ANOMALIES))
    drift = {
        r["metric"]: r["batch_id"]
        for r in anomalies.where("detector = 'schema_drift' AND table_name = 'silver.events'")
        .select("metric", "batch_id")
        .collect()
    }
    assert drift == {f"rescued_data.{k}": b for k, b in first_batch.items()}
    assert set(first_batch) == {"app_version", "experiment", "retries"}
