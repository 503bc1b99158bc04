"""Draft fields from profiles: types, required, allowed values and classification."""

from __future__ import annotations

import json

from lakehouse.contracts.profile import profile_lines
from lakehouse.contracts.suggest import DraftField, draft_field


def _field(values: list[object], name: str = "f", extra_lines: int = 0) -> DraftField:
    lines = [json.dumps({name: v}).encode() for v in values]
    lines += [b'{"other": 1}'] * extra_lines
    sample = profile_lines(lines)
    return draft_field(name, sample.root.children[name], sample.records, name, None)


def _raw(lines: list[bytes], name: str) -> DraftField:
    sample = profile_lines(lines)
    return draft_field(name, sample.root.children[name], sample.records, name, None)


def test_integers_are_int_or_bigint_by_range() -> None:
    assert _field([1, 2, 200_000_000]).physical_type == "int"
    assert _field([1, 300_000_000]).physical_type == "bigint"  # beyond a tenth of int's range
    assert _field([1_700_000_000_123]).physical_type == "bigint"
    huge = _field([10**25])
    assert (huge.logical_type, huge.physical_type) == ("number", "decimal(38,0)")


def test_decimals_get_headroom_and_exponents_make_doubles() -> None:
    money = _raw([b'{"f": 12.5}', b'{"f": 999.99}', b'{"f": 3}'], "f")
    assert (money.logical_type, money.physical_type) == ("number", "decimal(12,2)")
    four = _raw([b'{"f": 0.0001}', b'{"f": 123456789.5}'], "f")
    assert four.physical_type == "decimal(17,4)"
    assert _raw([b'{"f": 1.5e3}', b'{"f": 2.25}'], "f").physical_type == "double"
    assert _raw([b'{"f": 0.1234567891}'], "f").physical_type == "double"


def test_timestamps_need_an_offset_and_dates_are_dates() -> None:
    assert _field(["2026-11-01T08:00:00Z", "2026-11-01T08:00:00.5+02:00"]).logical_type == (
        "timestamp"
    )
    assert _field(["2026-11-01", "2026-02-28"]).logical_type == "date"
    local = _field(["2026-11-01T08:00:00", "2026-11-01T09:00:00Z"])
    assert local.logical_type == "string"
    assert any("without a UTC offset" in r for r in local.reviews)
    assert _field(["2026-13-45"]).logical_type == "string"  # not a date


def test_a_field_that_is_sometimes_a_string_and_sometimes_a_number() -> None:
    mostly_text = _field(["a", "b", 3, "c"])
    assert mostly_text.logical_type == "string"
    assert any("sometimes integer and sometimes string" in r for r in mostly_text.reviews)
    flags = _field([True, 1, False])
    assert flags.logical_type == "string"
    assert any("sometimes boolean and sometimes integer" in r for r in flags.reviews)
    mostly_numbers = _field([*([1.25] * 18), "12.50", "twelve"])
    assert (mostly_numbers.logical_type, mostly_numbers.physical_type) == (
        "number",
        "decimal(12,2)",
    )
    assert any("refuses the 1 other(s)" in r for r in mostly_numbers.reviews)
    mixed = _field([{"a": 1}, {"a": 2}, "x"])
    assert mixed.logical_type == "object"
    assert any("1 value(s) of another kind" in r for r in mixed.reviews)


def test_required_means_present_non_null_and_not_blank_everywhere() -> None:
    assert _field(["a", "b"]).required
    assert not _field(["a", None]).required
    assert not _field(["a", " "]).required
    absent = _field(["a"], extra_lines=3)
    assert not absent.required and absent.missing == 3
    assert "null rate 75.0% (0 null, 3 absent)" in absent.profile


