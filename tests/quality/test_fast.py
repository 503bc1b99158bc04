"""The fast gate against Great Expectations, the reference.

The differential test generates data and a suite with one expectation of every type the fast
gate supports (random kwargs, nulls, NaN, empty batches) and asserts that both give the same
verdict, unexpected count, unexpected percent and observed value for each expectation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.quality.fast import (
    FAST_TYPES,
    compile_suite,
    evaluate,
    evaluate_with,
    resolve_parameters,
    sql_literal,
)
from lakehouse.quality.gate import GATE_REASONS, apply_gate, decide
from lakehouse.quality.runner import run_suite
from lakehouse.quality.suites import SuiteError, SuiteFile, load_suite
from lakehouse.quality.validate import Outcome, validate_dataframe
from tests.conftest import SUITES
from tests.io.spark_jobs import jobs_during

SCHEMA = "x double, s string, t timestamp, k1 int, k2 int"
STRINGS = ["a", "b", "ab", "ABC", "", "x1", "zz", "it's", "back\\slash"]
TIMES = [datetime(2026, 1, 1, h) for h in (0, 6, 12, 18)]
REGEXES = ["^a", "b$", "^[A-Z]+$", "\\d", "^$", "'", "\\\\"]
NUMBERS = [-2.5, 0.0, 1.0, 3.5, 10.0, math.nan]

rows_strategy = st.lists(
    st.tuples(
        st.one_of(st.none(), st.sampled_from(NUMBERS)),
        st.one_of(st.none(), st.sampled_from(STRINGS)),
        st.one_of(st.none(), st.sampled_from(TIMES)),
        st.one_of(st.none(), st.integers(0, 3)),
        st.one_of(st.none(), st.integers(0, 2)),
    ),
    max_size=14,
)
mostly = st.sampled_from([None, 0.5, 0.75, 0.9])


def _bounds(values: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """min_value / max_value (not both missing, min <= max) and the strict flags."""

    def build(low: Any, high: Any, strict_min: bool, strict_max: bool) -> dict[str, Any]:
        if low is not None and high is not None and low > high:
            low, high = high, low
        if low is None and high is None:
            low = values[0]
        kwargs: dict[str, Any] = {"min_value": low, "max_value": high}
        if strict_min:
            kwargs["strict_min"] = True
        if strict_max:
            kwargs["strict_max"] = True
        return kwargs

    choice = st.one_of(st.none(), st.sampled_from(values))
    return st.builds(build, choice, choice, st.booleans(), st.booleans())


def _with_mostly(kwargs: dict[str, Any], value: float | None) -> dict[str, Any]:
    return kwargs if value is None else {**kwargs, "mostly": value}


STRATEGIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "expect_column_values_to_not_be_null": st.builds(
        lambda c, m: _with_mostly({"column": c}, m), st.sampled_from(["x", "s"]), mostly
    ),
    "expect_column_values_to_be_null": st.builds(
        lambda c, m: _with_mostly({"column": c}, m), st.sampled_from(["t", "k1"]), mostly
    ),
    "expect_column_values_to_be_in_set": st.builds(
        lambda v, m: _with_mostly({"column": "s", "value_set": v}, m),
        st.lists(st.sampled_from(STRINGS), unique=True, max_size=4),
        mostly,
    ),
    "expect_column_values_to_not_be_in_set": st.builds(
        lambda v, m: _with_mostly({"column": "s", "value_set": v}, m),
        st.lists(st.sampled_from(STRINGS), unique=True, min_size=1, max_size=3),
        mostly,
    ),
    "expect_column_values_to_be_between": st.one_of(
        st.builds(
            lambda b, m: _with_mostly({"column": "x", **b}, m),
            _bounds([-1.0, 0.0, 2.0, 5.0]),
            mostly,
        ),
        st.builds(lambda b, m: _with_mostly({"column": "t", **b}, m), _bounds(TIMES), mostly),
    ),
    "expect_column_values_to_match_regex": st.builds(
        lambda r, m: _with_mostly({"column": "s", "regex": r}, m),
        st.sampled_from(REGEXES),
        mostly,
    ),
    "expect_column_values_to_not_match_regex": st.builds(
        lambda r, m: _with_mostly({"column": "s", "regex": r}, m),
        st.sampled_from(REGEXES),
        mostly,
    ),
    "expect_column_value_lengths_to_be_between": st.builds(
        lambda b, m: _with_mostly({"column": "s", **b}, m), _bounds([0, 1, 2, 3]), mostly
    ),
    "expect_column_value_lengths_to_equal": st.builds(
        lambda v, m: _with_mostly({"column": "s", "value": v}, m), st.integers(0, 3), mostly
    ),
    "expect_column_values_to_be_unique": st.builds(
        lambda c, m: _with_mostly({"column": c}, m), st.sampled_from(["k1", "s"]), mostly
    ),
    "expect_compound_columns_to_be_unique": st.builds(
        lambda i, m: _with_mostly({"column_list": ["k1", "k2"], "ignore_row_if": i}, m),
        st.sampled_from(["all_values_are_missing", "any_value_is_missing", "never"]),
        mostly,
    ),
    "expect_table_row_count_to_be_between": _bounds([0, 2, 5, 10]),
    "expect_table_row_count_to_equal": st.builds(lambda v: {"value": v}, st.integers(0, 4)),
    "expect_column_proportion_of_unique_values_to_be_between": st.builds(
        lambda b: {"column": "s", **b}, _bounds([0.0, 0.25, 0.5, 1.0])
    ),
    "expect_column_unique_value_count_to_be_between": st.builds(
        lambda b: {"column": "k1", **b}, _bounds([0, 1, 2, 4])
    ),
}
suite_strategy = st.fixed_dictionaries(STRATEGIES)
# Every type with its plainest kwargs, for the explicit edge-case examples.
PLAIN: dict[str, dict[str, Any]] = {
    "expect_column_values_to_not_be_null": {"column": "x"},
    "expect_column_values_to_be_null": {"column": "t"},
    "expect_column_values_to_be_in_set": {"column": "s", "value_set": ["a"]},
    "expect_column_values_to_not_be_in_set": {"column": "s", "value_set": ["a"]},
    "expect_column_values_to_be_between": {"column": "x", "min_value": 0.0, "max_value": 5.0},
    "expect_column_values_to_match_regex": {"column": "s", "regex": "^a"},
    "expect_column_values_to_not_match_regex": {"column": "s", "regex": "^a"},
    "expect_column_value_lengths_to_be_between": {"column": "s", "min_value": 1},
    "expect_column_value_lengths_to_equal": {"column": "s", "value": 1},
    "expect_column_values_to_be_unique": {"column": "k1"},
    "expect_compound_columns_to_be_unique": {"column_list": ["k1", "k2"]},
    "expect_table_row_count_to_be_between": {"min_value": 1},
    "expect_table_row_count_to_equal": {"value": 0},
    "expect_column_proportion_of_unique_values_to_be_between": {"column": "s", "min_value": 1.0},
    "expect_column_unique_value_count_to_be_between": {"column": "k1", "max_value": 2},
}


def _suite(expectations: Mapping[str, Mapping[str, Any]], name: str = "diff") -> SuiteFile:
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )
    from great_expectations.expectations.metadata_types import FailureSeverity

    suite = gx.ExpectationSuite(name=name)
    for position, (kind, kwargs) in enumerate(expectations.items()):
        suite.add_expectation_configuration(
            ExpectationConfiguration(
                type=kind,
                kwargs=dict(kwargs),
                meta={"p": position},
                severity=FailureSeverity.CRITICAL,
            )
        )
    return SuiteFile(Path(f"{name}.json"), suite)


def _same(fast: Outcome, ge: Outcome) -> None:
    where = f"{ge.expectation_type} {dict(ge.kwargs)}"
    assert fast.success == ge.success, where
    assert fast.row_level == ge.row_level, where
    assert fast.unexpected_count == ge.unexpected_count, where
    if ge.unexpected_percent is None:
        assert fast.unexpected_percent is None, where
    else:
        assert fast.unexpected_percent == pytest.approx(ge.unexpected_percent), where
    if ge.observed_value is None:
        assert fast.observed_value is None, where
    else:
        assert fast.observed_value is not None, where
        assert json.loads(fast.observed_value) == pytest.approx(json.loads(ge.observed_value))


def test_the_differential_test_covers_every_supported_type() -> None:
    assert set(STRATEGIES) == set(PLAIN) == FAST_TYPES


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=rows_strategy, expectations=suite_strategy)
@example(rows=[], expectations=PLAIN)
@example(rows=[(None, None, None, None, None)] * 3, expectations=PLAIN)
@example(rows=[(math.nan, "a", TIMES[0], 1, 1)] * 2, expectations=PLAIN)
def test_fast_gate_gives_ge_verdicts_and_counts(
    spark: SparkSession, rows: list[tuple[Any, ...]], expectations: dict[str, dict[str, Any]]
) -> None:
    df = spark.createDataFrame(rows, SCHEMA)
    suite = _suite(expectations)
    compiled = compile_suite(suite)
    assert compiled.complete
    fast = evaluate(df, compiled)
    reference = {int(o.meta["p"]): o for o in validate_dataframe(df, suite)}
    assert sorted(fast) == sorted(reference)
    for position, outcome in reference.items():
        _same(fast[position], outcome)


def test_the_shipped_suites_run_entirely_in_the_fast_gate() -> None:
    for path in sorted(SUITES.glob("*.json")):
        parameters = {"min_event_ts": TIMES[0], "max_event_ts": TIMES[-1]}
        assert compile_suite(load_suite(path), parameters).complete, path.name


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**31),
        2**31,
        -(2**40),
        2.5,
        -0.0,
        1e300,
        math.nan,
        math.inf,
        -math.inf,
        Decimal("12.30"),
        "",
        "it's",
        "C:\\path\\n",
        "\\'; DROP TABLE x; --",
        "tab\tnewline\n\u00e9\U0001f600",
        TIMES[1],
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        date(1970, 1, 1),
    ],
)
def test_sql_literals_have_the_value_and_type_of_lit(spark: SparkSession, value: Any) -> None:
    expected = spark.range(1).select(F.lit(value).alias("v"))
    actual = spark.range(1).selectExpr(f"{sql_literal(value)} AS v")
    if isinstance(value, Decimal):  # SQL keeps the literal's own precision, lit uses (38, 18)
        actual = actual.select(F.col("v").cast(expected.schema["v"].dataType).alias("v"))
    assert actual.schema["v"].dataType == expected.schema["v"].dataType
    [got], [want] = actual.collect(), expected.collect()
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(got["v"])
    else:
        assert got["v"] == want["v"]


def test_a_value_of_another_type_is_refused_with_its_type() -> None:
    with pytest.raises(SuiteError, match=r"value \[1\] of type list is not supported"):
        sql_literal([1])


def test_odd_column_names_are_quoted(spark: SparkSession) -> None:
    df = spark.createDataFrame([("a",), (None,)], "`we``ird col` string")
    suite = _suite({"expect_column_values_to_not_be_null": {"column": "we`ird col"}})
    [outcome] = evaluate(df, compile_suite(suite)).values()
    assert outcome.unexpected_count == 1


def test_other_aggregates_ride_along_in_the_gates_one_job(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1.0, "a"), (None, "b"), (3.0, "a")], "x double, s string")
    checks = {
        "expect_column_values_to_not_be_null": {"column": "x"},
        "expect_column_values_to_be_unique": {"column": "s"},  # a window per row
    }
    compiled = compile_suite(_suite(checks))
    also = {"total": F.sum("x"), "top": F.max("s")}
    found: list[Any] = []

    jobs = jobs_during(spark, lambda: found.append(evaluate_with(df, compiled, also)))

    [(outcomes, seen)] = found
    assert len(jobs) == 1
    assert seen == {"total": 4.0, "top": "b", "rows": 3}
    assert outcomes == evaluate(df, compiled)
    # nothing to ask for: the rows alone
    assert evaluate_with(df, compiled, {})[1] == {"rows": 3}
    # a distinct count among the checks: the aggregates are left to a job of their own
    distinct = _suite({"expect_column_unique_value_count_to_be_between": {"column": "s"}})
    assert evaluate_with(df, compile_suite(distinct), also)[1] is None
    # no check compiled: no job, so no values
    assert evaluate_with(df, compile_suite(_suite({})), also) == ({}, None)


def test_unsupported_types_and_options_fall_back_to_ge() -> None:
    suite = _suite(
        {
            "expect_column_values_to_not_be_null": {"column": "x"},
            "expect_column_mean_to_be_between": {"column": "x", "min_value": 0},
            "expect_column_values_to_be_in_set": {
                "column": "s",
                "value_set": ["a"],
                "row_condition": 'col("x")>0',
                "condition_parser": "spark",
            },
        }
    )
    compiled = compile_suite(suite)
    assert [c.position for c in compiled.checks] == [0]
    assert compiled.fallback == (1, 2)


def test_suite_parameters_are_resolved_and_a_missing_one_is_named() -> None:
    kwargs = {"column": "t", "min_value": {"$PARAMETER": "lo"}}
    assert resolve_parameters(kwargs, {"lo": TIMES[0]}, "here") == {
        "column": "t",
        "min_value": TIMES[0],
    }
    with pytest.raises(SuiteError, match=r"here: suite parameter 'lo' has no value"):
        resolve_parameters(kwargs, {"hi": 1}, "here")


@pytest.fixture
def batch(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [
            (1, 1.0, "a", None, None),
            (2, -1.0, "a", None, None),  # x out of range
            (3, 2.0, "ABC", None, None),  # s not in set and not matching
            (4, None, "b", None, None),  # x null
        ],
        "k long, x double, s string, t timestamp, k1 int",
    )


MIXED: dict[str, dict[str, Any]] = {
    "expect_column_values_to_be_between": {"column": "x", "min_value": 0.0},
    "expect_column_values_to_be_in_set": {"column": "s", "value_set": ["a", "b"]},
    # not a fast type: GE evaluates it and lists the failing rows by key
    "expect_column_values_to_be_in_type_list": {"column": "s", "type_list": ["StringType"]},
    "expect_column_values_to_not_be_null": {"column": "x"},
}


def test_both_engines_split_a_batch_the_same_way(batch: DataFrame) -> None:
    suite = _suite(MIXED)
    splits = []
    for engine in ("fast", "great_expectations"):
        run = run_suite(batch, suite, keys=["k"], engine=engine)
        if engine == "fast":
            assert run.ge_expectations == 1 and sorted(run.checks) == [0, 1, 3]
        promoted, refused = apply_gate(batch, decide("t", run.outcomes), ["k"], run.checks)
        splits.append((promoted, refused))
    expected_promoted = batch.where(F.col("k") == 1)
    expected_refused = batch.sparkSession.createDataFrame(
        [
            (2, -1.0, "a", None, None, ["expectation_failed:" + _label(0, "x")]),
            (3, 2.0, "ABC", None, None, ["expectation_failed:" + _label(1, "s")]),
            (4, None, "b", None, None, ["expectation_failed:" + _label(3, "x")]),
        ],
        f"k long, x double, s string, t timestamp, k1 int, {GATE_REASONS} array<string>",
    )
    for promoted, refused in splits:
        assert_df_equality(promoted, expected_promoted, ignore_row_order=True)
        assert_df_equality(refused, expected_refused, ignore_row_order=True, ignore_nullable=True)


def _label(position: int, column: str) -> str:
    return f"{list(MIXED)[position]}({column})"


def test_a_row_failing_several_expectations_gets_every_reason_in_suite_order(
    batch: DataFrame,
) -> None:
    suite = _suite(
        {
            "expect_column_values_to_match_regex": {"column": "s", "regex": "^[a-z]$"},
            "expect_column_values_to_be_in_set": {"column": "s", "value_set": ["a", "b"]},
        }
    )
    run = run_suite(batch, suite, keys=["k"])
    promoted, refused = apply_gate(batch, decide("t", run.outcomes), ["k"], run.checks)
    assert [r["k"] for r in promoted.orderBy("k").collect()] == [1, 2, 4]
    [row] = refused.collect()
    assert row[GATE_REASONS] == [
        "expectation_failed:expect_column_values_to_match_regex(s)",
        "expectation_failed:expect_column_values_to_be_in_set(s)",
    ]


def test_a_passing_batch_is_promoted_whole_and_the_refused_frame_is_empty(
    batch: DataFrame,
) -> None:
    suite = _suite({"expect_column_values_to_not_be_null": {"column": "s"}})
    run = run_suite(batch, suite, keys=["k"])
    promoted, refused = apply_gate(batch, decide("t", run.outcomes), ["k"], run.checks)
    assert_df_equality(promoted, batch)
    assert refused.count() == 0
    assert refused.columns == [*batch.columns, GATE_REASONS]
