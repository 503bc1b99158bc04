"""All reads, writes, checkpoints and triggers of the pipeline live in this package."""

from __future__ import annotations

__all__: list[str] = []
