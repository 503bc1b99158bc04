"""Quality: Great Expectations suites, running them, and their verdicts."""

from __future__ import annotations

__all__: list[str] = []
