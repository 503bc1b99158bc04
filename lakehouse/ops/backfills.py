"""The ops table of ``lakehouse backfill``: one row per day a backfill replaced."""

from __future__ import annotations

from pyspark.sql.types import DateType, LongType, StringType, TimestampType

from lakehouse.policy import Policy, Retention
from lakehouse.tabledef import PIPELINE_OWNER, TableDef, none_columns, struct

BACKFILLS = TableDef(
    name="ops.backfills",
    schema=struct(
        ("backfill_id", StringType(), False),
        ("dataset", StringType(), False),
        ("table_name", StringType(), False),
        ("day", DateType(), False),
        ("requested_by", StringType(), False),
        ("contract_hash", StringType(), False),
        ("rows_before", LongType(), False),
        ("rows_after", LongType(), False),
        ("version_written", LongType(), True),
        ("finished_ts", TimestampType(), False),
    ),
    partition_by=(),
    description="One row per table and day a backfill recomputed: rows before and after.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "backfill_id",
            "dataset",
            "table_name",
            "day",
            "requested_by",
            "contract_hash",
            "rows_before",
            "rows_after",
            "version_written",
            "finished_ts",
        ),
        retention=Retention.keep("record of every range a backfill replaced"),
    ),
)
