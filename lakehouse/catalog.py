"""The catalog: every table addressable by name from any process.

No metastore is shared between local processes (embedded Derby allows one process at a
time). Instead each session registers the tables of the declarative dataset definitions
at start as external Delta tables over their lake paths: cheap, idempotent, and the same
names work in every new process. Missing tables are created empty with their schema, so
a query on a fresh lake answers with zero rows instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from delta.tables import DeltaTable
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import SparkSession

from lakehouse.config import LakeConfig
from lakehouse.errors import TableError
from lakehouse.io.commits import newest_checksum
from lakehouse.ops import TableDef

__all__ = [
    "add_missing_columns",
    "apply_properties",
    "prepare_tables",
    "register_tables",
    "table_exists",
    "table_path",
]


def table_path(lake: LakeConfig, table: TableDef) -> str:
    """The storage location of a table under the lake root."""
    return lake.table_path(table.layer, table.short_name)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _ddl_columns(table: TableDef) -> str:
    cols = []
    for f in table.schema.fields:
        null = "" if f.nullable else " NOT NULL"
        cols.append(f"`{f.name}` {f.dataType.simpleString()}{null}")
    return ", ".join(cols)


_VANISHED = "<location no longer exists>"


def _registered_location(spark: SparkSession, name: str) -> tuple[str | None, set[str]]:
    """Where ``name`` is registered and its columns; None when it is not; a marker when its
    folder is gone (a deleted lake), so that it is registered again."""
    try:
        if not spark.catalog.tableExists(name):
            return None, set()
        rows = spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect()
    except AnalysisException:
        return _VANISHED, set()
    columns: set[str] = set()
    for row in rows:
        if not row["col_name"] or row["col_name"].startswith("#"):
            break  # the columns come first, then partitioning and details
        columns.add(row["col_name"])
    for row in rows:
        if row["col_name"] == "Location":
            return str(row["data_type"]), columns
    return None, columns


def _same_location(registered: str, wanted: str) -> bool:
    def norm(p: str) -> str:
        p = p.rstrip("/")
        return p[len("file:") :] if p.startswith("file:") else p

    return norm(registered) == norm(wanted)


def _properties_sql(properties: dict[str, str]) -> str:
    return ", ".join(f"'{_quote(k)}' = '{_quote(v)}'" for k, v in sorted(properties.items()))


def apply_properties(spark: SparkSession, table: TableDef, location: str) -> bool:
    """Set the Delta properties the table's policy asks for where they differ; True if changed.

    New tables get them at creation; this brings tables written before a policy change up
    to date (one commit, only when something differs).
    """
    # SHOW TBLPROPERTIES reads the snapshot's metadata only; DeltaTable.detail() runs a
    # Spark job over every file of the table (0.8 s a table, most of a command's start)
    quoted = location.replace("`", "``")
    rows = spark.sql(f"SHOW TBLPROPERTIES delta.`{quoted}`").collect()
    existing = {r["key"]: r["value"] for r in rows}
    wanted = table.properties
    if all(existing.get(k) == v for k, v in wanted.items()):
        return False
    spark.sql(f"ALTER TABLE delta.`{quoted}` SET TBLPROPERTIES ({_properties_sql(wanted)})")
    return True


def add_missing_columns(spark: SparkSession, table: TableDef, location: str) -> list[str]:
    """Add the nullable columns of ``table`` that the Delta table at ``location`` lacks (a
    lake written before they were declared), at the end, in one commit; their value in the
    rows already there is null. Return their names. Columns that are not nullable are never
    added: a table that lacks one stays as it is and its registration reports the mismatch.
    """
    existing = {f.name for f in DeltaTable.forPath(spark, location).toDF().schema.fields}
    missing = [f for f in table.schema.fields if f.name not in existing]
    if not missing or not all(f.nullable for f in missing):
        return []
    columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in missing)
    spark.sql(f"ALTER TABLE delta.`{location.replace('`', '``')}` ADD COLUMNS ({columns})")
    return [f.name for f in missing]


def _found(spark: SparkSession, location: str) -> tuple[set[str], dict[str, str]] | None:
    """The columns and properties of the Delta table at ``location`` as its newest checksum
    records them (:func:`lakehouse.io.commits.newest_checksum`: no Spark job, no state
    reconstruction); None when the checksum does not tell (no table there, or no checksum
    of its newest commit): the caller then asks Delta."""
    metadata = (newest_checksum(spark, location) or {}).get("metadata")
    if not isinstance(metadata, dict):
        return None
    try:
        schema = json.loads(metadata["schemaString"])
        columns = {str(f["name"]) for f in schema["fields"]}
        configuration = {str(k): str(v) for k, v in (metadata.get("configuration") or {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return columns, configuration


def _up_to_date(table: TableDef, found: tuple[set[str], dict[str, str]]) -> bool:
    columns, configuration = found
    return set(table.schema.fieldNames()) <= columns and all(
        configuration.get(k) == v for k, v in table.properties.items()
    )


def _create_sql(table: TableDef, target: str) -> str:
    partition = f" PARTITIONED BY ({', '.join(table.partition_by)})" if table.partition_by else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {target} ({_ddl_columns(table)}) USING DELTA{partition}"
        f" COMMENT '{_quote(table.description)}'"
    )


def _cannot(table: TableDef, location: str, exc: PySparkException) -> TableError:
    detail = " ".join(str(exc).split())[:400]
    return TableError(
        f"cannot register {table.name} at {location!r}: {detail}; the table there was "
        "written by another version or is not a Delta table: move it away or point "
        "lake.root at a new location"
    )


def table_exists(spark: SparkSession, location: str) -> bool:
    """Whether a Delta table is at ``location``: its newest checksum when there is one (no
    Spark call), else Delta's own check."""
    return _found(spark, location) is not None or DeltaTable.isDeltaTable(spark, location)


