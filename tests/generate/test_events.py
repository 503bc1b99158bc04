"""Events made from a contract: good lines meet the contract and the suite, every bad kind
has exactly its one defect and the reason silver owes it, at the requested share; the same
seed gives the same events; ids are unique; duplicates repeat earlier good events."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import SilverConfig, parse_duration
from lakehouse.contracts import Dataset, load_dataset
from lakehouse.generate import (
    BAD_KINDS,
    GeneratedEvent,
    GeneratorSpec,
    applicable_kinds,
    generate_dataset_events,
)
from lakehouse.generate.suite import read_checks, read_rules
from lakehouse.generate.values import normalized
from tests.generate.checks import latest_problems, unclassified_strings

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RATE = 50.0
COUNT = 3000
SHARE = 0.3
SPEC = GeneratorSpec(
    count=COUNT, bad_share=SHARE, seed=11, rate=RATE, users=40, start=START, older_share=0.3
)
SILVER_KINDS = ("good", "late", "unknown_field")

Generated = tuple[Dataset, Path, list[GeneratedEvent]]


@pytest.fixture(scope="module")
def generated(dataset: tuple[Dataset, Path]) -> Generated:
    ds, suites = dataset
    return ds, suites, generate_dataset_events(ds, SPEC, suites)


def _at(index: int) -> datetime:
    return START + timedelta(seconds=index / RATE)


def _parsed(event: GeneratedEvent) -> dict[str, Any]:
    value = json.loads(event.line)
    assert isinstance(value, dict)
    return value


def test_good_lines_meet_the_contract_and_the_suite(generated: Generated) -> None:
    ds, suites, events = generated
    rules = read_rules(suites / f"{ds.silver_suite}.json")
    fields = {f.name: f for f in ds.latest.fields}
    lateness = _window(ds, "max_lateness")
    good = [(i, e) for i, e in enumerate(events) if e.kind in SILVER_KINDS]
    assert len(good) > COUNT * (1 - SHARE) * 0.95
    for index, event in good:
        obj = _parsed(event)
        assert latest_problems(ds, obj) == [], event.line
        assert failed_checks(ds, suites, obj) == [], event.line
        assert obj[ds.version_field] in {v.version for v in ds.versions}
        assert (event.expected, event.reason, event.outcome) == ("silver", None, "silver")
        assert event.event_id == obj[ds.id_field]
        assert event.subject == (obj[ds.subject_field] if ds.subject_field else None)
        assert event.event_time == datetime.fromisoformat(obj[ds.event_time_field])
        assert _at(index) - lateness / 2 <= event.event_time <= _at(index)
        for column, rule in rules.items():
            if column not in obj:
                assert not rule.not_null, (column, event.line)
                continue
            value = obj[column]
            if fields[column].minimize is None:
                value = normalized(fields[column], value) if isinstance(value, str) else value
                assert rule.accepts(value), (column, rule.labels, event.line)


def test_optional_fields_are_sometimes_absent_unless_the_suite_wants_them(
    generated: Generated,
) -> None:
    ds, suites, events = generated
    rules = read_rules(suites / f"{ds.silver_suite}.json")
    good = [_parsed(e) for e in events if e.kind == "good"]
    good = [obj for obj in good if obj[ds.version_field] == ds.latest.version]
    for f in ds.latest.fields:
        sent = sum(f.name in obj for obj in good)
        if f.required or (f.name in rules and rules[f.name].not_null):
            assert sent == len(good), f.name
        else:
            assert 0 < sent < len(good), f.name


def test_every_kind_the_contract_allows_appears_at_the_requested_share(
    generated: Generated,
) -> None:
    ds, suites, events = generated
    kinds = applicable_kinds(ds, suites)
    counts = Counter(e.kind for e in events)
    bad = round(COUNT * SHARE)
    assert set(counts) == {"good", *kinds}
    for kind in kinds:
        share = bad // len(kinds)
        if kind == "duplicate":  # one with no earlier good event to repeat is a good one
            assert share - 3 <= counts[kind] <= share + 1
        else:
            assert share <= counts[kind] <= share + 1, kind
    assert sum(counts[k] for k in kinds) >= bad - 3


def test_nested_kinds_follow_the_shape_of_the_contract(dataset: tuple[Dataset, Path]) -> None:
    ds, suites = dataset
    nested = any(f.logical_type in ("object", "array") for f in ds.latest.fields)
    kinds = applicable_kinds(ds, suites)
    assert ("missing_nested_field" in kinds) == nested
    assert ("wrong_nested_type" in kinds) == nested
    assert "invalid_value" in kinds  # each of the three has a field with allowed values
    assert "expectation_failed" in kinds  # and a suite that checks values beyond the contract


def _one_defect(ds: Dataset, event: GeneratedEvent) -> None:
    assert latest_problems(ds, _parsed(event)) == [event.reason], event.line


def _no_defect(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> dict[str, Any]:
    obj = _parsed(events[i])
    assert latest_problems(ds, obj) == [], events[i].line
    if events[i].kind != "expectation_failed":
        assert failed_checks(ds, suites, obj) == [], events[i].line
    return obj


def _repeated_key(line: bytes) -> bool:
    repeated: list[bool] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        repeated.append(len(keys) != len(set(keys)))
        return dict(pairs)

    json.loads(line, object_pairs_hook=hook)
    return any(repeated)


def _window(ds: Dataset, name: str) -> timedelta:
    """A time window of the contract, else the ``[silver]`` default."""
    value = getattr(ds, name) or getattr(SilverConfig(), name)
    return timedelta(seconds=parse_duration(value, name))


def _malformed(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    assert events[i].reason == "malformed_json" and events[i].line.startswith(b"{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[i].line)


def _empty(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    assert (events[i].reason, events[i].line, events[i].event_id) == ("empty_payload", b"", None)


def _invalid_utf8(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    assert events[i].reason == "invalid_utf8"
    with pytest.raises(UnicodeDecodeError):
        events[i].line.decode("utf-8")
    assert latest_problems(ds, json.loads(events[i].line.decode("latin-1"))) == []


def _missing(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    reason = str(events[i].reason)
    assert reason.startswith("missing_field:")
    assert ("." in reason) == (events[i].kind == "missing_nested_field")
    _one_defect(ds, events[i])


def _wrong_type(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    reason = str(events[i].reason)
    assert reason.startswith("invalid_type:")
    assert ("." in reason or "[]" in reason) == (events[i].kind == "wrong_nested_type")
    _one_defect(ds, events[i])


def _invalid_value(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    assert str(events[i].reason).startswith("invalid_value:")
    _one_defect(ds, events[i])


def failed_checks(ds: Dataset, suites: Path, obj: dict[str, Any]) -> list[str]:
    """The labels of the critical row-level expectations the event's silver row fails."""
    fields = {f.name: f for f in ds.silver_fields()}
    failed = []
    for check in read_checks(suites / f"{ds.silver_suite}.json"):
        value = obj.get(check.column)
        if value is None:
            if check.rule.not_null:
                failed.append(check.label)
        elif fields[check.column].minimize is None:
            seen = normalized(fields[check.column], value) if isinstance(value, str) else value
            if not check.rule.accepts(seen):
                failed.append(check.label)
    return failed


