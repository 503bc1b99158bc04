"""Profiling JSON lines: bad lines are counted and skipped, numbers keep their digits, strings
their shapes, objects and arrays are profiled recursively."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from lakehouse.contracts.profile import profile_file, profile_lines
from lakehouse.errors import LakehouseError


def test_lines_that_are_not_json_objects_are_counted_and_skipped() -> None:
    lines = [
        b'{"a": 1}',
        b"not json",
        b"[1, 2]",
        b"42",
        b"null",
        b"   ",
        b'{"a": "caf\xe9"}',
        b'{"a": 2}\n',
    ]
    sample = profile_lines(lines)
    assert (sample.lines, sample.records, sample.bad) == (8, 2, 6)
    reasons = dict(sample.bad_lines)
    assert reasons[2].startswith("not JSON")
    assert reasons[3] == "a JSON array, not an object"
    assert reasons[4] == "a JSON number, not an object"
    assert reasons[5] == "a JSON null, not an object"
    assert reasons[6] == "blank line"
    assert reasons[7] == "not UTF-8"
    assert sample.root.children["a"].values == 2


def test_numbers_keep_the_digits_of_their_text() -> None:
    sample = profile_lines([b'{"p": 12.50, "n": 7, "x": 1e3}', b'{"p": 1234.5, "n": -3, "x": 2}'])
    price, count, exp = (sample.root.children[k] for k in ("p", "n", "x"))
    assert price.kinds["decimal"] == 2
    assert (price.scale, price.int_digits) == (2, 4)
    assert (price.minimum, price.maximum) == (Decimal("12.50"), Decimal("1234.5"))
    assert (count.kinds["integer"], count.minimum, count.maximum) == (2, Decimal(-3), Decimal(7))
    assert exp.kinds["double"] == 1 and exp.kinds["integer"] == 1


def test_strings_are_recognised_by_their_shape() -> None:
    values = [
        "2026-11-01T08:00:00Z",
        "2026-11-01T08:00:00.123+01:00",
        "2026-11-01T08:00:00",
        "2026-11-01",
        "ana@example.com",
        "10.1.2.3",
        "2001:db8::1",
        "12.50",
        " ",
        "plain",
    ]
    sample = profile_lines([f'{{"s": "{v}"}}'.encode() for v in values])
    s = sample.root.children["s"]
    assert (s.timestamps, s.local_timestamps, s.dates, s.emails, s.ips) == (2, 1, 1, 1, 2)
    assert (s.numeric_strings, s.blanks, s.distinct, s.kinds["string"]) == (1, 1, 10, 10)


def test_objects_and_arrays_are_profiled_recursively_with_nulls() -> None:
    sample = profile_lines(
        [
            b'{"d": {"os": "ios", "v": null}, "items": [{"q": 1}, null, {"q": 2, "x": "a"}]}',
            b'{"d": null, "items": []}',
            b'{"items": null}',
        ]
    )
    device, items = sample.root.children["d"], sample.root.children["items"]
    assert (device.values, device.nulls, device.objects) == (1, 1, 1)
    assert device.children["v"].nulls == 1 and device.children["v"].values == 0
    assert (items.values, items.nulls, items.arrays, items.max_items) == (2, 1, 2, 3)
    element = items.element
    assert element is not None
    assert (element.values, element.nulls) == (2, 1)
    assert element.children["q"].values == 2 and element.children["x"].values == 1


def test_an_unreadable_sample_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(LakehouseError, match=r"sample '.*nope.jsonl' cannot be read"):
        profile_file(tmp_path / "nope.jsonl")
