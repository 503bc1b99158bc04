"""Unit tests of the plain-text table rendering."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from lakehouse.display import MAX_WIDTH, format_table, format_value

# --- format_value -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "NULL"),
        (0, "0"),
        (-42, "-42"),
        (1.5, "1.5"),
        ("plain", "plain"),
        ("", ""),
        (True, "True"),
        (date(2024, 2, 29), "2024-02-29"),
    ],
)
def test_format_simple_values(value: Any, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05"),
        (datetime(2024, 1, 2, 3, 4, 5, 123), "2024-01-02 03:04:05.000123"),
        (datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC), "2024-01-02 03:04:05.250000+00:00"),
        (
            datetime(2024, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2024-12-31 23:00:00-05:00",
        ),
    ],
)
def test_format_datetime_uses_space_separator(value: datetime, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("12.50"), "12.50"),
        (Decimal("-0.01"), "-0.01"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("123456789012345678901234567890.123"), "123456789012345678901234567890.123"),
    ],
)
def test_format_decimal_in_fixed_point(value: Decimal, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (b"hello", "hello"),
        (b"", ""),
        ("café".encode(), "café"),
        (bytearray(b"abc"), "abc"),
        (b"\xff\x00\x10", "0xff0010"),
        (b"caf\xe9", "0x636166e9"),
        (bytearray(b"\x80"), "0x80"),
    ],
)
def test_format_bytes(value: bytes | bytearray, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({}, "{}"),
        ({"a": 1, "b": None}, "{a: 1, b: NULL}"),
        ({"nested": {"k": [1, 2]}}, "{nested: {k: [1, 2]}}"),
        ({1: Decimal("2.50")}, "{1: 2.50}"),
        ([], "[]"),
        ([1, "x", None], "[1, x, NULL]"),
        ((1, 2.5), "[1, 2.5]"),
        ([b"ok", b"\xff"], "[ok, 0xff]"),
        ([datetime(2024, 1, 2, 3, 4, 5)], "[2024-01-02 03:04:05]"),
        ([[1], {"a": []}], "[[1], {a: []}]"),
    ],
)
def test_format_containers(value: Any, text: str) -> None:
    assert format_value(value) == text


def test_format_dict_keeps_insertion_order() -> None:
    assert format_value({"z": 1, "a": 2}) == "{z: 1, a: 2}"


# --- format_table -------------------------------------------------------------------------


def test_small_table_exact_output() -> None:
    table = format_table(
        ["id", "name", "score"],
        [
            [1, "alice", 9.5],
            [22, None, None],
            [3, "bob", Decimal("10.25")],
        ],
    )
    assert table == "\n".join(
        [
            "+----+-------+-------+",
            "| id | name  | score |",
            "+----+-------+-------+",
            "|  1 | alice |   9.5 |",
            "| 22 | NULL  |  NULL |",
            "|  3 | bob   | 10.25 |",
            "+----+-------+-------+",
        ]
    )


def test_numeric_header_is_right_aligned_and_values_widen_column() -> None:
    table = format_table(["n", "label"], [(12345, "x"), (7, "yy")])
    assert table.splitlines() == [
        "+-------+-------+",
        "|     n | label |",
        "+-------+-------+",
        "| 12345 | x     |",
        "|     7 | yy    |",
        "+-------+-------+",
    ]


def test_mixed_column_is_left_aligned() -> None:
    table = format_table(["v"], [[100], ["x"]])
    assert table.splitlines() == [
        "+-----+",
        "| v   |",
        "+-----+",
        "| 100 |",
        "| x   |",
        "+-----+",
    ]


def test_string_digits_are_not_numbers() -> None:
    table = format_table(["code"], [["7"], ["12345"]])
    assert table.splitlines()[3:5] == ["| 7     |", "| 12345 |"]


def test_datetime_and_bytes_columns_are_left_aligned() -> None:
    table = format_table(
        ["ts", "raw"],
        [[datetime(2024, 1, 2, 3, 4, 5), b"\xff"], [None, b"abcdef"]],
    )
    assert table.splitlines() == [
        "+---------------------+--------+",
        "| ts                  | raw    |",
        "+---------------------+--------+",
        "| 2024-01-02 03:04:05 | 0xff   |",
        "| NULL                | abcdef |",
        "+---------------------+--------+",
    ]


def test_table_without_rows() -> None:
    assert format_table(["a", "bc"], []) == "\n".join(
        ["+---+----+", "| a | bc |", "+---+----+", "+---+----+"]
    )


def test_value_of_max_width_is_not_clipped() -> None:
    value = "x" * MAX_WIDTH
    table = format_table(["c"], [[value]])
    assert f"| {value} |" in table.splitlines()
    assert "…" not in table


def test_long_value_is_clipped_to_max_width() -> None:
    value = "abcdefghij" * 10  # 100 characters
    lines = format_table(["c"], [[value]]).splitlines()
    clipped = value[: MAX_WIDTH - 1] + "…"
    assert len(clipped) == MAX_WIDTH
    assert lines[3] == f"| {clipped} |"
    assert lines[0] == "+" + "-" * (MAX_WIDTH + 2) + "+"
    assert all(len(line) == MAX_WIDTH + 4 for line in lines)


def test_value_one_over_max_width_is_clipped() -> None:
    value = "y" * (MAX_WIDTH + 1)
    row = format_table(["c"], [[value]]).splitlines()[3]
    assert row == "| " + "y" * (MAX_WIDTH - 1) + "… |"


def test_long_container_is_clipped() -> None:
    value = list(range(100))
    row = format_table(["c"], [[value]]).splitlines()[3]
    text = format_value(value)
    assert row == "| " + text[: MAX_WIDTH - 1] + "… |"


def test_newlines_and_tabs_are_escaped() -> None:
    table = format_table(["note"], [["line1\nline2"], ["a\tb\r\n"]])
    lines = table.splitlines()
    assert len(lines) == 6  # one line per row: nothing leaked
    assert lines[3] == "| line1\\nline2 |"
    assert lines[4] == "| a\\tb\\r\\n     |"


def test_escapes_count_towards_max_width() -> None:
    value = "\n" * MAX_WIDTH  # escaped to twice as many characters
    row = format_table(["c"], [[value]]).splitlines()[3]
    assert row == "| " + ("\\n" * MAX_WIDTH)[: MAX_WIDTH - 1] + "… |"


def test_table_with_dict_list_and_decimal() -> None:
    table = format_table(
        ["props", "tags", "amount"],
        [
            [{"page": "/", "q": None}, ["a", "b"], Decimal("1E+2")],
            [{}, [], Decimal("-3.5")],
        ],
    )
    assert table.splitlines() == [
        "+--------------------+--------+--------+",
        "| props              | tags   | amount |",
        "+--------------------+--------+--------+",
        "| {page: /, q: NULL} | [a, b] |    100 |",
        "| {}                 | []     |   -3.5 |",
        "+--------------------+--------+--------+",
    ]


def test_row_of_wrong_length_is_an_error() -> None:
    with pytest.raises(ValueError):
        format_table(["a", "b"], [[1]])


def test_booleans_and_all_null_columns_are_left_aligned() -> None:
    table = format_table(["flag", "nothing"], [[True, None], [False, None]])
    assert table.splitlines()[3] == "| True  | NULL    |"
    assert table.splitlines()[4] == "| False | NULL    |"
