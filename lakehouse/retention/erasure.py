"""Erasure requests: delete data subjects from every table that holds them, with an audit row
per request and table, and purge them physically.

Nothing here writes a subject's raw id or pseudonym into the lake:

- a request keeps ``subject_hash`` = SHA-256 of the pseudonym (``ops.erasure_requests``);
- rows are matched by hashing each row's candidate values in a read, every way a subject's id
  can be held (:mod:`lakehouse.retention.matching`: pseudonym columns, message key, the
  lenient parse, every JSON string of the raw payload, headers and rescued fields, and the
  rows derived from a bronze row found), then deleted with a MERGE on the rows' keys: the
  values stay in the data of the merge source, the Delta log only records the condition on
  column names (a ``DELETE ... WHERE user_id = '...'`` would write the literal into it);
- the audit counts the rows found each way (``rows_found_by``);
- personal columns have no min/max statistics in the log (``delta.dataSkippingStatsColumns``);
- REORG PURGE and VACUUM then remove the files that still held the rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ErasureError
from lakehouse.frames import local_frame
from lakehouse.io.delta import latest_version
from lakehouse.layers.silver import COORDINATES
from lakehouse.ops import ERASURE_AUDIT, ERASURE_REQUESTS, TableDef
from lakehouse.platform import load_platform
from lakehouse.privacy.keys import load_key
from lakehouse.privacy.pseudonymize import subject_hash
from lakehouse.retention.matching import WAYS, find_subjects, ways_of
from lakehouse.retention.purge import purge, with_retries

__all__ = [
    "ErasureRequest",
    "add_requests",
    "erasable_tables",
    "erase",
    "pending_requests",
    "requests_for",
]

PENDING, DONE = "pending", "done"


@dataclass(frozen=True)
class ErasureRequest:
    """One request: its id and the SHA-256 of the subject's pseudonym."""

    request_id: str
    subject_hash: str


def erasable_tables(config: LakehouseConfig) -> list[TableDef]:
    """Tables whose policy says where a subject is: the bronze, silver and quarantine tables
    of every dataset whose contract names a subject field."""
    tables = load_platform(config).tables.values()
    return [t for t in tables if t.policy.subject is not None]


def requests_for(
    key: bytes, subjects: Sequence[str], request_id: str | None = None
) -> list[ErasureRequest]:
    """Requests for raw subject ids; one request id for all of them when given."""
    cleaned = [s.strip() for s in subjects]
    if not cleaned or any(not s for s in cleaned):
        raise ErasureError(f"subject ids {list(subjects)!r}: give one or more non-empty ids")
    if request_id is not None and not request_id.strip():
        raise ErasureError("request id: must not be empty")
    return [ErasureRequest(request_id or str(uuid.uuid4()), subject_hash(key, s)) for s in cleaned]


def _requests_frame(spark: SparkSession, requests: Sequence[ErasureRequest]) -> DataFrame:
    schema = StructType(
        [StructField("request_id", StringType()), StructField("subject_hash", StringType())]
    )
    return local_frame(spark, [(r.request_id, r.subject_hash) for r in requests], schema)


def add_requests(
    spark: SparkSession, config: LakehouseConfig, requests: Sequence[ErasureRequest]
) -> None:
    """Record requests as pending in ``ops.erasure_requests`` (processed by :func:`erase`)."""
    now = datetime.now(UTC)
    rows = [(r.request_id, r.subject_hash, now, PENDING, None) for r in requests]
    df = local_frame(spark, rows, ERASURE_REQUESTS.schema)
    df.write.format("delta").mode("append").save(table_path(config.lake, ERASURE_REQUESTS))


def pending_requests(spark: SparkSession, config: LakehouseConfig) -> list[ErasureRequest]:
    path = table_path(config.lake, ERASURE_REQUESTS)
    rows = (
        spark.read.format("delta")
        .load(path)
        .where(F.col("status") == PENDING)
        .select("request_id", "subject_hash")
        .distinct()
        .collect()
    )
    return [ErasureRequest(r["request_id"], r["subject_hash"]) for r in rows]


def _matches(
    spark: SparkSession,
    table: TableDef,
    path: str,
    key: bytes,
    requests: DataFrame,
    *,
    lineage: DataFrame | None,
) -> DataFrame:
    """Keys of the rows of the requests' subjects, with the request id and the way each was
    found (collected: small). ``lineage`` holds bronze coordinates already found, by request."""
    subject = table.policy.subject
    assert subject is not None
    rows = spark.read.format("delta").load(path)
    found = find_subjects(rows, table, key, requests)
    if lineage is not None and tuple(subject.row_key) == COORDINATES:
        derived = rows.select(*COORDINATES).join(lineage, list(COORDINATES))
        found = found.unionByName(derived.withColumn("way", F.lit("lineage"))).distinct()
    rows_found = found.collect()
    schema = rows.select(*subject.row_key).schema.add("way", "string").add("request_id", "string")
    return local_frame(spark, rows_found, schema)


