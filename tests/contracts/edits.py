"""Edits of a contract's YAML data for the compatibility tests: each edit changes one thing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DATASETS",
    "Edit",
    "add_field",
    "edit_file",
    "field",
    "prop",
    "remove_field",
    "schema_v2",
    "set_custom",
    "sla_retention",
    "top",
]

DATASETS = Path(__file__).resolve().parents[2] / "datasets"

Edit = Callable[[dict[str, Any]], None]


def field(data: dict[str, Any], path: str, schema: int = 0) -> dict[str, Any]:
    """The raw field at ``path`` (``items[].sku``, ``device.os``) of ``schema[schema]``."""
    fields: list[dict[str, Any]] = data["schema"][schema]["properties"]
    found: dict[str, Any] = {}
    for part in path.split("."):
        name = part.removesuffix("[]")
        found = next(f for f in fields if f["name"] == name)
        if part.endswith("[]"):
            found = found["items"]
        fields = found.get("properties", [])
    return found


def prop(path: str, **values: Any) -> Edit:
    """Set keys of the field at ``path`` (a value None deletes the key)."""

    def edit(data: dict[str, Any]) -> None:
        target = field(data, path)
        for key, value in values.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = copy.deepcopy(value)

    return edit


def set_custom(name: str, value: Any) -> Edit:
    """Set (or with None remove) a dataset-level customProperty."""

    def edit(data: dict[str, Any]) -> None:
        items = [p for p in data["customProperties"] if p["property"] != name]
        if value is not None:
            items.append({"property": name, "value": value})
        data["customProperties"] = items

    return edit


def add_field(name: str, *, required: bool = False, under: str | None = None, **extra: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        raw = {"name": name, "logicalType": "string", "classification": "none", **extra}
        if required:
            raw["required"] = True
        target = field(data, under)["properties"] if under else data["schema"][0]["properties"]
        target.append(raw)

    return edit


def remove_field(name: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        props = data["schema"][0]["properties"]
        data["schema"][0]["properties"] = [p for p in props if p["name"] != name]

    return edit


def schema_v2(data: dict[str, Any]) -> None:
    v2 = copy.deepcopy(data["schema"][0])
    v2["customProperties"] = [{"property": "schemaVersion", "value": 2}]
    data["schema"].append(v2)


def top(**values: Any) -> Edit:
    return lambda data: data.update(copy.deepcopy(values))


def sla_retention(element: str, days: int) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        for item in data["slaProperties"]:
            if item.get("element") == element:
                item["value"] = days

    return edit


def edit_file(file: Path, *edits: Edit) -> None:
    """Apply ``edits`` to the contract at ``file``."""
    data = yaml.safe_load(file.read_text())
    for change in edits:
        change(data)
    file.write_text(yaml.safe_dump(data, sort_keys=False))
