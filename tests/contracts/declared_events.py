"""The product events as the package declared them in Python before they became files
(datasets/events/): the expected tables of the contract equivalence tests, kept verbatim."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    DataType,
    DateType,
    DecimalType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse.monitoring.thresholds import Monitoring
from lakehouse.ops import PIPELINE_OWNER, TableDef
from lakehouse.policy import (
    NONE,
    PII_DIRECT,
    PII_PSEUDONYMOUS,
    PII_QUASI,
    Policy,
    Retention,
    Rule,
    Subject,
)


def _struct(*fields: tuple[str, DataType, bool]) -> StructType:
    return StructType([StructField(n, t, nullable) for n, t, nullable in fields])


def _none(*columns: str) -> dict[str, str]:
    return dict.fromkeys(columns, NONE)


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


_COORDINATE_NAMES = ("_source", "_partition", "_offset")
_RAW_PAYLOAD = Subject("payload", "payload", _COORDINATE_NAMES, payload_field="user_id")

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
    # volume and quarantine of what arrives; event-level drift is watched in silver
    # no category columns: a bronze job writes one source, so the frequencies of ``source``
    # would only repeat the row count (and cost an approx_top_k over every row)
    monitoring=Monitoring(null_columns=("payload", "publish_ts")),
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns={
            **_none("source", "partition", "offset", "publish_ts", "source_event_ts"),
            "key": PII_DIRECT,  # a source message key may be the user id
            "payload": PII_DIRECT,  # the raw event: user id, session, IP, email, free text
            "attributes": PII_QUASI,
            **_none("ingest_ts", "ingest_date", "batch_id"),
        },
        # the raw payload is the replay source: a replay can only reach 7 days back
        retention=Retention.window("ingest_ts", 7),
        # publishers key messages by user id (lakehouse publish does): match the key too
        subject=Subject(
            "payload", "payload", ("source", "partition", "offset"), "key", payload_field="user_id"
        ),
    ),
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
    description="Parsed, typed, deduplicated, minimized product events.",
    monitoring=Monitoring(
        null_columns=("session_id", "device", "ip", "country", "properties", "amount", "currency"),
        distinct_columns=("event_id", "user_id", "session_id"),
        numeric_columns=("amount",),
        category_columns=("event_type", "device", "country", "currency"),
        event_time="event_ts",
        rescued="rescued_data",
    ),
    policy=Policy(
        owner="product-analytics",
        columns={
            **_none("event_id", "event_type", "event_ts", "event_date"),
            "user_id": PII_PSEUDONYMOUS,  # HMAC-SHA256 of the user id, not the id
            "session_id": PII_PSEUDONYMOUS,  # HMAC-SHA256 of the session id
            **_none("device"),
            "ip": PII_QUASI,  # truncated: IPv4 /24, IPv6 /48
            **_none("country"),
            "properties": PII_QUASI,  # only the allowed keys
            **_none("amount", "currency", "schema_version"),
            "rescued_data": PII_QUASI,  # unknown fields, without known personal keys
            **_none(*_COORDINATE_NAMES, "_ingest_ts", "_processed_ts", "_writer_id", "_batch_id"),
        },
        retention=Retention.window("event_ts", 400),
        minimization=(
            Rule("user_id", "pseudonymize"),
            Rule("session_id", "pseudonymize"),
            Rule("ip", "truncate_ip"),
            # free text (search queries) and contact data (email) never reach silver
            Rule("properties", "keep_keys", ("page", "sku", "quantity")),
            Rule(
                "rescued_data",
                "drop_keys",
                ("email", "name", "phone", "address", "ip", "query", "user_id", "session_id"),
            ),
        ),
        subject=Subject("user_id", "pseudonym", _COORDINATE_NAMES),
    ),
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
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns={
            **_none(*_COORDINATE_NAMES),
            "payload": PII_DIRECT,  # kept raw for replay after a fix; 30 days
            **_none("event_id"),
            "user_id": PII_PSEUDONYMOUS,  # the pseudonym of the payload's user id
            **_none("reason", "reasons", "_ingest_ts", "quarantine_ts", "quarantine_date"),
            **_none("_writer_id", "_batch_id"),
        },
        retention=Retention.window("quarantine_ts", 30),
        subject=_RAW_PAYLOAD,
    ),
)

_GOLD_RETENTION = Retention.keep("aggregates without personal data")
# Gold rows are the windows a batch recomputed: their count follows the late events of the
# batch, so volume says less than the values. Gold upserts before the observation, so a
# finding is recorded, never blocking.

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
    monitoring=Monitoring(
        numeric_columns=("events", "users"),
        category_columns=("event_type", "country"),
        volume=False,
    ),
    policy=Policy(
        owner="product-analytics",
        columns=_none(
            "window_start", "window_end", "event_type", "country", "events", "users", "updated_ts"
        ),
        retention=_GOLD_RETENTION,
    ),
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
    monitoring=Monitoring(numeric_columns=("active_users", "events"), volume=False),
    policy=Policy(
        owner="product-analytics",
        columns=_none("event_date", "active_users", "events", "updated_ts"),
        retention=_GOLD_RETENTION,
    ),
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
    monitoring=Monitoring(
        numeric_columns=("revenue", "purchases"), category_columns=("currency",), volume=False
    ),
    policy=Policy(
        owner="product-analytics",
        columns=_none("hour_start", "currency", "revenue", "purchases", "updated_ts"),
        retention=_GOLD_RETENTION,
    ),
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
        policy=Policy(
            owner=gold.policy.owner,
            columns={
                **gold.policy.columns,
                **_none("reason", "reasons", "quarantine_ts", "_writer_id", "_batch_id"),
            },
            retention=Retention.window("quarantine_ts", 30),
        ),
    )


GOLD_QUARANTINE = {
    t.name: _gold_quarantine(t)
    for t in (GOLD_EVENTS_PER_MINUTE, GOLD_DAILY_ACTIVE_USERS, GOLD_HOURLY_REVENUE)
}
