"""Nested fields as the dotted paths silver's reasons name, and reaching them in an event."""

from __future__ import annotations

import random
from typing import Any

from lakehouse.contracts import load_dataset
from lakehouse.contracts.model import Field
from lakehouse.generate.paths import parent_of, slots
from tests.generate.conftest import ROOT


def test_the_orders_paths() -> None:
    orders = load_dataset(ROOT / "datasets" / "orders")
    paths = [s.path for s in slots(orders.latest.fields)]
    assert paths[:6] == ["order_id", "ordered_at", "customer_id", "country", "channel", "items"]
    assert [p for p in paths if p.startswith("items[")] == [
        "items[].sku",
        "items[].quantity",
        "items[].unit_price",
    ]
    nested = [s for s in slots(orders.latest.fields) if s.nested]
    assert {s.key for s in nested} == {"sku", "quantity", "unit_price"}


def test_objects_and_arrays_of_arrays() -> None:
    grid = Field("grid", "array", items=Field("row", "array", items=Field("cell", "object",
        children=(Field("v", "integer"),))))  # fmt: skip
    device = Field("device", "object", children=(Field("os", "string"),))
    assert [s.path for s in slots((device, grid))] == ["device", "device.os", "grid", "grid[][].v"]


def test_a_missing_container_is_made_on_the_way() -> None:
    device = Field("device", "object", children=(Field("os", "string", required=True),))
    slot = next(s for s in slots((device,)) if s.path == "device.os")
    made: list[tuple[str, bool]] = []

    def make(f: Field, top_level: bool) -> Any:
        made.append((f.name, top_level))
        return {"os": "ios"}

    event: dict[str, Any] = {"id": "e1"}
    parent = parent_of(event, slot, make, random.Random(1))
    parent.pop(slot.key)
    assert event == {"id": "e1", "device": {}}
    assert made == [("device", True)]


def test_through_an_array_one_element_is_chosen() -> None:
    orders = load_dataset(ROOT / "datasets" / "orders")
    slot = next(s for s in slots(orders.latest.fields) if s.path == "items[].sku")
    event: dict[str, Any] = {"items": [{"sku": "a"}, {"sku": "b"}]}
    parent_of(event, slot, lambda f, top: None, random.Random(2)).pop("sku")
    assert sorted(len(item) for item in event["items"]) == [0, 1]
