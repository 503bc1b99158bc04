"""Table definitions: :class:`TableDef`, and the platform's own ``ops`` tables.

The tables of the datasets (bronze, silver, quarantine, gold) are not declared here: they
follow from each dataset's contract folder (:mod:`lakehouse.contracts.tables`,
:mod:`lakehouse.platform`).
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
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse.errors import PolicyError
from lakehouse.monitoring.thresholds import Monitoring
from lakehouse.policy import (
    NONE,
    PII_DIRECT,
    PII_PSEUDONYMOUS,
    PII_QUASI,
    Policy,
    Retention,
)

__all__ = [
    "ANOMALIES",
    "BAD_FILES",
    "BATCH_LOG",
    "CONTRACTS",
    "ERASURE_AUDIT",
    "ERASURE_REQUESTS",
    "OPS_TABLES",
    "PIPELINE_OWNER",
    "QUALITY_RESULTS",
    "TABLE_METRICS",
    "TableDef",
]


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

BATCH_LOG = TableDef(
    name="ops.batch_log",
    schema=_struct(
        ("job", StringType(), False),
        ("dataset", StringType(), True),  # none for jobs of the whole lake (maintenance)
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
        ("contract_hash", StringType(), True),  # the dataset contract the batch ran with
        ("key_version", StringType(), True),  # the pseudonym key's version (silver batches)
    ),
    partition_by=(),
    description="One row per micro-batch of every job of every dataset.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=_none(
            "job",
            "dataset",
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
            "contract_hash",
            "key_version",
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

BAD_FILES = TableDef(
    name="ops.bad_files",
    schema=_struct(
        ("path", StringType(), False),
        ("size_bytes", LongType(), True),
        ("error", StringType(), False),
        ("job", StringType(), False),
        ("dataset", StringType(), False),
        ("batch_id", LongType(), False),
        ("detected_ts", TimestampType(), False),
        ("status", StringType(), False),
        ("attempts", LongType(), False),
        ("resolved_ts", TimestampType(), True),
        ("rows_ingested", LongType(), True),
    ),
    partition_by=(),
    description=(
        "Landing files the bronze stream could not read and skipped (status skipped), "
        "until `lakehouse run --retry-bad-files` ingests them (status ingested)."
    ),
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=_none(
            "path",
            "size_bytes",
            "error",
            "job",
            "dataset",
            "batch_id",
            "detected_ts",
            "status",
            "attempts",
            "resolved_ts",
            "rows_ingested",
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
        ("rows_found_by", MapType(StringType(), LongType()), True),  # way -> rows (matching.py)
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
            "rows_found_by",
            "version_before",
            "version_after",
            "erased_ts",
        ),
        retention=Retention.keep("proof that each erasure was done"),
    ),
)


CONTRACTS = TableDef(
    name="ops.contracts",
    schema=_struct(
        ("dataset", StringType(), False),
        ("version", StringType(), False),
        ("content_hash", StringType(), False),
        ("owner", StringType(), False),
        ("status", StringType(), False),
        ("schema_versions", ArrayType(IntegerType(), False), False),
        ("gold_tables", ArrayType(StringType(), False), False),
        ("recorded_ts", TimestampType(), False),
    ),
    partition_by=(),
    description=(
        "One row per dataset contract a job ran with (its batches name it in "
        "ops.batch_log.contract_hash: the first and last batch that used it)."
    ),
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=_none(
            "dataset",
            "version",
            "content_hash",
            "owner",
            "status",
            "schema_versions",
            "gold_tables",
            "recorded_ts",
        ),
        retention=Retention.keep("record of the contracts the data was processed with"),
    ),
)

OPS_TABLES: dict[str, TableDef] = {
    t.name: t
    for t in (
        BATCH_LOG,
        QUALITY_RESULTS,
        TABLE_METRICS,
        ANOMALIES,
        BAD_FILES,
        ERASURE_REQUESTS,
        ERASURE_AUDIT,
        CONTRACTS,
    )
}
