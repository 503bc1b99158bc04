"""From a profiled sample to draft fields: types, required, allowed values, classification.

The rules (README "Draft a contract from a sample"):

- **Types.** Integers are ``int`` when every value is within a tenth of the int range, else
  ``bigint``; numbers with a point are ``decimal(p,s)`` (scale: the most decimals seen, at
  least 2; precision: 4 more integer digits than seen, at least 10), ``double`` when an
  exponent appears or a value has more than 9 decimals. Strings that are all ISO 8601
  date-times with an offset are timestamps, all ``YYYY-MM-DD`` dates. A field that is
  sometimes a string and sometimes a number is a number when numbers and numeric text make
  90% of its values (silver casts numeric text, refuses the rest), else a string, as with
  booleans (silver reads numbers and booleans as their text); objects or arrays mixed with
  other kinds take the most frequent kind, the others are refused.
- **Maps.** An object is a map (``map<string,T>``) when a key is not a field name, it never
  has a key, it has more than 50 keys, or it has 4 keys or more and an object carries on
  average less than half of them.
- **Required**: present, non-null and not blank in every record (every parent object).
- **Allowed values**: strings classified none with at most 20 distinct values over at least
  50 values.
- **Classification** from names and values: person ids (``user_id``, ``customerId``...) are
  pseudonymized (pii_pseudonymous); IPs (by name, or 90% of the values) are truncated
  (pii_quasi); e-mails (by name or any value), phones, names and addresses are pii_direct;
  maps are pii_quasi (free-form keys). Nested fields cannot be minimized: a nested id or IP is
  pii_direct. Everything else is none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from lakehouse.contracts.names import name_class
from lakehouse.contracts.profile import Node
from lakehouse.policy import NONE, PII_DIRECT, PII_PSEUDONYMOUS, PII_QUASI

__all__ = ["DraftField", "describe", "draft_field"]

_INT_HEADROOM = 2**31 // 10
_TEXT = ("string", "timestamp", "date")
_NUMERIC = frozenset({"integer", "decimal", "double"})
_SCALARS = frozenset({"string", "boolean"}) | _NUMERIC
ENUM_MAX_DISTINCT = 20
ENUM_MIN_VALUES = 50
MAP_MAX_FIELDS = 50
MAP_MIN_KEYS = 4
MAP_DENSITY = 0.5
IP_SHARE = 0.9
NUMBER_SHARE = 0.9
_RANK = {NONE: 0, PII_QUASI: 1, PII_PSEUDONYMOUS: 2, PII_DIRECT: 3}


@dataclass
class DraftField:
    """A field of the draft contract, with the figures and notes its comments show."""

    name: str
    logical_type: str = "string"
    physical_type: str | None = None
    required: bool = False
    classification: str = NONE
    primary_key: bool = False
    allowed: tuple[str, ...] = ()
    normalize: str | None = None
    minimize: str | None = None
    keys: tuple[str, ...] = ()
    monitor: str | None = None
    map_value: str | None = None  # the logical type of a map's values
    children: list[DraftField] = field(default_factory=list)
    items: DraftField | None = None
    profile: str = ""  # the sample's figures, one comment line
    notes: list[str] = field(default_factory=list)  # comment lines: why, what to check
    kind: str | None = None  # what the name or values say: person_id, ip, email...
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    unique_share: float = 0.0  # distinct / values (strings)
    duplicates: int = 0
    values: int = 0
    missing: int = 0  # records (parent objects) without a value: absent, null or blank
    top_level: bool = False
    reviews: list[str] = field(default_factory=list)  # what a person must decide

    def rank(self) -> int:
        return _RANK[self.classification]

    def review(self, text: str) -> None:
        """A note that needs a decision: a REVIEW comment and an item of the checklist."""
        self.notes.append(f"REVIEW: {text}")
        self.reviews.append(text)

    def walk(self, path: str = "") -> list[tuple[str, DraftField]]:
        """This field and every nested one, with their paths (``items[].sku``)."""
        here = f"{path}.{self.name}" if path else self.name
        found = [(here, self)]
        for child in self.children:
            found += child.walk(here)
        if self.items is not None:
            found += [(here + "[]" + p[len("item") :], f) for p, f in self.items.walk()]
        return found


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def describe(node: Node, parent_count: int) -> str:
    """The profile comment: presence, null rate, and figures of the kinds seen."""
    absent = max(parent_count - node.values - node.nulls, 0)
    rate = _percent(parent_count - node.values, parent_count)
    text = (
        f"in {node.values} of {parent_count}; null rate {rate} ({node.nulls} null, {absent} absent)"
    )
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(node.kinds.items()) if n)
    if len(node.kinds) > 1:
        text += f"; kinds: {kinds}"
    if node.kinds["string"]:
        more = "+" if node.overflow else ""
        text += f"; {node.distinct}{more} distinct"
        if node.blanks:
            text += f", {node.blanks} blank"
    if node.minimum is not None and node.kind_count(*_NUMERIC):
        text += f"; min {node.minimum} max {node.maximum}"
    if node.arrays:
        text += f"; up to {node.max_items} items"
    return text


def _majority(node: Node) -> set[str]:
    """The kinds the field is typed from: all of them when one type holds them all."""
    kinds = {k for k, n in node.kinds.items() if n}
    if kinds <= _SCALARS or len(kinds) == 1:
        return kinds
    groups = {
        "scalar": node.kind_count(*_SCALARS),
        "object": node.kinds["object"],
        "array": node.kinds["array"],
    }
    best = max(groups, key=lambda g: groups[g])
    return set(_SCALARS) & kinds if best == "scalar" else {best}


def _mostly_numbers(node: Node) -> bool:
    """Whether numbers and numeric text make ``NUMBER_SHARE`` of the values."""
    numbers = node.kind_count(*_NUMERIC) + node.numeric_strings
    return numbers >= NUMBER_SHARE * node.values


def _is_map(node: Node) -> str | None:
    """Why an object is better declared a map, or None."""
    keys = list(node.children)
    if not keys:
        return "it never has a key in the sample"
    odd = [k for k in keys if not k.isidentifier()]
    if odd:
        return f"key {odd[0]!r} is not a field name"
    if len(keys) > MAP_MAX_FIELDS:
        return f"it has {len(keys)} different keys"
    density = node.key_total / (node.objects * len(keys))
    if len(keys) >= MAP_MIN_KEYS and density < MAP_DENSITY:
        return (
            f"its {len(keys)} keys vary: an object carries {100 * density:.0f}% of them on average"
        )
    return None


def _map_value(node: Node) -> str:
    kinds = {k for child in node.children.values() for k, n in child.kinds.items() if n}
    if kinds == {"boolean"}:
        return "boolean"
    if kinds and kinds <= {"integer"}:
        return "integer"
    if kinds and kinds <= _NUMERIC:
        return "number"
    return "string"


def _number_type(f: DraftField, node: Node, kinds: set[str]) -> None:
    f.minimum, f.maximum = node.minimum, node.maximum
    if kinds == {"integer"} and not node.scale:
        biggest = max(abs(node.minimum or Decimal(0)), abs(node.maximum or Decimal(0)))
        if node.int_digits > 18:
            f.logical_type, f.physical_type = "number", "decimal(38,0)"
        else:
            f.logical_type = "integer"
            f.physical_type = "int" if biggest < _INT_HEADROOM else "bigint"
        return
    f.logical_type = "number"
    if "double" in kinds:
        f.physical_type = "double"
        f.notes.append("an exponent (or NaN) appears: double, not decimal")
        return
    if node.scale > 9 or node.int_digits > 24:
        f.physical_type = "double"
        f.notes.append(
            f"{node.int_digits} integer digit(s) and {node.scale} decimal(s): too many for a "
            "decimal of 38 digits with headroom, or a measurement: double"
        )
        return
    scale = max(node.scale, 2)
    precision = min(38, scale + max(node.int_digits + 4, 10))
    f.physical_type = f"decimal({precision},{scale})"
    f.notes.append(
        f"decimal: {node.int_digits} integer digit(s) and {node.scale} decimal(s) seen, "
        "with headroom"
    )


def _string_type(f: DraftField, node: Node) -> None:
    filled = node.kinds["string"] - node.blanks
    if filled and node.timestamps == filled:
        f.logical_type = "timestamp"
    elif filled and node.dates == filled:
        f.logical_type = "date"
    elif filled and node.timestamps + node.local_timestamps == filled:
        f.review(
            f"{node.local_timestamps} date-time(s) without a UTC offset: kept a string; ask the "
            "producer for an offset (…Z) to make it a timestamp"
        )
    elif filled and node.numeric_strings == filled:
        f.notes.append("every value is numeric text: a number type would cast it")
    f.unique_share = node.distinct / node.values if node.values and not node.overflow else 0.0
    f.duplicates = 0 if node.overflow else node.kinds["string"] - node.distinct


def _type(f: DraftField, node: Node, path: str) -> None:
    kinds = _majority(node)
    refused = node.values - sum(node.kinds[k] for k in kinds)
    if refused:
        f.review(
            f"{refused} value(s) of another kind than {'/'.join(sorted(kinds))}: they will be "
            "refused (invalid_type)"
        )
    if not kinds:
        f.review("never holds a value in the sample: typed string, check the type")
    elif kinds == {"object"}:
        why = _is_map(node)
        if why is None:
            f.logical_type = "object"
            f.children = [
                draft_field(name, child, node.objects, f"{path}.{name}", f.name)
                for name, child in node.children.items()
            ]
        else:
            f.logical_type, f.map_value = "map", _map_value(node)
            f.notes.append(f"a map, not an object: {why}")
    elif kinds == {"array"}:
        f.logical_type = "array"
        if node.element is None:
            f.items = DraftField(name="item")
            f.items.review("arrays always empty in the sample: element typed string")
        else:
            element = node.element
            count = element.values + element.nulls  # every element, null ones too
            f.items = draft_field("item", element, count, f"{path}[]", f.name)
    elif kinds == {"boolean"}:
        f.logical_type = "boolean"
    elif kinds <= _NUMERIC:
        _number_type(f, node, kinds)
    elif kinds == {"string"}:
        _string_type(f, node)
    elif kinds & _NUMERIC and kinds <= _NUMERIC | {"string"} and _mostly_numbers(node):
        others = node.kinds["string"] - node.numeric_strings
        f.review(
            f"sometimes a number, sometimes a string ({node.numeric_strings} numeric text(s), "
            f"{others} other): typed as a number; silver casts numeric text and refuses the "
            f"{others} other(s) (invalid_type)"
        )
        _number_type(f, node, kinds - {"string"})
    else:
        f.review(
            f"sometimes {' and sometimes '.join(sorted(kinds))}: typed string (silver reads "
            "numbers and booleans as their text); check the producer"
        )
        _string_type(f, node)


def _classify(f: DraftField, node: Node, parent: str | None) -> None:
    kind = name_class(f.name, parent)
    strings = node.kinds["string"] - node.blanks
    if kind is None and node.emails:
        kind = "email"
    if kind is None and strings and node.ips >= IP_SHARE * strings:
        kind = "ip"
    f.kind = kind
    if f.logical_type == "map":
        _map_class(f, node)
    if kind is None:
        return
    if kind == "email" and node.emails:
        f.notes.append(f"{node.emails} of {strings} value(s) look like e-mail addresses")
    if kind in ("email", "phone", "name", "address") and not f.top_level:
        f.classification = PII_DIRECT
        f.notes.append(f"direct identifier ({kind}) inside {parent}")
    elif kind in ("email", "phone", "name", "address"):
        f.classification = PII_DIRECT
        keep = (
            " or pseudonymize it (minimize: pseudonymize, classification pii_pseudonymous)"
            if f.logical_type == "string"
            else ""
        )
        f.review(
            f"direct identifier ({kind}): drop it from the contract (it is in rescuedDropKeys)"
            f"{keep} unless the purpose needs it"
        )
    elif kind in ("person_id", "ip") and not f.top_level:
        f.classification = PII_DIRECT
        f.review(
            f"a raw {kind.replace('_', ' ')} nested in {parent}: it cannot be minimized there; "
            "drop it or move it to the top level"
        )
    elif kind in ("person_id", "ip") and f.logical_type in ("string", "integer"):
        if f.logical_type == "integer":
            f.logical_type, f.physical_type = "string", None
            f.notes.append("numbers typed string: silver reads them as their text")
        f.normalize = "trim"
        if kind == "person_id":
            f.classification, f.minimize = PII_PSEUDONYMOUS, "pseudonymize"
            f.notes.append("identifies a person: silver stores its pseudonym (HMAC)")
        else:
            f.classification, f.minimize = PII_QUASI, "truncate_ip"
            f.notes.append(
                f"IP address ({node.ips} of {strings} values): silver keeps IPv4 /24, IPv6 /48"
            )
    else:
        f.classification = PII_DIRECT
        f.review(f"a {kind.replace('_', ' ')} that is not a string: pii_direct")


def _map_class(f: DraftField, node: Node) -> None:
    f.classification = PII_QUASI
    personal = sorted(
        key
        for key, child in node.children.items()
        if name_class(key, f.name) or child.emails or (child.ips and child.ips == child.values)
    )
    kept = sorted(set(node.children) - set(personal))
    if not f.top_level:
        f.notes.append("free-form keys: pii_quasi (a nested map cannot be minimized)")
    elif personal and kept:
        f.minimize, f.keys = "keep_keys", tuple(kept)
        f.notes.append(
            f"free-form keys: pii_quasi; silver keeps only {', '.join(kept)} (keys such as "
            f"{', '.join(personal)} look personal)"
        )
    elif personal:
        f.minimize, f.keys = "drop_keys", tuple(personal)
        f.notes.append(f"free-form keys: pii_quasi; silver drops {', '.join(personal)}")
    else:
        f.notes.append(
            "free-form keys: pii_quasi; consider minimize keep_keys (the keys silver keeps)"
        )


def _allowed(f: DraftField, node: Node) -> None:
    if (
        f.logical_type == "string"
        and f.classification == NONE
        and not node.overflow
        and node.kinds["string"] >= ENUM_MIN_VALUES
        and node.distinct <= ENUM_MAX_DISTINCT
        and not node.blanks
        and node.kinds["string"] == node.values
    ):
        ranked = sorted(node.strings.items(), key=lambda kv: (-kv[1], kv[0]))
        f.allowed = tuple(v for v, _ in ranked)
        f.review(
            f"allowed values: {node.distinct} distinct over {node.values} values; a rare value "
            "missing from the sample would fail the suite's in-set check (warning)"
        )


def _sample_values(node: Node) -> str:
    common = [v if len(v) <= 30 else v[:27] + "..." for v, _ in node.strings.most_common(3)]
    return ", ".join(repr(v) for v in common)


def draft_field(
    name: str, node: Node, parent_count: int, path: str, parent: str | None
) -> DraftField:
    """The draft of the field ``name`` found at ``node`` (``parent_count``: records or parent
    objects it could have been in; ``parent``: the enclosing field's name, None at the top)."""
    f = DraftField(name=name, top_level=parent is None)
    f.values = node.values
    f.missing = parent_count - node.values + node.blanks
    f.required = parent_count > 0 and f.missing == 0
    f.profile = describe(node, parent_count)
    _type(f, node, path)
    _classify(f, node, parent)
    inherited = name_class(parent or "", None) in ("address", "name")
    if inherited and f.rank() < _RANK[PII_DIRECT] and f.logical_type != "map":
        f.classification = PII_DIRECT
        f.notes.append(f"part of {parent}: pii_direct")
    nested = [*f.children, *([f.items] if f.items else [])]
    if nested and max(c.rank() for c in nested) > f.rank():
        top = max(nested, key=DraftField.rank)
        f.classification = top.classification
        f.notes.append(f"holds {top.classification} field(s): classified {top.classification}")
    _allowed(f, node)
    if f.classification == NONE and node.kinds["string"] and f.logical_type in _TEXT:
        f.profile += f"; e.g. {_sample_values(node)}"
    if f.top_level:
        if f.logical_type == "string" and (f.minimize is not None or f.name.endswith("_id")):
            f.monitor = "distinct"
        elif f.allowed:
            f.monitor = "category"
        elif f.logical_type in ("integer", "number") and f.classification == NONE:
            f.monitor = "numeric"
    return f
