"""Which quarantined rows a replay takes again: its selection, checked before Spark starts,
and the rows of ``quarantine.silver_<dataset>`` it chooses."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.errors import ConfigError
from lakehouse.platform import Platform

__all__ = ["QUARANTINE_PREFIX", "Selection", "choose", "parse_selection"]

QUARANTINE_PREFIX = "quarantine.silver_"


@dataclass(frozen=True)
class Selection:
    """The rows of one dataset's silver quarantine a replay takes: those whose ``reason``
    (the first reason) matches ``reason_pattern`` (a Java regular expression, searched),
    quarantined at or after ``since`` and before ``until`` (naive UTC)."""

    dataset: str
    table_name: str
    reason_pattern: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def key(self) -> str:
        """The selection as text: an interrupted replay is resumed by the same selection."""
        return json.dumps(
            [
                self.table_name,
                self.reason_pattern,
                self.since.isoformat() if self.since else None,
                self.until.isoformat() if self.until else None,
            ]
        )


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option}: {value!r} is not a time; write ISO 8601, e.g. 2026-12-01 or "
            "2026-12-01T08:00:00Z"
        ) from None
    if parsed.tzinfo is not None:
        from datetime import UTC

        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_selection(
    platform: Platform,
    table: str,
    reason: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Selection:
    """The selection of ``lakehouse replay``'s options; a one-line error for a bad one."""
    silver_quarantines = {f"{QUARANTINE_PREFIX}{name}": name for name in sorted(platform.datasets)}
    if table not in silver_quarantines:
        raise ConfigError(
            f"--table: {table!r} is not a silver quarantine; choose from "
            f"{', '.join(silver_quarantines) or '(no datasets)'}"
        )
    if reason is not None:
        try:
            re.compile(reason)
        except re.error as exc:
            raise ConfigError(f"--reason: {reason!r} is not a regular expression: {exc}") from None
    start, end = _time(since, "--since"), _time(until, "--until")
    if start is not None and end is not None and start >= end:
        raise ConfigError(f"--since {since} must be before --until {until}")
    return Selection(silver_quarantines[table], table, reason, start, end)


def choose(quarantine: DataFrame, selection: Selection) -> DataFrame:
    """The quarantined rows ``selection`` takes."""
    condition = F.lit(True)
    if selection.reason_pattern is not None:
        condition = condition & F.col("reason").rlike(selection.reason_pattern)
    if selection.since is not None:
        condition = condition & (F.col("quarantine_ts") >= F.lit(selection.since))
        condition = condition & (F.col("quarantine_date") >= F.lit(selection.since.date()))
    if selection.until is not None:
        condition = condition & (F.col("quarantine_ts") < F.lit(selection.until))
        condition = condition & (F.col("quarantine_date") <= F.lit(selection.until.date()))
    return quarantine.where(condition)
