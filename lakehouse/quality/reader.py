"""Reading a file or folder to validate, by its kind."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from lakehouse.errors import LakehouseError

__all__ = ["FORMATS", "read_any"]

FORMATS = {
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
    ".csv": "csv",
}


def read_any(spark: SparkSession, path: str) -> DataFrame:
    """A DataFrame of a Delta folder, or of a JSON-lines, Parquet or CSV file or folder."""
    local = Path(path)
    if "://" not in path and not local.exists():
        raise LakehouseError(f"--path {path!r} does not exist")
    if (local / "_delta_log").is_dir():
        return spark.read.format("delta").load(path)
    kind = FORMATS.get(local.suffix.lower())
    if kind is None:
        raise LakehouseError(
            f"--path {path!r}: cannot tell its format; use a Delta folder or a file ending in "
            f"{', '.join(sorted(FORMATS))}"
        )
    reader = spark.read.format(kind)
    if kind == "csv":
        reader = reader.option("header", "true").option("inferSchema", "true")
    return reader.load(path)
