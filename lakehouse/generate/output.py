"""What a run of generated events owes the lake, the events as landing files, and as
messages to publish."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.generate.spec import SILVER, GeneratedEvent
from lakehouse.generate.values import iso_timestamp
from lakehouse.generator import write_landing
from lakehouse.publish import OutgoingMessage

__all__ = ["expected_summary", "outgoing_message", "write_dataset_events"]


def expected_summary(events: Sequence[GeneratedEvent]) -> dict[str, int]:
    """Events per expected outcome: ``silver`` first, then each quarantine reason (sorted)."""
    counts = Counter(e.outcome for e in events)
    ordered = sorted(counts, key=lambda outcome: (outcome != SILVER, outcome))
    return {outcome: counts[outcome] for outcome in ordered}


def write_dataset_events(
    events: Sequence[GeneratedEvent],
    folder: str | Path,
    dataset: str,
    events_per_file: int = 1000,
    files_per_second: float = 0.0,
) -> list[Path]:
    """Write the events as JSON-lines files named after the dataset into ``folder``, each
    file under a temporary name and then renamed (a running stream never reads half a file),
    ``events_per_file`` lines each, optionally paced."""
    prefix = f"{dataset}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"
    return write_landing(events, folder, events_per_file, files_per_second, prefix)


def outgoing_message(event: GeneratedEvent) -> OutgoingMessage:
    """The message that publishes one event of any dataset (the line byte for byte): keyed
    by its subject (all events of a subject in one partition, in order; no key when the line
    carries none), its event time as the ``event_ts`` attribute and message event time.
    :func:`lakehouse.publish.outgoing` reads the product events' ``user_id`` instead."""
    attributes = {"producer": "lakehouse-publish"}
    if event.event_time is not None:
        attributes["event_ts"] = iso_timestamp(event.event_time)
    return OutgoingMessage(
        key=event.subject.encode() if event.subject else None,
        value=event.line,
        attributes=attributes,
        event_ts=event.event_time,
    )
