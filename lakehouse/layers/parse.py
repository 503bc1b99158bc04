"""Typed values and refusal reasons of a JSON event, field by field, from a dataset contract.

Each top-level field of a payload arrives as its text (silver reads the payload once into a
struct of strings, :func:`lakehouse.layers.silver.raw_schema`; a nested object or array
arrives as its JSON text); each field is then typed from its text, recursively into objects
(read as ``map<string,string>``) and arrays (read as ``array<string>``). Every check is an
expression that yields an array of one reason or an empty one (:func:`reason`), and a
field's reasons are their concatenation; nested paths are dotted, array elements ``[]``:
``missing_field:items[].sku``, ``invalid_type:device.os``, ``invalid_value:event_type`` (not
an allowed value).

Not a reason-or-null per check with the nulls filtered out afterwards: ``filter`` (and
``array_compact``, the same) takes a lambda function, which Spark evaluates row by row
without generated code together with everything below it, here all the checks of a row (its
payload's fields looked up one by one, without the common parts computed once): 100,000
product events parse in 1.9 s, against 2.5 s below such a lambda (``bench/parse_checks.py``).
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

__all__ = ["TIMESTAMP_PATTERN", "field_reasons", "reason", "typed_value"]

# what a timestamp's text must look like: ISO 8601 with a date, a time to the second, up
# to six digits of fraction and an offset (Z or +hh:mm); letters in either case
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
_STRING_MAP = "map<string,string>"


def _no_reasons() -> Column:
    """An empty ``array<string>``."""
    return F.array().cast("array<string>")


def reason(condition: Column, text: str | Column) -> Column:
    """``[text]`` where ``condition`` holds, else ``[]`` (also where it is null)."""
    value = F.lit(text) if isinstance(text, str) else text
    return F.when(condition, F.array(value)).otherwise(_no_reasons())


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
        # (a prefix test, not a regular expression: one per string field and event)
        text = F.ltrim(raw)
        return F.when(~(text.startswith("[") | text.startswith("{")), raw)
    if isinstance(data_type, TimestampType):
        # the shape checked by a regular expression, then Spark's cast reads it (out of
        # range fields, e.g. February 30 or +19:00, make it null): the same values as
        # try_to_timestamp with the pattern yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]XXX, at about
        # half the cost (a formatter's parse allocates per value; README, Performance)
        text = F.upper(raw)
        return F.when(text.rlike(TIMESTAMP_PATTERN), text.try_cast("timestamp"))
    if isinstance(data_type, DateType):
        return F.try_to_timestamp(raw, F.lit("yyyy-MM-dd")).cast("date")
    if isinstance(data_type, BooleanType):
        text = F.lower(F.trim(raw))
        return F.when(text == "true", F.lit(True)).when(text == "false", F.lit(False))
    if isinstance(data_type, MapType):
        return F.from_json(raw, data_type.simpleString())
    return raw.try_cast(data_type)


def _object_items(f: Field) -> bool:
    """Whether the elements of array field ``f`` are objects."""
    return f.items is not None and f.items.logical_type == "object"


def _elements(f: Field, raw: Column) -> Column:
    """The elements of array field ``f`` from its JSON text ``raw``: ``array<string>``, or,
    for elements that are objects, ``array<struct<text, map>>`` with each element's text
    read as a map once here (see :func:`typed_value`)."""
    texts = F.from_json(raw, "array<string>")
    if not _object_items(f):
        return texts
    return F.transform(
        texts, lambda x: F.struct(x.alias("text"), F.from_json(x, _STRING_MAP).alias("map"))
    )


def _element(f: Field, x: Column) -> tuple[Column, Column | None]:
    """An element of :func:`_elements`: its text, and its map when it is an object."""
    if _object_items(f):
        return x["text"], x["map"]
    return x, None


def typed_value(f: Field, raw: Column, parsed: Column | None = None) -> Column:
    """The value of ``f`` typed from its JSON text ``raw`` (null when it does not parse);
    for an object, ``parsed`` may be ``raw`` read as a map already.

    The elements of an array are typed inside a lambda function, which Spark evaluates
    without generated code and so without computing a common part once: each object element
    is read as a map once, before (:func:`_elements`), not once per use of the map (for the
    orders contract's line items, several times per field)."""
    data_type = nullable(field_type(f, f.name))
    if f.logical_type == "object":
        fields = f.children
        parsed = F.from_json(raw, _STRING_MAP) if parsed is None else parsed
        struct = F.struct(*[typed_value(c, parsed[c.name]).alias(c.name) for c in fields])
        return F.when(parsed.isNotNull(), struct).cast(data_type)
    if f.logical_type == "array":
        element = f.items
        assert element is not None  # the loader requires items
        return F.transform(_elements(f, raw), lambda x: typed_value(element, *_element(f, x))).cast(
            data_type
        )
    return _normalized(f, _scalar(data_type, raw))


def field_reasons(
    f: Field,
    raw: Column,
    path: str | None = None,
    parsed: Column | None = None,
    typed: Column | None = None,
) -> Column:
    """The reasons ``raw`` breaks ``f``'s promise, as ``array<string>`` (empty when none);
    for an object, ``parsed`` may be ``raw`` read as a map already; ``typed`` may be
    :func:`typed_value` of ``f`` computed already (a column of a projection before)."""
    path = path or f.name
    typed = typed_value(f, raw, parsed) if typed is None else typed
    blank = raw.isNull() | (F.trim(raw) == "")
    parts: list[Column] = []
    if f.required:
        parts.append(reason(blank, f"missing_field:{path}"))
    parts.append(reason(~blank & typed.isNull(), f"invalid_type:{path}"))
    if f.allowed:
        allowed = typed.isin(*f.allowed)
        parts.append(reason(typed.isNotNull() & ~allowed, f"invalid_value:{path}"))
    if f.logical_type == "object":
        parsed = F.from_json(raw, _STRING_MAP) if parsed is None else parsed
        for child in f.children:
            nested = field_reasons(child, parsed[child.name], f"{path}.{child.name}")
            parts.append(F.when(parsed.isNotNull(), nested).otherwise(_no_reasons()))
    if f.logical_type == "array" and f.items is not None:
        element = f.items

        def element_reasons(x: Column) -> Column:
            text, parsed_element = _element(f, x)
            return field_reasons(element, text, f"{path}[]", parsed_element)

        nested = F.flatten(F.transform(_elements(f, raw), element_reasons))
        parts.append(F.coalesce(nested, _no_reasons()))
    return F.concat(*parts)
