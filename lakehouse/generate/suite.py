"""What a dataset's silver suite demands of each column beyond the contract: the critical
row-level expectations a good event must meet so that its expected outcome is ``silver``.

Read from GE's JSON (no GE import). Bounds given as ``$PARAMETER`` (the event-time window)
are the contract's lateness and skew, which the generator honours on its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lakehouse.errors import ConfigError

__all__ = ["ColumnRule", "read_rules"]


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


def _merge(rule: ColumnRule, kind: str, kwargs: Mapping[str, Any]) -> ColumnRule:
    label = f"{kind}({kwargs.get('column')})"
    values: dict[str, Any] = {"labels": (*rule.labels, label)}
    if kind == "expect_column_values_to_not_be_null":
        values["not_null"] = True
    elif kind == "expect_column_values_to_be_in_set" and isinstance(kwargs.get("value_set"), list):
        allowed = tuple(kwargs["value_set"])
        if rule.value_set is not None:
            allowed = tuple(v for v in allowed if v in rule.value_set)
        values["value_set"] = allowed
    elif kind == "expect_column_values_to_not_be_in_set":
        values["not_in"] = (*rule.not_in, *(kwargs.get("value_set") or ()))
    elif kind == "expect_column_values_to_be_between":
        low, high = _number(kwargs.get("min_value")), _number(kwargs.get("max_value"))
        if low is not None and (rule.low is None or low > rule.low):
            values.update(low=low, strict_low=bool(kwargs.get("strict_min")))
        if high is not None and (rule.high is None or high < rule.high):
            values.update(high=high, strict_high=bool(kwargs.get("strict_max")))
    elif kind == "expect_column_values_to_match_regex" and "regex" in kwargs:
        values["regexes"] = (*rule.regexes, str(kwargs["regex"]))
    elif kind == "expect_column_values_to_not_match_regex" and "regex" in kwargs:
        values["not_regexes"] = (*rule.not_regexes, str(kwargs["regex"]))
    elif kind == "expect_column_value_lengths_to_be_between":
        low, high = _number(kwargs.get("min_value")), _number(kwargs.get("max_value"))
        if low is not None:
            values["min_length"] = int(low)
        if high is not None:
            values["max_length"] = int(high)
    else:
        return rule
    from dataclasses import replace

    return replace(rule, **values)


def read_rules(path: Path) -> dict[str, ColumnRule]:
    """The critical row-level rules of the suite at ``path``, per column."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable GE suite ({exc})") from exc
    rules: dict[str, ColumnRule] = {}
    for expectation in data.get("expectations", []) if isinstance(data, dict) else []:
        if not isinstance(expectation, dict) or expectation.get("severity") != "critical":
            continue
        kwargs = expectation.get("kwargs") or {}
        column = kwargs.get("column") if isinstance(kwargs, dict) else None
        if not isinstance(column, str):
            continue  # table-level: not about one event
        rules[column] = _merge(rules.get(column, ColumnRule()), str(expectation["type"]), kwargs)
    return rules
