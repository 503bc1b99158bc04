"""The ops tables of erasure: the requests and the audit that proves each was done."""

from __future__ import annotations

from pyspark.sql.types import (
    LongType,
    MapType,
    StringType,
    TimestampType,
)

from lakehouse.policy import (
    PII_PSEUDONYMOUS,
    Policy,
    Retention,
)
from lakehouse.tabledef import PIPELINE_OWNER, TableDef, none_columns, struct

ERASURE_REQUESTS = TableDef(
    name="ops.erasure_requests",
    schema=struct(
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
            **none_columns("request_id"),
            "subject_hash": PII_PSEUDONYMOUS,  # sha256(pseudonym): matches, never reverses
            **none_columns("requested_ts", "status", "processed_ts"),
        },
        retention=Retention.keep("record of the requests an erasure must honour"),
    ),
)

ERASURE_AUDIT = TableDef(
    name="ops.erasure_audit",
    schema=struct(
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
        columns=none_columns(
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