def _lineage(table: TableDef, found: DataFrame) -> DataFrame:
    """The coordinates of bronze rows found, as the rows derived from them name them."""
    subject = table.policy.subject
    assert subject is not None
    renamed = [F.col(c).alias(d) for c, d in zip(subject.row_key, COORDINATES, strict=True)]
    return found.select(*renamed, "request_id").distinct()


def _delete_keys(spark: SparkSession, path: str, keys: DataFrame, row_key: Sequence[str]) -> None:
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in row_key)
    source = keys.select(*row_key).distinct()
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(source.alias("s"), condition)
        .whenMatchedDelete()
        .execute()
    )


def _in_lineage_order(config: LakehouseConfig) -> list[tuple[TableDef, TableDef]]:
    """Each erasable table with its dataset's bronze table, bronze first: the rows derived
    from the bronze rows found are found by their coordinates too."""
    return [
        (table, tables.bronze)
        for tables in load_platform(config).datasets.values()
        for table in (tables.bronze, tables.silver, tables.quarantine)
        if table.policy.subject is not None
    ]


def erase(
    spark: SparkSession,
    config: LakehouseConfig,
    requests: Sequence[ErasureRequest],
    *,
    purge_now: bool = False,
) -> list[dict[str, object]]:
    """Delete the requests' subjects from every table that holds them, write the audit rows,
    mark the requests done, then purge the files. Returns the audit rows."""
    if not requests:
        return []
    key = load_key(config.privacy).value
    erased_ts = datetime.now(UTC)
    frame = _requests_frame(spark, requests)
    audit: list[dict[str, object]] = []
    touched: list[tuple[TableDef, str]] = []
    lineages: dict[str, DataFrame] = {}  # bronze table -> the coordinates found in it
    for table, bronze in _in_lineage_order(config):
        subject = table.policy.subject
        assert subject is not None
        path = table_path(config.lake, table)
        before = latest_version(spark, path)
        lineage = lineages.get(bronze.name) if table is not bronze else None
        found = _matches(spark, table, path, key, frame, lineage=lineage)
        if table is bronze:
            lineages[bronze.name] = _lineage(table, found)
        rows = found.select(*subject.row_key, "request_id").distinct()
        per_request = {
            r["request_id"]: r["n"]
            for r in rows.groupBy("request_id").agg(F.count(F.lit(1)).alias("n")).collect()
        }
        tried = ways_of(table) + (
            ("lineage",) if lineage is not None and tuple(subject.row_key) == COORDINATES else ()
        )
        per_way: dict[str, dict[str, int]] = {}
        for r in found.groupBy("request_id", "way").agg(F.count(F.lit(1)).alias("n")).collect():
            per_way.setdefault(r["request_id"], {})[r["way"]] = int(r["n"])
        if per_request:
            with_retries(
                f"erasure in {table.name}",
                lambda: _delete_keys(spark, path, found, subject.row_key),  # noqa: B023
            )
            touched.append((table, path))
        after = latest_version(spark, path)
        audit += [
            {
                "request_id": request_id,
                "table_name": table.name,
                "rows_deleted": int(per_request.get(request_id, 0)),
                "rows_found_by": {
                    w: n for w in WAYS if (n := per_way.get(request_id, {}).get(w, 0)) or w in tried
                },
                "version_before": before,
                "version_after": after,
                "erased_ts": erased_ts,
            }
            for request_id in dict.fromkeys(r.request_id for r in requests)
        ]
    local_frame(spark, audit, ERASURE_AUDIT.schema).write.format("delta").mode("append").save(
        table_path(config.lake, ERASURE_AUDIT)
    )
    _mark_done(spark, config, frame, erased_ts)
    for table, path in touched:
        purge(spark, table, path, rewrite=True, purge_now=purge_now)
    return audit


def _mark_done(
    spark: SparkSession, config: LakehouseConfig, requests: DataFrame, when: datetime
) -> None:
    """Record the requests as done (inserted when they were not pending)."""
    source = requests.select(
        "request_id",
        "subject_hash",
        F.lit(when).cast("timestamp").alias("requested_ts"),
        F.lit(DONE).alias("status"),
        F.lit(when).cast("timestamp").alias("processed_ts"),
    )
    with_retries(
        "erasure requests",
        lambda: (
            DeltaTable.forPath(spark, table_path(config.lake, ERASURE_REQUESTS))
            .alias("t")
            .merge(
                source.alias("s"),
                "t.request_id = s.request_id AND t.subject_hash = s.subject_hash",
            )
            .whenMatchedUpdate(set={"status": "s.status", "processed_ts": "s.processed_ts"})
            .whenNotMatchedInsertAll()
            .execute()
        ),
    )
