"""A micro-batch's projections: interpreted after a small batch, generated after a large one."""

from __future__ import annotations

from lakehouse.io.projections import (
    FACTORY_MODE,
    INTERPRETED_BELOW_ROWS,
    projection_mode,
)


def test_the_mode_follows_the_previous_batch_and_a_configured_one_stays() -> None:
    assert projection_mode(None, {}) == "NO_CODEGEN"  # a job's first batch
    assert projection_mode(0, {}) == "NO_CODEGEN"
    assert projection_mode(INTERPRETED_BELOW_ROWS - 1, {}) == "NO_CODEGEN"
    assert projection_mode(INTERPRETED_BELOW_ROWS, {}) == "FALLBACK"
    assert projection_mode(None, {FACTORY_MODE: "FALLBACK"}) is None
    assert projection_mode(10**6, {FACTORY_MODE: "NO_CODEGEN"}) is None
