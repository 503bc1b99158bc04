"""``datasets new``: the written draft loads as any dataset does (contract and suite), on the
product events, on nested orders and on awkward samples; existing files are kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql.types import ArrayType, DecimalType, IntegerType, StructType

from lakehouse.contracts import Dataset, load_dataset
from lakehouse.contracts.scaffold import Drafted, new_dataset
from lakehouse.contracts.suites import suite_columns
from lakehouse.contracts.tables import silver_table
from lakehouse.errors import ContractError
from tests.contracts.samples import events_sample, orders_sample, write_lines


def _new(tmp_path: Path, name: str, sample: Path, force: bool = False) -> tuple[Drafted, Dataset]:
    datasets, suites = tmp_path / "datasets", tmp_path / "expectations"
    done = new_dataset(name, sample, datasets, suites, force=force)
    return done, load_dataset(datasets / name, suites)


def test_the_product_events_draft_loads_with_its_suite(tmp_path: Path) -> None:
    done, events = _new(tmp_path, "clicks", events_sample(tmp_path / "events.jsonl"))
    assert (events.status, events.version, events.owner) == ("draft", "0.1.0", "TODO-owner")
    assert (events.id_field, events.event_time_field, events.version_field) == (
        "event_id",
        "event_ts",
        "schema_version",
    )
    assert events.subject_field == "user_id"
    fields = {f.name: f for f in events.latest.fields}
    assert (fields["user_id"].classification, fields["user_id"].minimize) == (
        "pii_pseudonymous",
        "pseudonymize",
    )
    assert (fields["ip"].classification, fields["ip"].minimize) == ("pii_quasi", "truncate_ip")
    props = fields["properties"]
    assert (props.logical_type, props.minimize) == ("map", "keep_keys")
    assert "email" not in props.keys and "page" in props.keys
    assert fields["amount"].physical_type == "decimal(12,2)"
    assert {"page_view", "purchase"} <= set(fields["event_type"].allowed)
    assert "email" in events.rescued_drop_keys
    assert done.draft.sample.bad > 0  # the generator's malformed lines
    silver = silver_table(events)
    assert suite_columns(done.suite) <= set(silver.schema.fieldNames())
    text = done.contract.read_text()
    assert "# Review checklist" in text and "skipped line" in text


def test_nested_orders_draft_loads(tmp_path: Path) -> None:
    done, orders = _new(tmp_path, "orders", orders_sample(tmp_path / "orders.jsonl"))
    assert (orders.id_field, orders.event_time_field, orders.version_field) == (
        "order_id",
        "ordered_at",
        "contract_version",
    )
    assert orders.subject_field == "customer_id"
    schema = silver_table(orders).schema
    items = schema["items"].dataType
    assert isinstance(items, ArrayType) and isinstance(items.elementType, StructType)
    assert items.elementType["quantity"].dataType == IntegerType()
    assert items.elementType["unit_price"].dataType == DecimalType(12, 2)
    assert schema["total"].dataType == DecimalType(12, 2)
    fields = {f.name: f for f in orders.latest.fields}
    assert fields["email"].classification == "pii_direct"
    assert fields["shipping_address"].classification == "pii_direct"
    assert {c.classification for c in fields["shipping_address"].children} == {"pii_direct"}
    assert (fields["client_ip"].minimize, fields["channel"].allowed) == (
        "truncate_ip",
        ("app", "store", "web"),
    )
    assert not fields["coupon"].required  # always null
    text = done.contract.read_text()
    assert "# REVIEW: direct identifier (email): drop it" in text
    assert any(item.startswith("email: direct identifier") for item in done.checklist)
    assert any(
        "email: direct identifier (email): drop" in i and "or pseudonymize" in i
        for i in done.checklist
    )
    assert any(
        i.startswith("shipping_address: direct identifier") and "pseudonymize" not in i
        for i in done.checklist
    )


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [b"not json", b"[1]", b"", b"\xff\xfe"],
        [b'{"v": "a", "event_id": "1"}', b'{"v": 2, "event_id": "2"}', b'{"v": 3.5}'],
        [
            b'{"d": null, "a": [null], "o": {"x": null, "y": {"z": null}}, "m": {}}',
            b'{"d": {"k": null}, "a": [], "o": null, "m": {"1": null}}',
        ],
        [b'{"yes": "no", "null": "true", "on": "a: b #c", "x-y": 1, "event_date": "d"}'],
        [
            b'{"grid": [[1, 2], [3]], "tags": ["a"], "kv": [{"k1": 1}, {"k2": 2}, {"k3": 3}]}',
            b'{"grid": [], "tags": ["b", null], "kv": [{"k4": 4}], "userId": 1, "userid": 2}',
        ],
        [b'{"e": "\\u00e9t\\u00e9 \\"q\\"\\n"}'] * 60,
    ],
    ids=[
        "empty",
        "all-bad",
        "string-or-number",
        "nested-nulls",
        "yaml-words",
        "arrays-of-arrays-and-maps",
        "escapes",
    ],
)
def test_awkward_samples_still_give_a_draft_that_loads(tmp_path: Path, lines: list[bytes]) -> None:
    done, dataset = _new(tmp_path, "odd", write_lines(tmp_path / "odd.jsonl", lines))
    assert dataset.id_field and dataset.event_time_field and dataset.version_field
    assert done.draft.sample.records + done.draft.sample.bad == len(lines)
    drafted = {f.name: f for f in done.draft.fields}
    for f in dataset.latest.fields:
        assert f.allowed == drafted[f.name].allowed  # enum values read back as written


def test_escaped_values_read_back(tmp_path: Path) -> None:
    lines = [b'{"e": "\\u00e9t\\u00e9 \\"q\\"\\n"}'] * 30 + [b'{"e": "no"}'] * 30
    _, dataset = _new(tmp_path, "odd", write_lines(tmp_path / "odd.jsonl", lines))
    assert dataset.latest.field("e").allowed == ("no", 'été "q"\n')  # type: ignore[union-attr]


def test_names_and_existing_files_are_refused(tmp_path: Path) -> None:
    sample = orders_sample(tmp_path / "orders.jsonl", count=5)
    with pytest.raises(ContractError, match=r"'Orders-1' is not valid: use lowercase letters"):
        new_dataset("Orders-1", sample, tmp_path / "datasets", tmp_path / "expectations")
    _new(tmp_path, "orders", sample)
    with pytest.raises(ContractError, match=r"datasets/orders exists; pass --force"):
        _new(tmp_path, "orders", sample)
    (tmp_path / "datasets" / "orders" / "contract.yaml").unlink()
    (tmp_path / "datasets" / "orders").rmdir()
    with pytest.raises(ContractError, match=r"orders_bronze_to_silver.json exists"):
        _new(tmp_path, "orders", sample)
    done, _ = _new(tmp_path, "orders", sample, force=True)
    assert done.contract.is_file()


def test_force_replaces_the_contract_and_keeps_gold_sql(tmp_path: Path) -> None:
    sample = orders_sample(tmp_path / "orders.jsonl", count=5)
    _new(tmp_path, "orders", sample)
    gold = tmp_path / "datasets" / "orders" / "gold"
    gold.mkdir()
    (gold / "notes.txt").write_text("kept")
    done, _ = _new(tmp_path, "orders", orders_sample(tmp_path / "more.jsonl", count=60), True)
    assert done.draft.sample.records == 60
    assert (gold / "notes.txt").read_text() == "kept"


def test_the_draft_suites_load_in_great_expectations(tmp_path: Path) -> None:
    from lakehouse.quality.suites import load_suite

    events, _ = _new(tmp_path / "e", "clicks", events_sample(tmp_path / "events.jsonl"))
    orders, _ = _new(tmp_path / "o", "orders", orders_sample(tmp_path / "orders.jsonl"))
    empty, _ = _new(tmp_path / "x", "odd", write_lines(tmp_path / "odd.jsonl", []))
    for done in (events, orders, empty):
        suite = load_suite(done.suite).suite
        assert suite.name == done.suite.stem
        assert {e.severity for e in suite.expectations} <= {"critical", "warning"}
