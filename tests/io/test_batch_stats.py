"""What one micro-batch did, added up from its parts written side by side."""

from __future__ import annotations

from lakehouse.io.batch_stats import BatchStats
from lakehouse.quality.gate import GateDecision


def test_parts_add_up_in_the_order_they_are_added() -> None:
    stats = BatchStats(rows_in=10, step_ms={"read": 5}, commits=[("silver", 3)])
    first = BatchStats(
        rows_out=4,
        rows_quarantined=1,
        blocked_reasons=["gold.a: too few rows"],
        versions_written={"gold.a": 7},
        step_ms={"gate gold.a": 20, "read": 1},
        decisions=[GateDecision("gold.a", ())],
        commits=[("gold/a", 7)],
    )
    second = BatchStats(
        rows_out=3,
        versions_written={"gold.b": 2},
        step_ms={"gate gold.b": 30},
        decisions=[GateDecision("gold.b", ())],
        commits=[("gold/b", 2)],
    )

    stats.add(first)
    stats.add(second)

    assert stats == BatchStats(
        rows_in=10,
        rows_out=7,
        rows_quarantined=1,
        blocked_reasons=["gold.a: too few rows"],
        versions_written={"gold.a": 7, "gold.b": 2},
        step_ms={"read": 6, "gate gold.a": 20, "gate gold.b": 30},
        decisions=[GateDecision("gold.a", ()), GateDecision("gold.b", ())],
        commits=[("silver", 3), ("gold/a", 7), ("gold/b", 2)],
    )
    assert stats.status == "blocked"
