"""What a dataset's silver suite demands of each column beyond the contract: the critical
row-level expectations a good event must meet so that its expected outcome is ``silver``.

Read from GE's JSON (no GE import). Bounds given as ``$PARAMETER`` (the event-time window)
are the contract's lateness and skew, which the generator honours on its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lakehouse.errors import ConfigError

__all__ = ["ColumnRule", "SuiteCheck", "read_checks", "read_rules", "rules_of"]


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class ColumnRule:
    """The critical row-level expectations of one column, merged."""

    not_null: bool = False
    value_set: tuple[Any, ...] | None = None
    not_in: tuple[Any, ...] = ()
    low: Decimal | None = None
    high: Decimal | None = None
    strict_low: bool = False
    strict_high: bool = False
    regexes: tuple[str, ...] = ()
    not_regexes: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    labels: tuple[str, ...] = field(default=())  # expectation(column), for messages

    def accepts(self, value: Any) -> bool:
        """Whether a present, non-null silver value meets every expectation."""
        if self.value_set is not None and value not in self.value_set:
            return False
        if value in self.not_in:
            return False
        number = _number(value) if not isinstance(value, str) else None
        if number is not None:
            if self.low is not None and (
                number < self.low or (self.strict_low and number == self.low)
            ):
                return False
            if self.high is not None and (
                number > self.high or (self.strict_high and number == self.high)
            ):
                return False
        if isinstance(value, str):
            if any(re.search(r, value) is None for r in self.regexes):
                return False
            if any(re.search(r, value) for r in self.not_regexes):
                return False
            if self.min_length is not None and len(value) < self.min_length:
                return False
            if self.max_length is not None and len(value) > self.max_length:
                return False
        return True


def _rule(kind: str, kwargs: Mapping[str, Any]) -> ColumnRule | None:
    """The rule of one expectation; ``None`` for a type the generator does not know."""
    label = (f"{kind}({kwargs.get('column')})",)
    if kind == "expect_column_values_to_not_be_null":
        return ColumnRule(not_null=True, labels=label)
    if kind == "expect_column_values_to_be_in_set" and isinstance(kwargs.get("value_set"), list):
        return ColumnRule(value_set=tuple(kwargs["value_set"]), labels=label)
    if kind == "expect_column_values_to_not_be_in_set":
        return ColumnRule(not_in=tuple(kwargs.get("value_set") or ()), labels=label)
    if kind == "expect_column_values_to_be_between":
        return ColumnRule(
            low=_number(kwargs.get("min_value")),
            high=_number(kwargs.get("max_value")),
            strict_low=bool(kwargs.get("strict_min")),
            strict_high=bool(kwargs.get("strict_max")),
            labels=label,
        )
    if kind == "expect_column_values_to_match_regex" and "regex" in kwargs:
        return ColumnRule(regexes=(str(kwargs["regex"]),), labels=label)
    if kind == "expect_column_values_to_not_match_regex" and "regex" in kwargs:
        return ColumnRule(not_regexes=(str(kwargs["regex"]),), labels=label)
    if kind == "expect_column_value_lengths_to_be_between":
        low, high = _number(kwargs.get("min_value")), _number(kwargs.get("max_value"))
        return ColumnRule(
            min_length=int(low) if low is not None else None,
            max_length=int(high) if high is not None else None,
            labels=label,
        )
    return None


@dataclass(frozen=True)
class SuiteCheck:
    """One critical row-level expectation: its column, its label as a quarantine reason
    names it (``type(column)``) and what it demands."""

    column: str
    label: str
    rule: ColumnRule


def read_checks(path: Path) -> list[SuiteCheck]:
    """The critical row-level expectations of the suite at ``path`` that the generator
    knows (not null, in set, not in set, between, regex, lengths), in suite order."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable GE suite ({exc})") from exc
    checks: list[SuiteCheck] = []
    for expectation in data.get("expectations", []) if isinstance(data, dict) else []:
        if not isinstance(expectation, dict) or expectation.get("severity") != "critical":
            continue
        kwargs = expectation.get("kwargs") or {}
        column = kwargs.get("column") if isinstance(kwargs, dict) else None
        if not isinstance(column, str):
            continue  # table-level: not about one event
        rule = _rule(str(expectation.get("type")), kwargs)
        if rule is not None:
            checks.append(SuiteCheck(column, rule.labels[0], rule))
    return checks


def read_rules(path: Path) -> dict[str, ColumnRule]:
    """The critical row-level rules of the suite at ``path``, merged per column."""
    return rules_of(read_checks(path))


def rules_of(checks: Iterable[SuiteCheck]) -> dict[str, ColumnRule]:
    """Checks merged per column: a value meets the merged rule when it meets every check."""
    rules: dict[str, ColumnRule] = {}
    for check in checks:
        merged = rules.get(check.column, ColumnRule())
        rules[check.column] = _combine(merged, check.rule)
    return rules


def _combine(a: ColumnRule, b: ColumnRule) -> ColumnRule:
    value_set = a.value_set if b.value_set is None else b.value_set
    if a.value_set is not None and b.value_set is not None:
        value_set = tuple(v for v in b.value_set if v in a.value_set)
    low, strict_low = a.low, a.strict_low
    if b.low is not None and (low is None or b.low > low):
        low, strict_low = b.low, b.strict_low
    high, strict_high = a.high, a.strict_high
    if b.high is not None and (high is None or b.high < high):
        high, strict_high = b.high, b.strict_high
    return ColumnRule(
        not_null=a.not_null or b.not_null,
        value_set=value_set,
        not_in=(*a.not_in, *b.not_in),
        low=low,
        high=high,
        strict_low=strict_low,
        strict_high=strict_high,
        regexes=(*a.regexes, *b.regexes),
        not_regexes=(*a.not_regexes, *b.not_regexes),
        min_length=max((n for n in (a.min_length, b.min_length) if n is not None), default=None),
        max_length=min((n for n in (a.max_length, b.max_length) if n is not None), default=None),
        labels=(*a.labels, *b.labels),
    )
