"""local_frame builds through Arrow the same DataFrame as Spark's row-by-row createDataFrame."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

from lakehouse.errors import LakehouseError
from lakehouse.frames import local_frame
from lakehouse.ops import ANOMALIES, BATCH_LOG, QUALITY_RESULTS, TABLE_METRICS, TableDef

EVERY_TYPE = (
    "id long not null, name string, flag boolean, ratio double, score float, small int,"
    " amount decimal(18,2), raw binary, day date, ts timestamp,"
    " tags array<string>, counts map<string,long>, sketch map<string,array<double>>,"
    " nested map<string,map<string,long>>, point struct<x:double,label:string>,"
    " points array<struct<k:string,v:binary>>"
)


@pytest.fixture(scope="module")
def every_type(spark: SparkSession) -> StructType:
    schema = StructType.fromDDL(EVERY_TYPE)
    assert isinstance(schema, StructType)
    return schema


ROWS = [
    {
        "id": 1,
        "name": "quote ' and \\ backslash, ünïcode",
        "flag": True,
        "ratio": math.nan,
        "score": 1.5,
        "small": -3,
        "amount": Decimal("12345.67"),
        "raw": b"\x00\xff",
        "day": date(2026, 2, 28),
        "ts": datetime(2026, 11, 23, 18, 5, 1, 123456, tzinfo=UTC),
        "tags": ["a", None, "c"],
        "counts": {"x": 1, "y": None},
        "sketch": {"amount": [0.5, math.inf, -math.inf]},
        "nested": {"purchase": {"EUR": 3}},
        "point": {"x": 1.0, "label": None},
        "points": [{"k": "a", "v": b"1"}, {"k": "b", "v": None}],
    },
    {  # an aware timestamp in another zone, and a naive one taken as UTC
        "id": 2,
        "ts": datetime(2026, 11, 23, 20, 5, tzinfo=timezone(timedelta(hours=2))),
        "counts": {},
        "tags": [],
    },
    {"id": 3, "ts": datetime(1970, 1, 1), "day": date(1, 1, 1), "ratio": 1e308},
]


def _full(row: dict[str, object], schema: StructType) -> tuple[object, ...]:
    return tuple(row.get(name) for name in schema.fieldNames())


def test_every_type_is_the_same_as_createDataFrame(
    spark: SparkSession, every_type: StructType
) -> None:
    expected = spark.createDataFrame([_full(r, every_type) for r in ROWS], every_type)
    assert_df_equality(local_frame(spark, ROWS, every_type), expected, allow_nan_equality=True)


def test_tuples_in_field_order_are_rows_too(spark: SparkSession) -> None:
    schema = StructType.fromDDL("a long, b string")
    assert isinstance(schema, StructType)
    assert_df_equality(
        local_frame(spark, [(1, "x"), (2, None)], schema),
        spark.createDataFrame([(1, "x"), (2, None)], schema),
    )


def test_no_rows_is_an_empty_frame_of_the_schema(spark: SparkSession) -> None:
    df = local_frame(spark, [], BATCH_LOG.schema)
    assert df.schema == BATCH_LOG.schema
    assert df.count() == 0


@pytest.mark.parametrize("table", [BATCH_LOG, TABLE_METRICS, ANOMALIES, QUALITY_RESULTS])
def test_the_ops_schemas_convert(spark: SparkSession, table: TableDef) -> None:
    assert local_frame(spark, [], table.schema).schema == table.schema


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"name": "x"}], "row 0: field 'id' is null but the schema says it is not nullable"),
        ([{"id": 1, "colour": "red"}], "row 0: fields ['colour'] are not in the schema"),
        ([(1, "x")], "row 0: 2 values for the 16 fields"),
        ([{"id": "one"}], "rows do not fit the schema struct<id:bigint"),
        ([{"id": 1, "counts": ["not", "a", "map"]}], "rows do not fit the schema"),
        ([{"id": 2**70}], "rows do not fit the schema"),
    ],
)
def test_rows_that_do_not_fit_name_the_problem(
    spark: SparkSession, every_type: StructType, rows: list[object], message: str
) -> None:
    with pytest.raises(LakehouseError) as raised:
        local_frame(spark, rows, every_type)  # type: ignore[arg-type]
    assert message in str(raised.value)
