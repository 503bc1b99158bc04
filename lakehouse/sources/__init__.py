"""Event sources: each turns what it reads into the one bronze envelope."""

from __future__ import annotations

from lakehouse.sources.envelope import ENVELOPE_COLUMNS

__all__ = ["ENVELOPE_COLUMNS"]
