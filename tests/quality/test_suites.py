from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.contracts import load_datasets
from lakehouse.quality.suites import SuiteError, default_suite_dir, find_suite, load_suite

SHIPPED = sorted(p.stem for p in default_suite_dir().glob("*.json"))


def test_one_suite_per_promotion_of_every_dataset_is_shipped() -> None:
    datasets = load_datasets(default_suite_dir().parent / "datasets", default_suite_dir())
    promotions = [d.silver_suite for d in datasets.values()]
    promotions += [g.suite for d in datasets.values() for g in d.gold]
    assert (
        SHIPPED
        == sorted(promotions)
        == [
            "bronze_to_silver",
            "orders_bronze_to_silver",
            "silver_to_gold_daily_active_users",
            "silver_to_gold_events_per_minute",
            "silver_to_gold_hourly_revenue",
            "silver_to_gold_revenue_per_day",
        ]
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_suites_load_with_severities(name: str) -> None:
    suite = load_suite(find_suite(name))
    assert suite.name == name
    severities = {str(e.severity.value) for e in suite.suite.expectations}
    assert "critical" in severities
    assert severities <= {"critical", "warning", "info"}


def _write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "suite.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _suite(**expectation: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "x"},
    }
    base.update(expectation)
    return {"name": "s", "expectations": [base]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"name": "s",\n "expectations": [}',
            r"not valid JSON at line 2, column 19: Expecting value",
        ),
        ("[1]", r"a suite must be a JSON object, got list"),
        ({"expectations": []}, r"the suite has no 'name'"),
        ({"name": "s", "expectations": []}, r"'expectations' must be a non-empty list"),
        ({"name": "s", "expectations": ["x"]}, r"expectations\[0\] must be an object"),
        ({"name": "s", "expectations": [{"kwargs": {}}]}, r"expectations\[0\] has no 'type'"),
        (_suite(type="expect_the_moon"), r"'expect_the_moon' is not a Great Expectations"),
        (_suite(kwargs=["x"]), r"'kwargs' must be an object"),
        (
            _suite(severity="fatal"),
            r"severity 'fatal' is not valid; choose one of critical, "
            r"warning, info",
        ),
        (_suite(kwargs={"colum": "x"}), r"not a valid suite"),
    ],
)
def test_malformed_suite_names_file_and_problem(
    tmp_path: Path, content: object, message: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(SuiteError, match=message) as info:
        load_suite(path)
    assert str(path) in str(info.value)


def test_missing_suite_file_and_unknown_suite_name(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"suite file '.*nope.json' does not exist"):
        load_suite(tmp_path / "nope.json")
    with pytest.raises(
        SuiteError,
        match=r"no suite named 'bronze_to_gold'.*known suites are "
        r"bronze_to_silver, orders_bronze_to_silver, silver_to_gold_daily_active_users",
    ):
        find_suite("bronze_to_gold")
