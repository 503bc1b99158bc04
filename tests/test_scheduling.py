"""The test order: files by measured cost, longest first; the durations file they come from."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from tests.scheduling import DEFAULT_SECONDS, DurationRecorder, by_file_cost, load_durations


def test_files_go_longest_first_and_keep_their_tests_in_order() -> None:
    ids = ["a.py::t1", "b.py::t1", "a.py::t2", "c.py::t1", "b.py::t2", "d.py::t1"]
    durations = {"a.py::t1": 1.0, "a.py::t2": 2.0, "b.py::t1": 10.0, "c.py::t1": 3.0}
    # b 10 + default, c 3, a 3 (c and a tie: collection order), d unmeasured
    assert by_file_cost(ids, durations) == [
        "b.py::t1",
        "b.py::t2",
        "a.py::t1",
        "a.py::t2",
        "c.py::t1",
        "d.py::t1",
    ]


def test_only_the_selected_tests_of_a_file_count() -> None:
    durations = {"a.py::slow": 100.0, "a.py::fast": 1.0, "b.py::fast": 2.0}
    assert by_file_cost(["a.py::fast", "b.py::fast"], durations) == ["b.py::fast", "a.py::fast"]


def test_without_measurements_the_collection_order_stays(tmp_path: Path) -> None:
    ids = ["z.py::t", "a.py::t", "m.py::t"]
    assert by_file_cost(ids, load_durations(tmp_path / "missing.json")) == ids
    (tmp_path / "bad.json").write_text("[not a mapping")
    assert load_durations(tmp_path / "bad.json") == {}


def test_a_run_replaces_the_figures_of_its_tests_and_keeps_the_others(tmp_path: Path) -> None:
    file = tmp_path / "durations.json"
    file.write_text(json.dumps({"a.py::t": 9.0, "b.py::t": 4.0, "c.py::t": 7.0}))
    recorder = DurationRecorder(file)
    for nodeid, seconds in (("a.py::t", 1.0), ("a.py::t", 2.04), ("b.py::t", 0.1)):
        recorder.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, duration=seconds))  # type: ignore[arg-type]
    recorder.pytest_sessionfinish()
    # a measured again (setup + call), b now below the threshold, c untouched
    assert json.loads(file.read_text()) == {"a.py::t": 3.0, "c.py::t": 7.0}
    assert DEFAULT_SECONDS > 0.1
