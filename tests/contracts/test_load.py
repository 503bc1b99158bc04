"""Loading dataset folders: the product events declared in files are the tables the package
declared in Python, the orders are nested, and every bad definition is one line naming the
file and the key."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyspark.sql.types import ArrayType, DecimalType, IntegerType, StringType, StructType

from lakehouse.contracts import load_dataset, load_datasets
from lakehouse.contracts.tables import bronze_table, quarantine_table, silver_table
from lakehouse.errors import ContractError
from lakehouse.ops import TableDef
from tests.contracts.declared_events import (
    BRONZE_EVENTS,
    EVENT_FIELDS,
    KNOWN_EVENT_TYPES,
    QUARANTINE_SILVER_EVENTS,
    REQUIRED_FIELDS,
    SILVER_EVENTS,
)

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "datasets"
SUITES = ROOT / "expectations"


def _same(declared: TableDef, derived: TableDef) -> None:
    assert derived.name == declared.name
    assert derived.schema == declared.schema
    assert derived.partition_by == declared.partition_by
    assert dict(derived.policy.columns) == dict(declared.policy.columns)
    assert derived.policy.retention == declared.policy.retention
    assert derived.policy.minimization == declared.policy.minimization
    assert derived.policy.subject == declared.policy.subject
    assert derived.properties == declared.properties
    assert derived.monitoring == declared.monitoring


def test_the_product_events_contract_declares_the_tables_of_the_package() -> None:
    events = load_dataset(DATASETS / "events", SUITES)
    _same(BRONZE_EVENTS, bronze_table(events))
    _same(SILVER_EVENTS, silver_table(events))
    _same(QUARANTINE_SILVER_EVENTS, quarantine_table(events))
    fields = events.latest.fields
    assert [f.name for f in fields] == [f.name for f in EVENT_FIELDS]
    assert tuple(f.name for f in fields if f.required) == REQUIRED_FIELDS
    assert events.latest.field("event_type").allowed == KNOWN_EVENT_TYPES  # type: ignore[union-attr]
    assert (events.id_field, events.event_time_field, events.version_field) == (
        "event_id",
        "event_ts",
        "schema_version",
    )
    assert (events.owner, events.status, events.version) == ("product-analytics", "active", "1.0.0")
    assert [g.name for g in events.gold] == [
        "daily_active_users",
        "events_per_minute",
        "hourly_revenue",
    ]


def test_orders_are_nested_with_decimals() -> None:
    orders = load_datasets(DATASETS, SUITES)["orders"]
    schema = silver_table(orders).schema
    items = schema["items"].dataType
    assert isinstance(items, ArrayType) and isinstance(items.elementType, StructType)
    assert items.elementType["quantity"].dataType == IntegerType()
    assert items.elementType["unit_price"].dataType == DecimalType(12, 2)
    assert items.elementType["sku"].nullable  # required nested fields: a parse reason
    assert schema["total"].dataType == DecimalType(14, 2)
    assert schema["channel"].dataType == StringType() and schema["channel"].nullable
    assert silver_table(orders).policy.retention.days == 730
    assert orders.gold[0].keys == ("order_date", "country", "currency")


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "datasets"
    shutil.copytree(DATASETS, root)
    return root


def _edit(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    file = root / "events" / "contract.yaml"
    data = yaml.safe_load(file.read_text())
    change(data)
    file.write_text(yaml.safe_dump(data, sort_keys=False))


def _prop(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in data["schema"][0]["properties"] if p["name"] == name)


def _del(d: dict[str, Any], key: str) -> None:
    del d[key]


BAD_CONTRACTS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("unknown top-level key", lambda d: d.update(owner="x"), "'owner' was unexpected"),
    (
        "unknown field key",
        lambda d: _prop(d, "device").update(nullable=True),
        "'nullable' was unexpected",
    ),
    (
        "wrong type",
        lambda d: _prop(d, "device").update(required="yes"),
        "'yes' is not of type 'boolean'",
    ),
    (
        "unknown logical type",
        lambda d: _prop(d, "device").update(logicalType="text"),
        "'text' is not one of",
    ),
    (
        "field without classification",
        lambda d: _del(_prop(d, "device"), "classification"),
        "schema[0].properties[device]: no classification",
    ),
    (
        "bad classification",
        lambda d: _prop(d, "device").update(classification="secret"),
        "classification: 'secret' is not valid; choose one of pii_direct",
    ),
    (
        "unknown custom property",
        lambda d: _prop(d, "device").update(customProperties=[{"property": "mask", "value": 1}]),
        "unknown property 'mask'; valid properties are normalize, minimize, keys, monitor",
    ),
    (
        "unknown physical type",
        lambda d: _prop(d, "amount").update(physicalType="money"),
        "physicalType 'money' is not a type the platform knows",
    ),
    (
        "physical type of another logical type",
        lambda d: _prop(d, "amount").update(physicalType="int"),
        "physicalType 'int' does not store logicalType 'number'",
    ),
    (
        "bad duration",
        lambda d: d["customProperties"][3].update(value="two days"),
        "dedupWindow: 'two days' is not a duration",
    ),
    ("no owner", lambda d: d.update(team={"members": []}), "team: name the owner"),
    ("no purpose", lambda d: d.update(description={"usage": "x"}), "description.purpose"),
    ("bad status", lambda d: d.update(status="live"), "status 'live' is not valid"),
    ("bad version", lambda d: d.update(version="1.0"), "version '1.0' must be MAJOR.MINOR.PATCH"),
    (
        "two ids",
        lambda d: _prop(d, "session_id").update(primaryKey=True),
        "mark exactly one field primaryKey",
    ),
    (
        "optional event time",
        lambda d: _prop(d, "event_ts").update(required=False),
        "eventTimeField 'event_ts' must be a required timestamp field",
    ),
    (
        "pseudonym not classified so",
        lambda d: _prop(d, "user_id").update(classification="pii_direct"),
        "classify it 'pii_pseudonymous'",
    ),
    (
        "category of personal data",
        lambda d: _prop(d, "ip").update(
            customProperties=[{"property": "monitor", "value": "category"}]
        ),
        "monitor 'category' copies values",
    ),
    (
        "unknown SLA",
        lambda d: d["slaProperties"].append({"property": "latency", "value": 1, "unit": "d"}),
        "property 'latency' is not enforced by the pipeline; use one of freshness, retention",
    ),
    (
        "missing suite",
        lambda d: d["customProperties"][6].update(value="nope"),
        "suite 'nope' not found",
    ),
    ("name not the folder", lambda d: d.update(name="clicks"), "differs from its folder"),
    (
        "platform column",
        lambda d: _prop(d, "device").update(name="event_date"),
        "are columns the platform adds",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [c[1:] for c in BAD_CONTRACTS], ids=[c[0] for c in BAD_CONTRACTS]
)
def test_a_bad_contract_is_one_line_naming_file_and_key(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    root = _copy(tmp_path)
    _edit(root, change)
    with pytest.raises(ContractError) as error:
        load_datasets(root, SUITES)
    text = str(error.value)
    assert message in text
    assert "\n" not in text
    assert str(root / "events" / "contract.yaml") in text


def test_a_suite_naming_a_missing_column_is_refused(tmp_path: Path) -> None:
    suites = tmp_path / "expectations"
    shutil.copytree(SUITES, suites)
    suite = suites / "bronze_to_silver.json"
    suite.write_text(suite.read_text().replace('"column": "user_id"', '"column": "customer"'))
    with pytest.raises(ContractError, match=r"name column\(s\) customer that silver\.events"):
        load_datasets(DATASETS, suites)


def test_not_yaml_names_the_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "events" / "contract.yaml").write_text("name: events\n  version: [\n")
    with pytest.raises(ContractError, match=r"contract.yaml:2: not valid YAML"):
        load_datasets(root, SUITES)


GOLD_HEADER = (
    "-- description: d\n-- owner: o\n-- keys: event_date\n-- window: event_date = event_date\n"
)
BAD_GOLD = [
    (
        "unknown header key",
        "-- cron: daily\n" + GOLD_HEADER + "SELECT 1 FROM {silver}",
        ":1: unknown header key 'cron'",
    ),
    (
        "missing keys",
        "-- description: d\n-- owner: o\nSELECT 1 FROM {silver}",
        "header key(s) keys, window missing",
    ),
    (
        "no silver",
        GOLD_HEADER + "SELECT 1 FROM silver.events",
        "must read the silver rows as {silver}",
    ),
    (
        "window not a key",
        GOLD_HEADER.replace("window: event_date", "window: day") + "SELECT 1 FROM {silver}",
        "window key 'day' must be one of the keys",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [b[1:] for b in BAD_GOLD], ids=[b[0] for b in BAD_GOLD]
)
def test_a_bad_gold_file_is_one_line_naming_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    root = _copy(tmp_path)
    (root / "events" / "gold" / "bad.sql").write_text(text)
    with pytest.raises(ContractError) as error:
        load_datasets(root)
    assert message in str(error.value)
    assert str(root / "events" / "gold" / "bad.sql") in str(error.value)


def test_a_gold_table_name_is_declared_once_across_datasets(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    shutil.copy(root / "events" / "gold" / "hourly_revenue.sql", root / "orders" / "gold")
    with pytest.raises(ContractError, match="declared by datasets 'events' and 'orders'"):
        load_datasets(root)


def test_a_dataset_written_only_as_files_loads(tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    (root / "clicks").mkdir(parents=True)
    contract = yaml.safe_load((DATASETS / "events" / "contract.yaml").read_text())
    contract.update(name="clicks", id="urn:x:clicks")
    contract["customProperties"] = [
        c for c in contract["customProperties"] if c["property"] != "silverSuite"
    ]
    (root / "clicks" / "contract.yaml").write_text(yaml.safe_dump(contract))
    clicks = load_datasets(root)["clicks"]
    assert silver_table(clicks).name == "silver.clicks"
    assert clicks.silver_suite == "clicks_bronze_to_silver"
    assert dataclasses.replace(silver_table(clicks), name="silver.events", description="") == (
        dataclasses.replace(SILVER_EVENTS, description="")
    )
