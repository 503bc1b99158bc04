"""Which gold row a silver row counts in, found by running the gold table's own SQL.

Nothing here knows a dataset's fields: the gold query (``{silver}``) runs over a single
silver row and its output's key columns (``-- keys:`` of the SQL header) are the row's
group. A row the query's filter leaves out yields no group: it counts in no row of that
table. Many rows are evaluated in one Spark job (a union of one query per row).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lakehouse.contracts.analyze import gold_frame
from lakehouse.contracts.model import GoldTable

__all__ = ["CHUNK", "Keys", "row_keys", "window_rows"]

Keys = tuple[Any, ...]
CHUNK = 64  # rows per Spark job
_RID = "_trace_row"


def row_keys(
    spark: SparkSession, gold: GoldTable, schema: StructType, rows: Sequence[Row]
) -> list[list[Keys]]:
    """For each silver row (of ``schema``), the key tuples (in ``gold.keys`` order) of the
    gold rows the query makes of that row alone: usually one, none when filtered out."""
    found: list[list[Keys]] = [[] for _ in rows]
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        frames = [
            gold_frame(spark, gold, spark.createDataFrame([row], schema))
            .select(*gold.keys)
            .withColumn(_RID, F.lit(start + i))
            for i, row in enumerate(chunk)
        ]
        union: DataFrame = reduce(DataFrame.unionByName, frames)
        for out in union.collect():
            found[out[_RID]].append(tuple(out[k] for k in gold.keys))
    return found


def window_rows(silver: DataFrame, gold: GoldTable, window_value: Any) -> DataFrame:
    """The silver rows whose window key (the header's ``window: KEY = EXPRESSION``) is
    ``window_value``: every row a gold row of that window can have been computed from."""
    return silver.where(F.expr(gold.window_expr).eqNullSafe(F.lit(window_value)))
