"""Typed values and refusal reasons of a JSON event, field by field, from a dataset contract.

A payload is read once as ``map<string,string>`` (a nested object or array arrives as its
JSON text); each field is then typed from its text, recursively into objects (read as maps
again) and arrays (read as ``array<string>``). Every check is an expression that yields a
reason or null; nested paths are dotted, array elements ``[]``: ``missing_field:items[].sku``,
``invalid_type:device.os``, ``invalid_value:event_type`` (not an allowed value).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DataType,
    DateType,
    MapType,
    StringType,
    TimestampType,
)

from lakehouse.contracts.model import Field
from lakehouse.contracts.types import field_type, nullable
from lakehouse.layers.normalize import strip_invisible

__all__ = ["TIMESTAMP_FORMAT", "field_reasons", "typed_value"]

TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS][.SSS][.SS][.S]XXX"
_STRING_MAP = "map<string,string>"


def _no_reasons() -> Column:
    return F.array().cast("array<string>")


def _normalized(f: Field, value: Column) -> Column:
    # codes (normalized to one case) lose control and format characters first: invisible,
    # they would make "\u0000ES" a value of its own (lakehouse.layers.normalize)
    if f.normalize == "trim":
        return F.trim(value)
    if f.normalize == "lower":
        return F.lower(F.trim(strip_invisible(value)))
    if f.normalize == "upper":
        return F.upper(F.trim(strip_invisible(value)))
    return value


def _scalar(data_type: DataType, raw: Column) -> Column:
    if isinstance(data_type, StringType):
        # a JSON object or array where a string is promised arrives as its JSON text: type
        # confusion, not a value (numbers and booleans are read as their text)
        return F.when(~F.ltrim(raw).rlike(r"^[\[{]"), raw)
    if isinstance(data_type, TimestampType):
        return F.try_to_timestamp(raw, F.lit(TIMESTAMP_FORMAT))
    if isinstance(data_type, DateType):
        return F.try_to_timestamp(raw, F.lit("yyyy-MM-dd")).cast("date")
    if isinstance(data_type, BooleanType):
        text = F.lower(F.trim(raw))
        return F.when(text == "true", F.lit(True)).when(text == "false", F.lit(False))
    if isinstance(data_type, MapType):
        return F.from_json(raw, data_type.simpleString())
    return raw.try_cast(data_type)


def typed_value(f: Field, raw: Column) -> Column:
    """The value of ``f`` typed from its JSON text ``raw`` (null when it does not parse)."""
    data_type = nullable(field_type(f, f.name))
    if f.logical_type == "object":
        fields = f.children
        parsed = F.from_json(raw, _STRING_MAP)
        struct = F.struct(*[typed_value(c, parsed[c.name]).alias(c.name) for c in fields])
        return F.when(parsed.isNotNull(), struct).cast(data_type)
    if f.logical_type == "array":
        element = f.items
        assert element is not None  # the loader requires items
        parsed = F.from_json(raw, "array<string>")
        return F.transform(parsed, lambda x: typed_value(element, x)).cast(data_type)
    return _normalized(f, _scalar(data_type, raw))


def field_reasons(f: Field, raw: Column, path: str | None = None) -> Column:
    """The reasons ``raw`` breaks ``f``'s promise, as ``array<string>`` (nulls where none)."""
    path = path or f.name
    typed = typed_value(f, raw)
    blank = raw.isNull() | (F.trim(raw) == "")
    parts: list[Column] = []
    checks: list[Column] = []
    if f.required:
        checks.append(F.when(blank, F.lit(f"missing_field:{path}")))
    checks.append(F.when(~blank & typed.isNull(), F.lit(f"invalid_type:{path}")))
    if f.allowed:
        allowed = typed.isin(*f.allowed)
        checks.append(F.when(typed.isNotNull() & ~allowed, F.lit(f"invalid_value:{path}")))
    parts.append(F.array(*checks))
    if f.logical_type == "object":
        parsed = F.from_json(raw, _STRING_MAP)
        for child in f.children:
            nested = field_reasons(child, parsed[child.name], f"{path}.{child.name}")
            parts.append(F.when(parsed.isNotNull(), nested).otherwise(_no_reasons()))
    if f.logical_type == "array" and f.items is not None:
        element = f.items
        elements = F.from_json(raw, "array<string>")
        nested = F.flatten(F.transform(elements, lambda x: field_reasons(element, x, f"{path}[]")))
        parts.append(F.coalesce(nested, _no_reasons()))
    return F.concat(*parts)
