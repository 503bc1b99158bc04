"""Unit tests of the synthetic event generator and the landing-folder writer."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lakehouse.errors import ConfigError
from tests.events import KNOWN_EVENT_TYPES
from tests.product_generator import (
    BAD_KINDS,
    GeneratedEvent,
    GeneratorSpec,
    generate_events,
    write_landing,
)

START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
CONTRACT_FIELDS = {
    "event_id",
    "event_type",
    "event_ts",
    "user_id",
    "session_id",
    "device",
    "ip",
    "country",
    "properties",
    "schema_version",
}
EVENT_TYPES = set(KNOWN_EVENT_TYPES)  # the contract: every generated good event is known


def parse_ts(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def only(kind: str, count: int = 200, **extra: Any) -> list[GeneratedEvent]:
    spec = GeneratorSpec(count=count, bad_share=1.0, start=START, bad_kinds=(kind,), **extra)
    return generate_events(spec)


def position_ts(index: int, rate: float = 100.0) -> datetime:
    return START + timedelta(seconds=1 / rate) * index


# --- determinism and counts ---------------------------------------------------------------


def test_same_seed_and_start_give_same_events() -> None:
    spec = GeneratorSpec(count=500, bad_share=0.2, seed=11, start=START)
    first = generate_events(spec)
    second = generate_events(spec)
    assert [e.line for e in first] == [e.line for e in second]
    assert first == second


def test_different_seed_gives_different_events() -> None:
    a = generate_events(GeneratorSpec(count=200, seed=1, start=START))
    b = generate_events(GeneratorSpec(count=200, seed=2, start=START))
    assert [e.line for e in a] != [e.line for e in b]
    ids_a = {e.event_id for e in a}
    ids_b = {e.event_id for e in b}
    assert not (ids_a & ids_b) - {None}


def test_different_start_shifts_timestamps_only() -> None:
    a = generate_events(GeneratorSpec(count=50, bad_share=0.0, start=START))
    later = START + timedelta(hours=1)
    b = generate_events(GeneratorSpec(count=50, bad_share=0.0, start=later))
    for x, y in zip(a, b, strict=True):
        ja, jb = json.loads(x.line), json.loads(y.line)
        assert parse_ts(jb["event_ts"]) - parse_ts(ja["event_ts"]) == timedelta(hours=1)
        ja.pop("event_ts")
        jb.pop("event_ts")
        assert ja == jb


@pytest.mark.parametrize("count", [0, 1, 7, 1234])
def test_count_is_respected(count: int) -> None:
    events = generate_events(GeneratorSpec(count=count, start=START))
    assert len(events) == count


def test_default_start_ends_about_now() -> None:
    before = datetime.now(UTC)
    events = generate_events(GeneratorSpec(count=100, bad_share=0.0, rate=10.0))
    after = datetime.now(UTC)
    first = parse_ts(json.loads(events[0].line)["event_ts"])
    last = parse_ts(json.loads(events[-1].line)["event_ts"])
    # 100 events at 10 per second span about 10 seconds that end at "now"
    assert before - timedelta(seconds=11) <= first <= after - timedelta(seconds=9)
    assert last <= after
    assert last >= before - timedelta(seconds=2)


def test_bad_share_roughly_respected() -> None:
    events = generate_events(GeneratorSpec(count=20000, bad_share=0.1, seed=3, start=START))
    bad = sum(1 for e in events if e.kind != "good")
    # binomial(20000, 0.1): mean 2000, standard deviation about 42
    assert 1800 <= bad <= 2200
    kinds = Counter(e.kind for e in events if e.kind != "good")
    assert set(kinds) == set(BAD_KINDS)
    # kinds are chosen uniformly: about 222 each
    for kind, n in kinds.items():
        assert 130 <= n <= 320, (kind, n)


def test_manifest_matches_bad_kinds() -> None:
    events = generate_events(GeneratorSpec(count=3000, bad_share=0.5, seed=5, start=START))
    for e in events:
        if e.kind == "good":
            assert (e.expected, e.reason) == ("silver", None)
            assert e.event_id is not None
        else:
            assert (e.expected, e.reason) == BAD_KINDS[e.kind]
            assert e.expected in ("silver", "quarantine")


# --- good events --------------------------------------------------------------------------


def test_good_events_follow_the_contract() -> None:
    rate = 50.0
    events = generate_events(
        GeneratorSpec(count=2000, bad_share=0.0, seed=9, start=START, rate=rate, users=40)
    )
    assert {e.kind for e in events} == {"good"}
    ids: set[str] = set()
    types: Counter[str] = Counter()
    users: set[str] = set()
    for i, e in enumerate(events):
        assert e.expected == "silver"
        assert e.reason is None
        assert b"\n" not in e.line
        record = json.loads(e.line.decode("utf-8"))
        assert set(record) >= CONTRACT_FIELDS
        assert set(record) - CONTRACT_FIELDS <= {"amount", "currency"}
        assert record["event_id"] == e.event_id
        assert record["event_type"] in EVENT_TYPES
        assert record["schema_version"] == 1
        assert record["user_id"].startswith("usr_")
        assert record["session_id"].startswith("ses_")
        assert record["device"] in {"web", "ios", "android", "desktop_app"}
        assert len(record["country"]) == 2
        assert isinstance(record["ip"], str)
        assert record["ip"]
        assert isinstance(record["properties"], dict)
        assert "page" in record["properties"]
        assert all(isinstance(v, str) for v in record["properties"].values())
        # the event time is the event's position in the stream (millisecond precision)
        expected_ts = START + timedelta(seconds=1 / rate) * i
        assert abs(parse_ts(record["event_ts"]) - expected_ts) < timedelta(milliseconds=1)
        if record["event_type"] == "purchase":
            assert isinstance(record["amount"], float)
            assert 1.0 <= record["amount"] <= 499.99
            assert record["currency"] in {"USD", "EUR", "GBP", "INR", "BRL", "JPY", "CAD", "PLN"}
        else:
            assert "amount" not in record
            assert "currency" not in record
        if record["event_type"] == "search":
            assert "query" in record["properties"]
        if record["event_type"] in ("add_to_cart", "purchase"):
            assert record["properties"]["sku"].startswith("SKU-")
            assert 1 <= int(record["properties"]["quantity"]) <= 4
        ids.add(record["event_id"])
        types[record["event_type"]] += 1
        users.add(record["user_id"])
    assert len(ids) == len(events)  # no accidental duplicates among good events
    assert types["purchase"] > 0
    assert types["page_view"] > types["purchase"]
    assert len(users) <= 40


def test_users_have_stable_home_country_device_and_ip() -> None:
    events = generate_events(
        GeneratorSpec(count=3000, bad_share=0.0, seed=4, start=START, users=20)
    )
    seen: dict[str, tuple[str, str, str]] = {}
    for e in events:
        record = json.loads(e.line)
        profile = (record["country"], record["device"], record["ip"])
        assert seen.setdefault(record["user_id"], profile) == profile


def test_timestamps_have_millisecond_utc_format() -> None:
    events = generate_events(GeneratorSpec(count=5, bad_share=0.0, start=START, rate=4.0))
    stamps = [json.loads(e.line)["event_ts"] for e in events]
    assert stamps == [
        "2024-05-01T12:00:00.000Z",
        "2024-05-01T12:00:00.250Z",
        "2024-05-01T12:00:00.500Z",
        "2024-05-01T12:00:00.750Z",
        "2024-05-01T12:00:01.000Z",
    ]


def test_non_utc_start_is_written_in_utc() -> None:
    start = datetime(2024, 5, 1, 16, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    events = generate_events(GeneratorSpec(count=1, bad_share=0.0, start=start))
    assert json.loads(events[0].line)["event_ts"] == "2024-05-01T14:00:00.000Z"


# --- bad kinds ----------------------------------------------------------------------------


def test_malformed_json() -> None:
    events = only("malformed_json")
    assert len(events) == 200
    for e in events:
        assert e.kind == "malformed_json"
        assert (e.expected, e.reason) == ("quarantine", "malformed_json")
        assert e.event_id is None
        e.line.decode("utf-8")  # still text, just not JSON
        with pytest.raises(json.JSONDecodeError):
            json.loads(e.line)


def test_invalid_utf8() -> None:
    for e in only("invalid_utf8"):
        assert e.kind == "invalid_utf8"
        assert (e.expected, e.reason) == ("quarantine", "invalid_utf8")
        assert e.event_id is not None
        with pytest.raises(UnicodeDecodeError):
            e.line.decode("utf-8")
        # apart from the bad byte it is a complete event carrying its event_id
        record = json.loads(e.line.decode("latin-1"))
        assert record["event_id"] == e.event_id
        assert record["properties"] == {"query": "café"}


def test_missing_field() -> None:
    for e in only("missing_field"):
        assert (e.kind, e.expected, e.reason) == (
            "missing_field",
            "quarantine",
            "missing_field:user_id",
        )
        record = json.loads(e.line)
        assert "user_id" not in record
        assert CONTRACT_FIELDS - {"user_id"} <= set(record)
        assert record["event_id"] == e.event_id


def test_wrong_type() -> None:
    for e in only("wrong_type"):
        assert (e.kind, e.expected, e.reason) == ("wrong_type", "quarantine", "invalid_type:amount")
        record = json.loads(e.line)
        assert "amount" in record
        assert not isinstance(record["amount"], int | float)
        with pytest.raises(ValueError):
            float(record["amount"])
        assert record["event_id"] == e.event_id


def test_duplicate_repeats_one_of_the_last_good_events() -> None:
    events = generate_events(
        GeneratorSpec(count=2000, bad_share=0.3, seed=21, start=START, bad_kinds=("duplicate",))
    )
    duplicates = [(i, e) for i, e in enumerate(events) if e.kind == "duplicate"]
    assert 450 <= len(duplicates) <= 750
    assert {e.kind for e in events} == {"good", "duplicate"}
    for i, dup in duplicates:
        assert (dup.expected, dup.reason) == ("quarantine", "duplicate_event_id")
        # one of the last 200 good events: a window, so generating stays linear in count
        recent_good = [e for e in events[:i] if e.kind == "good"][-200:]
        matches = [e for e in recent_good if e.line == dup.line]
        assert matches, f"duplicate at {i} repeats none of the last 200 good events"
        assert matches[0].event_id == dup.event_id
        assert json.loads(dup.line)["event_id"] == dup.event_id
    # each original is good exactly once; the repeats are all marked as duplicates
    good_ids = Counter(e.event_id for e in events if e.kind == "good")
    assert max(good_ids.values()) == 1


def test_duplicates_among_all_kinds_only_repeat_good_events() -> None:
    events = generate_events(GeneratorSpec(count=3000, bad_share=0.6, seed=13, start=START))
    good_lines: set[bytes] = set()
    duplicates = 0
    for e in events:
        if e.kind == "good":
            good_lines.add(e.line)
        elif e.kind == "duplicate":
            duplicates += 1
            # never a repeat of a malformed, late or otherwise bad line
            assert e.line in good_lines
    assert duplicates > 100


def test_duplicate_without_any_earlier_good_event_is_good() -> None:
    events = only("duplicate", count=3)
    # with nothing to repeat the first event falls back to a good event
    assert events[0].kind == "good"
    assert (events[0].expected, events[0].reason) == ("silver", None)
    assert events[1].kind == "duplicate"
    assert events[1].line == events[0].line
    assert events[1].event_id == events[0].event_id
    json.loads(events[0].line)


def test_too_old() -> None:
    for i, e in enumerate(only("too_old")):
        assert (e.kind, e.expected, e.reason) == ("too_old", "quarantine", "event_ts_too_old")
        ts = parse_ts(json.loads(e.line)["event_ts"])
        age = position_ts(i) - ts
        assert timedelta(days=30) - timedelta(seconds=1) <= age <= timedelta(days=400, seconds=1)


def test_future() -> None:
    for i, e in enumerate(only("future")):
        assert (e.kind, e.expected, e.reason) == ("future", "quarantine", "event_ts_in_future")
        ts = parse_ts(json.loads(e.line)["event_ts"])
        ahead = ts - position_ts(i)
        assert timedelta(days=2) - timedelta(seconds=1) <= ahead <= timedelta(days=30, seconds=1)


def test_unknown_field_is_valid_with_extra_keys() -> None:
    for e in only("unknown_field"):
        assert (e.kind, e.expected, e.reason) == ("unknown_field", "silver", None)
        record = json.loads(e.line.decode("utf-8"))
        extra = set(record) - CONTRACT_FIELDS - {"amount", "currency"}
        assert extra == {"app_version", "experiment"}
        assert set(record) >= CONTRACT_FIELDS
        assert record["experiment"]["arm"] in ("a", "b")


def test_late_is_earlier_than_its_neighbours() -> None:
    events = generate_events(
        GeneratorSpec(count=3000, bad_share=0.1, seed=8, start=START, bad_kinds=("late",))
    )
    late_positions = [i for i, e in enumerate(events) if e.kind == "late"]
    assert late_positions
    stamps = [parse_ts(json.loads(e.line)["event_ts"]) for e in events]
    for i in late_positions:
        e = events[i]
        assert (e.expected, e.reason) == ("silver", None)
        lag = position_ts(i) - stamps[i]
        assert (
            timedelta(minutes=10) - timedelta(seconds=1) <= lag <= timedelta(minutes=600, seconds=1)
        )
        # the nearest good events on either side (a neighbour may be late too)
        before = next((j for j in range(i - 1, -1, -1) if events[j].kind == "good"), None)
        after = next((j for j in range(i + 1, len(events)) if events[j].kind == "good"), None)
        assert before is not None or after is not None
        for j in (before, after):
            if j is not None:
                assert stamps[i] < stamps[j] - timedelta(minutes=9)
    # late events are still valid contract events
    assert set(json.loads(events[late_positions[0]].line)) >= CONTRACT_FIELDS


# --- spec validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"count": -1}, r"count: -1 must be zero or more"),
        ({"count": 1, "bad_share": -0.01}, r"bad share: -0\.01 must be between 0 and 1"),
        ({"count": 1, "bad_share": 1.5}, r"bad share: 1\.5 must be between 0 and 1"),
        ({"count": 1, "rate": 0}, r"rate: 0 must be more than 0"),
        ({"count": 1, "rate": -5.0}, r"rate: -5\.0 must be more than 0"),
        ({"count": 1, "users": 0}, r"users: 0 must be at least 1"),
        (
            {"count": 1, "bad_kinds": ("late", "sideways")},
            r"'sideways'.*choose from malformed_json",
        ),
        ({"count": 1, "bad_kinds": ()}, r"\(none\) not valid"),
    ],
)
def test_spec_validation(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        GeneratorSpec(**kwargs)


def test_spec_unknown_kind_message_lists_every_kind() -> None:
    with pytest.raises(ConfigError) as info:
        GeneratorSpec(count=1, bad_kinds=("nope",))
    for kind in BAD_KINDS:
        assert kind in str(info.value)


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_spec_share_bounds_are_valid(share: float) -> None:
    assert GeneratorSpec(count=1, bad_share=share).bad_share == share


# --- write_landing ------------------------------------------------------------------------


def test_write_landing_files(tmp_path: Path) -> None:
    events = generate_events(GeneratorSpec(count=25, bad_share=0.4, seed=2, start=START))
    landing = tmp_path / "a" / "b" / "landing"  # created with its parents
    paths = write_landing(events, landing, events_per_file=10, prefix="batch")
    assert [p.name for p in paths] == [
        "batch-000000.jsonl",
        "batch-000001.jsonl",
        "batch-000002.jsonl",
    ]
    assert all(p.parent == landing for p in paths)
    assert sorted(p.name for p in landing.iterdir()) == [p.name for p in paths]
    chunks = [events[0:10], events[10:20], events[20:25]]
    for path, chunk in zip(paths, chunks, strict=True):
        data = path.read_bytes()
        assert data == b"".join(e.line + b"\n" for e in chunk)
        assert data.split(b"\n")[:-1] == [e.line for e in chunk]
    assert [len(p.read_bytes().splitlines()) for p in paths] == [10, 10, 5]


def test_write_landing_exact_multiple_and_default_prefix(tmp_path: Path) -> None:
    events = generate_events(GeneratorSpec(count=12, bad_share=0.0, start=START))
    paths = write_landing(events, str(tmp_path), events_per_file=4)
    assert len(paths) == 3
    assert all(p.suffix == ".jsonl" for p in paths)
    assert all(p.name.startswith("events-") for p in paths)
    assert len({p.name.rsplit("-", 1)[0] for p in paths}) == 1  # one prefix per call
    assert [p.name.rsplit("-", 1)[1] for p in paths] == [
        "000000.jsonl",
        "000001.jsonl",
        "000002.jsonl",
    ]
    assert [len(p.read_bytes().splitlines()) for p in paths] == [4, 4, 4]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    lines = b"".join(p.read_bytes() for p in paths).splitlines()
    assert lines == [e.line for e in events]


def test_write_landing_keeps_bad_bytes_verbatim(tmp_path: Path) -> None:
    events = only("invalid_utf8", count=3) + only("malformed_json", count=3)
    (path,) = write_landing(events, tmp_path, events_per_file=100, prefix="p")
    assert path.read_bytes().splitlines() == [e.line for e in events]


def test_write_landing_single_file_when_fewer_than_per_file(tmp_path: Path) -> None:
    events = generate_events(GeneratorSpec(count=3, start=START))
    paths = write_landing(events, tmp_path, prefix="x")
    assert [p.name for p in paths] == ["x-000000.jsonl"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_write_landing_nothing_to_write(tmp_path: Path) -> None:
    assert write_landing([], tmp_path / "empty", prefix="x") == []
    assert list((tmp_path / "empty").iterdir()) == []


@pytest.mark.parametrize("per_file", [0, -3])
def test_write_landing_rejects_bad_events_per_file(tmp_path: Path, per_file: int) -> None:
    events = generate_events(GeneratorSpec(count=3, start=START))
    with pytest.raises(ConfigError, match=rf"events per file: {per_file} must be at least 1"):
        write_landing(events, tmp_path / "l", events_per_file=per_file)
    assert not (tmp_path / "l").exists()


def test_write_landing_paces_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    # the module's own name for time, not time.sleep itself: that is every thread's, and
    # the background threads of the Spark session of this test process sleep too
    monkeypatch.setattr("lakehouse.generate.output.time", SimpleNamespace(sleep=sleeps.append))
    events = generate_events(GeneratorSpec(count=5, start=START))
    write_landing(events, tmp_path, events_per_file=2, files_per_second=4.0, prefix="p")
    assert sleeps == [0.25, 0.25, 0.25]
    sleeps.clear()
    write_landing(events, tmp_path, events_per_file=2, prefix="q")
    assert sleeps == []
