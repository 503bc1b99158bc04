"""Values for contract fields: good ones (from the type, the allowed values, the decimal scale,
nested objects and arrays, realistic where the field's name says what it holds, inside the
silver suite's critical expectations) and wrong ones (a value of another JSON type, a string
outside the allowed set).

Personal-looking values (e-mails, IP addresses, names) go only into fields classified as
personal data; a field classified ``none`` never receives one.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from pyspark.sql.types import (
    ByteType,
    DataType,
    DecimalType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
)

from lakehouse.contracts.model import Field
from lakehouse.contracts.types import parse_type
from lakehouse.errors import ConfigError
from lakehouse.generate.regex import matching_string
from lakehouse.generate.suite import ColumnRule

__all__ = ["INT_MAX", "LOCALES", "Locale", "Maker", "ValueMaker", "iso_timestamp", "normalized"]

# (country, currency, weight): where generated subjects live and what they pay in
LOCALES: tuple[tuple[str, str, int], ...] = (
    ("US", "USD", 30),
    ("DE", "EUR", 12),
    ("GB", "GBP", 10),
    ("FR", "EUR", 8),
    ("IN", "INR", 10),
    ("BR", "BRL", 8),
    ("JP", "JPY", 7),
    ("CA", "CAD", 6),
    ("PL", "PLN", 5),
    ("ES", "EUR", 4),
)
_DEVICES = ("web", "ios", "android")
_SYSTEMS = ("ios", "android", "windows", "macos", "linux")
_PAGES = ("/", "/search", "/product", "/cart", "/checkout", "/account", "/help")
_FIRST = ("ana", "ben", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jo")
_LANGUAGES = ("en", "de", "fr", "es", "pl", "ja", "pt")
_WORDS = ("alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "tango", "zulu")
_MONEY = ("price", "amount", "total", "cost", "revenue", "subtotal", "tax", "fee")
_COUNTS = ("quantity", "qty", "count", "units", "items")
INT_MAX: dict[type[DataType] | type[None], int] = {
    ByteType: 127,
    ShortType: 32767,
    IntegerType: 2**31 - 1,
    LongType: 2**63 - 1,
}
_ATTEMPTS = 30
_IP_OCTETS = ((1, 223), (0, 256), (0, 256), (1, 255))
# a value of another JSON type, per logical type, that no parser reads as the declared one
_WRONG: dict[str, tuple[Any, ...]] = {
    "string": ({"unexpected": "object"}, ["an", "array"]),
    "integer": ("twelve", "many"),
    "number": ("twelve euros", "n/a"),
    "boolean": ("maybe", "perhaps"),
    "timestamp": ("yesterday", "23/11/2026 noon"),
    "date": ("someday", "the 5th"),
    "map": ("not an object", 42),
    "object": ("not an object", 42),
    "array": ("not an array", 42),
}


def iso_timestamp(ts: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z`` (what producers send)."""
    utc = ts.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def normalized(f: Field, value: str) -> str:
    """The value as silver stores it after the field's ``normalize``."""
    if f.normalize == "trim":
        return value.strip()
    if f.normalize == "lower":
        return value.strip().lower()
    if f.normalize == "upper":
        return value.strip().upper()
    return value


@dataclass(frozen=True)
class Locale:
    """Where one event happens: its subject's home country and currency, its time."""

    country: str
    currency: str
    ts: datetime


def _tokens(name: str) -> set[str]:
    return set(name.lower().split("_")) | {name.lower()}


Maker = Callable[[Locale], Any]


