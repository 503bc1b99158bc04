"""The expected summary of a run and its landing files."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.contracts import Dataset
from lakehouse.generate import (
    GeneratedEvent,
    GeneratorSpec,
    expected_summary,
    generate_dataset_events,
    write_dataset_events,
)
from lakehouse.publish import outgoing


def _event(kind: str, reason: str | None) -> GeneratedEvent:
    expected = "silver" if reason is None else "quarantine"
    return GeneratedEvent(b"{}", kind, None, expected, reason)


def test_the_summary_counts_events_per_outcome_silver_first() -> None:
    events = [
        _event("too_old", "event_ts_too_old"),
        _event("good", None),
        _event("missing_field", "missing_field:items[].sku"),
        _event("late", None),
        _event("too_old", "event_ts_too_old"),
    ]
    summary = expected_summary(events)
    assert list(summary.items()) == [
        ("silver", 2),
        ("event_ts_too_old", 2),
        ("missing_field:items[].sku", 1),
    ]


def test_the_summary_accounts_for_every_event(dataset: tuple[Dataset, Path]) -> None:
    ds, suites = dataset
    spec = GeneratorSpec(count=500, bad_share=0.4, start=datetime(2026, 1, 1, tzinfo=UTC))
    events = generate_dataset_events(ds, spec, suites)
    summary = expected_summary(events)
    assert sum(summary.values()) == 500
    assert summary["silver"] == sum(e.expected == "silver" for e in events)
    quarantined = Counter(str(e.reason) for e in events if e.expected == "quarantine")
    assert {k: v for k, v in summary.items() if k != "silver"} == dict(quarantined)


def test_events_are_written_as_json_lines_files(
    dataset: tuple[Dataset, Path], tmp_path: Path
) -> None:
    ds, suites = dataset
    spec = GeneratorSpec(count=250, bad_share=0.3, start=datetime(2026, 1, 1, tzinfo=UTC))
    events = generate_dataset_events(ds, spec, suites)
    files = write_dataset_events(events, tmp_path / "landing", ds.name, events_per_file=100)
    assert [len(f.read_bytes().split(b"\n")) - 1 for f in files] == [100, 100, 50]
    assert all(f.name.startswith(f"{ds.name}-") and f.suffix == ".jsonl" for f in files)
    assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == [f.name for f in files]
    lines = b"".join(f.read_bytes() for f in files).split(b"\n")[:-1]
    assert lines == [e.line for e in events]


def test_a_message_is_keyed_by_the_subject_and_carries_the_event_time(
    dataset: tuple[Dataset, Path],
) -> None:
    ds, suites = dataset
    spec = GeneratorSpec(count=300, bad_share=0.5, start=datetime(2026, 1, 1, tzinfo=UTC))
    events = generate_dataset_events(ds, spec, suites)
    for event in events:
        message = outgoing(event)
        assert message.value == event.line
        assert message.key == (event.subject.encode() if event.subject else None)
        assert message.event_ts == event.event_time
    good = next(e for e in events if e.kind == "good")
    message = outgoing(good)
    assert good.event_time is not None and good.subject is not None
    assert message.attributes["event_ts"].encode() in good.line
    assert message.key is not None and message.key in good.line
    malformed = outgoing(next(e for e in events if e.kind == "malformed_json"))
    assert (malformed.key, malformed.event_ts) == (None, None)
    assert "event_ts" not in malformed.attributes
