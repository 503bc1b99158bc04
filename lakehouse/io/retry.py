"""Retries of Delta commits that lost a race with another writer.

Delta's optimistic concurrency refuses a commit when another one changed what it read (a
streaming append under an erasure MERGE, a retention DELETE under a stream's upsert, a
property change under an append). The attempt is safe to repeat: it reads the table again.
delta-spark's Python classes for these errors are siblings (each derives from
``PySparkException``, none from ``DeltaConcurrentModificationException``), so they are all
listed here; an error py4j did not convert is recognised by its Java class name.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)

from lakehouse.errors import LakehouseError

__all__ = [
    "ATTEMPTS",
    "CONFLICTS",
    "CommitConflict",
    "RetryPolicy",
    "is_conflict",
    "with_retries",
]

T = TypeVar("T")
ATTEMPTS = 6

CONFLICTS: tuple[type[BaseException], ...] = (
    DeltaConcurrentModificationException,
    ConcurrentAppendException,
    ConcurrentDeleteReadException,
    ConcurrentDeleteDeleteException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    MetadataChangedException,
    ProtocolChangedException,
)
_JAVA_NAMES = tuple(f"io.delta.exceptions.{c.__name__}" for c in CONFLICTS)

_log = logging.getLogger(__name__)


class CommitConflict(LakehouseError):
    """A Delta commit conflicted with other writers on every attempt."""


def is_conflict(exc: BaseException) -> bool:
    """True for Delta's concurrent-modification errors, converted by delta-spark or not."""
    if isinstance(exc, CONFLICTS):
        return True
    text = str(exc)
    return any(name in text for name in _JAVA_NAMES)


def _conflict_name(exc: BaseException) -> str:
    """The Delta class of a conflict, also when py4j left it a ``Py4JJavaError``."""
    if not isinstance(exc, CONFLICTS):
        text = str(exc)
        for java_name in _JAVA_NAMES:
            if java_name in text:
                return java_name.rsplit(".", 1)[-1]
    return type(exc).__name__


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; before try n+1, a pause of ``base_seconds * 2**(n-1)``
    (at most ``max_seconds``) with up to 50 % random jitter, so racing writers spread out."""

    attempts: int = ATTEMPTS
    base_seconds: float = 0.5
    max_seconds: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise LakehouseError(f"retry attempts: {self.attempts} must be at least 1")
        if self.base_seconds < 0 or self.max_seconds < self.base_seconds:
            raise LakehouseError(
                f"retry pauses: base {self.base_seconds} s and max {self.max_seconds} s "
                "must satisfy 0 <= base <= max"
            )

    def pause(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        delay = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        jitter = (rng or random).uniform(0.0, 0.5) * delay
        return float(min(self.max_seconds, delay + jitter))


DEFAULT_POLICY = RetryPolicy()


def with_retries(
    what: str,
    action: Callable[[], T],
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``action``; on a Delta commit conflict run it again after a pause, up to
    ``policy.attempts`` times in all. Other errors pass through at once. Each retry is
    logged; the last conflict becomes a :class:`CommitConflict` naming ``what``."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return action()
        except Exception as exc:
            if not is_conflict(exc):
                raise
            name = _conflict_name(exc)
            if attempt == policy.attempts:
                raise CommitConflict(
                    f"{what}: conflicting commits {policy.attempts} times in a row ({name}); "
                    "run it again when the streams are quieter"
                ) from exc
            pause = policy.pause(attempt)
            _log.warning(
                "%s: commit conflict (%s), attempt %d of %d, retrying in %.1f s",
                what,
                name,
                attempt,
                policy.attempts,
                pause,
            )
            sleep(pause)
    raise AssertionError("unreachable")
