"""Values that parse but break exactly one critical expectation of the silver suite."""

from __future__ import annotations

from decimal import Decimal

from lakehouse.contracts import load_dataset
from lakehouse.contracts.model import Field
from lakehouse.generate.suite import ColumnRule, SuiteCheck, read_checks
from lakehouse.generate.violations import ABSENT, violations
from tests.generate.conftest import ROOT, SUITES


def _check(column: str, rule: ColumnRule, label: str = "e") -> SuiteCheck:
    return SuiteCheck(column, f"{label}({column})", rule)


def test_the_product_events_violations() -> None:
    events = load_dataset(ROOT / "datasets" / "events")
    checks = read_checks(SUITES / "bronze_to_silver.json")
    found = violations(events.latest.fields, checks)
    # event_type has allowed values of its own (invalid_value), user_id is pseudonymized,
    # event_id is required (missing_field): amount, currency and country are left to the gate
    countries = next(c.rule.value_set for c in checks if c.column == "country")
    assert countries is not None
    assert {v.reason: v.values for v in found} == {
        "expectation_failed:expect_column_values_to_be_between(amount)": (-0.01, 100000.01),
        "expectation_failed:expect_column_values_to_match_regex(currency)": (
            "!",
            "x!",
            "1-2-3",
            "not a code",
            "zz",
        ),
        "expectation_failed:expect_column_values_to_be_in_set(country)": (
            "!",
            "x!",
            "1-2-3",
            "not a code",
            "zz",
            *(f"not_{c}" for c in sorted(countries)),
        ),
    }


def test_an_optional_field_breaks_not_null_by_its_absence() -> None:
    optional, required = Field("day", "date"), Field("key", "string", required=True)
    checks = [_check("day", ColumnRule(not_null=True)), _check("key", ColumnRule(not_null=True))]
    found = violations((optional, required), checks)
    assert [(v.field.name, v.values) for v in found] == [("day", (ABSENT,))]


def test_a_value_breaks_only_its_expectation() -> None:
    code = Field("code", "string", normalize="upper")
    checks = [
        _check("code", ColumnRule(regexes=("^[A-Z!]+$",)), "regex"),
        _check("code", ColumnRule(max_length=2), "length"),
    ]
    found = {v.reason: v.values for v in violations((code,), checks)}
    # every text that breaks the regex is also longer than 2 ("1-2-3", "NOT A CODE"), and
    # "x!" is "X!" once normalized: only the length can be broken alone
    assert found == {"expectation_failed:length(code)": ("xxx",)}


def test_numbers_that_would_not_fit_their_decimal_are_left_out() -> None:
    price = Field("price", "number", physical_type="decimal(4,2)")
    count = Field("count", "integer", physical_type="tinyint")
    checks = [
        _check("price", ColumnRule(low=Decimal(0), high=Decimal("99.99"), strict_low=True)),
        _check("count", ColumnRule(low=Decimal(-128), high=Decimal(127))),
    ]
    found = {v.field.name: v.values for v in violations((price, count), checks)}
    assert found == {"price": (-0.01, 0.0)}  # 100.00 needs decimal(5,2); -129 is no tinyint
