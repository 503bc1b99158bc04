"""compat_fields.type_change: which leaf type changes widen (compatible) and which narrow or
retype (breaking); field-level changes through whole contracts are in test_compat."""

from __future__ import annotations

import pytest
from pyspark.sql.types import (
    DataType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
    StringType,
)

from lakehouse.contracts.compat_fields import type_change

TYPES: list[tuple[DataType, DataType, bool | None, str]] = [
    (IntegerType(), IntegerType(), None, ""),
    (ShortType(), LongType(), False, "widened type smallint -> bigint"),
    (LongType(), IntegerType(), True, "narrowed type bigint -> int"),
    (FloatType(), DoubleType(), False, "widened type float -> double"),
    (DoubleType(), FloatType(), True, "narrowed type double -> float"),
    (DecimalType(10, 2), DecimalType(12, 4), False, "widened type decimal(10,2) -> decimal(12,4)"),
    (DecimalType(10, 2), DecimalType(11, 1), True, "narrowed type decimal(10,2) -> decimal(11,1)"),
    (IntegerType(), DecimalType(38, 0), True, "retyped int -> decimal(38,0)"),
    (
        MapType(StringType(), IntegerType()),
        MapType(StringType(), LongType()),
        False,
        "map values widened type int -> bigint",
    ),
    (
        MapType(StringType(), StringType()),
        MapType(StringType(), LongType()),
        True,
        "map values retyped string -> bigint",
    ),
]


@pytest.mark.parametrize(("old", "new", "breaking", "message"), TYPES)
def test_type_change(old: DataType, new: DataType, breaking: bool | None, message: str) -> None:
    change = type_change(old, new)
    if breaking is None:
        assert change is None
    else:
        assert change == (breaking, message)
