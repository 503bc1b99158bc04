"""Declarative dataset definitions: the event contract and every table of the lake.

This is the one place that says which tables exist, their schemas and partitioning;
the pipeline, the catalog and the CLI all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse.errors import TableError

__all__ = [
    "AMOUNT_TYPE",
    "BATCH_LOG",
    "BRONZE_EVENTS",
    "EVENT_FIELDS",
    "GOLD_DAILY_ACTIVE_USERS",
    "GOLD_EVENTS_PER_MINUTE",
    "GOLD_HOURLY_REVENUE",
    "GOLD_QUARANTINE",
    "KNOWN_EVENT_TYPES",
    "QUALITY_RESULTS",
    "QUARANTINE_SILVER_EVENTS",
    "REQUIRED_FIELDS",
    "SILVER_EVENTS",
    "SUPPORTED_SCHEMA_VERSIONS",
    "TABLES",
    "EventField",
    "TableDef",
    "table",
]

AMOUNT_TYPE = DecimalType(18, 2)
REVENUE_TYPE = DecimalType(38, 2)


@dataclass(frozen=True)
class EventField:
    """One top-level field of the product event contract (JSON)."""

    name: str
    kind: str  # string | timestamp | decimal | int | map
    required: bool


# The product event contract, schema_version 1.
EVENT_FIELDS: tuple[EventField, ...] = (
    EventField("event_id", "string", True),
    EventField("event_type", "string", True),
    EventField("event_ts", "timestamp", True),
    EventField("user_id", "string", True),
    EventField("session_id", "string", False),
    EventField("device", "string", False),
    EventField("ip", "string", False),
    EventField("country", "string", False),
    EventField("properties", "map", False),
    EventField("amount", "decimal", False),
    EventField("currency", "string", False),
    EventField("schema_version", "int", True),
)
REQUIRED_FIELDS = tuple(f.name for f in EVENT_FIELDS if f.required)
SUPPORTED_SCHEMA_VERSIONS = (1,)
KNOWN_EVENT_TYPES = (
    "page_view",
    "click",
    "search",
    "add_to_cart",
    "purchase",
    "signup",
    "login",
    "logout",
)


@dataclass(frozen=True)
class TableDef:
    """A Delta table of the lake: its catalog name, schema and partition columns."""

    name: str
    schema: StructType
    partition_by: tuple[str, ...]
    description: str

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]


def _struct(*fields: tuple[str, DataType, bool]) -> StructType:
    return StructType([StructField(n, t, nullable) for n, t, nullable in fields])


_COORDINATES: tuple[tuple[str, DataType, bool], ...] = (
    ("_source", StringType(), False),
    ("_partition", StringType(), False),
    ("_offset", LongType(), False),
)

BRONZE_EVENTS = TableDef(
    name="bronze.events",
    schema=_struct(
        ("source", StringType(), False),
        ("partition", StringType(), False),
        ("offset", LongType(), False),
        ("key", BinaryType(), True),
        ("payload", BinaryType(), True),
        ("attributes", MapType(StringType(), StringType()), True),
        ("publish_ts", TimestampType(), True),
        ("source_event_ts", TimestampType(), True),
        ("ingest_ts", TimestampType(), False),
        ("ingest_date", DateType(), False),
        ("batch_id", LongType(), False),
    ),
    partition_by=("ingest_date",),
    description="Raw envelope of every event received, with its source coordinates; append only.",
)

SILVER_EVENTS = TableDef(
    name="silver.events",
    schema=_struct(
        ("event_id", StringType(), False),
        ("event_type", StringType(), False),
        ("event_ts", TimestampType(), False),
        ("event_date", DateType(), False),
        ("user_id", StringType(), False),
        ("session_id", StringType(), True),
        ("device", StringType(), True),
        ("ip", StringType(), True),
        ("country", StringType(), True),
        ("properties", MapType(StringType(), StringType()), True),
        ("amount", AMOUNT_TYPE, True),
        ("currency", StringType(), True),
        ("schema_version", IntegerType(), False),
        ("rescued_data", MapType(StringType(), StringType()), True),
        *_COORDINATES,
        ("_ingest_ts", TimestampType(), False),
        ("_processed_ts", TimestampType(), False),
        ("_writer_id", StringType(), False),
        ("_batch_id", LongType(), False),
    ),
    partition_by=("event_date",),
    description="Parsed, typed, deduplicated product events.",
)

QUARANTINE_SILVER_EVENTS = TableDef(
    name="quarantine.silver_events",
    schema=_struct(
        *_COORDINATES,
        ("payload", BinaryType(), True),
        ("event_id", StringType(), True),
        ("user_id", StringType(), True),
        ("reason", StringType(), False),
        ("reasons", ArrayType(StringType(), False), False),
        ("_ingest_ts", TimestampType(), False),
        ("quarantine_ts", TimestampType(), False),
        ("quarantine_date", DateType(), False),
        ("_writer_id", StringType(), False),
        ("_batch_id", LongType(), False),
    ),
    partition_by=("quarantine_date",),
    description="Bronze rows refused by silver, with every reason.",
)

GOLD_EVENTS_PER_MINUTE = TableDef(
    name="gold.events_per_minute",
    schema=_struct(
        ("window_start", TimestampType(), False),
        ("window_end", TimestampType(), False),
        ("event_type", StringType(), False),
        ("country", StringType(), False),
        ("events", LongType(), False),
        ("users", LongType(), False),
        ("updated_ts", TimestampType(), False),
    ),
    partition_by=(),
    description="Events per minute by event type and country (country 'unknown' when absent).",
)

GOLD_DAILY_ACTIVE_USERS = TableDef(
    name="gold.daily_active_users",
    schema=_struct(
        ("event_date", DateType(), False),
        ("active_users", LongType(), False),
        ("events", LongType(), False),
        ("updated_ts", TimestampType(), False),
    ),
    partition_by=(),
    description="Distinct active users per UTC day.",
)

GOLD_HOURLY_REVENUE = TableDef(
    name="gold.hourly_revenue",
    schema=_struct(
        ("hour_start", TimestampType(), False),
        ("currency", StringType(), False),
        ("revenue", REVENUE_TYPE, False),
        ("purchases", LongType(), False),
        ("updated_ts", TimestampType(), False),
    ),
    partition_by=(),
    description="Purchase revenue per hour and currency.",
)

BATCH_LOG = TableDef(
    name="ops.batch_log",
    schema=_struct(
        ("job", StringType(), False),
        ("batch_id", LongType(), False),
        ("started_ts", TimestampType(), False),
        ("finished_ts", TimestampType(), False),
        ("duration_ms", LongType(), False),
        ("rows_in", LongType(), False),
        ("rows_out", LongType(), False),
        ("rows_quarantined", LongType(), False),
        ("status", StringType(), False),
        ("blocked_reason", StringType(), True),
        ("source_offsets", StringType(), True),
        ("versions_written", MapType(StringType(), LongType()), True),
        ("step_ms", MapType(StringType(), LongType()), True),
    ),
    partition_by=(),
    description="One row per micro-batch of every job.",
)

QUALITY_RESULTS = TableDef(
    name="ops.quality_results",
    schema=_struct(
        ("job", StringType(), False),
        ("table_name", StringType(), False),
        ("batch_id", LongType(), False),
        ("suite", StringType(), False),
        ("expectation_type", StringType(), False),
        ("kwargs", StringType(), False),
        ("column_name", StringType(), True),
        ("severity", StringType(), False),
        ("row_level", BooleanType(), False),
        ("success", BooleanType(), False),
        ("observed_value", StringType(), True),
        ("unexpected_count", LongType(), True),
        ("unexpected_percent", DoubleType(), True),
        ("action", StringType(), False),
        ("validated_ts", TimestampType(), False),
        ("_writer_id", StringType(), False),
    ),
    partition_by=(),
    description="One row per micro-batch and expectation: Great Expectations verdicts.",
)


def _gold_quarantine(gold: TableDef) -> TableDef:
    return TableDef(
        name=f"quarantine.gold_{gold.short_name}",
        schema=StructType(
            [
                *gold.schema.fields,
                *_struct(
                    ("reason", StringType(), False),
                    ("reasons", ArrayType(StringType(), False), False),
                    ("quarantine_ts", TimestampType(), False),
                    ("_writer_id", StringType(), False),
                    ("_batch_id", LongType(), False),
                ).fields,
            ]
        ),
        partition_by=(),
        description=f"Rows of {gold.name} refused by the silver->gold gate, with reasons.",
    )


GOLD_QUARANTINE = {
    t.name: _gold_quarantine(t)
    for t in (GOLD_EVENTS_PER_MINUTE, GOLD_DAILY_ACTIVE_USERS, GOLD_HOURLY_REVENUE)
}

TABLES: dict[str, TableDef] = {
    t.name: t
    for t in (
        BRONZE_EVENTS,
        SILVER_EVENTS,
        QUARANTINE_SILVER_EVENTS,
        GOLD_EVENTS_PER_MINUTE,
        GOLD_DAILY_ACTIVE_USERS,
        GOLD_HOURLY_REVENUE,
        *GOLD_QUARANTINE.values(),
        BATCH_LOG,
        QUALITY_RESULTS,
    )
}


def table(name: str) -> TableDef:
    """Return the definition of a table by its catalog name (``layer.table``)."""
    try:
        return TABLES[name]
    except KeyError:
        raise TableError(
            f"unknown table {name!r}; known tables are {', '.join(sorted(TABLES))}"
        ) from None
