"""Silver: parse bronze payloads with the dataset's contract, find every reason to refuse a
row, and tell new events from duplicates.

A row-level rule is an expression that yields an array of one reason or an empty one
(:func:`lakehouse.layers.parse.reason`); the reasons of a row are their concatenation, in
one array, so one pass splits good rows from quarantined ones, the same code in batch and
in streaming.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse.contracts.model import Dataset, Field, SchemaVersion
from lakehouse.contracts.types import field_type, nullable
from lakehouse.layers.normalize import removed_characters
from lakehouse.layers.parse import field_reasons, reason, typed_value
from lakehouse.ops import TableDef

__all__ = [
    "COORDINATES",
    "DUPLICATE_REASON",
    "INVISIBLE_COL",
    "REASONS_COL",
    "ROW_COL",
    "SilverRules",
    "apply_marks",
    "classify_duplicates",
    "code_fields",
    "duplicate_marks",
    "parse_events",
    "raw_schema",
    "to_quarantine",
    "to_silver",
]

REASONS_COL = "_reasons"
RAW_COL = "_raw"
KEYS_COL = "_keys"  # the payload's top-level keys, as they arrived (duplicates too)
# what quarantine keeps of the payload's identifiers, as they arrived (before any parsing)
RAW_ID = "_raw_id"
RAW_SUBJECT = "_raw_subject"
DEDUP_COL = "_dedup"
# a number per parsed row of a silver batch, given once where the rows are cached: the
# duplicate marks of a batch find their rows by it (duplicate_marks, apply_marks)
ROW_COL = "_row"
# per code field (normalize lower or upper), the control and format characters its value
# lost (a struct of ints; null when the contract has no such field): the batch's metrics
INVISIBLE_COL = "_invisible_removed"
DUPLICATE_REASON = "duplicate_event_id"
COORDINATES = ("_source", "_partition", "_offset")
_STRING_MAP = "map<string,string>"


@dataclass(frozen=True)
class SilverRules:
    """Time rules of the refinement, in seconds (the dataset's contract, else ``[silver]``)."""

    max_future_skew_seconds: int
    max_lateness_seconds: int


def _version_reasons(dataset: Dataset, version: Column, typed: dict[str, Column]) -> Column:
    """Reasons of the version field itself: missing, not an integer, or no schema for it
    (``version``: the version typed from the payload; ``typed``: silver's typed columns,
    read instead where one is that value, :func:`_typed_before`)."""
    field = dataset.latest.field(dataset.version_field)
    assert field is not None  # the loader requires the version field in every version
    raw = F.col(RAW_COL)[dataset.version_field]
    before = _typed_before(field, typed)
    version = version if before is None else before
    supported = [v.version for v in dataset.versions]
    unsupported = reason(
        version.isNotNull() & ~version.isin(*supported),
        F.concat(F.lit("unsupported_schema_version:"), version.cast("string")),
    )
    return F.concat(field_reasons(field, raw, typed=before), unsupported)


def _typed_before(f: Field, typed: dict[str, Column]) -> Column | None:
    """The typed column of ``f`` to check ``f`` against, when silver's column of that name
    is the very value ``f`` types to (the same expression): its reasons then read the
    column instead of typing the text once more inside their conditions (which Spark's
    common subexpression elimination does not share); else None."""
    column = typed.get(f.name)
    if column is None or str(column) != str(typed_value(f, F.col(RAW_COL)[f.name])):
        return None
    return F.col(f.name)


def _schema_reasons(
    schema: SchemaVersion, dataset: Dataset, version_reasons: Column, typed: dict[str, Column]
) -> Column:
    """The reasons of every field of ``schema``, in field order (``typed``: silver's typed
    columns, :func:`_typed_before`)."""
    raw = F.col(RAW_COL)
    return F.concat(
        *[
            version_reasons
            if f.name == dataset.version_field
            else field_reasons(f, raw[f.name], typed=_typed_before(f, typed))
            for f in schema.fields
        ]
    )


def _time_reasons(event_time: Column, rules: SilverRules) -> list[Column]:
    ingest = F.col("_ingest_ts")
    future_limit = ingest + F.make_interval(secs=F.lit(rules.max_future_skew_seconds))
    past_limit = ingest - F.make_interval(secs=F.lit(rules.max_lateness_seconds))
    return [
        reason(event_time > future_limit, "event_ts_in_future"),
        reason(event_time < past_limit, "event_ts_too_old"),
    ]


def _typed_columns(dataset: Dataset, version: Column) -> dict[str, Column]:
    """Silver's columns typed from the payload with the schema version of each event."""
    raw = F.col(RAW_COL)
    versions = sorted(dataset.versions, key=lambda v: v.version)
    columns: dict[str, Column] = {}
    for silver_field in dataset.silver_fields():
        target = nullable(field_type(silver_field, silver_field.name))
        if len(versions) == 1:
            columns[silver_field.name] = typed_value(silver_field, raw[silver_field.name])
            continue
        value: Column | None = None
        for schema in versions:
            declared = schema.field(silver_field.name)
            typed = (
                typed_value(declared, raw[declared.name]).cast(target)
                if declared is not None
                else F.lit(None).cast(target)
            )
            condition = version == schema.version
            value = F.when(condition, typed) if value is None else value.when(condition, typed)
        assert value is not None
        columns[silver_field.name] = value
    return columns


def raw_schema(known: list[str]) -> tuple[StructType, str]:
    """The payload read as text per top-level field: every field of ``known`` as a string
    (an object or array as its JSON text, a number or boolean as its text), plus a column
    that holds the payload when it is not a JSON object; that column's name.

    A struct, not ``map<string,string>``: a map finds a field by comparing it with each key
    of the payload, a struct by position (silver's parse about a quarter faster)."""
    corrupt = "_corrupt_record"
    while corrupt in known:
        corrupt = f"_{corrupt}"
    fields = [StructField(name, StringType()) for name in [*known, corrupt]]
    return StructType(fields), corrupt


def code_fields(dataset: Dataset) -> list[str]:
    """The top-level fields of any schema version whose values are codes (normalized to one
    case): silver removes their control and format characters (lakehouse.layers.normalize)."""
    return sorted(
        {f.name for v in dataset.versions for f in v.fields if f.normalize in ("lower", "upper")}
    )


def parse_events(dataset: Dataset, rules: SilverRules) -> Callable[[DataFrame], DataFrame]:
    """Parse bronze rows into the dataset's typed columns plus ``_reasons`` (empty when the
    row is good), each event with the schema version its version field names.

    The payload is read once into a struct of the text of every field any schema version
    declares (:func:`raw_schema`); a payload that is not a JSON object fills the struct's
    corrupt-record column (``malformed_json``). Its top-level keys, read apart, find
    duplicate keys and unknown fields: a payload with unknown top-level fields is read once
    more, as a map, to keep them in ``rescued_data``; nothing in the payload is lost.
    Of the parsed payload only the raw id and subject are kept (for quarantine): the jobs
    cache and shuffle these rows, and the payload is there in full. ``_invisible_removed``
    counts per code field what normalization removed (:data:`INVISIBLE_COL`).
    """
    known = sorted({f.name for v in dataset.versions for f in v.fields})
    version_field = dataset.latest.field(dataset.version_field)
    assert version_field is not None
    # the expressions are built once, not per batch: a column is a plan fragment that no
    # DataFrame owns (some hundred calls into the JVM for a dataset of a dozen fields)
    text = F.col("payload").cast("string")
    envelope = [
        F.col("source").alias("_source"),
        F.col("partition").alias("_partition"),
        F.col("offset").alias("_offset"),
        F.col("payload"),
        F.col("ingest_ts").alias("_ingest_ts"),
        text.alias("_text"),
    ]
    texts, corrupt = raw_schema(known)
    raw_struct = F.from_json(F.col("_text"), texts, {"columnNameOfCorruptRecord": corrupt})
    version = typed_value(version_field, F.col(RAW_COL)[dataset.version_field])
    typed = _typed_columns(dataset, version)
    # each event is checked against the schema its version names; an event whose
    # version is missing, not a number or unknown is checked against the newest one; the
    # checks read silver's typed columns where they are the same values (computed before)
    version_reasons = _version_reasons(dataset, version, typed)
    by_version = _schema_reasons(dataset.latest, dataset, version_reasons, typed)
    for schema in dataset.versions:
        if schema.version != dataset.latest.version:
            reasons = _schema_reasons(schema, dataset, version_reasons, typed)
            by_version = F.when(version == schema.version, reasons).otherwise(by_version)
    keys = F.col(KEYS_COL)
    field_checks = F.concat(
        by_version,
        *_time_reasons(F.col(dataset.event_time_field), rules),
        reason(F.size(keys) != F.size(F.array_distinct(keys)), "duplicate_key"),
    )
    empty = F.col("payload").isNull() | (F.length(F.col("payload")) == 0)
    gate = (
        F.when(empty, F.array(F.lit("empty_payload")))
        .when(~F.is_valid_utf8(F.col("_text")), F.array(F.lit("invalid_utf8")))
        .when(
            F.col(RAW_COL).isNull() | F.col(RAW_COL)[corrupt].isNotNull(),
            F.array(F.lit("malformed_json")),
        )
        .otherwise(field_checks)
    )
    # the map of unknown fields only where there are some (or no keys could be read: a
    # payload JSON reads with NaN, the keys' stricter reader refuses)
    known_names = F.lit(known)
    unknown = keys.isNull() | (F.size(F.array_except(keys, known_names)) > 0)
    rescued = F.when(
        unknown,
        F.map_filter(
            F.from_json(F.col("_text"), _STRING_MAP),
            lambda k, _v: ~F.array_contains(known_names, k),
        ),
    )
    subject = dataset.subject_field
    codes = code_fields(dataset)
    invisible = (
        F.struct(*[removed_characters(F.col(RAW_COL)[c]).alias(c) for c in codes])
        if codes
        else F.lit(None)
    )
    derived = {
        INVISIBLE_COL: invisible,
        REASONS_COL: gate,
        "event_date": F.to_date(dataset.event_time_field),
        "rescued_data": F.when(F.size(rescued) > 0, rescued),
        RAW_ID: F.col(RAW_COL)[dataset.id_field],
        RAW_SUBJECT: F.col(RAW_COL)[subject] if subject else F.lit(None).cast("string"),
    }

    def transform(bronze: DataFrame) -> DataFrame:
        return (
            bronze.select(*envelope)
            .withColumns({RAW_COL: raw_struct, KEYS_COL: F.json_object_keys(F.col("_text"))})
            .withColumns(typed)
            .withColumns(derived)
            .drop(RAW_COL, KEYS_COL, "_text")
        )

    return transform


def _seen(existing: DataFrame, id_field: str) -> DataFrame:
    """Of ``existing`` (silver rows), one row per id: ``_seen_id`` and its coordinates."""
    return existing.select(
        F.col(id_field).alias("_seen_id"),
        *[F.col(c).alias(f"_seen{c}") for c in COORDINATES],
    ).dropDuplicates(["_seen_id"])


def _status(rank: Column) -> Column:
    """``new``, ``promoted`` or ``duplicate`` of a row ranked ``rank`` among its batch's
    deliveries of its id, joined to ``_seen_id`` and ``_seen<coordinate>`` of silver's row
    of that id (null when silver has none)."""
    same_delivery = F.lit(True)
    for c in COORDINATES:
        same_delivery = same_delivery & (F.col(c) == F.col(f"_seen{c}"))
    return (
        F.when(F.col("_seen_id").isNull() & (rank == 1), "new")
        .when(F.col("_seen_id").isNotNull() & same_delivery, "promoted")
        .otherwise("duplicate")
    )


def _with_duplicate_reason(df: DataFrame) -> DataFrame:
    reasons = F.when(F.col(DEDUP_COL) == "duplicate", F.array(F.lit(DUPLICATE_REASON)))
    return df.withColumn(REASONS_COL, reasons.otherwise(F.col(REASONS_COL)))


def classify_duplicates(existing: DataFrame, id_field: str) -> Callable[[DataFrame], DataFrame]:
    """Mark each good row ``new``, ``duplicate`` or ``promoted`` in column ``_dedup``.

    ``existing`` holds ``id_field`` and the source coordinates of rows already in silver.
    The first delivery of an event id (lowest coordinates) in the batch is ``new`` unless
    silver has the id already: from the same delivery (a retried batch or a replay) it is
    ``promoted`` and written nothing; from another delivery it is a ``duplicate``.

    For rows computed once with a row number (the silver stream's cached batch),
    :func:`duplicate_marks` and :func:`apply_marks` classify the same way without moving
    whole rows through a shuffle.
    """

    def transform(good: DataFrame) -> DataFrame:
        first = Window.partitionBy(id_field).orderBy(*COORDINATES)
        ranked = good.withColumn("_rank", F.row_number().over(first))
        seen = _seen(existing, id_field)
        joined = ranked.join(seen, ranked[id_field] == seen["_seen_id"], "left")
        return (
            joined.withColumn(DEDUP_COL, _status(F.col("_rank")))
            .transform(_with_duplicate_reason)
            .drop("_rank", "_seen_id", *[f"_seen{c}" for c in COORDINATES])
        )

    return transform


def duplicate_marks(existing: DataFrame, id_field: str) -> Callable[[DataFrame], DataFrame]:
    """The good rows that are not new, as :func:`classify_duplicates` tells them: their
    ``_row`` and ``_dedup`` (``duplicate`` or ``promoted``).

    ``good`` needs ``_row``, a number per row that stays the same each time ``good`` is
    computed (:data:`ROW_COL`: the silver stream numbers its batch's parsed rows once, in
    their cache). Only the ids, coordinates and row numbers are ranked and joined, and only
    silver's rows of the batch's ids are kept from ``existing``: the marks of a batch are
    usually few (its second deliveries), and :func:`apply_marks` adds them to the rows
    without a shuffle of the rows themselves."""

    def transform(good: DataFrame) -> DataFrame:
        narrow = good.select(ROW_COL, id_field, *COORDINATES)
        first = Window.partitionBy(id_field).orderBy(*COORDINATES)
        ranked = narrow.withColumn("_rank", F.row_number().over(first))
        ids = narrow.select(F.col(id_field).alias("_batch_id_value"))
        ours = existing.join(ids, existing[id_field] == ids["_batch_id_value"], "left_semi")
        seen = _seen(ours, id_field)
        joined = ranked.join(seen, ranked[id_field] == seen["_seen_id"], "left")
        status = _status(F.col("_rank"))
        return joined.select(ROW_COL, status.alias(DEDUP_COL)).where(F.col(DEDUP_COL) != "new")

    return transform


def apply_marks(marks: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """``good`` (with ``_row``) with ``_dedup`` from :func:`duplicate_marks`: a marked row's
    status, else ``new``; a duplicate's reasons are ``duplicate_event_id``."""

    def transform(good: DataFrame) -> DataFrame:
        return (
            good.join(marks, ROW_COL, "left")
            .withColumn(DEDUP_COL, F.coalesce(F.col(DEDUP_COL), F.lit("new")))
            .transform(_with_duplicate_reason)
        )

    return transform


def to_silver(
    table: TableDef, writer_id: str, batch_id: int, processed_ts: datetime
) -> Callable[[DataFrame], DataFrame]:
    """Select the silver columns of good rows, stamped with the writing stream and batch."""

    def transform(good: DataFrame) -> DataFrame:
        return good.withColumns(
            {
                "_processed_ts": F.lit(processed_ts).cast("timestamp"),
                "_writer_id": F.lit(writer_id),
                "_batch_id": F.lit(batch_id).cast("long"),
            }
        ).select(*table.schema.fieldNames())

    return transform


def to_quarantine(
    dataset: Dataset, table: TableDef, writer_id: str, batch_id: int, quarantine_ts: datetime
) -> Callable[[DataFrame], DataFrame]:
    """Select the quarantine columns of refused rows; ``reason`` is the first reason; the
    id and subject are the payload's, as they arrived."""

    def transform(refused: DataFrame) -> DataFrame:
        ts = F.lit(quarantine_ts).cast("timestamp")
        return refused.withColumns(
            {
                dataset.id_field: F.col(RAW_ID),
                **({dataset.subject_field: F.col(RAW_SUBJECT)} if dataset.subject_field else {}),
                "reason": F.get(F.col(REASONS_COL), 0),
                "reasons": F.col(REASONS_COL),
                "quarantine_ts": ts,
                "quarantine_date": F.to_date(ts),
                "_writer_id": F.lit(writer_id),
                "_batch_id": F.lit(batch_id).cast("long"),
            }
        ).select(*table.schema.fieldNames())

    return transform
