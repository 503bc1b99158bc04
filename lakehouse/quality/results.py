"""Rows of ``ops.quality_results``: one per micro-batch and expectation."""

from __future__ import annotations

import json
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession

from lakehouse.datasets import QUALITY_RESULTS
from lakehouse.quality.gate import GateDecision

__all__ = ["quality_rows"]


def quality_rows(
    spark: SparkSession,
    job: str,
    batch_id: int,
    decisions: list[GateDecision],
    *,
    validated_ts: datetime,
    writer_id: str,
) -> DataFrame:
    """The quality results of every gate a batch went through."""
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
            "observed_value": o.observed_value,
            "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent,
            "action": decision.action(o),
            "validated_ts": validated_ts,
            "_writer_id": writer_id,
        }
        for decision in decisions
        for o in decision.outcomes
    ]
    return spark.createDataFrame(rows, QUALITY_RESULTS.schema)
