"""Declarative dataset definitions: the event contract and every table of the lake.

This is the one place that says which tables exist, their schemas and partitioning;
the pipeline, the catalog and the CLI all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import (
    ArrayType,
    AtomicType,
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

from lakehouse.errors import PolicyError, TableError
from lakehouse.monitoring.thresholds import Monitoring
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

__all__ = [
    "AMOUNT_TYPE",
    "ANOMALIES",
    "BATCH_LOG",
    "BRONZE_EVENTS",
    "ERASURE_AUDIT",
    "ERASURE_REQUESTS",
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
    "TABLE_METRICS",
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
    """A Delta table of the lake: its catalog name, schema, partition columns and data policy.

    Every column must be classified by the policy: adding a column without a classification
    is an error at import time. ``monitoring`` (optional) says which metrics of the rows a
    batch promotes are recorded and when its anomaly detectors speak.
    """

    name: str
    schema: StructType
    partition_by: tuple[str, ...]
    description: str
    policy: Policy
    monitoring: Monitoring | None = None

    def __post_init__(self) -> None:
        columns = self.schema.fieldNames()
        unclassified = [c for c in columns if c not in self.policy.columns]
        unknown = [c for c in self.policy.columns if c not in columns]
        if unclassified or unknown:
            raise PolicyError(
                f"policy of {self.name}: unclassified column(s) {unclassified}, unknown "
                f"column(s) {unknown}; classify every column of the schema as one of "
                f"{PII_DIRECT}, {PII_PSEUDONYMOUS}, {PII_QUASI}, {NONE}"
            )
        referenced = [r.column for r in self.policy.minimization]
        if self.policy.retention.column is not None:
            referenced.append(self.policy.retention.column)
        if self.policy.subject is not None:
            referenced += [self.policy.subject.column, *self.policy.subject.row_key]
        missing = [c for c in referenced if c not in columns]
        if missing:
            raise PolicyError(f"policy of {self.name}: column(s) {missing} are not in the schema")
        if self.monitoring is not None:
            self._check_monitoring(self.monitoring, columns)

    def _check_monitoring(self, monitoring: Monitoring, columns: list[str]) -> None:
        absent = [c for c in monitoring.columns if c not in columns]
        if absent:
            raise PolicyError(
                f"monitoring of {self.name}: column(s) {absent} are not in the schema; "
                f"choose from {', '.join(columns)}"
            )
        # values of these columns are copied into ops.table_metrics: no personal data
        personal = [
            c
            for c in (*monitoring.category_columns, *monitoring.numeric_columns)
            if self.policy.columns[c] != NONE
        ]
        if personal:
            raise PolicyError(
                f"monitoring of {self.name}: column(s) {personal} hold personal data; their "
                "values would be copied into ops.table_metrics: watch their null rate or "
                "distinct count instead"
            )

    @property
    def stats_columns(self) -> tuple[str, ...]:
        """Columns whose min/max statistics Delta may keep in its log: no personal data
        (partition columns are never in the statistics, their values are in file paths)."""
        return tuple(
            f.name
            for f in self.schema.fields
            if self.policy.columns[f.name] == NONE
            and f.name not in self.partition_by
            and isinstance(f.dataType, AtomicType)
            and not isinstance(f.dataType, BinaryType)
        )

    @property
    def properties(self) -> dict[str, str]:
        """The Delta table properties the policy asks for."""
        policy = self.policy
        props = {
            "delta.enableDeletionVectors": "true",
            "delta.deletedFileRetentionDuration": (
                f"interval {policy.deleted_file_retention_days} days"
            ),
            "delta.logRetentionDuration": f"interval {policy.log_retention_days} days",
            "lakehouse.owner": policy.owner,
        }
        if policy.personal_columns:
            # min/max statistics of personal columns would copy values into _delta_log
            props["delta.dataSkippingStatsColumns"] = ",".join(self.stats_columns)
        return props

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]


def _struct(*fields: tuple[str, DataType, bool]) -> StructType:
    return StructType([StructField(n, t, nullable) for n, t, nullable in fields])


def _none(*columns: str) -> dict[str, str]:
    return dict.fromkeys(columns, NONE)


PIPELINE_OWNER = "data-platform"
_COORDINATE_NAMES = ("_source", "_partition", "_offset")
_RAW_PAYLOAD = Subject("payload", "payload", _COORDINATE_NAMES)

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
        subject=Subject("payload", "payload", ("source", "partition", "offset"), "key"),
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
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=_none(
            "job",
            "batch_id",
            "started_ts",
            "finished_ts",
            "duration_ms",
            "rows_in",
            "rows_out",
            "rows_quarantined",
            "status",
            "blocked_reason",
            "source_offsets",
            "versions_written",
            "step_ms",
        ),
        retention=Retention.window("finished_ts", 400),
    ),
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
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=_none(
            "job",
            "table_name",
            "batch_id",
            "suite",
            "expectation_type",
            "kwargs",
            "column_name",
            "severity",
            "row_level",
            "success",
            # observed values of expectations on personal columns are not recorded
            "observed_value",
            "unexpected_count",
            "unexpected_percent",
            "action",
            "validated_ts",
            "_writer_id",
        ),
        retention=Retention.window("validated_ts", 400),
    ),
)

TABLE_METRICS = TableDef(
    name="ops.table_metrics",
    schema=_struct(
        ("table_name", StringType(), False),
        ("job", StringType(), False),
        ("batch_id", LongType(), False),
        ("batch_ts", TimestampType(), False),
        ("batch_date", DateType(), False),
        ("rows", LongType(), False),
        ("rows_in", LongType(), False),
        ("rows_quarantined", LongType(), False),
        ("quarantine_rate", DoubleType(), False),
        ("null_rates", MapType(StringType(), DoubleType(), False), False),
        ("distinct_counts", MapType(StringType(), LongType(), False), False),
        ("means", MapType(StringType(), DoubleType(), False), False),
        ("numeric_counts", MapType(StringType(), LongType(), False), False),
        ("quantiles", MapType(StringType(), ArrayType(DoubleType(), False), False), False),
        (
            "category_counts",
            MapType(StringType(), MapType(StringType(), LongType(), False), False),
            False,
        ),
        ("rescued_keys", ArrayType(StringType(), False), False),
        ("max_event_ts", TimestampType(), True),
        ("event_lag_seconds", DoubleType(), True),
        ("_writer_id", StringType(), False),
    ),
    partition_by=(),
    description="One row per micro-batch and monitored table: the metrics anomaly detection reads.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        # rates, counts and sketches; category values only of columns classified none
        # (TableDef checks the monitored tables), field names of the rescued data
        columns=_none(
            "table_name",
            "job",
            "batch_id",
            "batch_ts",
            "batch_date",
            "rows",
            "rows_in",
            "rows_quarantined",
            "quarantine_rate",
            "null_rates",
            "distinct_counts",
            "means",
            "numeric_counts",
            "quantiles",
            "category_counts",
            "rescued_keys",
            "max_event_ts",
            "event_lag_seconds",
            "_writer_id",
        ),
        retention=Retention.window("batch_ts", 400),
    ),
)

ANOMALIES = TableDef(
    name="ops.anomalies",
    schema=_struct(
        ("finding_id", StringType(), False),
        ("table_name", StringType(), False),
        ("job", StringType(), False),
        ("batch_id", LongType(), False),
        ("detector", StringType(), False),
        ("metric", StringType(), False),
        ("severity", StringType(), False),
        ("expected_low", DoubleType(), True),
        ("expected_high", DoubleType(), True),
        ("observed", DoubleType(), True),
        ("message", StringType(), False),
        ("detected_ts", TimestampType(), False),
        ("status", StringType(), False),
        ("resolved_ts", TimestampType(), True),
        ("blocked", BooleanType(), False),
        ("_writer_id", StringType(), False),
    ),
    partition_by=(),
    description="Anomaly and drift findings: detector, metric, severity, expected range, observed.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=_none(
            "finding_id",
            "table_name",
            "job",
            "batch_id",
            "detector",
            "metric",
            "severity",
            "expected_low",
            "expected_high",
            "observed",
            "message",
            "detected_ts",
            "status",
            "resolved_ts",
            "blocked",
            "_writer_id",
        ),
        retention=Retention.window("detected_ts", 400),
    ),
)

ERASURE_REQUESTS = TableDef(
    name="ops.erasure_requests",
    schema=_struct(
        ("request_id", StringType(), False),
        ("subject_hash", StringType(), False),
        ("requested_ts", TimestampType(), False),
        ("status", StringType(), False),
        ("processed_ts", TimestampType(), True),
    ),
    partition_by=(),
    description="Erasure requests: SHA-256 of the subject's pseudonym, never the raw id.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns={
            **_none("request_id"),
            "subject_hash": PII_PSEUDONYMOUS,  # sha256(pseudonym): matches, never reverses
            **_none("requested_ts", "status", "processed_ts"),
        },
        retention=Retention.keep("record of the requests an erasure must honour"),
    ),
)

ERASURE_AUDIT = TableDef(
    name="ops.erasure_audit",
    schema=_struct(
        ("request_id", StringType(), False),
        ("table_name", StringType(), False),
        ("rows_deleted", LongType(), False),
        ("version_before", LongType(), False),
        ("version_after", LongType(), False),
        ("erased_ts", TimestampType(), False),
    ),
    partition_by=(),
    description="One row per erasure request and table: rows deleted, versions before/after.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=_none(
            "request_id",
            "table_name",
            "rows_deleted",
            "version_before",
            "version_after",
            "erased_ts",
        ),
        retention=Retention.keep("proof that each erasure was done"),
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
        TABLE_METRICS,
        ANOMALIES,
        ERASURE_REQUESTS,
        ERASURE_AUDIT,
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
