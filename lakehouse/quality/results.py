"""Rows of ``ops.quality_results``: one per micro-batch and expectation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession

from lakehouse.frames import local_frame
from lakehouse.ops import QUALITY_RESULTS, TableDef
from lakehouse.quality.gate import GateDecision
from lakehouse.quality.validate import Outcome

__all__ = ["quality_rows"]


def _observed(definition: TableDef | None, outcome: Outcome) -> str | None:
    """GE's observed value, unless the expectation is on a column holding personal data:
    observed values (distinct values, min/max, partial lists) would copy them into ops."""
    columns = (outcome.column or "").split(",")
    if definition is None or any(c in definition.policy.personal_columns for c in columns):
        return None
    return outcome.observed_value


def quality_rows(
    spark: SparkSession,
    job: str,
    batch_id: int,
    decisions: list[GateDecision],
    tables: Mapping[str, TableDef],
    *,
    validated_ts: datetime,
    writer_id: str,
) -> DataFrame:
    """The quality results of every gate a batch went through (observed values of personal
    columns left out)."""
    rows = [
        {
            "job": job,
            "table_name": decision.table,
            "batch_id": batch_id,
            "suite": o.suite,
            "expectation_type": o.expectation_type,
            "kwargs": json.dumps(dict(o.kwargs), default=str, sort_keys=True),
            "column_name": o.column,
            "severity": o.severity,
            "row_level": o.row_level,
            "success": o.success,
            "observed_value": _observed(tables.get(decision.table), o),
            "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent,
            "action": decision.action(o),
            "validated_ts": validated_ts,
            "_writer_id": writer_id,
        }
        for decision in decisions
        for o in decision.outcomes
    ]
    return local_frame(spark, rows, QUALITY_RESULTS.schema)
