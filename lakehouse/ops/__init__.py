"""The platform's own ``ops`` tables, one module per concern, and :data:`OPS_TABLES`.

A new ops table is declared in a module here (or in its feature's package) and listed in
:data:`OPS_TABLES`: the catalog, the table creation and retention walk that dict.
"""

from __future__ import annotations

from lakehouse.ops.backfills import BACKFILL_CLAIMS, BACKFILLS
from lakehouse.ops.failures import STREAM_FAILURES
from lakehouse.ops.notifications import NOTIFICATIONS
from lakehouse.ops.pipeline import (
    ANOMALIES,
    BAD_FILES,
    BATCH_LOG,
    CONTRACTS,
    QUALITY_RESULTS,
    TABLE_METRICS,
)
from lakehouse.ops.privacy import ERASURE_AUDIT, ERASURE_REQUESTS
from lakehouse.ops.replays import REPLAYED_ROWS, REPLAYS
from lakehouse.tabledef import PIPELINE_OWNER, TableDef

__all__ = [
    "ANOMALIES",
    "BACKFILLS",
    "BACKFILL_CLAIMS",
    "BAD_FILES",
    "BATCH_LOG",
    "CONTRACTS",
    "ERASURE_AUDIT",
    "ERASURE_REQUESTS",
    "NOTIFICATIONS",
    "OPS_TABLES",
    "PIPELINE_OWNER",
    "QUALITY_RESULTS",
    "REPLAYED_ROWS",
    "REPLAYS",
    "STREAM_FAILURES",
    "TABLE_METRICS",
    "TableDef",
]

OPS_TABLES: dict[str, TableDef] = {
    t.name: t
    for t in (
        BATCH_LOG,
        QUALITY_RESULTS,
        TABLE_METRICS,
        ANOMALIES,
        BAD_FILES,
        ERASURE_REQUESTS,
        ERASURE_AUDIT,
        CONTRACTS,
        NOTIFICATIONS,
        REPLAYS,
        REPLAYED_ROWS,
        BACKFILLS,
        BACKFILL_CLAIMS,
        STREAM_FAILURES,
    )
}
