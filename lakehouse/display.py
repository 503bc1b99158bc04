"""Rendering rows as a plain-text table for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = ["format_result", "format_table", "format_value"]

MAX_WIDTH = 60


def format_value(value: Any) -> str:
    """A value as a person reads it: NULL, ISO timestamps, bytes as text where they decode."""
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{format_value(k)}: {format_value(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _clip(text: str) -> str:
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return text if len(text) <= MAX_WIDTH else text[: MAX_WIDTH - 1] + "…"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A bordered table; numbers are right-aligned, long values clipped."""
    cells = [[_clip(format_value(v)) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    numeric = [
        any(_is_number(r[i]) for r in rows) and all(_is_number(r[i]) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(parts) + " |"

    out = [rule, line(list(columns)), rule, *(line(r) for r in cells), rule]
    return "\n".join(out)


def format_result(columns: Sequence[str], rows: Sequence[Sequence[Any]], limit: int) -> str:
    """A query's answer as ``lakehouse sql`` prints it: the table of at most ``limit`` rows
    (``rows`` holds one more when there are more), then the row count."""
    shown = rows[:limit]
    more = " (more rows not shown; use --limit)" if len(rows) > limit else ""
    return f"{format_table(columns, shown)}\n{len(shown)} row(s){more}"
