"""Bronze: the raw envelope of every event received, plus when and in which batch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.contracts.tables import BRONZE_SCHEMA

__all__ = ["to_bronze"]


def to_bronze(batch_id: int, ingest_ts: datetime) -> Callable[[DataFrame], DataFrame]:
    """Add the ingest columns to source envelopes and order columns as the bronze table.

    ``ingest_ts`` is fixed per micro-batch so the batch is one point in processing time.
    """

    def transform(envelopes: DataFrame) -> DataFrame:
        ts = F.lit(ingest_ts).cast("timestamp")
        return envelopes.withColumns(
            {
                "ingest_ts": ts,
                "ingest_date": F.to_date(ts),
                "batch_id": F.lit(batch_id).cast("long"),
            }
        ).select(*BRONZE_SCHEMA.fieldNames())

    return transform
