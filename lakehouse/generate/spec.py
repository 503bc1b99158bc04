"""What to generate for a dataset and what each generated line is owed.

:class:`GeneratorSpec` says how many events, how fast and which bad kinds (those a contract
allows: :data:`BAD_KINDS`); :class:`GeneratedEvent` is one line with the outcome it is owed,
its event time and subject (what the landing files, the published messages and the demo's
accounting need).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lakehouse.errors import ConfigError

__all__ = ["BAD_KINDS", "SILVER", "GeneratedEvent", "GeneratorSpec"]

SILVER = "silver"
# every kind of bad event, with the quarantine reason silver must give it (``<field>`` is a
# dotted path such as ``items[].sku``; expectation_failed breaks one critical expectation of
# the silver suite and is refused by the gate); late and unknown_field are odd but valid
BAD_KINDS: dict[str, str] = {
    "malformed_json": "malformed_json",
    "empty_payload": "empty_payload",
    "invalid_utf8": "invalid_utf8",
    "missing_field": "missing_field:<field>",
    "missing_nested_field": "missing_field:<object>.<field>",
    "wrong_type": "invalid_type:<field>",
    "wrong_nested_type": "invalid_type:<object>.<field>",
    "invalid_value": "invalid_value:<field>",
    "expectation_failed": "expectation_failed:<expectation>(<column>)",
    "unsupported_schema_version": "unsupported_schema_version:<version>",
    "future": "event_ts_in_future",
    "too_old": "event_ts_too_old",
    "duplicate_key": "duplicate_key",
    "duplicate": "duplicate_event_id",
    "late": SILVER,
    "unknown_field": SILVER,
}


@dataclass(frozen=True)
class GeneratorSpec:
    """How many events, how fast (events per second of event time), how many bad ones and of
    which kinds (``None``: every kind the dataset's contract allows), and how many of the
    good ones follow an older schema version of the contract."""

    count: int
    bad_share: float = 0.05
    seed: int = 7
    rate: float = 100.0
    users: int = 500  # distinct subjects
    start: datetime | None = None  # event time of the first event; default: the last is "now"
    bad_kinds: Sequence[str] | None = None
    older_share: float = 0.0  # of good events, the share that follow an older schema version

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ConfigError(f"count: {self.count} must be zero or more")
        if not 0.0 <= self.bad_share <= 1.0:
            raise ConfigError(f"bad share: {self.bad_share} must be between 0 and 1")
        if not 0.0 <= self.older_share <= 1.0:
            raise ConfigError(f"older share: {self.older_share} must be between 0 and 1")
        if self.rate <= 0:
            raise ConfigError(f"rate: {self.rate} must be more than 0 events per second")
        if self.users < 1:
            raise ConfigError(f"users: {self.users} must be at least 1")
        if self.bad_kinds is not None:
            unknown = [k for k in self.bad_kinds if k not in BAD_KINDS]
            if unknown or not self.bad_kinds:
                raise ConfigError(
                    f"bad kinds: {unknown or '(none)'} not valid; choose from "
                    f"{', '.join(BAD_KINDS)}"
                )


@dataclass(frozen=True)
class GeneratedEvent:
    """One line, its kind (``good`` or a bad kind), and the outcome it is owed (``expected``
    silver or quarantine, with the first ``reason``); ``event_time`` and ``subject`` as the
    line carries them (``None`` when it does not, or not readably)."""

    line: bytes
    kind: str
    event_id: str | None
    expected: str  # "silver" | "quarantine"
    reason: str | None
    event_time: datetime | None = None
    subject: str | None = None

    @property
    def outcome(self) -> str:
        """``silver`` or the quarantine reason."""
        return SILVER if self.expected == SILVER else str(self.reason)
