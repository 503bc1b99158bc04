"""Values that parse but fail one critical expectation of the silver suite: the gate
quarantines the event with ``expectation_failed:<type>(<column>)``.

A violation is made only where it is unambiguous: a top-level field that silver checks as
sent (not pseudonymized, not the id, version or event-time field, no allowed values of its
own for an in-set check), and a value of the right JSON type that fails the one expectation
and meets every other expectation of its column.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pyspark.sql.types import DecimalType

from lakehouse.contracts.model import Field
from lakehouse.contracts.types import parse_type
from lakehouse.generate.suite import SuiteCheck
from lakehouse.generate.values import INT_MAX, normalized

__all__ = ["ABSENT", "REASON_PREFIX", "Violation", "violations"]

REASON_PREFIX = "expectation_failed:"  # as lakehouse.quality.gate names a failed expectation
ABSENT = object()  # the violation is to leave the field out (an optional field not null)
_TEXT = ("!", "x!", "1-2-3", "not a code", "zz")


@dataclass(frozen=True)
class Violation:
    """How to break one expectation: the field, the values that do it, the reason."""

    field: Field
    values: tuple[Any, ...]
    reason: str

    def value(self, rng: random.Random) -> Any:
        return rng.choice(self.values)


def _fits(f: Field, value: Any) -> bool:
    """Whether a number fits the field's physical type (else silver calls it invalid_type)."""
    parsed = parse_type(f.physical_type, f.name) if f.physical_type else None
    if isinstance(parsed, DecimalType):
        exponent = Decimal(str(value)).as_tuple().exponent
        limit = Decimal(10) ** (parsed.precision - parsed.scale)
        return isinstance(exponent, int) and -exponent <= parsed.scale and abs(value) < limit
    top = INT_MAX.get(type(parsed), 2**63 - 1)
    return not isinstance(value, int) or -top - 1 <= value <= top


def _candidates(f: Field, check: SuiteCheck) -> list[Any]:
    rule = check.rule
    if rule.not_null:
        return [] if f.required else [ABSENT]
    if f.logical_type in ("integer", "number"):
        unit = Decimal(1) if f.logical_type == "integer" else Decimal("0.01")
        numbers = []
        if rule.low is not None:
            numbers += [rule.low - unit] + ([rule.low] if rule.strict_low else [])
        if rule.high is not None:
            numbers += [rule.high + unit] + ([rule.high] if rule.strict_high else [])
        cast = int if f.logical_type == "integer" else float
        return [cast(n) for n in numbers if f.logical_type == "number" or n == int(n)]
    if f.logical_type != "string" or f.allowed:
        return []
    texts = list(_TEXT)
    if rule.value_set is not None:
        texts += [f"not_{v}" for v in rule.value_set]
    texts += [str(v) for v in rule.not_in]
    if rule.max_length is not None:
        texts.append("x" * (rule.max_length + 1))
    if rule.min_length is not None and rule.min_length > 1:
        texts.append("x" * (rule.min_length - 1))
    return texts


def _breaks_only(f: Field, value: Any, check: SuiteCheck, column: Sequence[SuiteCheck]) -> bool:
    if value is ABSENT:
        return all(not other.rule.not_null for other in column if other is not check)
    if isinstance(value, str) and not normalized(f, value).strip():
        return False  # a blank string is a missing field
    if not _fits(f, value):
        return False
    seen = normalized(f, value) if isinstance(value, str) else value
    return not check.rule.accepts(seen) and all(
        other.rule.accepts(seen) for other in column if other is not check
    )


def violations(fields: Sequence[Field], checks: Sequence[SuiteCheck]) -> list[Violation]:
    """Every expectation of ``checks`` that one value of one of ``fields`` breaks alone."""
    by_name = {f.name: f for f in fields}
    found: list[Violation] = []
    for check in checks:
        f = by_name.get(check.column)
        if f is None or f.minimize:
            continue
        column = [c for c in checks if c.column == check.column]
        values = tuple(v for v in _candidates(f, check) if _breaks_only(f, v, check, column))
        if values:
            found.append(Violation(f, values, REASON_PREFIX + check.label))
    return found
