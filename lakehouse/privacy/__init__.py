"""Data minimization: pseudonyms (keyed hashes), truncated IPs, dropped free text."""

from __future__ import annotations

__all__: list[str] = []
