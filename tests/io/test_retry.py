"""The retry policy of Delta commit conflicts: which errors are retried, how often, how long
it pauses, and what it raises in the end."""

from __future__ import annotations

import random

import pytest
from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    MetadataChangedException,
    ProtocolChangedException,
)
from pyspark.errors import AnalysisException

from lakehouse.errors import LakehouseError
from lakehouse.io.retry import CommitConflict, RetryPolicy, is_conflict, with_retries

CONFLICT_TYPES = [
    ConcurrentAppendException,
    ConcurrentDeleteReadException,
    ConcurrentDeleteDeleteException,
    ConcurrentTransactionException,
    MetadataChangedException,
    ProtocolChangedException,
]


class _Flaky:
    """Fails with ``errors`` in turn, then returns the number of calls."""

    def __init__(self, errors: list[BaseException]) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.calls


@pytest.mark.parametrize("kind", CONFLICT_TYPES, ids=lambda k: k.__name__)
def test_each_delta_conflict_type_is_retried(kind: type[Exception]) -> None:
    pauses: list[float] = []
    action = _Flaky([kind("conflict")])
    assert with_retries("append", action, RetryPolicy(attempts=3), sleep=pauses.append) == 2
    assert action.calls == 2
    assert len(pauses) == 1


def test_an_unconverted_java_conflict_is_recognised_by_its_class_name() -> None:
    error = RuntimeError(
        "An error occurred while calling o123.save.\n: io.delta.exceptions."
        "ConcurrentAppendException: Files were added to the root of the table"
    )
    assert is_conflict(error)
    assert not is_conflict(RuntimeError("disk full"))


def test_other_errors_are_not_retried() -> None:
    pauses: list[float] = []
    action = _Flaky([AnalysisException("no such table")])
    with pytest.raises(AnalysisException):
        with_retries("append", action, sleep=pauses.append)
    assert action.calls == 1
    assert pauses == []


def test_attempts_are_bounded_and_the_error_names_the_write() -> None:
    pauses: list[float] = []
    action = _Flaky([ConcurrentAppendException("c")] * 10)
    with pytest.raises(CommitConflict, match=r"erasure in silver.events: .* 4 times") as info:
        with_retries("erasure in silver.events", action, RetryPolicy(attempts=4), pauses.append)
    assert action.calls == 4
    assert len(pauses) == 3
    assert isinstance(info.value, LakehouseError)
    assert isinstance(info.value.__cause__, ConcurrentAppendException)


def test_pauses_grow_exponentially_with_jitter_and_are_capped() -> None:
    policy = RetryPolicy(attempts=8, base_seconds=0.5, max_seconds=4.0)
    rng = random.Random(1)
    for attempt in range(1, 8):
        base = min(4.0, 0.5 * 2 ** (attempt - 1))
        pause = policy.pause(attempt, rng)
        assert base <= pause <= min(4.0, base * 1.5)
    assert policy.pause(7, rng) == 4.0


@pytest.mark.parametrize(
    ("attempts", "base", "cap"), [(0, 0.5, 1.0), (3, -1.0, 1.0), (3, 2.0, 1.0)]
)
def test_policy_refuses_nonsense(attempts: int, base: float, cap: float) -> None:
    with pytest.raises(LakehouseError, match="retry"):
        RetryPolicy(attempts=attempts, base_seconds=base, max_seconds=cap)
