"""Running a promotion's suite on a micro-batch with the configured engine.

``fast`` evaluates the expectation types of :mod:`lakehouse.quality.fast` in one Spark
pass and hands the others to Great Expectations; ``great_expectations`` runs the whole suite
through GE. Both give one :class:`Outcome` per expectation, in suite order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakehouse.config import QUALITY_ENGINES
from lakehouse.errors import ConfigError
from lakehouse.quality.fast import compile_suite, evaluate_with
from lakehouse.quality.suites import SuiteFile
from lakehouse.quality.validate import Outcome, validate_dataframe

__all__ = ["SuiteRun", "run_suite"]

_POSITION = "_lakehouse_position"


@dataclass(frozen=True)
class SuiteRun:
    """The outcomes of a suite on a batch, and how to find the failing rows again.

    ``checks`` maps the index of a failed row-level outcome evaluated by the fast gate to a
    column that is true for the rows it counts as unexpected; GE's outcomes carry their failing
    rows' keys instead (``Outcome.failing_keys``).
    """

    outcomes: tuple[Outcome, ...]
    checks: Mapping[int, Column] = field(default_factory=dict)
    ge_expectations: int = 0
    # the values of the aggregates :func:`run_suite` was asked to compute ``also``, by name,
    # and "rows", from the fast gate's own job; None when that job could not compute them
    seen: Mapping[str, Any] | None = None


def _sub_suite(suite: SuiteFile, positions: Sequence[int]) -> SuiteFile:
    """A suite of the expectations at ``positions``, each tagged with its position."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    subset = gx.ExpectationSuite(name=suite.name)
    for position in positions:
        config = suite.suite.expectations[position].configuration
        subset.add_expectation_configuration(
            ExpectationConfiguration(
                type=config.type,
                kwargs=dict(config.kwargs),
                meta={**(config.meta or {}), _POSITION: position},
                severity=config.severity,
            )
        )
    return SuiteFile(suite.path, subset)


def _ge_by_position(
    df: DataFrame,
    suite: SuiteFile,
    positions: Sequence[int],
    parameters: Mapping[str, Any] | None,
    keys: Sequence[str],
) -> dict[int, Outcome]:
    sub = _sub_suite(suite, positions)
    outcomes = validate_dataframe(df, sub, parameters, index_columns=keys)
    return {int(o.meta[_POSITION]): o for o in outcomes}


def run_suite(
    df: DataFrame,
    suite: SuiteFile,
    parameters: Mapping[str, Any] | None = None,
    keys: Sequence[str] = (),
    engine: str = "fast",
    *,
    also: Mapping[str, Column] | None = None,
) -> SuiteRun:
    """Validate ``df`` with ``suite``; ``keys`` identify rows for GE's failing-row lists.
    With ``also`` (aggregates by name), the fast gate computes them over ``df`` in its own
    job when it can (:func:`~lakehouse.quality.fast.evaluate_with`): ``SuiteRun.seen``."""
    if engine not in QUALITY_ENGINES:
        raise ConfigError(f"quality engine {engine!r} is not one of {', '.join(QUALITY_ENGINES)}")
    if engine == "great_expectations":
        outcomes = validate_dataframe(df, suite, parameters, index_columns=keys)
        return SuiteRun(tuple(outcomes), ge_expectations=len(outcomes))
    compiled = compile_suite(suite, parameters)
    by_position, seen = evaluate_with(df, compiled, also or {})
    if compiled.fallback:
        by_position.update(_ge_by_position(df, suite, compiled.fallback, parameters, keys))
    ordered = [by_position[p] for p in sorted(by_position)]
    position_index = {p: i for i, p in enumerate(sorted(by_position))}
    checks: dict[int, Column] = {}
    for check in compiled.checks:
        unexpected = check.unexpected
        index = position_index[check.position]
        # only a failed expectation can refuse rows: the others need no Column at all
        if unexpected is not None and check.row_level and not ordered[index].success:
            checks[index] = F.expr(unexpected)
    return SuiteRun(
        tuple(ordered),
        checks,
        ge_expectations=len(compiled.fallback),
        seen=seen if also is not None else None,
    )
