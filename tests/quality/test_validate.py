from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import great_expectations as gx
import pytest
from pyspark.sql import DataFrame, SparkSession

from lakehouse.cli import main
from lakehouse.config import LakehouseConfig, SilverConfig
from lakehouse.quality.parameters import parse_parameter, suite_parameters
from lakehouse.quality.suites import find_suite, load_suite
from lakehouse.quality.validate import is_row_level, validate_dataframe
from tests.conftest import SUITES
from tests.events import SILVER_EVENTS

NOW = datetime(2026, 11, 23, 12, 0)
PARAMS = suite_parameters(SilverConfig().max_future_skew_seconds, NOW)


def _silver(spark: SparkSession, bad: bool) -> DataFrame:
    ts = NOW - timedelta(hours=1)
    rows = []
    for i in range(6):
        event_type, currency = "purchase", "EUR"
        if bad and i == 1:
            event_type = "teleport"  # not a known event type
        if bad and i == 2:
            currency = "euro"  # not an ISO code
        rows.append(
            (
                f"e{i}",
                event_type,
                ts,
                date(2026, 11, 23),
                f"u{i}",
                None,
                "web",
                None,
                "DE",
                None,
                Decimal("9.99"),
                currency,
                1,
                None,
                "landing",
                "f",
                i,
                ts,
                ts,
                "w",
                0,
            )
        )
    return spark.createDataFrame(rows, SILVER_EVENTS.schema)


def test_verdicts_match_great_expectations_own_validate(spark: SparkSession) -> None:
    suite = load_suite(find_suite("bronze_to_silver"))
    df = _silver(spark, bad=True)
    ours = validate_dataframe(df, suite, PARAMS, index_columns=["_offset"])

    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_spark("ref")
        .add_dataframe_asset("a")
        .add_batch_definition_whole_dataframe("b")
        .get_batch(batch_parameters={"dataframe": df})
    )
    reference = batch.validate(suite.suite, expectation_parameters=PARAMS)
    expected = {
        (r.expectation_config.type, str(r.expectation_config.kwargs.get("column"))): (
            r.success,
            r.result.get("unexpected_count"),
        )
        for r in reference.results
    }
    actual = {(o.expectation_type, str(o.column)): (o.success, o.unexpected_count) for o in ours}
    assert actual == expected
    failing = {o.label: [k["_offset"] for k in o.failing_keys] for o in ours if not o.success}
    assert failing == {
        "expect_column_values_to_be_in_set(event_type)": [1],
        "expect_column_values_to_match_regex(currency)": [2],
    }


def test_row_level_and_table_level_types() -> None:
    assert is_row_level("expect_column_values_to_not_be_null")
    assert is_row_level("expect_column_values_to_match_regex")
    assert not is_row_level("expect_table_row_count_to_be_between")
    assert not is_row_level("expect_column_values_to_be_unique")
    assert not is_row_level("expect_compound_columns_to_be_unique")


def test_parse_parameter() -> None:
    assert parse_parameter("n=5") == ("n", 5)
    assert parse_parameter("x=0.5") == ("x", 0.5)
    assert parse_parameter("t=2026-11-23T14:00:00+02:00") == ("t", datetime(2026, 11, 23, 12))
    assert parse_parameter("s=abc") == ("s", "abc")
    with pytest.raises(Exception, match=r"--param 'oops': write NAME=VALUE"):
        parse_parameter("oops")


@pytest.mark.slow
def test_validate_command_on_a_good_and_a_bad_table(
    spark: SparkSession,
    lake: LakehouseConfig,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        f'[lake]\nroot = "{lake.lake.root}"\ncheckpoint_root = "{lake.lake.checkpoint_root}"\n'
        f'[quality]\nsuite_dir = "{SUITES}"\n'
        f'[datasets]\ndir = "{SUITES.parent / "datasets"}"\nnames = ["events"]\n'
    )
    good_path = tmp_path / "good"
    _silver(spark, bad=False).write.format("delta").save(str(good_path))
    _silver(spark, bad=True).write.format("delta").mode("append").save(
        lake.lake.table_path("silver", "events")
    )
    ceiling = f"max_event_ts={(NOW + timedelta(minutes=5)).isoformat()}"
    code = main(
        [
            "--config",
            str(toml),
            "validate",
            "bronze_to_silver",
            "--path",
            str(good_path),
            "--param",
            ceiling,
            "--docs",
            str(tmp_path / "docs"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "11 expectations: 11 passed, 0 critical failed, 0 other failed" in out
    assert (tmp_path / "docs" / "index.html").is_file()

    code = main(
        [
            "--config",
            str(toml),
            "validate",
            "bronze_to_silver",
            "--table",
            "silver.events",
            "--param",
            ceiling,
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "| expect_column_values_to_be_in_set(event_type)                | critical | FAIL" in out
    assert "11 expectations: 9 passed, 2 critical failed, 0 other failed" in out


def test_validate_command_rejects_unknown_file_kinds(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spark: SparkSession,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.xml").write_text("<x/>")
    suite = str(SUITES / "bronze_to_silver.json")
    code = main(["validate", suite, "--path", str(tmp_path / "data.xml")])
    assert code == 2
    assert "cannot tell its format; use a Delta folder or a file ending in .csv" in (
        capsys.readouterr().err
    )
