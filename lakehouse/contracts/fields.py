"""The schema of a contract: ODCS properties as :class:`Field` values, with our checks.

Every field, nested ones included, must be classified; the lakehouse's own per-field keys are
``customProperties``: ``normalize`` (trim, lower, upper), ``minimize`` (pseudonymize,
truncate_ip, keep_keys, drop_keys, with ``keys``) and ``monitor`` (category, numeric,
distinct, off).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lakehouse.contracts.model import (
    LOGICAL_TYPES,
    MINIMIZE_ACTIONS,
    MONITOR_ROLES,
    NORMALIZERS,
    Field,
)
from lakehouse.errors import ContractError
from lakehouse.policy import CLASSIFICATIONS, NONE, PII_PSEUDONYMOUS

__all__ = ["FIELD_PROPERTIES", "custom_properties", "parse_fields"]

FIELD_PROPERTIES = ("normalize", "minimize", "keys", "monitor")
# the Spark type of a map's values by their logical type
_MAP_VALUES = {"string": "string", "integer": "bigint", "number": "double", "boolean": "boolean"}


def custom_properties(
    items: Sequence[Mapping[str, Any]] | None, where: str, valid: Sequence[str]
) -> dict[str, Any]:
    """ODCS ``customProperties`` (a list of property/value pairs) as a dict; an unknown or
    repeated property is an error naming the valid ones."""
    result: dict[str, Any] = {}
    for index, item in enumerate(items or ()):
        name = item.get("property")
        if name not in valid:
            raise ContractError(
                f"{where}.customProperties[{index}]: unknown property {name!r}; valid "
                f"properties are {', '.join(valid)}"
            )
        if name in result:
            raise ContractError(f"{where}.customProperties: {name!r} is given twice")
        result[str(name)] = item.get("value")
    return result


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ContractError(f"{where}: {value!r} must be a name or a list of names")
    return tuple(value)


def _choice(value: Any, choices: Sequence[str], where: str) -> str:
    if value not in choices:
        raise ContractError(f"{where}: {value!r} is not valid; choose one of {', '.join(choices)}")
    return str(value)


def parse_field(raw: Mapping[str, Any], where: str, top_level: bool) -> Field:
    """One ODCS schema property as a :class:`Field` (recursively for objects and arrays)."""
    name = raw.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise ContractError(f"{where}: field name {name!r} must be an identifier (a-z, 0-9, _)")
    where = f"{where}[{name}]"
    logical = _choice(raw.get("logicalType"), LOGICAL_TYPES, f"{where}.logicalType")
    classification = raw.get("classification")
    if classification is None:
        raise ContractError(
            f"{where}: no classification; classify every field as one of "
            f"{', '.join(CLASSIFICATIONS)}"
        )
    classification = _choice(classification, CLASSIFICATIONS, f"{where}.classification")
    custom = custom_properties(raw.get("customProperties"), where, FIELD_PROPERTIES)
    normalize = _choice(custom.get("normalize", "none"), NORMALIZERS, f"{where}.normalize")
    minimize = custom.get("minimize")
    if minimize is not None:
        minimize = _choice(minimize, MINIMIZE_ACTIONS, f"{where}.minimize")
    keys = _names(custom["keys"], f"{where}.keys") if "keys" in custom else ()
    monitor = _names(custom["monitor"], f"{where}.monitor") if "monitor" in custom else ()
    for role in monitor:
        _choice(role, MONITOR_ROLES, f"{where}.monitor")
    allowed = tuple(str(e.get("value")) for e in raw.get("enum") or ())
    children: tuple[Field, ...] = ()
    items: Field | None = None
    if logical == "object":
        props = raw.get("properties")
        if not props:
            raise ContractError(f"{where}: an object field needs 'properties' (its fields)")
        children = parse_fields(props, f"{where}.properties", top_level=False)
    elif raw.get("properties"):
        raise ContractError(f"{where}: only object fields have 'properties'")
    physical = raw.get("physicalType")
    if logical == "map" and physical is None and isinstance(raw.get("map"), Mapping):
        value = raw["map"].get("value") or {}
        value_type = value.get("physicalType") or _MAP_VALUES.get(str(value.get("logicalType")))
        physical = f"map<string,{value_type or 'string'}>"
    if logical == "array":
        if not isinstance(raw.get("items"), Mapping):
            raise ContractError(f"{where}: an array field needs 'items' (its element)")
        element = dict(raw["items"])
        element.setdefault("name", "item")
        element.setdefault("classification", classification)
        items = parse_field(element, f"{where}.items", top_level=False)
    field = Field(
        name=name,
        logical_type=logical,
        required=bool(raw.get("required", False)),
        classification=classification,
        physical_type=physical,
        description=str(raw.get("description") or ""),
        allowed=allowed,
        primary_key=bool(raw.get("primaryKey", False)),
        normalize=normalize,
        minimize=minimize,
        keys=keys,
        monitor=monitor,
        children=children,
        items=items,
    )
    _check_field(field, where, top_level)
    return field


def _check_field(f: Field, where: str, top_level: bool) -> None:
    if (f.minimize or f.monitor) and not top_level:
        raise ContractError(f"{where}: minimize and monitor apply to top-level fields only")
    if f.normalize != "none" and f.logical_type != "string":
        raise ContractError(f"{where}: normalize {f.normalize!r} applies to string fields only")
    if f.allowed and f.logical_type != "string":
        raise ContractError(f"{where}: enum (allowed values) applies to string fields only")
    if f.minimize == "pseudonymize":
        if f.logical_type != "string":
            raise ContractError(f"{where}: pseudonymize applies to string fields only")
        if f.classification != PII_PSEUDONYMOUS:
            raise ContractError(
                f"{where}: a pseudonymized field stores a pseudonym: classify it "
                f"{PII_PSEUDONYMOUS!r}, not {f.classification!r}"
            )
    if f.minimize == "truncate_ip" and f.logical_type != "string":
        raise ContractError(f"{where}: truncate_ip applies to string fields only")
    if f.minimize in ("keep_keys", "drop_keys"):
        if f.logical_type != "map":
            raise ContractError(f"{where}: {f.minimize} applies to map fields only")
        if not f.keys:
            raise ContractError(f"{where}: {f.minimize} needs 'keys' (a list of map keys)")
    elif f.keys:
        raise ContractError(f"{where}: 'keys' belongs to keep_keys / drop_keys only")
    if "category" in f.monitor and f.classification != NONE:
        raise ContractError(
            f"{where}: monitor 'category' copies values into ops.table_metrics; "
            f"{f.classification} fields may be monitored as 'distinct' only"
        )
    if "numeric" in f.monitor and f.logical_type not in ("integer", "number"):
        raise ContractError(f"{where}: monitor 'numeric' applies to integer and number fields")
    if "numeric" in f.monitor and f.classification != NONE:
        raise ContractError(f"{where}: monitor 'numeric' copies values; classify it none")


def parse_fields(raw: Any, where: str, top_level: bool = True) -> tuple[Field, ...]:
    """A list of ODCS schema properties as fields; names must be unique."""
    if not isinstance(raw, list) or not raw:
        raise ContractError(f"{where}: must be a list of fields")
    fields = tuple(
        parse_field(item, f"{where}", top_level)
        for item in raw
        if isinstance(item, Mapping) or _not_mapping(item, where)
    )
    names = [f.name for f in fields]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ContractError(f"{where}: field(s) {', '.join(twice)} declared twice")
    return fields


def _not_mapping(item: Any, where: str) -> bool:
    raise ContractError(f"{where}: {item!r} is not a field (a mapping with name, logicalType...)")
