"""The data policy of a table: owner, classification of every column, retention, minimization,
how an erasure finds a subject's rows, and the Delta table properties derived from it.

Pure definitions (no Spark session): :mod:`lakehouse.ops` gives every table its policy,
next to its schema; the silver job, the retention and erasure jobs and the catalog read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lakehouse.errors import PolicyError

__all__ = [
    "ACTIONS",
    "CLASSIFICATIONS",
    "NONE",
    "PII_DIRECT",
    "PII_PSEUDONYMOUS",
    "PII_QUASI",
    "SUBJECT_KINDS",
    "Policy",
    "Retention",
    "Rule",
    "Subject",
]

PII_DIRECT = "pii_direct"  # identifies a person: raw ids, email, full IP, raw payloads
PII_PSEUDONYMOUS = "pii_pseudonymous"  # a keyed pseudonym (HMAC) of an identifier
PII_QUASI = "pii_quasi"  # identifies with other data: truncated IP, free-form maps
NONE = "none"  # no personal data
CLASSIFICATIONS = (PII_DIRECT, PII_PSEUDONYMOUS, PII_QUASI, NONE)

# Minimization actions of the silver refinement.
ACTIONS = ("pseudonymize", "truncate_ip", "keep_keys", "drop_keys")
# How an erasure recognises a subject's rows: a column holding the pseudonym, or a raw JSON
# payload whose subject field (e.g. $.user_id) is the raw id.
SUBJECT_KINDS = ("pseudonym", "payload")


@dataclass(frozen=True)
class Retention:
    """How long rows stay: ``days`` after the time in ``column``, or kept for ``keep_reason``."""

    column: str | None = None
    days: int | None = None
    keep_reason: str | None = None

    def __post_init__(self) -> None:
        windowed = self.column is not None and self.days is not None
        if windowed == (self.keep_reason is not None):
            raise PolicyError(
                f"retention {self!r}: give a time column and a number of days, or a reason to "
                "keep rows forever, not both"
            )
        if self.days is not None and self.days < 1:
            raise PolicyError(f"retention: {self.days} days must be at least 1")

    @classmethod
    def window(cls, column: str, days: int) -> Retention:
        return cls(column=column, days=days)

    @classmethod
    def keep(cls, reason: str) -> Retention:
        return cls(keep_reason=reason)

    def describe(self) -> str:
        if self.keep_reason is not None:
            return f"keep ({self.keep_reason})"
        return f"{self.days} days on {self.column}"


@dataclass(frozen=True)
class Rule:
    """One minimization rule of silver: an action on a column (``keys`` for the map actions)."""

    column: str
    action: str
    keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise PolicyError(
                f"minimization of {self.column}: action {self.action!r} is not valid; choose "
                f"one of {', '.join(ACTIONS)}"
            )

    def describe(self) -> str:
        keys = f" {','.join(self.keys)}" if self.keys else ""
        return f"{self.column}: {self.action}{keys}"


@dataclass(frozen=True)
class Subject:
    """Where an erasure finds a data subject: ``column`` holds the pseudonym of the user id,
    or (``payload``) the raw JSON event whose ``$.user_id`` is the raw id, or whose
    ``key_column`` (a source message key, e.g. Kafka's) is the raw id. ``row_key`` names
    a row uniquely: the erasure deletes by key, so no value is ever written as SQL text."""

    column: str
    kind: str
    row_key: tuple[str, ...]
    key_column: str | None = None  # a message key that may hold the raw user id (Kafka)
    payload_field: str | None = None  # the payload's field holding the raw id (kind payload)

    def __post_init__(self) -> None:
        if self.kind == "payload" and not self.payload_field:
            raise PolicyError(
                f"subject {self.column}: a payload subject names the payload's field that "
                "holds the raw id (payload_field)"
            )
        if self.kind not in SUBJECT_KINDS:
            raise PolicyError(
                f"subject {self.column}: kind {self.kind!r} is not valid; choose one of "
                f"{', '.join(SUBJECT_KINDS)}"
            )


@dataclass(frozen=True)
class Policy:
    """The data policy of one table."""

    owner: str
    columns: Mapping[str, str]  # column -> classification
    retention: Retention
    minimization: tuple[Rule, ...] = ()
    subject: Subject | None = None
    deleted_file_retention_days: int = 7  # VACUUM keeps removed files this long
    log_retention_days: int = 30  # Delta log entries older than this are cleaned up
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        bad = {c: v for c, v in self.columns.items() if v not in CLASSIFICATIONS}
        if bad:
            raise PolicyError(
                f"classification {bad!r} is not valid; choose one of {', '.join(CLASSIFICATIONS)}"
            )
        for days, what in (
            (self.deleted_file_retention_days, "deleted_file_retention_days"),
            (self.log_retention_days, "log_retention_days"),
        ):
            if days < 1:
                raise PolicyError(f"{what}: {days} must be at least 1")

    def classified(self, classification: str) -> tuple[str, ...]:
        return tuple(c for c, v in self.columns.items() if v == classification)

    @property
    def personal_columns(self) -> tuple[str, ...]:
        """Columns that hold personal data of any kind (everything not ``none``)."""
        return tuple(c for c, v in self.columns.items() if v != NONE)
