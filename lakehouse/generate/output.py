"""What a run of generated events owes the lake, and the events as landing files."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.errors import ConfigError
from lakehouse.generate.spec import SILVER, GeneratedEvent

__all__ = ["expected_summary", "write_dataset_events", "write_landing"]


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


def _chunks(events: Sequence[GeneratedEvent], size: int) -> Iterator[Sequence[GeneratedEvent]]:
    for i in range(0, len(events), size):
        yield events[i : i + size]


def write_landing(
    events: Sequence[GeneratedEvent],
    landing_dir: str | Path,
    events_per_file: int = 1000,
    files_per_second: float = 0.0,
    prefix: str | None = None,
) -> list[Path]:
    """Write events as JSON-lines files into the landing folder, optionally paced.

    Each file is written under a temporary name and renamed, so a running stream never
    reads half a file. ``files_per_second`` 0 writes as fast as possible.
    """
    if events_per_file < 1:
        raise ConfigError(f"events per file: {events_per_file} must be at least 1")
    target = Path(landing_dir)
    target.mkdir(parents=True, exist_ok=True)
    prefix = prefix or datetime.now(UTC).strftime("events-%Y%m%dT%H%M%S%f")
    written: list[Path] = []
    for n, chunk in enumerate(_chunks(events, events_per_file)):
        path = target / f"{prefix}-{n:06d}.jsonl"
        tmp = target / f".{path.name}.tmp"
        tmp.write_bytes(b"".join(e.line + b"\n" for e in chunk))
        tmp.rename(path)
        written.append(path)
        if files_per_second > 0:
            time.sleep(1 / files_per_second)
    return written
