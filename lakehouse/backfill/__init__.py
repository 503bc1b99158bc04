"""Recompute a date range of silver or gold from the layer below (``lakehouse backfill``)."""

from __future__ import annotations

from lakehouse.backfill.run import DayResult, backfill, parse_range

__all__ = ["DayResult", "backfill", "parse_range"]
