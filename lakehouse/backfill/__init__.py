"""Recompute a date range of silver or gold from the layer below (``lakehouse backfill``),
while the streams run, one backfill at a time per dataset, layer and day."""

from __future__ import annotations

from lakehouse.backfill.claim import BackfillClaimed
from lakehouse.backfill.commit import BackfillError
from lakehouse.backfill.run import (
    STREAM_WAIT_SECONDS,
    DayResult,
    backfill,
    parse_range,
    refused_message,
)

__all__ = [
    "STREAM_WAIT_SECONDS",
    "BackfillClaimed",
    "BackfillError",
    "DayResult",
    "backfill",
    "parse_range",
    "refused_message",
]
