"""Small DataFrames built from Python values on the driver (batch log rows, metrics, findings,
quality results, erasure requests).

``spark.createDataFrame(rows, schema)`` ships pickled rows to Python workers, about half a
second per Spark job on a small machine, paid several times per micro-batch. Built from a
pyarrow table the rows go to the JVM as Arrow batches and no Python worker runs
(``bench/local_frames.py`` measures the difference)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from lakehouse.errors import LakehouseError

__all__ = ["local_frame"]


def local_frame(
    spark: SparkSession,
    rows: Sequence[Mapping[str, Any] | Sequence[Any]],
    schema: StructType,
) -> DataFrame:
    """A DataFrame of ``rows`` (mappings by field name, or tuples in field order) with
    ``schema``; a field a mapping leaves out is null. A value of the wrong type, a field not
    in the schema, a tuple of the wrong length, or a null in a top-level field that is not
    nullable raises :class:`LakehouseError` (nulls inside arrays, maps and structs are not
    checked against their element's nullability)."""
    names = schema.fieldNames()
    records = [_record(row, names, n) for n, row in enumerate(rows)]
    for field in schema.fields:
        if not field.nullable:
            for n, record in enumerate(records):
                if record[field.name] is None:
                    raise LakehouseError(
                        f"row {n}: field {field.name!r} is null but the schema says it "
                        "is not nullable"
                    )
    arrow_schema = to_arrow_schema(schema, error_on_duplicated_field_names_in_struct=True)
    try:
        table = pa.Table.from_pylist(records, schema=arrow_schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
        raise LakehouseError(
            f"rows do not fit the schema {schema.simpleString()}: {error}"
        ) from error
    return spark.createDataFrame(table, schema)


def _record(row: Mapping[str, Any] | Sequence[Any], names: list[str], n: int) -> dict[str, Any]:
    if isinstance(row, Mapping):
        extra = sorted(set(row) - set(names))
        if extra:
            raise LakehouseError(f"row {n}: fields {extra} are not in the schema {names}")
        return {name: row.get(name) for name in names}
    if len(row) != len(names):
        raise LakehouseError(f"row {n}: {len(row)} values for the {len(names)} fields {names}")
    return dict(zip(names, row, strict=True))
