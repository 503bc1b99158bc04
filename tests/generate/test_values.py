"""Values of fields: types, decimal scale, allowed values, the suite's rules, names that say
what a field holds (never personal data in a field classified none), wrong values."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lakehouse.contracts.model import Field
from lakehouse.errors import ConfigError
from lakehouse.generate.suite import ColumnRule
from lakehouse.generate.values import Locale, ValueMaker, normalized
from tests.generate.checks import problems

HERE = Locale("DE", "EUR", datetime(2026, 11, 23, 12, tzinfo=UTC))


def _values(f: Field, rules: dict[str, ColumnRule] | None = None, n: int = 200) -> list[object]:
    maker = ValueMaker(random.Random(1), rules or {}, "test")
    return [maker.good(f, HERE, top_level=True) for _ in range(n)]


def test_decimals_keep_their_scale_and_precision() -> None:
    f = Field("unit_price", "number", physical_type="decimal(6,3)")
    for value in _values(f):
        exponent = Decimal(json.dumps(value)).as_tuple().exponent
        assert isinstance(exponent, int) and exponent >= -3
        assert isinstance(value, float) and 0 < value < 1000


def test_integers_stay_inside_their_physical_type() -> None:
    tiny = Field("score", "integer", physical_type="tinyint")
    rule = ColumnRule(low=Decimal(100), high=Decimal(100000))
    assert {v for v in _values(tiny, {"score": rule})} <= set(range(100, 128))


def test_suite_bounds_and_sets_narrow_the_values() -> None:
    amount = Field("amount", "number", physical_type="decimal(18,2)")
    rule = ColumnRule(low=Decimal(0), high=Decimal(1), strict_low=True)
    assert all(0 < float(str(v)) <= 1 for v in _values(amount, {"amount": rule}))
    device = Field("device", "string", normalize="lower")
    inside = ColumnRule(value_set=("web", "tv"))
    assert set(_values(device, {"device": inside})) == {"web", "tv"}


def test_a_suite_regex_beyond_the_realistic_values_is_met() -> None:
    code = Field("code", "string", normalize="upper")
    rule = ColumnRule(regexes=(r"^[A-Z]{2}-\d{3}$",))
    values = _values(code, {"code": rule})
    assert all(rule.accepts(normalized(code, str(v))) for v in values)
    assert len(set(values)) > 50


def test_a_suite_the_generator_cannot_meet_is_named() -> None:
    code = Field("code", "string")
    rule = ColumnRule(regexes=(r"^(?=x)y$",), labels=("expect_column_values_to_match_regex(code)",))
    with pytest.raises(ConfigError) as error:
        _values(code, {"code": rule}, n=1)
    assert "dataset test: cannot generate a value of 'code' that meets" in str(error.value)
    assert "expect_column_values_to_match_regex(code)" in str(error.value)


def test_pseudonymized_fields_are_not_checked_against_the_suite() -> None:
    # silver checks the pseudonym, not the raw id the producer sends
    user = Field("user_id", "string", minimize="pseudonymize", classification="pii_pseudonymous")
    values = _values(user, {"user_id": ColumnRule(regexes=("^[0-9a-f]{64}$",))}, n=5)
    assert all(str(v).startswith("use_") for v in values)


@pytest.mark.parametrize(
    ("name", "classification", "looks_like"),
    [
        ("email", "pii_direct", "@example.com"),
        ("contact_email", "none", None),
        ("ip", "pii_quasi", "."),
        ("country", "none", "DE"),
        ("currency", "none", "EUR"),
        ("sku", "none", "SKU-"),
    ],
)
def test_names_say_what_a_field_holds(
    name: str, classification: str, looks_like: str | None
) -> None:
    values = [str(v) for v in _values(Field(name, "string", classification=classification))]
    if looks_like is None:
        assert not any("@" in v for v in values)
    else:
        assert all(looks_like in v for v in values)


def test_nested_values_have_their_required_fields_and_allowed_values() -> None:
    item = Field(
        "item",
        "object",
        children=(
            Field("sku", "string", required=True),
            Field("size", "string", allowed=("s", "m", "l")),
            Field("tags", "array", items=Field("item", "string")),
        ),
    )
    order = Field("items", "array", required=True, items=item)
    attrs = Field("attrs", "map", physical_type="map<string,bigint>", keys=("a", "b"))
    for value in _values(order):
        assert problems((order,), {"items": value}) == []
        assert isinstance(value, list) and 1 <= len(value) <= 3
    for value in _values(attrs):
        assert isinstance(value, dict) and set(value) <= {"a", "b"} and value
        assert all(isinstance(v, int) for v in value.values())


@pytest.mark.parametrize(
    "logical",
    ["string", "integer", "number", "boolean", "timestamp", "date", "map", "object", "array"],
)
def test_a_wrong_value_is_of_another_type(logical: str) -> None:
    children = (Field("x", "string"),) if logical == "object" else ()
    items = Field("item", "integer") if logical == "array" else None
    f = Field("f", logical, children=children, items=items)
    maker = ValueMaker(random.Random(3), {}, "test")
    for _ in range(10):
        assert problems((f,), {"f": maker.wrong(f)}) == ["invalid_type:f"]


def test_a_value_outside_the_allowed_set_stays_outside_after_normalizing() -> None:
    f = Field("channel", "string", allowed=("WEB", "APP"), normalize="upper")
    maker = ValueMaker(random.Random(3), {}, "test")
    for _ in range(20):
        value = maker.outside(f)
        assert normalized(f, value) not in f.allowed
