"""The ops tables of ``lakehouse backfill``: one row per table and day a backfill recomputed
(``ops.backfills``), and one row per claim a backfill took on its days
(``ops.backfill_claims``, :mod:`lakehouse.backfill.claim`).

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
        # rows of the day refused, to the quarantine: silver, by the current contract or
        # suite; gold, by the table's suite (quarantine_version null: held already)
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

BACKFILL_CLAIMS = TableDef(
    name="ops.backfill_claims",
    schema=struct(
        ("claim_id", StringType(), False),  # the backfill's id (ops.backfills.backfill_id)
        ("dataset", StringType(), False),
        ("layer", StringType(), False),  # silver or gold
        ("first_day", DateType(), False),
        ("last_day", DateType(), False),
        ("requested_by", StringType(), False),
        ("host", StringType(), False),
        ("claimed_ts", TimestampType(), False),
        # the claim holds until then unless released; a running backfill moves it forward
        ("expires_ts", TimestampType(), False),
        ("released_ts", TimestampType(), True),
        ("released_by", StringType(), True),  # user@host of the release
        ("release_reason", StringType(), True),  # finished, failed or broken
    ),
    partition_by=(),
    description=(
        "One row per claim a backfill took on a dataset's layer and days: who, when, until "
        "when (renewed while it runs), and its release."
    ),
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "claim_id",
            "dataset",
            "layer",
            "first_day",
            "last_day",
            "requested_by",
            "host",
            "claimed_ts",
            "expires_ts",
            "released_ts",
            "released_by",
            "release_reason",
        ),
        retention=Retention.window("claimed_ts", 90),
    ),
)
