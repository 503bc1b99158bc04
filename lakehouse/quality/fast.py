"""The fast gate: a suite's expectations evaluated by Spark directly, in one pass.

Calling Great Expectations on a micro-batch costs a data context, a batch and one Spark job
per metric. For the expectation types below the same verdicts come from one aggregate query
(one Spark job for every count of the suite) and, for the row split, one boolean expression
per row-level expectation. Each type follows GE's own Spark semantics (what counts as
unexpected, how nulls and ``mostly`` are treated, how percentages are computed); the
differential tests in ``tests/quality/test_fast.py`` hold the two to the same verdicts and
counts. Expectations of other types, or with options this module does not implement, are
left to GE (:func:`compile_suite` lists them in ``CompiledSuite.fallback``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampType

from lakehouse.quality.suites import SuiteError, SuiteFile
from lakehouse.quality.validate import Outcome, is_row_level

__all__ = [
    "FAST_TYPES",
    "CompiledSuite",
    "FastCheck",
    "compile_suite",
    "evaluate",
    "evaluate_with",
    "resolve_parameters",
    "sql_literal",
]

# Column map expectations that skip nulls, with the SQL condition a non-null value must meet.
_MAP_CONDITIONS: dict[str, Callable[[str, Mapping[str, Any]], str]] = {}
_NULL_TYPES = ("expect_column_values_to_not_be_null", "expect_column_values_to_be_null")
_UNIQUE = "expect_column_values_to_be_unique"
_COMPOUND_UNIQUE = "expect_compound_columns_to_be_unique"
_ROW_COUNT_BETWEEN = "expect_table_row_count_to_be_between"
_ROW_COUNT_EQUAL = "expect_table_row_count_to_equal"
_UNIQUE_PROPORTION = "expect_column_proportion_of_unique_values_to_be_between"
_UNIQUE_VALUE_COUNT = "expect_column_unique_value_count_to_be_between"

# kwargs that do not change a verdict.
_IGNORED_KWARGS = frozenset({"result_format", "catch_exceptions", "meta", "batch_id"})

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _name(column: str) -> str:
    """A column reference in Spark SQL, whatever characters the name holds."""
    return "`" + column.replace("`", "``") + "`"


def sql_literal(value: Any) -> str:
    """``value`` as a Spark SQL literal of the type ``F.lit(value)`` gives it.

    Building the expressions as SQL text costs one call into the JVM per micro-batch, where
    Column objects cost one per function and operand (hundreds per suite).
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if _INT_MIN <= value <= _INT_MAX else f"{value}L"
    if isinstance(value, float):
        if math.isnan(value):
            return "CAST('NaN' AS DOUBLE)"
        if math.isinf(value):
            return f"CAST('{'' if value > 0 else '-'}Infinity' AS DOUBLE)"
        return f"{value!r}D"
    if isinstance(value, Decimal):
        return f"{value}BD"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"'{escaped}'"
    if isinstance(value, datetime):
        # the instant PySpark's TimestampType gives a datetime (naive: local time)
        return f"timestamp_micros({TimestampType().toInternal(value)})"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    raise SuiteError(
        f"value {value!r} of type {type(value).__name__} is not supported in an expectation; "
        "use a number, string, boolean, date or datetime"
    )


