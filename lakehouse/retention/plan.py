"""What retention deletes, per table: pure, from the tables' policies and a point in time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lakehouse.ops import TableDef
from lakehouse.platform import Platform

__all__ = ["RetentionStep", "plan_retention", "select_tables"]


@dataclass(frozen=True)
class RetentionStep:
    """Delete the rows of ``table`` whose ``column`` is before ``cutoff``."""

    table: TableDef
    column: str
    days: int
    cutoff: datetime


def select_tables(platform: Platform, names: Sequence[str] = ()) -> list[TableDef]:
    """The tables named (validated against the platform's tables), or all of them."""
    if not names:
        return list(platform.tables.values())
    return [platform.table(n) for n in dict.fromkeys(names)]


def plan_retention(tables: Sequence[TableDef], now: datetime) -> list[RetentionStep]:
    """One step per table with a retention window; tables kept for a reason have none."""
    steps = []
    for definition in tables:
        retention = definition.policy.retention
        if retention.column is None or retention.days is None:
            continue
        cutoff = now - timedelta(days=retention.days)
        steps.append(RetentionStep(definition, retention.column, retention.days, cutoff))
    return steps
