"""Silver: parse bronze payloads with the event contract, find every reason to refuse a row,
and tell new events from duplicates.

A row-level rule is an expression that yields a reason or null; the reasons of a row are
collected in one array, so one pass splits good rows from quarantined ones, the same code
in batch and in streaming.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakehouse.datasets import (
    AMOUNT_TYPE,
    EVENT_FIELDS,
    QUARANTINE_SILVER_EVENTS,
    SILVER_EVENTS,
    SUPPORTED_SCHEMA_VERSIONS,
    EventField,
)

__all__ = [
    "COORDINATES",
    "DUPLICATE_REASON",
    "REASONS_COL",
    "SilverRules",
    "classify_duplicates",
    "parse_events",
    "to_quarantine",
    "to_silver",
]

REASONS_COL = "_reasons"
RAW_COL = "_raw"
# what quarantine keeps of the payload's identifiers, as they arrived (before any parsing)
RAW_IDS = {"event_id": "_raw_event_id", "user_id": "_raw_user_id"}
DEDUP_COL = "_dedup"
DUPLICATE_REASON = "duplicate_event_id"
COORDINATES = ("_source", "_partition", "_offset")
TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS][.SSS][.SS][.S]XXX"
_STRING_MAP = "map<string,string>"
_KNOWN_FIELDS = [f.name for f in EVENT_FIELDS]


@dataclass(frozen=True)
class SilverRules:
    """Time rules of the refinement, in seconds (from :class:`lakehouse.config.SilverConfig`)."""

    max_future_skew_seconds: int
    max_lateness_seconds: int


def _typed(field: EventField, raw: Column) -> Column:
    if field.kind == "timestamp":
        return F.try_to_timestamp(raw, F.lit(TIMESTAMP_FORMAT))
    if field.kind == "decimal":
        return raw.try_cast(AMOUNT_TYPE)
    if field.kind == "int":
        return raw.try_cast("int")
    if field.kind == "map":
        return F.from_json(raw, _STRING_MAP)
    # a JSON object or array where the contract says string arrives here as its JSON text:
    # type confusion, not an identifier (numbers and booleans are read as their text)
    return F.when(~F.ltrim(raw).rlike(r"^[\[{]"), raw)


def _normalized(name: str, value: Column) -> Column:
    if name in ("event_type", "device"):
        return F.lower(F.trim(value))
    if name in ("country", "currency"):
        return F.upper(F.trim(value))
    if name in ("event_id", "user_id", "session_id", "ip"):
        return F.trim(value)
    return value


def _field_reasons(rules: SilverRules) -> list[Column]:
    raw = F.col(RAW_COL)
    reasons: list[Column] = []
    for field in EVENT_FIELDS:
        value = raw[field.name]
        if field.required:
            blank = value.isNull() | (F.trim(value) == "")
            reasons.append(F.when(blank, F.lit(f"missing_field:{field.name}")))
        bad_type = value.isNotNull() & (F.trim(value) != "") & F.col(field.name).isNull()
        reasons.append(F.when(bad_type, F.lit(f"invalid_type:{field.name}")))
    version = F.col("schema_version")
    supported = version.isin(*SUPPORTED_SCHEMA_VERSIONS)
    reasons.append(
        F.when(
            version.isNotNull() & ~supported,
            F.concat(F.lit("unsupported_schema_version:"), version.cast("string")),
        )
    )
    ts, ingest = F.col("event_ts"), F.col("_ingest_ts")
    future_limit = ingest + F.make_interval(secs=F.lit(rules.max_future_skew_seconds))
    past_limit = ingest - F.make_interval(secs=F.lit(rules.max_lateness_seconds))
    reasons.append(F.when(ts > future_limit, F.lit("event_ts_in_future")))
    reasons.append(F.when(ts < past_limit, F.lit("event_ts_too_old")))
    keys = F.json_object_keys(F.col("_text"))
    reasons.append(F.when(F.size(keys) != F.size(F.array_distinct(keys)), F.lit("duplicate_key")))
    return reasons


def parse_events(rules: SilverRules) -> Callable[[DataFrame], DataFrame]:
    """Parse bronze rows into typed event columns plus ``_reasons`` (empty when the row is good).

    Unknown top-level fields are kept in ``rescued_data``; nothing in the payload is lost.
    Of the parsed payload only the raw ``event_id`` and ``user_id`` are kept (for
    quarantine): the jobs cache and shuffle these rows, and the payload is there in full.
    """

    def transform(bronze: DataFrame) -> DataFrame:
        text = F.col("payload").cast("string")
        parsed = bronze.select(
            F.col("source").alias("_source"),
            F.col("partition").alias("_partition"),
            F.col("offset").alias("_offset"),
            F.col("payload"),
            F.col("ingest_ts").alias("_ingest_ts"),
            text.alias("_text"),
        ).withColumn(RAW_COL, F.from_json(F.col("_text"), _STRING_MAP))
        typed = {
            f.name: _normalized(f.name, _typed(f, F.col(RAW_COL)[f.name])) for f in EVENT_FIELDS
        }
        parsed = parsed.withColumns(typed)
        empty = F.col("payload").isNull() | (F.length(F.col("payload")) == 0)
        gate = (
            F.when(empty, F.array(F.lit("empty_payload")))
            .when(~F.is_valid_utf8(F.col("_text")), F.array(F.lit("invalid_utf8")))
            .when(F.col(RAW_COL).isNull(), F.array(F.lit("malformed_json")))
            .otherwise(F.filter(F.array(*_field_reasons(rules)), lambda r: r.isNotNull()))
        )
        rescued = F.map_filter(
            F.col(RAW_COL), lambda k, _v: ~F.array_contains(F.lit(_KNOWN_FIELDS), k)
        )
        raw_ids = {alias: F.col(RAW_COL)[name] for name, alias in RAW_IDS.items()}
        return parsed.withColumns(
            {
                REASONS_COL: gate,
                "event_date": F.to_date("event_ts"),
                "rescued_data": F.when(F.size(rescued) > 0, rescued),
                **raw_ids,
            }
        ).drop(RAW_COL, "_text")

    return transform


def classify_duplicates(existing: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """Mark each good row ``new``, ``duplicate`` or ``promoted`` in column ``_dedup``.

    ``existing`` holds ``event_id`` and the source coordinates of rows already in silver.
    The first delivery of an event id (lowest coordinates) in the batch is ``new`` unless
    silver has the id already: from the same delivery (a retried batch or a replay) it is
    ``promoted`` and written nothing; from another delivery it is a ``duplicate``.
    """

    def transform(good: DataFrame) -> DataFrame:
        first = Window.partitionBy("event_id").orderBy(*COORDINATES)
        ranked = good.withColumn("_rank", F.row_number().over(first))
        seen = existing.select(
            F.col("event_id").alias("_seen_id"),
            *[F.col(c).alias(f"_seen{c}") for c in COORDINATES],
        ).dropDuplicates(["_seen_id"])
        joined = ranked.join(seen, ranked["event_id"] == seen["_seen_id"], "left")
        same_delivery = F.lit(True)
        for c in COORDINATES:
            same_delivery = same_delivery & (F.col(c) == F.col(f"_seen{c}"))
        status = (
            F.when(F.col("_seen_id").isNull() & (F.col("_rank") == 1), "new")
            .when(F.col("_seen_id").isNotNull() & same_delivery, "promoted")
            .otherwise("duplicate")
        )
        reasons = F.when(F.col(DEDUP_COL) == "duplicate", F.array(F.lit(DUPLICATE_REASON)))
        return (
            joined.withColumn(DEDUP_COL, status)
            .withColumn(REASONS_COL, reasons.otherwise(F.col(REASONS_COL)))
            .drop("_rank", "_seen_id", *[f"_seen{c}" for c in COORDINATES])
        )

    return transform


def to_silver(
    writer_id: str, batch_id: int, processed_ts: datetime
) -> Callable[[DataFrame], DataFrame]:
    """Select the silver columns of good rows, stamped with the writing stream and batch."""

    def transform(good: DataFrame) -> DataFrame:
        return good.withColumns(
            {
                "_processed_ts": F.lit(processed_ts).cast("timestamp"),
                "_writer_id": F.lit(writer_id),
                "_batch_id": F.lit(batch_id).cast("long"),
            }
        ).select(*SILVER_EVENTS.schema.fieldNames())

    return transform


def to_quarantine(
    writer_id: str, batch_id: int, quarantine_ts: datetime
) -> Callable[[DataFrame], DataFrame]:
    """Select the quarantine columns of refused rows; ``reason`` is the first reason."""

    def transform(refused: DataFrame) -> DataFrame:
        ts = F.lit(quarantine_ts).cast("timestamp")
        return refused.withColumns(
            {
                "event_id": F.col(RAW_IDS["event_id"]),
                "user_id": F.col(RAW_IDS["user_id"]),
                "reason": F.get(F.col(REASONS_COL), 0),
                "reasons": F.col(REASONS_COL),
                "quarantine_ts": ts,
                "quarantine_date": F.to_date(ts),
                "_writer_id": F.lit(writer_id),
                "_batch_id": F.lit(batch_id).cast("long"),
            }
        ).select(*QUARANTINE_SILVER_EVENTS.schema.fieldNames())

    return transform
