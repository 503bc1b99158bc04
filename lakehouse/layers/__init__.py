"""Pure DataFrame transformations of each layer; no reads, writes or triggers here."""

from __future__ import annotations

__all__: list[str] = []
