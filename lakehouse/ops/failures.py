"""The ops table of streams that stopped with an error: what ``lakehouse status`` shows as
FAILED until the stream runs a batch again."""

from __future__ import annotations

from pyspark.sql.types import StringType, TimestampType

from lakehouse.policy import Policy, Retention
from lakehouse.tabledef import PIPELINE_OWNER, TableDef, none_columns, struct

STREAM_FAILURES = TableDef(
    name="ops.stream_failures",
    schema=struct(
        ("failure_id", StringType(), False),
        ("dataset", StringType(), True),
        ("job", StringType(), False),  # bronze-landing, silver, gold, ...
        ("query_name", StringType(), False),
        ("failed_ts", TimestampType(), False),
        # the cause in one line (lakehouse.engine_errors), at most ERROR_CHARS; the full
        # trace is in the log file the driver wrote (log_file)
        ("error", StringType(), False),
        ("log_file", StringType(), True),
        ("host", StringType(), True),
    ),
    partition_by=(),
    description=(
        "One row per stream that stopped with an error, as the driver that ran it saw it: "
        "when, the cause in one line, and where the full trace is."
    ),
    policy=Policy(
        owner=PIPELINE_OWNER,
        # the cause of a failure names tables, paths and exception types; the pipeline
        # never puts row values into its errors (reasons name fields, not values)
        columns=none_columns(
            "failure_id", "dataset", "job", "query_name", "failed_ts", "error", "log_file", "host"
        ),
        retention=Retention.window("failed_ts", 90),
    ),
)
