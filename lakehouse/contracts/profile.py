"""Profiling a sample of JSON lines: what each field holds, as plain Python (no Spark).

Every line that is a JSON object is one record; other lines (not UTF-8, not JSON, a JSON
value that is not an object, blank) are counted and skipped. Each place of the records (a
field, recursively into objects, and the element of an array) gets a :class:`Node`: how
often it holds a value or null, the JSON kinds seen, and figures per kind (string shapes and
distinct values, number range and digits, object keys, array lengths). Numbers keep their
text's precision: ``12.50`` is a decimal of scale 2, ``1e3`` a double.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from lakehouse.errors import LakehouseError

__all__ = [
    "DISTINCT_CAP",
    "KINDS",
    "Node",
    "Sample",
    "profile_file",
    "profile_lines",
]

# JSON kinds: numbers are integer (no point), decimal (a point, no exponent) or double
KINDS = ("boolean", "integer", "decimal", "double", "string", "object", "array")
DISTINCT_CAP = 100_000  # distinct strings kept per field; beyond, ``overflow`` is set
_BAD_KEPT = 20  # bad lines whose number and reason are kept for the report
# the timestamps silver parses: yyyy-MM-dd'T'HH:mm:ss[.fraction] with an offset (Z, +hh:mm)
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
_LOCAL_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^-?\d{1,30}(\.\d{1,30})?$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")


@dataclass
class Node:
    """What the sample holds at one place: a field of an object, or an array's element."""

    values: int = 0  # non-null values
    nulls: int = 0  # explicit nulls
    kinds: Counter[str] = field(default_factory=Counter)
    # strings
    strings: Counter[str] = field(default_factory=Counter)  # distinct values (capped)
    overflow: bool = False
    blanks: int = 0  # empty or whitespace-only strings
    timestamps: int = 0  # ISO 8601 date-times with an offset
    local_timestamps: int = 0  # ISO 8601 date-times without an offset
    dates: int = 0
    emails: int = 0
    ips: int = 0
    numeric_strings: int = 0  # strings that are plain numbers ("12.50"): silver casts them
    max_length: int = 0
    # numbers
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    int_digits: int = 0  # most digits before the point
    scale: int = 0  # most digits after the point
    # objects
    objects: int = 0
    key_total: int = 0  # keys over all objects: with ``objects`` and ``children``, how sparse
    children: dict[str, Node] = field(default_factory=dict)
    # arrays
    arrays: int = 0
    max_items: int = 0
    element: Node | None = None

    @property
    def distinct(self) -> int:
        return len(self.strings)

    def kind_count(self, *kinds: str) -> int:
        return sum(self.kinds[k] for k in kinds)

    def add(self, value: Any) -> None:
        """Count one value found at this place (``None`` is a JSON null)."""
        if value is None:
            self.nulls += 1
            return
        self.values += 1
        if isinstance(value, bool):
            self.kinds["boolean"] += 1
        elif isinstance(value, int):
            self.kinds["integer"] += 1
            self._number(Decimal(value))
        elif isinstance(value, Decimal):
            self.kinds["decimal"] += 1
            self._number(value)
        elif isinstance(value, float):
            self.kinds["double"] += 1
            if math.isfinite(value):
                self._number(Decimal(repr(value)), digits=False)
        elif isinstance(value, str):
            self.kinds["string"] += 1
            self._string(value)
        elif isinstance(value, dict):
            self.kinds["object"] += 1
            self._object(value)
        elif isinstance(value, list):
            self.kinds["array"] += 1
            self._array(value)

    def _number(self, value: Decimal, digits: bool = True) -> None:
        self.minimum = value if self.minimum is None else min(self.minimum, value)
        self.maximum = value if self.maximum is None else max(self.maximum, value)
        if digits:
            _sign, numerals, exponent = value.as_tuple()
            exponent = int(exponent)
            scale = max(0, -exponent)
            self.scale = max(self.scale, scale)
            self.int_digits = max(self.int_digits, len(numerals) + min(exponent, 0))

    def _string(self, value: str) -> None:
        if len(self.strings) < DISTINCT_CAP or value in self.strings:
            self.strings[value] += 1
        else:
            self.overflow = True
        self.max_length = max(self.max_length, len(value))
        text = value.strip()
        if not text:
            self.blanks += 1
        elif _TIMESTAMP.match(text):
            self.timestamps += 1
        elif _LOCAL_TIMESTAMP.match(text):
            self.local_timestamps += 1
        elif _DATE.match(text) and _is_date(text):
            self.dates += 1
        elif _NUMBER.match(text):
            self.numeric_strings += 1
            self._number(Decimal(text))
        elif _EMAIL.match(text):
            self.emails += 1
        elif _is_ip(text):
            self.ips += 1

    def _object(self, value: dict[str, Any]) -> None:
        self.objects += 1
        self.key_total += len(value)
        for key, item in value.items():
            self.children.setdefault(key, Node()).add(item)

    def _array(self, value: list[Any]) -> None:
        self.arrays += 1
        self.max_items = max(self.max_items, len(value))
        if value and self.element is None:
            self.element = Node()
        for item in value:
            assert self.element is not None
            self.element.add(item)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_ip(text: str) -> bool:
    if not (text[0].isdigit() or ":" in text) or len(text) > 45:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass
class Sample:
    """A profiled sample: the records (JSON objects) and the lines skipped."""

    source: str
    lines: int = 0
    records: int = 0
    bad: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # the first few
    root: Node = field(default_factory=Node)

    def skip(self, number: int, reason: str) -> None:
        self.bad += 1
        if len(self.bad_lines) < _BAD_KEPT:
            self.bad_lines.append((number, reason))


def _float(text: str) -> Decimal | float:
    """A JSON number with a point: a Decimal keeps its digits; with an exponent, a float."""
    return float(text) if "e" in text or "E" in text else Decimal(text)


def _constant(text: str) -> float:
    return float(text)  # NaN, Infinity: only a double holds them


def profile_lines(lines: Iterable[bytes], source: str = "<sample>") -> Sample:
    """Profile JSON lines (bytes, without or with their newline)."""
    sample = Sample(source=source)
    for number, raw in enumerate(lines, start=1):
        sample.lines += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            sample.skip(number, "not UTF-8")
            continue
        if not text.strip():
            sample.skip(number, "blank line")
            continue
        try:
            value = json.loads(text, parse_float=_float, parse_constant=_constant)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
            sample.skip(number, f"not JSON ({reason})")
            continue
        if not isinstance(value, dict):
            sample.skip(number, f"a JSON {_json_kind(value)}, not an object")
            continue
        sample.records += 1
        sample.root.add(value)
    return sample


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "number"


def profile_file(path: Path) -> Sample:
    """Profile a JSON-lines file."""
    try:
        with path.open("rb") as handle:
            return profile_lines(handle, str(path))
    except OSError as exc:
        raise LakehouseError(f"sample {str(path)!r} cannot be read ({exc.strerror})") from exc