def _between(value: str, kwargs: Mapping[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is None and high is None:
        raise SuiteError("expect_column_values_to_be_between needs min_value or max_value")
    if low is not None and high is not None and low > high:
        raise SuiteError(f"expect_column_values_to_be_between: min_value {low} > max_value {high}")
    parts = ["true"]
    if low is not None:
        parts.append(f"{value} {'>' if kwargs.get('strict_min') else '>='} {sql_literal(low)}")
    if high is not None:
        parts.append(f"{value} {'<' if kwargs.get('strict_max') else '<='} {sql_literal(high)}")
    return "(" + " AND ".join(parts) + ")"


def _in_set(value: str, kwargs: Mapping[str, Any]) -> str:
    value_set = kwargs.get("value_set")
    if value_set is None:
        return "true"
    if not value_set:
        return "false"
    return f"({value} IN ({', '.join(sql_literal(v) for v in value_set)}))"


def _not_in_set(value: str, kwargs: Mapping[str, Any]) -> str:
    return "true" if kwargs.get("value_set") is None else f"(NOT {_in_set(value, kwargs)})"


_MAP_CONDITIONS.update(
    {
        "expect_column_values_to_be_between": _between,
        "expect_column_values_to_be_in_set": _in_set,
        "expect_column_values_to_not_be_in_set": _not_in_set,
        "expect_column_values_to_match_regex": lambda v, k: (
            f"({v} RLIKE {sql_literal(str(k['regex']))})"
        ),
        "expect_column_values_to_not_match_regex": (
            lambda v, k: f"(NOT ({v} RLIKE {sql_literal(str(k['regex']))}))"
        ),
        "expect_column_value_lengths_to_be_between": lambda v, k: _between(f"length({v})", k),
        "expect_column_value_lengths_to_equal": (
            lambda v, k: f"(length({v}) = {sql_literal(k['value'])})"
        ),
    }
)

# Which kwargs each type understands; anything else sends the expectation to GE.
_KWARGS: dict[str, frozenset[str]] = {
    **{t: frozenset({"column", "mostly"}) for t in (*_NULL_TYPES, _UNIQUE)},
    "expect_column_values_to_match_regex": frozenset({"column", "mostly", "regex"}),
    "expect_column_values_to_not_match_regex": frozenset({"column", "mostly", "regex"}),
    "expect_column_values_to_be_between": frozenset(
        {"column", "mostly", "min_value", "max_value", "strict_min", "strict_max"}
    ),
    "expect_column_value_lengths_to_be_between": frozenset(
        {"column", "mostly", "min_value", "max_value", "strict_min", "strict_max"}
    ),
    "expect_column_value_lengths_to_equal": frozenset({"column", "mostly", "value"}),
    "expect_column_values_to_be_in_set": frozenset({"column", "mostly", "value_set"}),
    "expect_column_values_to_not_be_in_set": frozenset({"column", "mostly", "value_set"}),
    _COMPOUND_UNIQUE: frozenset({"column_list", "mostly", "ignore_row_if"}),
    _ROW_COUNT_BETWEEN: frozenset({"min_value", "max_value", "strict_min", "strict_max"}),
    _ROW_COUNT_EQUAL: frozenset({"value"}),
    _UNIQUE_PROPORTION: frozenset({"column", "min_value", "max_value", "strict_min", "strict_max"}),
    _UNIQUE_VALUE_COUNT: frozenset(
        {"column", "min_value", "max_value", "strict_min", "strict_max"}
    ),
}

FAST_TYPES = frozenset(_KWARGS)
"""Expectation types the fast gate evaluates itself."""


@dataclass(frozen=True)
class FastCheck:
    """One expectation of a suite, compiled: its position, type, resolved kwargs, severity."""

    position: int
    expectation_type: str
    kwargs: Mapping[str, Any]
    severity: str

    @property
    def row_level(self) -> bool:
        return is_row_level(self.expectation_type)

    @property
    def mostly(self) -> float:
        return float(self.kwargs.get("mostly", 1.0))

    @cached_property
    def unexpected(self) -> str | None:
        """SQL that is true for a row this expectation counts as unexpected (column map types
        only)."""
        t = self.expectation_type
        if t in _MAP_CONDITIONS:
            value = _name(self.kwargs["column"])
            condition = _MAP_CONDITIONS[t](value, self.kwargs)
            # GE filters nulls out first, and a null condition is not unexpected.
            return f"({value} IS NOT NULL AND coalesce(NOT {condition}, false))"
        if t == "expect_column_values_to_not_be_null":
            return f"({_name(self.kwargs['column'])} IS NULL)"
        if t == "expect_column_values_to_be_null":
            return f"({_name(self.kwargs['column'])} IS NOT NULL)"
        return None


@dataclass(frozen=True)
class CompiledSuite:
    """A suite split into what the fast gate evaluates and what it leaves to GE."""

    suite: SuiteFile
    checks: tuple[FastCheck, ...]
    fallback: tuple[int, ...]  # positions of expectations GE evaluates

    @property
    def complete(self) -> bool:
        """Whether the fast gate evaluates every expectation of the suite."""
        return not self.fallback


def resolve_parameters(value: Any, parameters: Mapping[str, Any], where: str) -> Any:
    """Replace ``{"$PARAMETER": name}`` values (GE's suite parameters) by their value."""
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            name = value["$PARAMETER"]
            if name not in parameters:
                known = ", ".join(sorted(parameters)) or "(none)"
                raise SuiteError(
                    f"{where}: suite parameter {name!r} has no value; known parameters: {known}"
                )
            return parameters[name]
        return {k: resolve_parameters(v, parameters, where) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_parameters(v, parameters, where) for v in value]
    return value


def compile_suite(suite: SuiteFile, parameters: Mapping[str, Any] | None = None) -> CompiledSuite:
    """Compile the expectations of ``suite`` the fast gate supports; list the others."""
    checks: list[FastCheck] = []
    fallback: list[int] = []
    for position, expectation in enumerate(suite.suite.expectations):
        config = expectation.configuration
        kind = str(config.type)
        kwargs = {k: v for k, v in config.kwargs.items() if k not in _IGNORED_KWARGS}
        if kind not in _KWARGS or not set(kwargs) <= _KWARGS[kind]:
            fallback.append(position)
            continue
        where = f"suite {suite.name!r}, {kind}"
        resolved = resolve_parameters(kwargs, dict(parameters or {}), where)
        ignore = resolved.get("ignore_row_if", "all_values_are_missing")
        if ignore not in ("all_values_are_missing", "any_value_is_missing", "never"):
            fallback.append(position)
            continue
        severity = str(getattr(expectation.severity, "value", expectation.severity))
        checks.append(FastCheck(position, kind, resolved, severity))
    return CompiledSuite(suite, tuple(checks), tuple(fallback))


def _compound_kept(check: FastCheck) -> str:
    """SQL true for the rows a compound-uniqueness check considers, after ``ignore_row_if``."""
    missing = [f"{_name(c)} IS NULL" for c in check.kwargs["column_list"]]
    ignore = check.kwargs.get("ignore_row_if", "all_values_are_missing")
    if ignore == "never" or not missing:
        return "true"
    joined = " OR ".join(missing) if ignore == "any_value_is_missing" else " AND ".join(missing)
    return f"(NOT ({joined}))"


def _aggregates(checks: Sequence[FastCheck]) -> tuple[list[str], list[str]]:
    """SQL of the per-row helper columns (window counts for uniqueness) and of the
    aggregates."""
    helpers: list[str] = []
    aggregates: list[str] = ["count(1) AS n"]
    for check in checks:
        i, t, kw = check.position, check.expectation_type, check.kwargs
        unexpected = check.unexpected
        if unexpected is not None:
            aggregates.append(f"sum(CASE WHEN {unexpected} THEN 1 ELSE 0 END) AS u{i}")
            if t not in _NULL_TYPES:
                aggregates.append(f"count({_name(kw['column'])}) AS nn{i}")
        elif t == _UNIQUE:
            value = _name(kw["column"])
            helpers.append(f"count(1) OVER (PARTITION BY {value}) AS _w{i}")
            # GE counts uniqueness (0 on an empty batch) where other map types sum (None)
            aggregates.append(
                f"count(CASE WHEN {value} IS NOT NULL AND _w{i} > 1 THEN 1 END) AS u{i}"
            )
            aggregates.append(f"count({value}) AS nn{i}")
        elif t == _COMPOUND_UNIQUE:
            key = ", ".join(_name(c) for c in kw["column_list"])
            kept = _compound_kept(check)
            helpers.append(f"count(1) OVER (PARTITION BY struct({key})) AS _w{i}")
            aggregates.append(f"count(CASE WHEN {kept} AND _w{i} > 1 THEN 1 END) AS u{i}")
            aggregates.append(f"count(CASE WHEN {kept} THEN 1 END) AS nn{i}")
        elif t in (_UNIQUE_PROPORTION, _UNIQUE_VALUE_COUNT):
            value = _name(kw["column"])
            aggregates.append(f"count(DISTINCT {value}) AS d{i}")
            aggregates.append(f"count({value}) AS nn{i}")
    return helpers, aggregates


def _metric_between(value: Any, kwargs: Mapping[str, Any]) -> bool:
    """GE's ``_validate_metric_value_between`` for numbers."""
    if value is None:
        return False
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    above = low is None or (value > low if kwargs.get("strict_min") else value >= low)
    below = high is None or (value < high if kwargs.get("strict_max") else value <= high)
    return bool(above and below)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def _map_outcome(
    suite: str, check: FastCheck, total: int, unexpected: int | None, considered: int | None
) -> Outcome:
    """GE's verdict of a map expectation; ``considered`` is None for the null checks.

    ``unexpected`` is Spark's sum, so None on an empty batch, as GE reports it.
    """
    base = total if considered is None else considered
    vacuous = unexpected is None or total == 0 or base == 0
    success = True if vacuous else (base - (unexpected or 0)) / base >= check.mostly
    percent = None
    if unexpected is not None and total > 0 and base > 0:
        percent = unexpected / base * 100
    return Outcome(
        suite=suite,
        expectation_type=check.expectation_type,
        kwargs=dict(check.kwargs),
        severity=check.severity,
        row_level=check.row_level,
        success=success,
        observed_value=None,
        unexpected_count=unexpected,
        unexpected_percent=percent,
    )


def _table_outcome(suite: str, check: FastCheck, observed: Any, success: bool) -> Outcome:
    return Outcome(
        suite=suite,
        expectation_type=check.expectation_type,
        kwargs=dict(check.kwargs),
        severity=check.severity,
        row_level=False,
        success=success,
        observed_value=_json(observed),
        unexpected_count=None,
        unexpected_percent=None,
    )


def evaluate(df: DataFrame, compiled: CompiledSuite) -> dict[int, Outcome]:
    """Verdicts of the compiled checks on ``df``, keyed by position in the suite.

    Runs one Spark job: every count of every check in one aggregate query, built as SQL text
    (two calls into the JVM however long the suite).
    """
    return evaluate_with(df, compiled, {})[0]


def evaluate_with(
    df: DataFrame, compiled: CompiledSuite, also: Mapping[str, Column]
) -> tuple[dict[int, Outcome], dict[str, Any] | None]:
    """:func:`evaluate`, also computing the aggregates ``also`` over ``df`` in the same job
    (the monitors' metrics of a batch, which then costs no pass of its own): the verdicts,
    and the values of ``also`` by name with ``"rows"``, the rows counted. The values are
    None when the checks run no job (none compiled) or when ``also`` cannot join them (a
    distinct count among the checks, which Spark plans as an aggregation of its own)."""
    checks = compiled.checks
    if not checks:
        return {}, None
    helpers, aggregates = _aggregates(checks)
    source = df.selectExpr("*", *helpers) if helpers else df
    counts_distinct = any(
        c.expectation_type in (_UNIQUE_PROPORTION, _UNIQUE_VALUE_COUNT) for c in checks
    )
    joined = not (also and counts_distinct)
    if also and joined:
        extra = [column.alias(f"_also{j}") for j, column in enumerate(also.values())]
        row = source.select(*[F.expr(a) for a in aggregates], *extra).first()
    else:
        row = source.selectExpr(*aggregates).first()
    assert row is not None  # a global aggregate always has one row
    total = int(row["n"])
    fields = set(row.asDict())
    suite = compiled.suite.name
    outcomes: dict[int, Outcome] = {}
    for check in checks:
        i, t, kw = check.position, check.expectation_type, check.kwargs
        if t in _NULL_TYPES:
            outcomes[i] = _map_outcome(suite, check, total, row[f"u{i}"], None)
        elif f"u{i}" in fields:
            outcomes[i] = _map_outcome(suite, check, total, row[f"u{i}"], int(row[f"nn{i}"]))
        elif t == _ROW_COUNT_BETWEEN:
            outcomes[i] = _table_outcome(suite, check, total, _metric_between(total, kw))
        elif t == _ROW_COUNT_EQUAL:
            outcomes[i] = _table_outcome(suite, check, total, total == kw.get("value"))
        elif t == _UNIQUE_VALUE_COUNT:
            distinct = int(row[f"d{i}"])
            outcomes[i] = _table_outcome(suite, check, distinct, _metric_between(distinct, kw))
        elif t == _UNIQUE_PROPORTION:
            nonnull = int(row[f"nn{i}"])
            proportion = int(row[f"d{i}"]) / nonnull if total > 0 and nonnull > 0 else 0
            outcomes[i] = _table_outcome(suite, check, proportion, _metric_between(proportion, kw))
    if not joined:
        return outcomes, None
    values = {name: row[f"_also{j}"] for j, name in enumerate(also)}
    return outcomes, {**values, "rows": total}
