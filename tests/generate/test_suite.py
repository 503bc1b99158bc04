"""The silver suite's critical row-level rules, read per column from GE's JSON."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse.errors import ConfigError
from lakehouse.generate.suite import ColumnRule, read_rules
from tests.generate.conftest import SUITES


def test_the_product_suite_s_critical_rules() -> None:
    rules = read_rules(SUITES / "bronze_to_silver.json")
    # warnings (device), info (rescued_data) and table-level checks are no rules; country is
    # a critical set of ISO 3166-1 alpha-2 codes
    assert set(rules) == {
        "event_id",
        "user_id",
        "event_type",
        "amount",
        "currency",
        "event_ts",
        "country",
    }
    countries = rules["country"].value_set
    assert countries is not None and "ES" in countries and len(countries) == 249
    assert rules["event_id"].not_null and rules["user_id"].not_null
    assert rules["event_type"].value_set is not None and "purchase" in rules["event_type"].value_set
    assert (rules["amount"].low, rules["amount"].high) == (Decimal(0), Decimal(100000))
    assert rules["currency"].regexes == ("^[A-Z]{3}$",)
    # the event-time window is a $PARAMETER: the contract's lateness and skew, not a bound
    assert (rules["event_ts"].low, rules["event_ts"].high) == (None, None)


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        (ColumnRule(value_set=("a", "b")), ["a", "b"], ["c", "A"]),
        (ColumnRule(not_in=("x",)), ["y"], ["x"]),
        (ColumnRule(low=Decimal(0), high=Decimal(1)), [0, 0.5, 1], [-0.01, 1.01]),
        (
            ColumnRule(low=Decimal(0), high=Decimal(1), strict_low=True, strict_high=True),
            [0.5],
            [0, 1],
        ),
        (ColumnRule(regexes=("^[A-Z]{2}$",)), ["US"], ["us", "USA"]),
        (ColumnRule(not_regexes=("drop",)), ["select"], ["drop table"]),
        (ColumnRule(min_length=2, max_length=3), ["ab", "abc"], ["a", "abcd"]),
    ],
)
def test_a_rule_accepts_only_values_inside_it(
    rule: ColumnRule, good: list[object], bad: list[object]
) -> None:
    assert all(rule.accepts(v) for v in good)
    assert not any(rule.accepts(v) for v in bad)


def test_rules_of_one_column_are_merged(tmp_path: Path) -> None:
    suite = tmp_path / "s.json"
    suite.write_text(
        '{"name": "s", "expectations": ['
        '{"type": "expect_column_values_to_be_between", "severity": "critical",'
        ' "kwargs": {"column": "n", "min_value": 0, "max_value": 10}},'
        '{"type": "expect_column_values_to_be_between", "severity": "critical",'
        ' "kwargs": {"column": "n", "min_value": 5}},'
        '{"type": "expect_column_values_to_be_in_set", "severity": "critical",'
        ' "kwargs": {"column": "c", "value_set": ["a", "b", "c"]}},'
        '{"type": "expect_column_values_to_be_in_set", "severity": "critical",'
        ' "kwargs": {"column": "c", "value_set": ["b", "c", "d"]}}]}'
    )
    rules = read_rules(suite)
    assert (rules["n"].low, rules["n"].high) == (Decimal(5), Decimal(10))
    assert rules["c"].value_set == ("b", "c")
    assert len(rules["c"].labels) == 2


def test_an_unreadable_suite_is_named(tmp_path: Path) -> None:
    suite = tmp_path / "broken.json"
    suite.write_text("{not json")
    with pytest.raises(ConfigError, match=r"broken\.json: not a readable GE suite"):
        read_rules(suite)
