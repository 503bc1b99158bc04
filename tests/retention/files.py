"""Looking at the files of a lake directly, bypassing the Delta log: what is physically there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession


def data_files(table_dir: Path) -> list[str]:
    """Every Parquet data file of a table folder (the Delta log excluded), current or not."""
    return sorted(str(p) for p in table_dir.rglob("*.parquet") if "_delta_log" not in p.parts)


def read_files(spark: SparkSession, table_dir: Path) -> DataFrame | None:
    """The rows physically in a table's data files (deletion vectors are ignored)."""
    files = data_files(table_dir)
    return spark.read.parquet(*files) if files else None


def _texts(value: Any) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, bytes | bytearray):
        yield bytes(value).decode("utf-8", "replace")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _texts(k)
            yield from _texts(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _texts(v)
    else:
        yield str(value)


def decoded_text(spark: SparkSession, table_dir: Path) -> str:
    """Every value of every row of a table's data files, decoded, as one text."""
    df = read_files(spark, table_dir)
    if df is None:
        return ""
    return "\n".join(t for row in df.collect() for t in _texts(tuple(row)))


def raw_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` that is not a Parquet data file: the Delta logs (JSON,
    checkpoints, CRC), deletion vectors, stream checkpoints."""
    for path in root.rglob("*"):
        if path.is_file() and not (path.suffix == ".parquet" and "_delta_log" not in path.parts):
            yield path


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    """Non-data files under ``root`` whose raw bytes contain one of ``needles``."""
    hits = []
    for path in raw_files(root):
        data = path.read_bytes()
        hits += [f"{path}: {n!r}" for n in needles if n in data]
    return hits


def log_checkpoint_text(spark: SparkSession, root: Path) -> str:
    """Decoded values of every Delta log checkpoint (Parquet) under ``root``: compressed
    Parquet can hide strings from a byte search."""
    files = [str(p) for p in root.rglob("*.parquet") if "_delta_log" in p.parts]
    return "\n".join(
        t for f in files for row in spark.read.parquet(f).collect() for t in _texts(tuple(row))
    )


def _arrow_values(value: Any) -> Iterator[bytes]:
    """Every scalar of a pyarrow ``to_pylist`` value (keys of maps too), as bytes."""
    if value is None:
        return
    if isinstance(value, bytes | bytearray):
        yield bytes(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _arrow_values(k)
            yield from _arrow_values(v)
    elif isinstance(value, list | tuple):  # lists, and maps as lists of (key, value)
        for v in value:
            yield from _arrow_values(v)
    else:
        yield str(value).encode()


def parquet_contents(path: Path) -> Iterator[bytes]:
    """What a Parquet file holds, decoded with pyarrow (not Spark, so deletion vectors hide
    nothing): every value of every row, and the min/max statistics of its footer."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    for row in parquet.read().to_pylist():
        for value in row.values():
            yield from _arrow_values(value)
    metadata = parquet.metadata
    for group in range(metadata.num_row_groups):
        for column in range(metadata.num_columns):
            stats = metadata.row_group(group).column(column).statistics
            if stats is not None and stats.has_min_max:
                yield from _arrow_values(stats.min)
                yield from _arrow_values(stats.max)


def scan(root: Path, needles: list[re.Pattern[bytes]]) -> list[str]:
    """Every file under ``root`` where one of ``needles`` occurs: in its raw bytes (Delta log
    JSON and ``.crc``, deletion vectors, stream checkpoints) and, for Parquet (table data and
    Delta log checkpoints), in its decoded values and footer statistics. Returns
    ``path: needle`` per hit."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        chunks = [path.read_bytes()]
        if path.suffix == ".parquet":
            chunks += list(parquet_contents(path))
        hits += [f"{path}: {n.pattern!r}" for n in needles if any(n.search(c) for c in chunks)]
    return hits