def _expectation_failed(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    obj = _no_defect(ds, suites, events, i)
    label = str(events[i].reason).removeprefix("expectation_failed:")
    assert failed_checks(ds, suites, obj) == [label] != [events[i].reason]


def _unsupported(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    version = _no_defect(ds, suites, events, i)[ds.version_field]
    assert events[i].reason == f"unsupported_schema_version:{version}"
    assert version not in {v.version for v in ds.versions}


def _future(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    ts = datetime.fromisoformat(_no_defect(ds, suites, events, i)[ds.event_time_field])
    assert events[i].reason == "event_ts_in_future" and events[i].event_time == ts
    assert ts > _at(i) + _window(ds, "max_future_skew") + timedelta(hours=23)


def _too_old(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    ts = datetime.fromisoformat(_no_defect(ds, suites, events, i)[ds.event_time_field])
    assert events[i].reason == "event_ts_too_old" and events[i].event_time == ts
    assert ts < _at(i) - _window(ds, "max_lateness") - timedelta(hours=23)


def _duplicate_key(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    assert events[i].reason == "duplicate_key" and _repeated_key(events[i].line)
    _no_defect(ds, suites, events, i)


def _duplicate(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    event = events[i]
    assert event.reason == "duplicate_event_id"
    original = next(e for e in events[:i] if e.line == event.line)
    assert original.kind == "good"
    assert (event.event_id, event.subject) == (original.event_id, original.subject)
    assert original.event_time is not None and original.event_time == event.event_time
    window = min(_window(ds, "dedup_window"), _window(ds, "max_lateness")) / 2
    assert _at(i) - original.event_time <= window


def _late(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    late = events[i].event_time
    assert late is not None and _at(i) - _window(ds, "max_lateness") / 2 <= late < _at(i)
    assert (events[i].expected, events[i].reason) == ("silver", None)
    _no_defect(ds, suites, events, i)


def _unknown_field(ds: Dataset, suites: Path, events: list[GeneratedEvent], i: int) -> None:
    assert set(_no_defect(ds, suites, events, i)) - {f.name for f in ds.latest.fields}
    assert (events[i].expected, events[i].reason) == ("silver", None)


CHECKS: dict[str, Callable[[Dataset, Path, list[GeneratedEvent], int], None]] = {
    "malformed_json": _malformed,
    "empty_payload": _empty,
    "invalid_utf8": _invalid_utf8,
    "missing_field": _missing,
    "missing_nested_field": _missing,
    "wrong_type": _wrong_type,
    "wrong_nested_type": _wrong_type,
    "invalid_value": _invalid_value,
    "expectation_failed": _expectation_failed,
    "unsupported_schema_version": _unsupported,
    "future": _future,
    "too_old": _too_old,
    "duplicate_key": _duplicate_key,
    "duplicate": _duplicate,
    "late": _late,
    "unknown_field": _unknown_field,
}


def test_every_kind_has_its_check() -> None:
    assert set(CHECKS) == set(BAD_KINDS)


@pytest.mark.parametrize("kind", list(BAD_KINDS))
def test_each_bad_kind_has_exactly_its_defect_and_its_reason(
    generated: Generated, kind: str
) -> None:
    ds, suites, events = generated
    if kind not in applicable_kinds(ds, suites):
        assert not any(e.kind == kind for e in events)
        return
    indexes = [i for i, e in enumerate(events) if e.kind == kind]
    assert indexes
    for i in indexes:
        expected = "silver" if BAD_KINDS[kind] == "silver" else "quarantine"
        assert events[i].expected == expected
        assert events[i].outcome == (events[i].reason or "silver")
        CHECKS[kind](ds, suites, events, i)
        assert events[i].event_time == _carried_time(ds, events[i].line)


def _carried_time(ds: Dataset, line: bytes) -> datetime | None:
    """The event time the line carries, when it is readable as one."""
    try:
        value = json.loads(line.decode("utf-8", "replace")).get(ds.event_time_field)
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def test_older_versions_make_the_share_of_good_events_asked_for(generated: Generated) -> None:
    ds, _, events = generated
    good = [_parsed(e) for e in events if e.kind == "good"]
    versions = Counter(obj[ds.version_field] for obj in good)
    older = sum(n for v, n in versions.items() if v != ds.latest.version)
    if len(ds.versions) == 1:
        assert older == 0
    else:
        assert set(versions) == {v.version for v in ds.versions}
        assert 0.25 < older / len(good) < 0.35
    bad = [_parsed(e) for e in events if e.kind in ("missing_field", "wrong_type", "future")]
    assert {obj[ds.version_field] for obj in bad} == {ds.latest.version}


def test_no_older_version_that_would_leave_a_not_null_column_empty(
    sessions: tuple[Dataset, Path],
) -> None:
    ds, suites = sessions
    v1 = next(v for v in ds.versions if v.version == 1)
    without_day = dataclasses.replace(v1, fields=tuple(f for f in v1.fields if f.name != "day"))
    lacking = dataclasses.replace(ds, versions=(ds.latest, without_day))
    spec = GeneratorSpec(count=200, bad_share=0.0, older_share=1.0, start=START)
    events = generate_dataset_events(lacking, spec, suites)
    assert {_parsed(e)[ds.version_field] for e in events} == {ds.latest.version}


def test_the_same_seed_gives_the_same_events(dataset: tuple[Dataset, Path]) -> None:
    ds, suites = dataset
    spec = GeneratorSpec(count=400, bad_share=0.5, seed=3, start=START)
    first = generate_dataset_events(ds, spec, suites)
    assert generate_dataset_events(ds, spec, suites) == first
    other = generate_dataset_events(ds, GeneratorSpec(400, 0.5, seed=4, start=START), suites)
    assert [e.line for e in other] != [e.line for e in first]


def test_ids_are_unique_and_duplicates_repeat_earlier_good_events(generated: Generated) -> None:
    _, _, events = generated
    ids = [e.event_id for e in events if e.kind != "duplicate" and e.event_id is not None]
    assert len(ids) == len(set(ids))
    good_lines: set[bytes] = set()
    duplicates = 0
    for event in events:
        if event.kind == "duplicate":
            assert event.line in good_lines
            duplicates += 1
        elif event.kind == "good":
            good_lines.add(event.line)
    assert duplicates > 0


def test_events_spread_over_time_at_the_rate(generated: Generated) -> None:
    _, _, events = generated
    times = [e.event_time for e in events if e.kind == "good" and e.event_time is not None]
    assert times == sorted(times) and len(times) == sum(e.kind == "good" for e in events)
    first, last = times[0], times[-1]
    assert first >= START and last <= _at(COUNT - 1)
    assert (last - first).total_seconds() > (COUNT - 50) / RATE


def test_personal_looking_values_only_in_classified_fields(generated: Generated) -> None:
    ds, _, events = generated
    for event in events:
        if event.kind == "good":
            for value in unclassified_strings(ds.latest.fields, _parsed(event)):
                assert "@" not in value, (value, event.line)


def test_default_start_ends_now() -> None:
    ds = load_dataset(Path(__file__).resolve().parents[2] / "datasets" / "orders")
    before = datetime.now(UTC)
    events = generate_dataset_events(ds, GeneratorSpec(count=100, bad_share=0.0, rate=10))
    times = [e.event_time for e in events if e.event_time is not None]
    assert before - timedelta(seconds=11) <= min(times) and max(times) <= datetime.now(UTC)


def test_windows_the_contract_leaves_out_are_the_silver_defaults(
    sessions: tuple[Dataset, Path],
) -> None:
    ds, suites = sessions
    bare = dataclasses.replace(ds, max_lateness=None, max_future_skew=None, dedup_window=None)
    defaults = SilverConfig(max_lateness="3 days", max_future_skew="1 hours")
    spec = GeneratorSpec(count=600, bad_share=0.5, bad_kinds=["too_old", "late"], start=START)
    events = generate_dataset_events(bare, spec, suites, defaults)
    for i, event in enumerate(events):
        assert event.event_time is not None
        if event.kind == "too_old":
            assert event.event_time < _at(i) - timedelta(days=4)
        if event.kind == "late":
            assert event.event_time >= _at(i) - timedelta(days=1.5)
    assert min(e.event_time for e in events if e.kind == "late" and e.event_time) < START - (
        _window(ds, "max_lateness") / 2  # later than the contract's own 6 hours allow
    )


def test_two_datasets_share_their_people_but_not_their_ids() -> None:
    root = Path(__file__).resolve().parents[2] / "datasets"
    spec = GeneratorSpec(count=1000, bad_share=0.0, users=50, start=START)
    events = generate_dataset_events(load_dataset(root / "events"), spec)
    orders = generate_dataset_events(load_dataset(root / "orders"), spec)
    assert {e.subject for e in events} == {e.subject for e in orders}
    assert len({e.subject for e in events}) == 50
    assert not {e.event_id for e in events} & {e.event_id for e in orders}


def test_a_dataset_without_a_subject_has_events_without_one() -> None:
    orders = load_dataset(Path(__file__).resolve().parents[2] / "datasets" / "orders")
    anonymous = dataclasses.replace(orders, subject_field=None)
    spec = GeneratorSpec(count=200, bad_share=0.2, start=START)
    events = generate_dataset_events(anonymous, spec)
    assert {e.subject for e in events} == {None}
    good = [_parsed(e) for e in events if e.kind == "good"]
    assert all(latest_problems(anonymous, obj) == [] for obj in good)
    assert len({obj["customer_id"] for obj in good}) > 50  # an ordinary field now
