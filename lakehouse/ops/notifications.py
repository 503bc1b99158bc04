"""The ops table of alerts: one row per message (finding x open/resolved x destination)."""

from __future__ import annotations

from pyspark.sql.types import DoubleType, LongType, StringType, TimestampType

from lakehouse.policy import Policy, Retention
from lakehouse.tabledef import PIPELINE_OWNER, TableDef, none_columns, struct

NOTIFICATIONS = TableDef(
    name="ops.notifications",
    schema=struct(
        ("notification_id", StringType(), False),  # sha256(finding_id|event|destination)
        ("finding_id", StringType(), False),
        ("event", StringType(), False),  # open | resolved
        ("kind", StringType(), False),  # anomaly | blocked | stalled | failed
        ("severity", StringType(), False),
        ("dataset", StringType(), True),
        ("table_name", StringType(), True),
        ("job", StringType(), False),
        ("batch_id", LongType(), True),
        ("observed", StringType(), True),
        ("expected", StringType(), True),
        ("detail", StringType(), True),
        ("subject", StringType(), False),
        ("destination", StringType(), False),
        ("status", StringType(), False),  # claimed | sent | failed | deferred | given_up
        ("attempts", LongType(), False),  # tries over every pass
        ("deliveries", LongType(), False),  # passes that tried it
        ("error", StringType(), True),  # the last failure
        ("claim_id", StringType(), False),  # the pass that holds or last held it
        ("detected_ts", TimestampType(), False),
        ("created_ts", TimestampType(), False),
        ("updated_ts", TimestampType(), False),
        ("sent_ts", TimestampType(), True),
        ("latency_seconds", DoubleType(), True),  # detected -> sent
    ),
    partition_by=(),
    description=(
        "One row per alert message (finding, open or resolved, destination): whether it "
        "was sent, the tries and the last error. The state that sends each message once."
    ),
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "notification_id",
            "finding_id",
            "event",
            "kind",
            "severity",
            "dataset",
            "table_name",
            "job",
            "batch_id",
            "observed",
            "expected",
            "detail",
            "subject",
            "destination",
            "status",
            "attempts",
            "deliveries",
            "error",
            "claim_id",
            "detected_ts",
            "created_ts",
            "updated_ts",
            "sent_ts",
            "latency_seconds",
        ),
        retention=Retention.window("created_ts", 400),
    ),
)
