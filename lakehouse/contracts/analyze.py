"""Gold SQL checked by Spark: the query must parse and name only silver columns; its output
schema is the gold table's (plus ``updated_ts``). Runs on an empty frame: no data is read."""

from __future__ import annotations

from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession

from lakehouse.contracts.model import Dataset, GoldTable
from lakehouse.contracts.tables import gold_quarantine_table, gold_table, silver_table
from lakehouse.errors import ContractError
from lakehouse.ops import TableDef

__all__ = ["gold_frame", "gold_tables"]


def gold_frame(spark: SparkSession, gold: GoldTable, silver: DataFrame) -> DataFrame:
    """The gold query over ``silver`` (the rows of the windows being recomputed)."""
    try:
        return spark.sql(gold.sql, silver=silver)
    except PySparkException as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise ContractError(f"{gold.path}: {lines[0] if lines else type(exc).__name__}") from exc


def gold_tables(spark: SparkSession, dataset: Dataset) -> dict[str, tuple[TableDef, TableDef]]:
    """Each gold table of ``dataset`` with its quarantine table, by gold table name."""
    empty = spark.createDataFrame([], silver_table(dataset).schema)
    tables: dict[str, tuple[TableDef, TableDef]] = {}
    for gold in dataset.gold:
        frame = gold_frame(spark, gold, empty)
        if "updated_ts" in frame.columns:
            raise ContractError(f"{gold.path}: updated_ts is added by the gold job; drop it")
        table = gold_table(gold, frame.schema)
        tables[gold.name] = (table, gold_quarantine_table(table))
    return tables