class ValueMaker:
    """Good and wrong values of fields, from one random generator (deterministic per seed).

    ``rules`` are the silver suite's critical rules per top-level column; a good value of a
    top-level field meets them, or :class:`ConfigError` names the field and the expectations.
    What a field needs is worked out once: each field gets a maker, a function of the
    event's :class:`Locale`.
    """

    def __init__(self, rng: random.Random, rules: Mapping[str, ColumnRule], dataset: str) -> None:
        self.rng = rng
        self.rules = rules
        self.dataset = dataset
        self._makers: dict[tuple[int, bool], tuple[Field, Maker]] = {}

    # good values -------------------------------------------------------------------------

    def good(self, f: Field, locale: Locale, top_level: bool = False) -> Any:
        """A good value of ``f`` (objects with their required children, arrays of 1 to 3)."""
        return self.maker(f, top_level)(locale)

    def maker(self, f: Field, top_level: bool = False) -> Maker:
        """The function giving good values of ``f`` (a top-level one inside the suite)."""
        key = (id(f), top_level)
        if key not in self._makers:
            rule = self.rules.get(f.name) if top_level and not f.minimize else None
            base = self._base(f, rule)
            self._makers[key] = (f, base if rule is None else self._checked(f, rule, base))
        return self._makers[key][1]

    def _checked(self, f: Field, rule: ColumnRule, base: Maker) -> Maker:
        """``base`` while its values meet the suite; from the suite's regex once they do not."""
        realistic = [True]

        def make(locale: Locale) -> Any:
            for _ in range(_ATTEMPTS if realistic[0] else 0):
                value = base(locale)
                if rule.accepts(normalized(f, value) if isinstance(value, str) else value):
                    return value
            realistic[0] = False
            for regex in rule.regexes if f.logical_type == "string" else ():
                for _ in range(_ATTEMPTS):
                    text = matching_string(regex, self.rng)
                    if text is not None and rule.accepts(normalized(f, text)):
                        return text
            raise ConfigError(
                f"dataset {self.dataset}: cannot generate a value of {f.name!r} that meets "
                f"{', '.join(rule.labels)}; loosen the suite or give the field allowed values"
            )

        return make

    def _base(self, f: Field, rule: ColumnRule | None) -> Maker:
        rng, kind = self.rng, f.logical_type
        if kind == "object":
            children = [(c.name, c.required, self.maker(c)) for c in f.children]
            return lambda locale: {
                name: make(locale)
                for name, required, make in children
                if required or rng.random() < 0.7
            }
        if kind == "array":
            assert f.items is not None  # the loader requires items
            item = self.maker(f.items)
            return lambda locale: [item(locale) for _ in range(rng.randint(1, 3))]
        if kind == "map":
            return self._map(f)
        if kind == "boolean":
            return lambda _: rng.random() < 0.5
        if kind == "timestamp":
            return lambda locale: iso_timestamp(locale.ts - timedelta(seconds=rng.randint(0, 3600)))
        if kind == "date":
            return lambda locale: locale.ts.astimezone(UTC).date().isoformat()
        if kind in ("integer", "number"):
            return self._number(f, rule)
        return self._string(f, rule)

    def _map(self, f: Field) -> Maker:
        value_type = "string"
        if f.physical_type:
            parsed = parse_type(f.physical_type, f.name)
            if isinstance(parsed, MapType):
                value_type = _logical(parsed.valueType)
        keys = list(f.keys) or list(_WORDS[:4])
        values = {k: self.maker(Field(k, value_type)) for k in keys}
        rng = self.rng

        def make(locale: Locale) -> dict[str, Any]:
            chosen = rng.sample(keys, rng.randint(1, len(keys)))
            return {k: values[k](locale) for k in chosen}

        return make

    def _string(self, f: Field, rule: ColumnRule | None) -> Maker:
        rng, tokens = self.rng, _tokens(f.name)
        choices = list(f.allowed)
        if rule is not None and rule.value_set is not None:
            inside = [str(v) for v in rule.value_set if isinstance(v, str)]
            choices = [c for c in choices if normalized(f, c) in inside] if choices else inside
        personal = f.classification != "none"
        picks: list[tuple[bool, Sequence[str]]] = [
            (tokens & {"device"} != set(), _DEVICES),
            (tokens & {"os", "platform"} != set(), _SYSTEMS),
            (tokens & {"page", "path", "url"} != set(), _PAGES),
            (tokens & {"lang", "language", "locale"} != set(), _LANGUAGES),
        ]
        if choices:
            return lambda _: rng.choice(choices)
        if "country" in tokens:
            return lambda locale: locale.country
        if "currency" in tokens:
            return lambda locale: locale.currency
        if tokens & {"email", "mail"} and personal:
            return lambda _: f"{rng.choice(_FIRST)}.{rng.randrange(10000):04d}@example.com"
        if "ip" in tokens and personal:
            return lambda _: ".".join(
                str(rng.randrange(low, high))
                for low, high in ((1, 223), (0, 256), (0, 256), (1, 255))
            )
        if "name" in tokens and personal:
            return lambda _: rng.choice(_FIRST).title()
        if "sku" in tokens:
            return lambda _: f"SKU-{rng.randrange(100000):05d}"
        for matches, options in picks:
            if matches:
                return _pick(rng, options)
        if tokens & set(_COUNTS):
            return lambda _: str(rng.randint(1, 5))
        if "version" in tokens:
            return lambda _: f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        if "id" in tokens:
            prefix = f.name[:3]
            return lambda _: f"{prefix}_{rng.getrandbits(40):010x}"
        return lambda _: f"{rng.choice(_WORDS)}-{rng.randrange(1000):03d}"

    def _number(self, f: Field, rule: ColumnRule | None) -> Maker:
        """Integers or numbers in a realistic range for the name, inside the type and the
        suite's bounds; numbers with the decimal's scale (2 when not a decimal)."""
        rng, tokens = self.rng, _tokens(f.name)
        parsed: DataType | None = parse_type(f.physical_type, f.name) if f.physical_type else None
        if f.logical_type == "integer":
            low, high = (1, 5) if tokens & set(_COUNTS) else (0, 1000)
            top = INT_MAX.get(type(parsed), 2**63 - 1)
            low_d, high_d = _within(
                Decimal(low), Decimal(high), rule, Decimal(-top - 1), Decimal(top)
            )
            scale = 0
        else:
            low_d, high_d = (
                (Decimal("1.99"), Decimal("499.99"))
                if tokens & set(_MONEY)
                else (
                    Decimal(0),
                    Decimal(1000),
                )
            )
            decimal = parsed if isinstance(parsed, DecimalType) else None
            limit = Decimal(10) ** (decimal.precision - decimal.scale) - 1 if decimal else None
            low_d, high_d = _within(low_d, high_d, rule, -limit if limit else None, limit)
            scale = decimal.scale if decimal else 2
        unit = Decimal(10) ** scale
        first = int((low_d * unit).to_integral_value(ROUND_CEILING))
        last = max(first, int((high_d * unit).to_integral_value(ROUND_FLOOR)))
        if scale == 0:
            return lambda _: rng.randint(first, last)
        divisor = 10**scale
        return lambda _: rng.randint(first, last) / divisor

    # wrong values ------------------------------------------------------------------------

    def wrong(self, f: Field) -> Any:
        """A value of another JSON type than ``f``'s, which silver must call invalid_type."""
        return self.rng.choice(_WRONG[f.logical_type])

    def outside(self, f: Field) -> str:
        """A string that, normalized, is none of ``f``'s allowed values."""
        allowed = {normalized(f, a) for a in f.allowed}
        for _ in range(_ATTEMPTS):
            candidate = f"{self.rng.choice(('not', 'old', 'x'))}_{self.rng.choice(f.allowed)}"
            candidate = normalized(f, candidate)
            if candidate not in allowed:
                return candidate
        return normalized(f, "-".join(sorted(allowed)) + "-other")


def _pick(rng: random.Random, options: Sequence[str]) -> Maker:
    return lambda _: rng.choice(options)


def _logical(data_type: DataType) -> str:
    name = data_type.typeName()
    if name in ("byte", "short", "integer", "long"):
        return "integer"
    if name in ("decimal", "double", "float"):
        return "number"
    return name if name in ("boolean", "timestamp", "date") else "string"


def _within(
    low: Decimal,
    high: Decimal,
    rule: ColumnRule | None,
    floor: Decimal | None,
    ceiling: Decimal | None,
) -> tuple[Decimal, Decimal]:
    """The realistic range narrowed by the suite's bounds and the type's; the suite's range
    when the two do not meet."""
    hard_low = max((b for b in (floor, rule.low if rule else None) if b is not None), default=None)
    hard_high = min(
        (b for b in (ceiling, rule.high if rule else None) if b is not None), default=None
    )
    new_low = max(low, hard_low) if hard_low is not None else low
    new_high = min(high, hard_high) if hard_high is not None else high
    if new_low <= new_high:
        return new_low, new_high
    return (hard_low if hard_low is not None else new_high), (
        hard_high if hard_high is not None else new_low
    )
