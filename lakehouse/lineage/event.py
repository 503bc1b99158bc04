"""``lakehouse trace --event-id ID``: every hop of one event, from its source coordinates
to the gold rows it counts in.

The event is looked up by the contract's id field in silver and in the silver quarantine,
and by its source coordinates (or the id field of its raw JSON payload) in bronze; the
batches come from ``ops.batch_log`` (``versions_written`` names the Delta version each
batch wrote); the gold rows from running each gold table's SQL over the silver row
(:mod:`lakehouse.lineage.gold_keys`). An event that is nowhere but was in a version an
erasure replaced is reported as erased, not as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.engine_errors import is_engine_error
from lakehouse.lineage.gold_keys import row_keys
from lakehouse.lineage.ops_reads import BatchRef, batch_refs, erasures, replays
from lakehouse.ops import TableDef
from lakehouse.platform import DatasetTables
from lakehouse.policy import NONE, PII_PSEUDONYMOUS

__all__ = ["Delivery", "EventTrace", "GoldHit", "trace_event"]

_SHOWN = (NONE, PII_PSEUDONYMOUS)  # silver columns a trace prints (pseudonyms, not raw ids)


@dataclass(frozen=True)
class Delivery:
    """One delivery of the event in bronze: where it came from, the bronze batch that wrote
    it and what silver made of it (``silver``, ``quarantined``, or ``pending``)."""

    source: str
    partition: str
    offset: int
    ingest_ts: Any
    bronze_batch: BatchRef
    outcome: str


@dataclass(frozen=True)
class GoldHit:
    """A gold row the event counts in: its table, its keys and the row (None when the gold
    stream has not written that group yet)."""

    table: str
    keys: dict[str, Any]
    row: dict[str, Any] | None


@dataclass
class EventTrace:
    dataset: str
    event_id: str
    status: str  # silver | quarantined | bronze | erased | not found
    deliveries: list[Delivery] = field(default_factory=list)
    silver: dict[str, Any] | None = None
    silver_batch: BatchRef | None = None
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    gold: list[GoldHit] = field(default_factory=list)
    not_counted: list[str] = field(default_factory=list)  # gold tables whose query leaves it out
    erasures: list[dict[str, Any]] = field(default_factory=list)  # of an event not found
    replays: list[dict[str, Any]] = field(default_factory=list)  # that chose a delivery
    notes: list[str] = field(default_factory=list)


def _load(spark: SparkSession, config: LakehouseConfig, table: TableDef) -> DataFrame:
    return spark.read.format("delta").load(table_path(config.lake, table))


def _same_coordinates(rows: list[Row]) -> Column:
    match = F.lit(False)
    for r in rows:
        match = match | (
            (F.col("source") == r["_source"])
            & (F.col("partition") == r["_partition"])
            & (F.col("offset") == r["_offset"])
        )
    return match


def _coordinates(row: Row) -> tuple[str, str, int]:
    return (row["_source"], row["_partition"], row["_offset"])


def trace_event(
    spark: SparkSession, config: LakehouseConfig, tables: DatasetTables, event_id: str
) -> EventTrace:
    """The path of event ``event_id`` through the tables of one dataset."""
    dataset = tables.dataset
    id_field = dataset.id_field
    trace = EventTrace(dataset.name, event_id, "not found")
    silver_rows = _load(spark, config, tables.silver).where(F.col(id_field) == event_id).collect()
    refused = (
        _load(spark, config, tables.quarantine)
        .where(F.col(id_field) == event_id)
        .orderBy("quarantine_ts")
        .collect()
    )
    raw_id = F.get_json_object(F.col("payload").cast("string"), f"$.{id_field}")
    bronze_rows = (
        _load(spark, config, tables.bronze)
        .where((raw_id == event_id) | _same_coordinates([*silver_rows, *refused]))
        .orderBy("ingest_ts", "source", "partition", "offset")
        .collect()
    )
    bronze_batches = batch_refs(
        spark, config, dataset.name, tables.bronze.name, [r["batch_id"] for r in bronze_rows]
    )
    outcome = {_coordinates(r): "silver" for r in silver_rows}
    outcome.update({_coordinates(r): "quarantined" for r in refused})
    trace.deliveries = [
        Delivery(
            r["source"],
            r["partition"],
            r["offset"],
            r["ingest_ts"],
            bronze_batches[r["batch_id"]],
            outcome.get((r["source"], r["partition"], r["offset"]), "pending"),
        )
        for r in bronze_rows
    ]
    quarantine_batches = batch_refs(
        spark, config, dataset.name, tables.quarantine.name, [r["_batch_id"] for r in refused]
    )
    trace.quarantine = [
        {
            "reasons": list(r["reasons"]),
            "quarantine_ts": r["quarantine_ts"],
            "silver_batch": quarantine_batches[r["_batch_id"]],
            "source": r["_source"],
            "partition": r["_partition"],
            "offset": r["_offset"],
        }
        for r in refused
    ]
    if silver_rows:
        row = silver_rows[0]
        trace.status = "silver"
        shown = [c for c, k in tables.silver.policy.columns.items() if k in _SHOWN]
        trace.silver = {c: row[c] for c in shown}
        trace.silver_batch = batch_refs(
            spark, config, dataset.name, tables.silver.name, [row["_batch_id"]]
        )[row["_batch_id"]]
        _gold_hits(spark, config, tables, row, trace)
    elif refused:
        trace.status = "quarantined"
    elif bronze_rows:
        trace.status = "bronze"
        trace.notes.append("in bronze, not yet processed by the silver stream")
    if trace.status == "not found":  # an erasure deletes every row of an event it touches
        _erased(spark, config, tables, event_id, trace)
    trace.replays = replays(
        spark, config, dataset.name, [(d.source, d.partition, d.offset) for d in trace.deliveries]
    )
    return trace


def _gold_hits(
    spark: SparkSession, config: LakehouseConfig, tables: DatasetTables, row: Row, trace: EventTrace
) -> None:
    schema = _load(spark, config, tables.silver).schema
    for gold, table, _ in tables.gold:
        keys = row_keys(spark, gold, schema, [row])[0]
        if not keys:
            trace.not_counted.append(table.name)
        for key in keys:
            match = F.lit(True)
            for name, value in zip(gold.keys, key, strict=True):
                match = match & F.col(name).eqNullSafe(F.lit(value))
            found = _load(spark, config, table).where(match).collect()
            trace.gold.append(
                GoldHit(
                    table.name,
                    dict(zip(gold.keys, key, strict=True)),
                    found[0].asDict(recursive=True) if found else None,
                )
            )


def _erased(
    spark: SparkSession,
    config: LakehouseConfig,
    tables: DatasetTables,
    event_id: str,
    trace: EventTrace,
) -> None:
    """An event found nowhere: was it in a version an erasure replaced? (Time travel to the
    version before each erasure of silver or its quarantine; a vacuumed version cannot say.)"""
    by_name = {tables.silver.name: tables.silver, tables.quarantine.name: tables.quarantine}
    unreadable = []
    trace.erasures = erasures(spark, config, [t.name for t in tables.all])
    for erasure in trace.erasures:
        table = by_name.get(erasure["table"])
        if table is None:
            continue
        try:
            before = (
                spark.read.format("delta")
                .option("versionAsOf", erasure["version_before"])
                .load(table_path(config.lake, table))
            )
            hit = before.where(F.col(tables.dataset.id_field) == event_id).limit(1).count()
        except Exception as exc:
            if not is_engine_error(exc):
                raise
            unreadable.append(f"{erasure['table']}@{erasure['version_before']}")
            continue
        if hit:
            trace.status = "erased"
            request = erasure["request_id"]
            trace.erasures = [e for e in trace.erasures if e["request_id"] == request]
            trace.notes.append(
                f"erased from {erasure['table']} by request {erasure['request_id']} at "
                f"{erasure['erased_ts']} (Delta version {erasure['version_before']} -> "
                f"{erasure['version_after']}): the lake no longer holds it"
            )
            return
    if trace.erasures:
        trace.notes.append(
            "not in any table; erasures deleted rows of this dataset (listed below), so it "
            "may have been erased"
            + (
                f" (versions {', '.join(unreadable)} are vacuumed: cannot tell)"
                if unreadable
                else ""
            )
        )
