"""The order the tests run in: the longest files first.

``make test`` and ``make test-slow`` run ``pytest -n 2 --dist loadfile
--no-loadscope-reorder``: a file goes to one worker whole, in the order of the collection.
Sorting the files by what their selected tests took in a measured run, longest first
(longest-processing-time-first), starts the crash test and the other long files while both
workers are fresh and leaves the short ones to fill the end, instead of one worker running a
long file alone while the other waits.

The measured seconds per test are in ``tests/durations.json`` (a test not in it counts
``DEFAULT_SECONDS``). ``LAKEHOUSE_STORE_DURATIONS=1 make test-all`` measures them again: each
test's setup, call and teardown, written there when the run ends (tests of the run replace
their old figures; the others keep theirs).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import pytest

__all__ = [
    "DEFAULT_SECONDS",
    "DURATIONS",
    "DurationRecorder",
    "by_file_cost",
    "configure",
    "load_durations",
    "order_items",
]

DURATIONS = Path(__file__).with_name("durations.json")
DEFAULT_SECONDS = 0.5  # a test without a measurement (the file keeps tests of 0.5 s and more)
_STORE = "LAKEHOUSE_STORE_DURATIONS"


def load_durations(file: Path = DURATIONS) -> dict[str, float]:
    """Seconds per test id; empty when the file is missing or unreadable (order is then the
    collection's)."""
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def by_file_cost(nodeids: list[str], durations: Mapping[str, float]) -> list[str]:
    """``nodeids`` grouped by file, the files whose tests take longest in all first; the
    tests of a file keep their order (module fixtures are built once per file)."""
    cost: defaultdict[str, float] = defaultdict(float)
    for nodeid in nodeids:
        cost[_file(nodeid)] += durations.get(nodeid, DEFAULT_SECONDS)
    first_seen: dict[str, int] = {}
    for n, nodeid in enumerate(nodeids):
        first_seen.setdefault(_file(nodeid), n)
    # a stable sort: the tests of a file stay in their order
    return sorted(nodeids, key=lambda i: (-cost[_file(i)], first_seen[_file(i)]))


def order_items(items: list[pytest.Item]) -> None:
    """Sort the collected ``items`` in place by :func:`by_file_cost`."""
    position = {
        nodeid: n
        for n, nodeid in enumerate(by_file_cost([i.nodeid for i in items], load_durations()))
    }
    items.sort(key=lambda item: position[item.nodeid])


class DurationRecorder:
    """Measures each test (setup, call and teardown) and writes the figures into ``file``
    when the run ends; registered in the controller only, which gets every worker's
    reports."""

    def __init__(self, file: Path = DURATIONS) -> None:
        self.file = file
        self.measured: defaultdict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.measured[report.nodeid] += report.duration

    def pytest_sessionfinish(self) -> None:
        if not self.measured:
            return
        kept = {k: v for k, v in load_durations(self.file).items() if k not in self.measured}
        new = {k: round(v, 1) for k, v in self.measured.items() if v >= DEFAULT_SECONDS}
        self.file.write_text(json.dumps({**kept, **new}, indent=0, sort_keys=True) + "\n")


def configure(config: pytest.Config) -> None:
    """Register a :class:`DurationRecorder` when ``LAKEHOUSE_STORE_DURATIONS=1`` (not in
    the xdist workers)."""
    if os.environ.get(_STORE) == "1" and not hasattr(config, "workerinput"):
        config.pluginmanager.register(DurationRecorder(), "lakehouse-durations")
