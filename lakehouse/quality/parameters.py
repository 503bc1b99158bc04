"""Suite parameters (GE's ``$PARAMETER`` values) that depend on time and configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lakehouse.errors import ConfigError

__all__ = ["RETAINED_HISTORY", "parse_parameter", "suite_parameters"]

# How far back an event at rest in silver may lie (the silver retention window).
RETAINED_HISTORY = timedelta(days=400)


def suite_parameters(max_future_skew_seconds: int, now: datetime) -> dict[str, Any]:
    """Parameters for validating tables at rest: events may be old, but not from the future.

    ``now`` is naive UTC, as Spark hands timestamps to Python in a UTC session.
    """
    return {
        "min_event_ts": now - RETAINED_HISTORY,
        "max_event_ts": now + timedelta(seconds=max_future_skew_seconds),
    }


def parse_parameter(text: str) -> tuple[str, Any]:
    """``name=value`` from the command line; values that look like ISO times or numbers
    become datetimes or numbers."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"--param {text!r}: write NAME=VALUE, e.g. max_event_ts=2026-11-23T12:00")
    value = value.strip()
    for convert in (int, float):
        try:
            return name.strip(), convert(value)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return name.strip(), value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return name.strip(), parsed
