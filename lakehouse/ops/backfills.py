"""The ops table of ``lakehouse backfill``: one row per table and day a backfill recomputed.

``status`` is ``done`` (the day was written) or ``refused`` (the recomputed rows failed a
critical expectation of the table's suite and nothing was written; ``reason`` says which).
The columns after ``finished_ts`` came later and are nullable: an older lake gets them on
its next start (:func:`lakehouse.catalog.add_missing_columns`), null in its older rows.
"""

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
        ("status", StringType(), True),
        ("reason", StringType(), True),
        # silver: rows of the day moved to the quarantine (refused by the current contract)
        ("rows_quarantined", LongType(), True),
        # the silver version read: silver, the rows replaced; gold, the rows aggregated
        ("version_read", LongType(), True),
        ("quarantine_version", LongType(), True),
    ),
    partition_by=(),
    description=("One row per table and day a backfill recomputed: rows before and after, status."),
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
            "status",
            "reason",
            "rows_quarantined",
            "version_read",
            "quarantine_version",
        ),
        retention=Retention.keep("record of every range a backfill replaced"),
    ),
)