def prepare_tables(spark: SparkSession, lake: LakeConfig, tables: Iterable[TableDef]) -> None:
    """Make ``tables`` ready to be read and written by path, without naming them in the
    session catalog (the streams of a process on the in-memory catalog, where no one else
    sees the names and nothing reads a table by name): a missing table is created with its
    schema and properties, one written before columns or properties were declared is
    brought up to date. A table its newest checksum shows up to date costs no Spark call
    (registering one by name costs a Delta state load: 5 s for a platform's 23 tables)."""
    for table in tables:
        location = table_path(lake, table)
        found = _found(spark, location)
        if found is not None and _up_to_date(table, found):
            continue
        try:
            if found is not None or DeltaTable.isDeltaTable(spark, location):
                add_missing_columns(spark, table, location)
                apply_properties(spark, table, location)
            else:
                target = f"delta.`{location.replace('`', '``')}`"
                spark.sql(
                    f"{_create_sql(table, target)}"
                    f" TBLPROPERTIES ({_properties_sql(table.properties)})"
                )
        except PySparkException as exc:
            raise _cannot(table, location, exc) from exc


def register_tables(
    spark: SparkSession,
    lake: LakeConfig,
    tables: Iterable[TableDef],
    replace_mismatched: bool = True,
    *,
    create: bool = True,
) -> None:
    """Create the schemas and register ``tables`` (every table of the platform: see
    :func:`lakehouse.platform.load_platform`) in the session catalog.

    A table already registered at another location is re-registered when
    ``replace_mismatched`` (the in-memory catalog: the lake root changed); with a shared
    metastore that is an error, since another lake owns the name. Without ``create``
    (commands that only read) only the tables that exist are registered, and a root that
    holds none of them is an error: reading never creates a lake.
    """
    tables = list(tables)
    found = {t.name: _found(spark, table_path(lake, t)) for t in tables}
    if not create:
        known = len(tables)
        tables = [
            t
            for t in tables
            if found[t.name] is not None or DeltaTable.isDeltaTable(spark, table_path(lake, t))
        ]
        if not tables:
            raise TableError(
                f"no lake at lake.root {lake.root!r} (none of its {known} tables is "
                "there); check lake.root, or create the lake with `lakehouse run` or "
                "`lakehouse demo`"
            )
    for layer in sorted({t.layer for t in tables}):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {layer}")
    for table in tables:
        location = table_path(lake, table)
        registered, columns = _registered_location(spark, table.name)
        if registered is not None:
            if _same_location(registered, location):
                if not set(table.schema.fieldNames()) <= columns:  # e.g. a shared metastore
                    add_missing_columns(spark, table, location)
                continue
            if not replace_mismatched:
                raise TableError(
                    f"table {table.name} is registered at {registered!r}, not at {location!r}; "
                    "drop it from the metastore or point lake.root at that location"
                )
            spark.sql(f"DROP TABLE IF EXISTS {table.name}")  # external table: files are kept
        state = found[table.name]
        exists = state is not None or DeltaTable.isDeltaTable(spark, location)
        try:
            if exists and (state is None or not _up_to_date(table, state)):
                add_missing_columns(spark, table, location)
                apply_properties(spark, table, location)
            properties = "" if exists else f" TBLPROPERTIES ({_properties_sql(table.properties)})"
            spark.sql(f"{_create_sql(table, table.name)} LOCATION '{_quote(location)}'{properties}")
        except PySparkException as exc:
            raise _cannot(table, location, exc) from exc
