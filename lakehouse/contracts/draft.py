"""A draft dataset from a profiled sample: its fields, the key fields the platform needs, the
draft bronze->silver suite, and the checklist a person reviews before the draft is used.

The key fields (README "Draft a contract from a sample"):

- **id** (``primaryKey``): a top-level field named ``id`` or ``*_id`` that is not a person's
  id, whose values are unique (98% or more: the sample may hold the duplicates the pipeline
  removes); ``<name>_id``, ``event_id`` and ``id`` first, then required ones.
- **event time**: a timestamp named ``*_ts``, ``*_at``, ``*_time``, ``timestamp``, ``time`` or
  ``ts`` (names with ``event`` first); else any timestamp, with a note.
- **version**: an integer named ``*version*``; the schema's ``schemaVersion`` is the highest
  value seen.
- **subject** (erasure): a required person id (a user's before a session's).

A key field the sample lacks is declared anyway (required, with a note): the contract loads,
and the checklist says that producers must send it. A key field that is not in every record
is made required, with the count of records silver would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from typing import Any

from lakehouse.contracts.names import name_class
from lakehouse.contracts.profile import Sample
from lakehouse.contracts.suggest import DraftField, draft_field
from lakehouse.policy import NONE

__all__ = ["RESERVED", "Draft", "build_draft", "draft_suite", "suite_name"]

# columns silver adds to the event's fields
RESERVED = (
    *("event_date", "rescued_data", "_source", "_partition", "_offset"),
    *("_ingest_ts", "_processed_ts", "_writer_id", "_batch_id"),
)
# keys silver never keeps among unknown fields, whatever the sample holds
_ALWAYS_DROPPED = ("email", "name", "phone", "address", "ip")
_TIME_NAMES = ("timestamp", "time", "ts", "datetime")
_TIME_SUFFIXES = ("_ts", "_at", "_time", "Ts", "At", "Time")
_ID_SHARE = 0.98
_SUBJECT_GAP = 0.05  # a subject missing in more records than this share is not required


@dataclass
class Draft:
    """A dataset drafted from a sample."""

    name: str
    sample: Sample
    fields: list[DraftField]
    id_field: str = ""
    event_time_field: str = ""
    version_field: str = ""
    schema_version: int = 1
    subject_field: str | None = None
    notes: list[str] = field(default_factory=list)  # header comments
    checklist: list[str] = field(default_factory=list)
    rescued_drop_keys: tuple[str, ...] = ()

    def field(self, name: str) -> DraftField:
        return next(f for f in self.fields if f.name == name)


def suite_name(name: str) -> str:
    return f"{name}_bronze_to_silver"


def _fresh(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _placeholder(draft: Draft, base: str, role: str, **types: Any) -> str:
    name = _fresh(base, {f.name for f in draft.fields})
    f = DraftField(name=name, required=True, top_level=True, **types)
    f.profile = "not in the sample"
    f.review(
        f"the {role} is not in the sample; producers must send it (or name another field), "
        "else silver refuses every event"
    )
    draft.fields.append(f)
    return name


def _make_required(draft: Draft, f: DraftField, role: str) -> None:
    if f.required:
        return
    f.required = True
    f.review(
        f"required as the {role}, yet missing (or blank) in {f.missing} record(s) of the "
        "sample: silver would refuse them"
    )


def _is_id_name(name: str) -> bool:
    return name == "id" or name.endswith("_id") or (name.endswith("Id") and len(name) > 2)


def _pick_id(draft: Draft) -> None:
    preferred = (f"{draft.name.removesuffix('s')}_id", "event_id", "id")
    candidates = [
        f
        for f in draft.fields
        if _is_id_name(f.name)
        and f.classification == NONE
        and f.logical_type in ("string", "integer")
        and f.values
        and (f.unique_share >= _ID_SHARE or (f.logical_type == "integer" and f.name in preferred))
    ]
    if not candidates:
        draft.id_field = _placeholder(draft, "event_id", "event id (primaryKey)", normalize="trim")
        draft.field(draft.id_field).primary_key = True
        return
    f = min(
        candidates,
        key=lambda c: (
            c.name not in preferred,
            not c.required,
            c.logical_type != "string",
            -c.unique_share,
        ),
    )
    if f.logical_type == "integer":
        f.logical_type, f.physical_type = "string", None
        f.notes.append("integer ids typed string (the platform's id is a string)")
    f.primary_key, f.normalize, f.monitor = True, "trim", "distinct"
    f.notes.append(
        f"the event id (primaryKey), the duplicate key: {f.duplicates} duplicate value(s) in "
        "the sample"
    )
    _make_required(draft, f, "event id")
    draft.id_field = f.name


def _is_time_name(name: str) -> bool:
    return name.lower() in _TIME_NAMES or name.endswith(_TIME_SUFFIXES)


def _pick_event_time(draft: Draft) -> None:
    stamps = [f for f in draft.fields if f.logical_type == "timestamp"]
    named = [f for f in stamps if _is_time_name(f.name)]
    if not stamps:
        draft.event_time_field = _placeholder(
            draft, "event_ts", "event time (eventTimeField)", logical_type="timestamp"
        )
        return
    f = min(named or stamps, key=lambda c: ("event" not in c.name.lower(), not c.required))
    if not named:
        f.review("chosen as the event time for its type; its name does not say so")
    f.notes.append("the event time (eventTimeField): lateness and partitions follow it")
    others = [c.name for c in stamps if c is not f]
    if others:
        draft.checklist.append(
            f"eventTimeField {f.name}: the other timestamps ({', '.join(others)}) were not chosen"
        )
    _make_required(draft, f, "event time")
    draft.event_time_field = f.name


def _pick_version(draft: Draft) -> None:
    versions = [
        f for f in draft.fields if "version" in f.name.lower() and f.logical_type == "integer"
    ]
    if not versions:
        draft.version_field = _placeholder(
            draft,
            "schema_version",
            "schema version (versionField)",
            logical_type="integer",
            physical_type="int",
        )
        return
    f = min(versions, key=lambda c: (c.name != "schema_version", not c.required))
    f.physical_type, f.monitor = "int", None
    low, high = f.minimum, f.maximum
    if high is not None and 1 <= high < 2**31:
        draft.schema_version = int(high)
    f.notes.append(f"the schema version (versionField): schemaVersion {draft.schema_version}")
    if high is None or high < 1:
        draft.checklist.append(
            f"{f.name}: no value of 1 or more in the sample; schemaVersion 1 is declared: "
            "silver refuses events of other versions"
        )
    elif low is not None and low != high:
        draft.checklist.append(
            f"{f.name}: values {low} to {high} in the sample; the draft declares schemaVersion "
            f"{draft.schema_version} only: silver refuses the others as unsupported"
        )
    _make_required(draft, f, "schema version")
    draft.version_field = f.name


def _pick_subject(draft: Draft) -> None:
    """A person's id, required: a user's before a session's (erasing a session does not
    erase its person); one that is not in every record is made required when it is missing
    in at most ``_SUBJECT_GAP`` of them (the sample's bad events), with a note."""
    people = [f for f in draft.fields if f.minimize == "pseudonymize"]
    persons = [f for f in people if "session" not in f.name.lower()] or people
    usable = [f for f in persons if f.missing <= _SUBJECT_GAP * max(draft.sample.records, 1)]
    if not usable:
        if people:
            draft.checklist.append(
                f"no subjectField: {', '.join(f.name for f in people)} identify people but are "
                "missing in many records; erasure cannot find this dataset's subjects"
            )
        return
    f = min(usable, key=lambda c: (c.missing, "session" in c.name.lower()))
    _make_required(draft, f, "erasure subject")
    draft.subject_field = f.name
    f.notes.append("the erasure subject (subjectField): erase finds a person by it")
    draft.checklist.append(
        f"subjectField {f.name}: check that it is the person a data subject request names"
    )


def _declare(draft: Draft) -> None:
    records = draft.sample.records
    declared: set[str] = set()
    for name, node in draft.sample.root.children.items():
        why = None
        if not name.isidentifier():
            why = "not a field name"
        elif name in RESERVED:
            why = "a column the platform adds"
        elif name.lower() in declared:
            why = "Spark's column names ignore case: it clashes with another key"
        if why is not None:
            draft.notes.append(
                f"key {name!r} is not declared ({why}): silver keeps it in rescued_data"
            )
            continue
        declared.add(name.lower())
        draft.fields.append(draft_field(name, node, records, name, None))


def _checklist(draft: Draft) -> None:
    draft.checklist += [
        f"{path}: {text}" for top in draft.fields for path, f in top.walk() for text in f.reviews
    ]
    personal = [f.name for f in draft.fields if f.classification != NONE]
    skipped = [n for n in draft.sample.root.children if name_class(n, None)]
    draft.rescued_drop_keys = tuple(sorted({*_ALWAYS_DROPPED, *personal, *skipped}))


def build_draft(name: str, sample: Sample) -> Draft:
    """The draft dataset ``name`` from ``sample``."""
    draft = Draft(name=name, sample=sample, fields=[])
    _declare(draft)
    _pick_id(draft)
    _pick_event_time(draft)
    _pick_version(draft)
    _pick_subject(draft)
    _checklist(draft)
    return draft


def _nice(value: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value``; 0 for 0 or less."""
    if value <= 0:
        return Decimal(0)
    base = Decimal(10) ** value.adjusted()
    return next(Decimal(k) * base for k in (1, 2, 5, 10) if Decimal(k) * base >= value)


def _bounds(f: DraftField) -> tuple[float | int, float | int]:
    assert f.minimum is not None and f.maximum is not None
    low = Decimal(0) if f.minimum >= 0 else -_nice(2 * -f.minimum)
    high = _nice(2 * f.maximum) if f.maximum > 0 else Decimal(0)
    if f.logical_type == "integer":
        return int(low), int(high)
    return float(low), float(high)


def _expectation(kind: str, severity: str, note: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"draft": note}, "severity": severity}


def draft_suite(draft: Draft) -> dict[str, Any]:
    """The draft bronze->silver suite, as GE's JSON: not null (critical) for required fields,
    unique ids (warning: silver removes duplicates in the dedup window), allowed values and
    ranges from the sample (warning until a person confirms them)."""
    top = draft.fields
    items = [
        _expectation("expect_column_values_to_not_be_null", "critical", "required", column=f.name)
        for f in top
        if f.required
    ]
    items.append(
        _expectation(
            "expect_column_values_to_be_unique",
            "warning",
            "the event id; silver removes duplicates within dedupWindow",
            column=draft.id_field,
        )
    )
    items += [
        _expectation(
            "expect_column_values_to_be_in_set",
            "warning",
            f"{len(f.allowed)} values seen in the sample",
            column=f.name,
            value_set=list(f.allowed),
        )
        for f in top
        if f.allowed
    ]
    for f in top:
        if (
            f.logical_type in ("integer", "number")
            and f.classification == NONE
            and f.minimum is not None
            and f.name != draft.version_field
        ):
            low, high = _bounds(f)
            items.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    "warning",
                    f"sample: min {f.minimum}, max {f.maximum}; bounds with margin",
                    column=f.name,
                    min_value=low,
                    max_value=high,
                )
            )
    return {
        "name": suite_name(draft.name),
        "expectations": items,
        "meta": {
            "description": (
                f"DRAFT from {draft.sample.source} ({draft.sample.records} records): "
                f"{draft.name} parsed from bronze before promotion to silver.{draft.name}; "
                "review, then raise severities"
            ),
            "great_expectations_version": _ge_version(),
        },
    }


def _ge_version() -> str:
    try:
        return metadata.version("great-expectations")
    except metadata.PackageNotFoundError:
        return "1.24"
