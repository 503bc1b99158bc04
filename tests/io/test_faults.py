"""Crash injection points: parsing LAKEHOUSE_CRASH_AT, which visit crashes, and a real
SIGKILL of a process."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from lakehouse.errors import ConfigError
from lakehouse.io.faults import parse_crash_plan


def test_nothing_crashes_without_a_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    from lakehouse.io.faults import fault_point

    monkeypatch.delenv("LAKEHOUSE_CRASH_AT", raising=False)
    fault_point("silver", "after_log", 0)  # returns


def test_the_nth_visit_of_a_matching_point_crashes() -> None:
    plan = parse_crash_plan("silver:after_write:silver.events@3")
    visits = [plan.should_crash("silver:after_write:silver.events", b) for b in range(5)]
    assert visits == [False, False, True, False, False]
    assert not plan.should_crash("silver:after_write:quarantine.silver_events", 0)
    assert not plan.should_crash("gold:after_write:silver.events", 0)


def test_batch_rules_and_patterns() -> None:
    plan = parse_crash_plan("gold:before_commit:batch=2, bronze-*:after_log")
    assert not plan.should_crash("gold:before_commit", 1)
    assert plan.should_crash("gold:before_commit", 2)
    assert plan.should_crash("bronze-kafka:after_log", 0)


def test_random_plans_are_reproducible() -> None:
    first = parse_crash_plan("random:0.3:seed=5")
    second = parse_crash_plan("random:0.3:seed=5")
    a = [first.should_crash("silver:after_log", i) for i in range(50)]
    assert a == [second.should_crash("silver:after_log", i) for i in range(50)]
    assert 0 < sum(a) < 50


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("silver", "is not <job>:<point>"),
        ("silver:after_log@0", "1 or more"),
        ("silver:after_log:batch=x", "batch id"),
        ("random:2", r"\(0, 1\]"),
        ("random:x", "random:<probability>"),
    ],
)
def test_bad_plans_name_the_value(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_crash_plan(spec)


def test_an_armed_point_kills_the_process_with_sigkill() -> None:
    code = (
        "from lakehouse.io.faults import fault_point\n"
        "fault_point('silver', 'after_log', 0)\n"
        "fault_point('silver', 'before_commit', 0)\n"
        "print('survived')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"LAKEHOUSE_CRASH_AT": "silver:before_commit", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL
    assert "survived" not in done.stdout
    assert "crash injected at silver:before_commit (batch 0)" in done.stderr
