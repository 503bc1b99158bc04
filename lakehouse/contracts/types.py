"""Field types of a contract as Spark types, without a Spark session.

A field's ODCS ``logicalType`` says what kind of value it is; ``physicalType`` (a Spark SQL
type name) says how it is stored when the logical type leaves a choice: ``int`` or ``bigint``
for integers, ``decimal(18,2)`` or ``double`` for numbers, ``map<string,string>`` for maps.
"""

from __future__ import annotations

import re

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    ByteType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse.contracts.model import Field
from lakehouse.errors import ContractError

__all__ = ["field_type", "nullable", "parse_type", "struct_of"]

_SIMPLE: dict[str, DataType] = {
    "string": StringType(),
    "boolean": BooleanType(),
    "tinyint": ByteType(),
    "smallint": ShortType(),
    "int": IntegerType(),
    "integer": IntegerType(),
    "bigint": LongType(),
    "long": LongType(),
    "float": FloatType(),
    "double": DoubleType(),
    "date": DateType(),
    "timestamp": TimestampType(),
}
# which physical types each logical type may be stored as
_PHYSICAL_OF: dict[str, tuple[type[DataType], ...]] = {
    "string": (StringType,),
    "integer": (ByteType, ShortType, IntegerType, LongType),
    "number": (DecimalType, DoubleType, FloatType),
    "boolean": (BooleanType,),
    "date": (DateType,),
    "timestamp": (TimestampType,),
    "map": (MapType,),
}
_DEFAULT: dict[str, DataType] = {
    "string": StringType(),
    "integer": LongType(),
    "number": DoubleType(),
    "boolean": BooleanType(),
    "date": DateType(),
    "timestamp": TimestampType(),
}
_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def parse_type(text: str, where: str) -> DataType:
    """A Spark SQL type name (``int``, ``decimal(18,2)``, ``map<string,string>``,
    ``array<bigint>``) as a Spark type; a :class:`ContractError` naming ``where`` otherwise."""
    value = text.strip().lower()
    if value in _SIMPLE:
        return _SIMPLE[value]
    match = _DECIMAL.match(value)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if not 1 <= precision <= 38 or scale > precision:
            raise ContractError(
                f"{where}: {text!r} is not a valid decimal; precision 1 to 38, scale at most "
                "the precision"
            )
        return DecimalType(precision, scale)
    for prefix, arity in (("map<", 2), ("array<", 1)):
        if value.startswith(prefix) and value.endswith(">"):
            parts = _split_top(value[len(prefix) : -1])
            if len(parts) == arity:
                inner = [parse_type(p, where) for p in parts]
                if arity == 1:
                    return ArrayType(inner[0], True)
                if not isinstance(inner[0], StringType):
                    raise ContractError(f"{where}: {text!r}: map keys must be strings")
                return MapType(inner[0], inner[1], True)
    raise ContractError(
        f"{where}: physicalType {text!r} is not a type the platform knows; use one of "
        f"{', '.join(sorted(_SIMPLE))}, decimal(P,S), map<string,T>, array<T>"
    )


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def field_type(f: Field, where: str) -> DataType:
    """The Spark type of a contract field (objects and arrays from their children)."""
    if f.logical_type == "object":
        return struct_of(f.children, where)
    if f.logical_type == "array":
        if f.items is None:
            raise ContractError(f"{where}.items: an array field needs 'items' (its element)")
        return ArrayType(field_type(f.items, f"{where}.items"), True)
    if f.physical_type:
        parsed = parse_type(f.physical_type, where)
        allowed = _PHYSICAL_OF.get(f.logical_type, ())
        if not isinstance(parsed, allowed):
            raise ContractError(
                f"{where}: physicalType {f.physical_type!r} does not store logicalType "
                f"{f.logical_type!r}"
            )
        return parsed
    if f.logical_type == "map":
        return MapType(StringType(), StringType(), True)
    return _DEFAULT[f.logical_type]


def struct_of(fields: tuple[Field, ...], where: str) -> StructType:
    """A struct of contract fields (nullable unless required)."""
    return StructType(
        [StructField(f.name, field_type(f, f"{where}.{f.name}"), not f.required) for f in fields]
    )


def nullable(data_type: DataType) -> DataType:
    """``data_type`` with every nested field, element and value nullable: silver stores
    nested values as parsed; a missing required nested field is a quarantine reason
    (``missing_field:items[].sku``), not a storage constraint."""
    if isinstance(data_type, StructType):
        return StructType(
            [StructField(f.name, nullable(f.dataType), True) for f in data_type.fields]
        )
    if isinstance(data_type, ArrayType):
        return ArrayType(nullable(data_type.elementType), True)
    if isinstance(data_type, MapType):
        return MapType(data_type.keyType, nullable(data_type.valueType), True)
    return data_type
