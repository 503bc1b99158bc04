"""An independent reading of a generated line against its contract: the problems silver
would name, in its vocabulary (``missing_field:items[].sku``, ``invalid_type:device.os``,
``invalid_value:channel``), written without the generator's code."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from lakehouse.contracts.model import Dataset, Field


def _normalized(f: Field, value: str) -> str:
    return {
        "trim": value.strip(),
        "lower": value.strip().lower(),
        "upper": value.strip().upper(),
    }.get(f.normalize, value)


def _is_timestamp(value: Any) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _is_date(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(date.fromisoformat(value))
    except ValueError:
        return False


def _scalar_ok(logical: str, value: Any) -> bool:
    if logical == "string":
        return isinstance(value, str)
    if logical == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if logical == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if logical == "boolean":
        return isinstance(value, bool)
    if logical == "timestamp":
        return _is_timestamp(value)
    if logical == "date":
        return _is_date(value)
    raise AssertionError(logical)


def map_value_type(f: Field) -> str:
    inner = (f.physical_type or "map<string,string>").lower()
    value = inner.split(",", 1)[1].rstrip(">").strip()
    if value in ("int", "bigint", "smallint", "tinyint"):
        return "integer"
    if value in ("double", "float") or value.startswith("decimal"):
        return "number"
    return value if value in ("boolean", "timestamp", "date") else "string"


def _type_ok(f: Field, value: Any) -> bool:
    if f.logical_type == "object":
        return isinstance(value, dict)
    if f.logical_type == "array":
        return isinstance(value, list)
    if f.logical_type == "map":
        kind = map_value_type(f)
        return isinstance(value, dict) and all(_scalar_ok(kind, v) for v in value.values())
    return _scalar_ok(f.logical_type, value)


def _value(f: Field, value: Any, path: str) -> list[str]:
    if not _type_ok(f, value):
        return [f"invalid_type:{path}"]
    if f.allowed and _normalized(f, value) not in {_normalized(f, a) for a in f.allowed}:
        return [f"invalid_value:{path}"]
    if f.logical_type == "object":
        return problems(f.children, value, f"{path}.")
    if f.logical_type == "array":
        assert f.items is not None
        return [p for element in value for p in _element(f.items, element, f"{path}[]")]
    return []


def _element(item: Field, value: Any, path: str) -> list[str]:
    if not _type_ok(item, value):
        return [f"invalid_type:{path}"]
    if item.logical_type == "object":
        return problems(item.children, value, f"{path}.")
    if item.logical_type == "array":
        assert item.items is not None
        return [p for element in value for p in _element(item.items, element, f"{path}[]")]
    return []


def problems(fields: tuple[Field, ...], obj: dict[str, Any], prefix: str = "") -> list[str]:
    """Every missing required field, value of a wrong JSON type and value outside the
    allowed set, by dotted path."""
    found: list[str] = []
    for f in fields:
        if obj.get(f.name) is None:
            if f.required:
                found.append(f"missing_field:{prefix}{f.name}")
            continue
        found.extend(_value(f, obj[f.name], f"{prefix}{f.name}"))
    return found


def unclassified_strings(fields: tuple[Field, ...], obj: Any) -> list[str]:
    """Every string value of a field classified ``none`` (nested ones included)."""
    found: list[str] = []
    for f in fields:
        value = obj.get(f.name) if isinstance(obj, dict) else None
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, str) and f.classification == "none":
                found.append(v)
            elif isinstance(v, dict) and f.logical_type == "object":
                found.extend(unclassified_strings(f.children, v))
            elif isinstance(v, dict) and f.items is not None and f.items.children:
                found.extend(unclassified_strings(f.items.children, v))
    return found


def latest_problems(dataset: Dataset, obj: dict[str, Any]) -> list[str]:
    """The problems of an event read with the schema version it names (the latest when it
    names none the contract declares)."""
    number = obj.get(dataset.version_field)
    version = next((v for v in dataset.versions if v.version == number), dataset.latest)
    return problems(version.fields, obj)
