"""The ops tables of ``lakehouse replay``: one row per replay, one row per replayed row."""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    DateType,
    LongType,
    MapType,
    StringType,
    TimestampType,
)

from lakehouse.policy import Policy, Retention
from lakehouse.tabledef import PIPELINE_OWNER, TableDef, none_columns, struct

REPLAYS = TableDef(
    name="ops.replays",
    schema=struct(
        ("replay_id", StringType(), False),
        ("dataset", StringType(), False),
        ("table_name", StringType(), False),
        ("reason_pattern", StringType(), True),
        ("since_ts", TimestampType(), True),
        ("until_ts", TimestampType(), True),
        ("requested_by", StringType(), False),
        ("contract_hash", StringType(), False),
        ("status", StringType(), False),  # started (interrupted if it stays so) or done
        ("started_ts", TimestampType(), False),
        ("finished_ts", TimestampType(), True),
        ("rows_chosen", LongType(), True),
        ("rows_promoted", LongType(), True),
        ("rows_refused", LongType(), True),
        ("refused_by_reason", MapType(StringType(), LongType()), True),
        ("silver_version", LongType(), True),
        ("quarantine_version", LongType(), True),
    ),
    partition_by=(),
    description="One row per replay of quarantined rows: who, what, when, and its outcome.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "replay_id",
            "dataset",
            "table_name",
            "reason_pattern",
            "since_ts",
            "until_ts",
            "requested_by",
            "contract_hash",
            "status",
            "started_ts",
            "finished_ts",
            "rows_chosen",
            "rows_promoted",
            "rows_refused",
            "refused_by_reason",
            "silver_version",
            "quarantine_version",
        ),
        retention=Retention.keep("record of every change a replay made to silver"),
    ),
)

REPLAYED_ROWS = TableDef(
    name="ops.replayed_rows",
    schema=struct(
        ("replay_id", StringType(), False),
        ("dataset", StringType(), False),
        ("_source", StringType(), False),
        ("_partition", StringType(), False),
        ("_offset", LongType(), False),
        ("quarantine_date", DateType(), False),
        ("outcome", StringType(), False),  # promoted or refused
        ("reasons", ArrayType(StringType(), False), True),  # the new reasons of a refusal
        ("replayed_ts", TimestampType(), False),
    ),
    partition_by=(),
    description="One row per quarantined row a replay chose: its outcome and new reasons.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "replay_id",
            "dataset",
            "_source",
            "_partition",
            "_offset",
            "quarantine_date",
            "outcome",
            "reasons",
            "replayed_ts",
        ),
        retention=Retention.window("replayed_ts", 400),
    ),
)
