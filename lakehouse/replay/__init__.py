"""Replay quarantined rows through the current contract and gates (``lakehouse replay``)."""

from __future__ import annotations

from lakehouse.replay.run import ReplayError, ReplayResult, replay
from lakehouse.replay.select import Selection, parse_selection

__all__ = ["ReplayError", "ReplayResult", "Selection", "parse_selection", "replay"]
