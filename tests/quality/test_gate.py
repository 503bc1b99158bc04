"""The quality gates inside the jobs: each action on crafted micro-batches."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig, QualityConfig
from lakehouse.demo import run_layers, table_counts
from lakehouse.io.jobs import GoldJob, SilverJob
from lakehouse.io.streams import StreamFailed
from lakehouse.quality.gate import GATE_REASONS, apply_gate, decide
from lakehouse.quality.validate import Outcome
from tests.conftest import SUITES, event_line, events_landing, landing_bronze, with_checkpoint
from tests.events import platform

NOW = datetime.now(UTC).replace(microsecond=0)
TS = NOW - timedelta(hours=1)
ROW_LEVEL_FAIL = "expectation_failed:expect_column_values_to_match_regex(currency)"


def _outcome(
    label_type: str,
    column: str | None,
    severity: str,
    row_level: bool,
    *,
    success: bool,
    keys: list[dict[str, Any]] | None = None,
) -> Outcome:
    return Outcome(
        suite="s",
        expectation_type=label_type,
        kwargs={"column": column} if column else {},
        severity=severity,
        row_level=row_level,
        success=success,
        observed_value=None,
        unexpected_count=len(keys or []),
        unexpected_percent=None,
        failing_keys=tuple(keys or ()),
    )


def test_apply_gate_splits_rows_by_critical_row_failures(spark: SparkSession) -> None:
    rows = spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], "k long, v string")
    decision = decide(
        "t",
        [
            _outcome("expect_a", "v", "critical", True, success=False, keys=[{"k": 2}]),
            _outcome("expect_b", "v", "critical", True, success=False, keys=[{"k": 2}, {"k": 3}]),
            _outcome("expect_c", "v", "warning", True, success=False, keys=[{"k": 1}]),
            _outcome("expect_table", None, "critical", False, success=True),
        ],
    )
    promoted, refused = apply_gate(rows, decision, ["k"])
    assert not decision.blocked and decision.refuses_rows
    assert_df_equality(
        promoted, spark.createDataFrame([(1, "a")], "k long, v string"), ignore_nullable=True
    )
    expected = spark.createDataFrame(
        [
            (2, "b", ["expectation_failed:expect_a(v)", "expectation_failed:expect_b(v)"]),
            (3, "c", ["expectation_failed:expect_b(v)"]),
        ],
        f"k long, v string, {GATE_REASONS} array<string>",
    )
    assert_df_equality(refused.orderBy("k"), expected, ignore_nullable=True)
    assert [decision.action(o) for o in decision.outcomes] == [
        "quarantined_rows",
        "quarantined_rows",
        "recorded",
        "passed",
    ]


def test_apply_gate_blocks_the_whole_batch_on_a_critical_table_failure(
    spark: SparkSession,
) -> None:
    rows = spark.createDataFrame([(1, "a"), (2, "b")], "k long, v string")
    decision = decide(
        "t",
        [
            _outcome(
                "expect_table_row_count_to_be_between", None, "critical", False, success=False
            ),
            _outcome("expect_a", "v", "critical", True, success=False, keys=[{"k": 2}]),
        ],
    )
    promoted, refused = apply_gate(rows, decision, ["k"])
    assert not decision.refuses_rows  # refused whole, not split
    block = "batch_blocked:expect_table_row_count_to_be_between"
    assert promoted.count() == 0
    expected = spark.createDataFrame(
        [(1, "a", [block]), (2, "b", [block, "expectation_failed:expect_a(v)"])],
        f"k long, v string, {GATE_REASONS} array<string>",
    )
    assert_df_equality(refused.orderBy("k"), expected, ignore_nullable=True)


def _bronze(spark: SparkSession, lines: list[bytes], partition: str = "f1") -> DataFrame:
    return landing_bronze(spark, lines, NOW, partition)


def _suite_dir(tmp_path: Path, name: str, change: dict[str, Any]) -> Path:
    """A copy of the shipped suites where one expectation of ``name`` has other kwargs."""
    folder = tmp_path / "suites"
    shutil.copytree(SUITES, folder)
    path = folder / f"{name}.json"
    suite = json.loads(path.read_text())
    for expectation in suite["expectations"]:
        if expectation["type"] == change["type"] and (
            expectation["kwargs"].get("column") == change.get("column")
        ):
            expectation["kwargs"].update(change["kwargs"])
    path.write_text(json.dumps(suite))
    return folder


def _with_suites(config: LakehouseConfig, folder: Path, strict: bool = False) -> LakehouseConfig:
    return dataclasses.replace(config, quality=QualityConfig(suite_dir=str(folder), strict=strict))


def _results(spark: SparkSession, job: str) -> dict[str, tuple[bool, str]]:
    rows = spark.table("ops.quality_results").where(F.col("job") == job).collect()
    return {
        f"{r['expectation_type']}({r['column_name']})": (r["success"], r["action"]) for r in rows
    }


def test_silver_gate_quarantines_failing_rows_and_a_retry_writes_nothing_twice(
    spark: SparkSession, lake: LakehouseConfig
) -> None:
    with_checkpoint(lake, "silver")
    lines = [event_line(f"e{i}", TS, f"u{i}") for i in range(4)]
    lines.append(event_line("bad-type", TS, "u9", event_type="teleport"))
    lines.append(
        event_line("bad-cur", TS, "u9", event_type="purchase", amount=3.5, currency="EURO")
    )
    lines.append(event_line("warn", TS, "u8", device="fridge"))
    bronze = _bronze(spark, lines)
    job = SilverJob(lake, platform().dataset("events"))
    job(bronze, 0)
    first = table_counts(spark, platform(spark))
    job(bronze, 0)  # the same batch again, as after a crash before the checkpoint commit

    assert table_counts(spark, platform(spark)) == first
    assert first["ops.table_metrics"] == 1  # the batch's metrics, written once
    # of the rows promoted, not of the candidates the gate judged (bad-cur is refused)
    assert [r["rows"] for r in spark.table("ops.table_metrics").collect()] == [5]
    silver = {r["event_id"] for r in spark.table("silver.events").collect()}
    assert silver == {"e0", "e1", "e2", "e3", "warn"}
    quarantined = {
        r["event_id"]: list(r["reasons"]) for r in spark.table("quarantine.silver_events").collect()
    }
    assert quarantined == {
        "bad-type": ["invalid_value:event_type"],  # the contract's allowed values: the parser
        "bad-cur": [ROW_LEVEL_FAIL],  # the suite's critical regex: the gate
    }
    results = _results(spark, "silver")
    assert len(results) == 11
    assert results["expect_column_values_to_be_in_set(event_type)"][0]  # refused before
    assert results["expect_column_values_to_match_regex(currency)"] == (False, "quarantined_rows")
    assert results["expect_column_values_to_be_in_set(device)"] == (False, "recorded")
    assert results["expect_table_row_count_to_be_between(None)"] == (True, "passed")
    log = spark.table("ops.batch_log").where("job = 'silver'").collect()
    assert [(r["rows_in"], r["rows_out"], r["rows_quarantined"], r["status"]) for r in log] == [
        (7, 5, 2, "quarantined_rows")
    ]
    assert set(log[0]["step_ms"]) == {
        "gate silver.events",
        "write silver.events",
        "write quarantine.silver_events",
        "monitor silver.events",
        "write ops.table_metrics",
        "write ops.anomalies",
        "write ops.quality_results",
        "cost metrics",
    }
    # the events are hours old when processed: a freshness finding (recorded, not blocking)
    findings = spark.table("ops.anomalies").select("detector", "severity", "blocked").collect()
    assert [tuple(r) for r in findings] == [("freshness", "critical", False)]


def test_silver_gate_blocks_a_batch_and_the_stream_goes_on(
    spark: SparkSession, lake: LakehouseConfig, tmp_path: Path
) -> None:
    folder = _suite_dir(
        tmp_path,
        "bronze_to_silver",
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {"max_value": 3},
        },
    )
    config = _with_suites(lake, folder)
    with_checkpoint(config, "silver")
    job = SilverJob(config, platform().dataset("events"))
    job(_bronze(spark, [event_line(f"e{i}", TS, "u1") for i in range(5)]), 0)
    job(_bronze(spark, [event_line(f"n{i}", TS, "u1") for i in range(2)], "f2"), 1)

    assert {r["event_id"] for r in spark.table("silver.events").collect()} == {"n0", "n1"}
    reasons = {tuple(r["reasons"]) for r in spark.table("quarantine.silver_events").collect()}
    assert reasons == {("batch_blocked:expect_table_row_count_to_be_between",)}
    assert spark.table("quarantine.silver_events").count() == 5
    log = {r["batch_id"]: r for r in spark.table("ops.batch_log").collect()}
    assert (log[0]["status"], log[0]["rows_out"], log[0]["rows_quarantined"]) == ("blocked", 0, 5)
    assert log[0]["blocked_reason"] == (
        "silver.events: batch_blocked:expect_table_row_count_to_be_between"
    )
    assert (log[1]["status"], log[1]["rows_out"]) == ("ok", 2)


def test_strict_mode_stops_the_stream_with_a_clear_error(
    spark: SparkSession, lake: LakehouseConfig
) -> None:
    config = _with_suites(lake, SUITES, strict=True)
    landing = Path(events_landing(config))
    landing.mkdir(parents=True)
    (landing / "a.jsonl").write_bytes(
        event_line("ok", TS, "u1")
        + b"\n"
        + event_line("x", TS, "u2", event_type="purchase", amount=1.0, currency="EURO")
    )
    run_layers(spark, config, ("bronze",))
    with pytest.raises(StreamFailed) as failure:
        run_layers(spark, config, ("silver",))
    message = str(failure.value)
    assert message.startswith(
        "stream 'lakehouse-events-silver' failed: GateFailed: strict quality gate: "
        "batch 0 of silver.events failed critical expectation(s) "
        "expect_column_values_to_match_regex(currency) (1 unexpected"
    )
    assert "\n" not in message
    counts = table_counts(spark, platform(spark))
    assert counts["silver.events"] == counts["quarantine.silver_events"] == 0
    assert spark.table("ops.batch_log").where("job = 'silver'").count() == 0


def _gold_gate_lake(lake: LakehouseConfig, tmp_path: Path) -> LakehouseConfig:
    """``lake`` whose gold gate refuses a row of events_per_minute with more than one event
    (critical), with checkpoints for calling the silver and gold jobs by hand."""
    folder = _suite_dir(
        tmp_path,
        "silver_to_gold_events_per_minute",
        {
            "type": "expect_column_values_to_be_between",
            "column": "events",
            "kwargs": {"max_value": 1},
        },
    )
    config = _with_suites(lake, folder)
    for job in ("silver", "gold"):
        with_checkpoint(config, job)
    return config


def test_gold_gate_quarantines_rows_of_a_gold_table(
    spark: SparkSession, lake: LakehouseConfig, tmp_path: Path
) -> None:
    config = _gold_gate_lake(lake, tmp_path)
    minute = TS.replace(second=0)
    lines = [
        event_line("a", minute, "u1"),
        event_line("b", minute + timedelta(seconds=30), "u2"),  # 2 events in this minute
        event_line("c", minute + timedelta(minutes=5), "u3"),
    ]
    SilverJob(config, platform().dataset("events"))(_bronze(spark, lines), 0)
    GoldJob(config, platform(spark).dataset("events"))(spark.table("silver.events"), 0)

    promoted = spark.table("gold.events_per_minute").select("window_start", "events").collect()
    assert [(r["window_start"], r["events"]) for r in promoted] == [
        (minute.replace(tzinfo=None) + timedelta(minutes=5), 1)
    ]
    refused = spark.table("quarantine.gold_events_per_minute").collect()
    assert [(r["events"], r["reason"]) for r in refused] == [
        (2, "expectation_failed:expect_column_values_to_be_between(events)")
    ]
    assert spark.table("gold.daily_active_users").count() == 1
    log = spark.table("ops.batch_log").where("job = 'gold'").first()
    assert log is not None
    assert (log["rows_quarantined"], log["status"]) == (1, "quarantined_rows")
    # the metrics are of the rows promoted: measured apart where the gate refused one, in
    # the gate's own job where it refused none
    metrics = spark.table("ops.table_metrics").where("job = 'gold'")
    expected = spark.createDataFrame(
        [
            ("gold.daily_active_users", 1, 1, 0),
            ("gold.events_per_minute", 1, 2, 1),
            ("gold.hourly_revenue", 0, 0, 0),
        ],
        "table_name string, rows long, rows_in long, rows_quarantined long",
    )
    assert_df_equality(
        metrics.select(*expected.columns),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_a_gold_key_the_gate_refuses_keeps_the_row_it_had(
    spark: SparkSession, lake: LakehouseConfig, tmp_path: Path
) -> None:
    # the batch's windows are then upserted, not replaced: the refused key's old row stays
    config = _gold_gate_lake(lake, tmp_path)
    minute = TS.replace(second=0)
    silver = SilverJob(config, platform().dataset("events"))
    gold = GoldJob(config, platform(spark).dataset("events"))
    silver(_bronze(spark, [event_line("a", minute, "u1")]), 0)
    gold(spark.table("silver.events"), 0)
    second = [
        event_line("b", minute + timedelta(seconds=30), "u2"),  # 2 events: refused
        event_line("c", minute + timedelta(minutes=5), "u3"),
    ]
    silver(_bronze(spark, second, "f2"), 1)
    gold(spark.table("silver.events").where("event_id IN ('b', 'c')"), 1)

    stored = spark.table("gold.events_per_minute").select("window_start", "events")
    start = minute.replace(tzinfo=None)
    assert sorted((r["window_start"], r["events"]) for r in stored.collect()) == [
        (start, 1),
        (start + timedelta(minutes=5), 1),
    ]
    refused = spark.table("quarantine.gold_events_per_minute").select("events").collect()
    assert [r["events"] for r in refused] == [2]
    users = spark.table("gold.daily_active_users").select("active_users").collect()
    assert [r["active_users"] for r in users] == [3]  # its day replaced: every user