def test_allowed_values_for_few_strings_over_many_values() -> None:
    status = _field(["new", "paid", "paid", "shipped"] * 13)
    assert status.allowed == ("paid", "new", "shipped")
    assert status.monitor == "category"
    assert _field(["new", "paid"] * 20).allowed == ()  # 40 values: too few
    assert _field([f"v{i % 21}" for i in range(100)]).allowed == ()  # 21 distinct: too many
    assert _field(["a@example.com", "b@example.com"] * 30, name="contact").allowed == ()


def test_objects_whose_keys_vary_are_maps() -> None:
    dense = _raw([b'{"d": {"os": "ios", "v": "1"}}', b'{"d": {"os": "web"}}'], "d")
    assert dense.logical_type == "object"
    assert [c.name for c in dense.children] == ["os", "v"]
    assert [c.required for c in dense.children] == [True, False]
    sparse = _raw([f'{{"m": {{"k{i}": {i}}}}}'.encode() for i in range(6)], "m")
    assert (sparse.logical_type, sparse.map_value) == ("map", "integer")
    odd = _raw([b'{"m": {"app-version": "1.2"}}'], "m")
    assert odd.logical_type == "map" and any("not a field name" in n for n in odd.notes)
    empty = _raw([b'{"m": {}}'], "m")
    assert (empty.logical_type, empty.map_value) == ("map", "string")


def test_personal_fields_are_classified_and_minimized() -> None:
    user = _field(["u1", "u2"], name="user_id")
    assert (user.classification, user.minimize, user.normalize) == (
        "pii_pseudonymous",
        "pseudonymize",
        "trim",
    )
    numeric_user = _field([12, 13], name="customerId")
    assert (numeric_user.logical_type, numeric_user.minimize) == ("string", "pseudonymize")
    ip = _field(["10.0.0.1", "2001:db8::2"], name="origin")
    assert (ip.classification, ip.minimize) == ("pii_quasi", "truncate_ip")
    mail = _field(["x", "ana@example.com"], name="note")
    assert mail.classification == "pii_direct" and mail.minimize is None
    assert any("drop it" in r for r in mail.reviews)
    assert "e.g." not in mail.profile  # no sample values of personal fields
    assert "e.g. 'a'" in _field(["a"]).profile


def test_nested_personal_fields_are_direct_and_raise_their_parent() -> None:
    order = _raw(
        [b'{"o": {"buyer": {"id": "c1", "name": "Ana"}, "lines": [{"seller_ip": "10.0.0.1"}]}}'],
        "o",
    )
    buyer = order.children[0]
    assert [(c.name, c.classification) for c in buyer.children] == [
        ("id", "pii_direct"),
        ("name", "pii_direct"),
    ]
    assert buyer.classification == "pii_direct"
    lines = order.children[1]
    assert lines.items is not None and lines.items.children[0].classification == "pii_direct"
    assert lines.classification == "pii_direct" and order.classification == "pii_direct"
    assert [p for p, _ in order.walk()] == [
        "o",
        "o.buyer",
        "o.buyer.id",
        "o.buyer.name",
        "o.lines",
        "o.lines[]",
        "o.lines[].seller_ip",
    ]


def test_a_map_with_personal_keys_keeps_the_others() -> None:
    props = _raw(
        [
            b'{"p": {"page": "/"}}',
            b'{"p": {"page": "/", "sku": "A"}}',
            b'{"p": {"email": "a@example.com"}}',
            b'{"p": {"q": "tent"}}',
            b'{"p": {"page": "/x"}}',
        ],
        "p",
    )
    assert (props.logical_type, props.classification) == ("map", "pii_quasi")
    assert (props.minimize, props.keys) == ("keep_keys", ("page", "q", "sku"))


def test_always_null_and_always_empty_fields_are_strings_to_review() -> None:
    never = _field([None, None])
    assert never.logical_type == "string" and never.reviews
    tags = _field([["a", None], ["b"]])
    assert tags.items is not None and "null rate 33.3% (1 null, 0 absent)" in tags.items.profile
    empty = _field([[], []])
    assert empty.logical_type == "array" and empty.items is not None
    assert empty.items.logical_type == "string" and empty.items.reviews
