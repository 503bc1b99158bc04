"""``lakehouse backfill`` after a contract change: silver's days are recomputed from the bronze
deliveries of the rows silver holds, and the rows the new contract refuses move to the
quarantine with their reasons, once (a second backfill quarantines nothing again); gold's
days are recomputed from silver and gated by the gold suites (a day failing one is not
written, its verdicts and refused rows are recorded once, as the gold stream's are); a dry
run writes nothing, and ``ops.backfills`` has one row per table and day."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import lakehouse.backfill.run as backfill_run
from lakehouse.backfill import backfill, commit, parse_range
from lakehouse.catalog import table_path
from lakehouse.cli.repair import cmd_backfill
from lakehouse.config import DatasetsConfig, LakehouseConfig, QualityConfig
from lakehouse.errors import ConfigError
from lakehouse.io.delta import latest_version
from lakehouse.io.silver_job import SilverJob
from lakehouse.platform import DatasetTables, load_platform
from lakehouse.quality.gate import REASON_PREFIX
from tests.conftest import SUITES, make_config, register_lake, with_checkpoint
from tests.reliability.helpers import account
from tests.replay.scenario import INVALID, LINES, TS, bronze, narrow_datasets

DAYS = parse_range(TS.date().isoformat(), (TS + timedelta(minutes=1)).date().isoformat())


@dataclasses.dataclass(frozen=True)
class Lake:
    config: LakehouseConfig  # the contract the silver stream ran under
    narrowed: LakehouseConfig  # the new contract: signup and login are refused now


def _tables(spark: SparkSession, config: LakehouseConfig) -> DatasetTables:
    return load_platform(config, spark).dataset("events")


def _read(spark: SparkSession, config: LakehouseConfig, name: str) -> DataFrame:
    return spark.read.format("delta").load(f"{config.lake.root}/{name}")


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """One silver batch of the scenario's lines ran under the shipped contract: silver has
    ok-1, fixed-1 (signup) and fixed-2 (login); the quarantine the rest."""
    root = tmp_path_factory.mktemp("backfill")
    config = make_config(root, gates=False, monitoring=False)
    register_lake(spark, config)
    with_checkpoint(config, "silver")
    tables = _tables(spark, config)
    rows = bronze(spark, LINES)
    rows.write.format("delta").mode("append").save(table_path(config.lake, tables.bronze))
    SilverJob(config, tables)(rows, 0)
    narrow = narrow_datasets(root / "narrow")
    yield Lake(
        config, dataclasses.replace(config, datasets=DatasetsConfig(str(narrow), ("events",)))
    )


def test_parse_range_refuses_a_reversed_or_too_long_range() -> None:
    assert parse_range("2026-12-01", "2026-12-03")[-1].isoformat() == "2026-12-03"
    with pytest.raises(ConfigError, match="before --from"):
        parse_range("2026-12-03", "2026-12-01")
    with pytest.raises(ConfigError, match="ISO dates"):
        parse_range("yesterday", "2026-12-01")
    with pytest.raises(ConfigError, match="at most 400"):
        parse_range("2020-01-01", "2026-12-01")


class _Crash(Exception):
    pass


def _crash(*_: object) -> None:
    raise _Crash


def test_backfill_silver_then_gold_after_a_contract_change(
    spark: SparkSession, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = lake.narrowed
    tables = _tables(spark, config)
    silver_path = table_path(config.lake, tables.silver)
    quarantine_path = table_path(config.lake, tables.quarantine)
    versions = (latest_version(spark, silver_path), latest_version(spark, quarantine_path))
    dry = backfill(spark, config, tables, "silver", DAYS, dry_run=True)
    assert sum(r.rows_before for r in dry) == 3  # ok-1, fixed-1, fixed-2
    assert sum(r.rows_after for r in dry) == 1  # ok-1
    assert sum(r.rows_quarantined for r in dry) == 2
    assert (latest_version(spark, silver_path), latest_version(spark, quarantine_path)) == versions
    assert _read(spark, config, "ops/backfills").count() == 0

    # stopped after the quarantine, before the silver commit: refused rows are in both ...
    with monkeypatch.context() as patch:
        patch.setattr(backfill_run, "merge_silver_day", _crash)
        with pytest.raises(_Crash):
            backfill(spark, config, tables, "silver", DAYS, requested_by="tester")
    assert _read(spark, config, "silver/events").count() == 3
    assert _read(spark, config, "quarantine/silver_events").count() == 3 + 2
    # ... until it is run again
    done = backfill(spark, config, tables, "silver", DAYS, requested_by="tester")
    assert [(r.rows_before, r.rows_after, r.rows_quarantined) for r in done] == [
        (r.rows_before, r.rows_after, r.rows_quarantined) for r in dry
    ]
    silver = _read(spark, config, "silver/events").select("event_id", "event_type", "_offset")
    expected = spark.createDataFrame(
        [("ok-1", "page_view", 0)], "event_id string, event_type string, _offset long"
    )
    assert_df_equality(silver, expected, ignore_nullable=True)
    writers = {r["_writer_id"] for r in _read(spark, config, "silver/events").collect()}
    assert len(writers) == 1 and writers.pop().startswith("backfill:")
    account(spark, config.lake.root).assert_exactly_once()

    # again, with the bronze->silver gate on: the same rows, the refused ones are in the
    # quarantine once, and the gate's verdicts are in ops.quality_results, one set per day
    gated = dataclasses.replace(config, quality=QualityConfig(enabled=True, suite_dir=str(SUITES)))
    again = backfill(spark, gated, _tables(spark, gated), "silver", DAYS, requested_by="tester")
    assert_df_equality(silver, expected, ignore_nullable=True)
    verdicts = (
        _read(spark, config, "ops/quality_results")
        .where(F.col("_writer_id") == f"backfill:{_newest_backfill(spark, config)}")
        .groupBy("job", "table_name", "batch_id")
        .agg(
            F.count(F.lit(1)).alias("verdicts"),
            F.count_if(F.col("action").isin("quarantined_rows", "blocked_batch")).alias("refusing"),
        )
    )
    assert_df_equality(
        verdicts,
        spark.createDataFrame(
            [
                (
                    "backfill",
                    "silver.events",
                    d.toordinal(),
                    _expectations(gated, "bronze_to_silver"),
                    0,
                )
                for d in DAYS
            ],
            "job string, table_name string, batch_id long, verdicts long, refusing long",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert [r.status for r in again] == ["done"] * len(DAYS)
    refused = (
        _read(spark, config, "quarantine/silver_events")
        .where(F.col("_writer_id").startswith("backfill:"))
        .select("event_id", "_offset", "reason", "reasons")
    )
    assert_df_equality(
        refused,
        spark.createDataFrame(
            [("fixed-1", 1, INVALID, [INVALID]), ("fixed-2", 2, INVALID, [INVALID])],
            "event_id string, _offset long, reason string, reasons array<string>",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    account(spark, config.lake.root).assert_exactly_once()
    log = (
        _read(spark, config, "ops/backfills")
        .groupBy("table_name", "status")
        .agg(F.count(F.lit(1)).alias("rows"), F.sum("rows_quarantined").alias("quarantined"))
    )
    assert_df_equality(
        log,
        spark.createDataFrame(
            [("silver.events", "done", 2 * len(DAYS), 2)],  # the second run moves nothing
            "table_name string, status string, rows long, quarantined long",
        ),
        ignore_nullable=True,
    )

    gold_paths = [table_path(config.lake, t) for _, t, _ in tables.gold]
    gold_versions = [latest_version(spark, p) for p in gold_paths]
    dry_gold = backfill(spark, config, tables, "gold", DAYS, dry_run=True)
    assert sum(r.rows_after for r in dry_gold if r.table == "gold.daily_active_users") == 1
    assert [latest_version(spark, p) for p in gold_paths] == gold_versions
    backfill(spark, config, tables, "gold", DAYS, requested_by="tester")
    users = _read(spark, config, "gold/daily_active_users").select(
        "event_date", "active_users", "events"
    )
    expected_users = spark.createDataFrame(
        [(TS.date(), 1, 1)], "event_date date, active_users long, events long"
    )
    assert_df_equality(users, expected_users, ignore_nullable=True)


def _strict_suites(folder: Path) -> Path:
    """A copy of the suites whose daily active users suite wants 1000 events a day."""
    shutil.copytree(SUITES, folder)
    file = folder / "silver_to_gold_daily_active_users.json"
    suite = json.loads(file.read_text())
    for expectation in suite["expectations"]:
        if expectation["kwargs"].get("column") == "events":
            expectation["kwargs"]["min_value"] = 1000.0
    file.write_text(json.dumps(suite))
    return folder


def test_a_refused_gold_day_records_its_verdicts_and_quarantines_its_rows_once(
    spark: SparkSession,
    lake: Lake,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gate's verdicts land in ops.quality_results (job backfill, the day as batch id,
    the backfill's writer id), the refused rows in quarantine.gold_daily_active_users with
    their reasons; a backfill stopped after its quarantine write and run again quarantines
    nothing twice; gold is not written; ops.backfills says refused; exit code 1."""
    config = dataclasses.replace(
        lake.config,
        quality=QualityConfig(enabled=True, suite_dir=str(_strict_suites(tmp_path / "s"))),
    )
    tables = _tables(spark, config)
    users = next(t for g, t, _ in tables.gold if g.name == "daily_active_users")
    before = latest_version(spark, table_path(config.lake, users))
    day = DAYS[0].isoformat()
    args = argparse.Namespace(
        dataset="events",
        layer="gold",
        start=day,
        end=day,
        dry_run=False,
        stream_wait=None,
        break_claim=None,
    )

    # stopped after the refused day's quarantine write, before its verdicts
    def crash_at_users(*args: Any, **kwargs: Any) -> Any:
        if args[3].name == users.name:
            raise _Crash
        return commit.record_verdicts(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(backfill_run, "record_verdicts", crash_at_users)
        with pytest.raises(_Crash):
            cmd_backfill(args, config)
    stopped = _read(spark, config, "ops/backfill_claims").where(
        (F.col("release_reason") == "failed") & (F.col("layer") == "gold")
    )
    claim = stopped.select("claim_id").first()
    assert claim is not None
    first_writer = f"backfill:{claim['claim_id']}"
    capsys.readouterr()

    # run again
    assert cmd_backfill(args, config) == 1
    reason = "critical expectation(s) failed: expect_column_values_to_be_between(events)"
    assert capsys.readouterr().err.splitlines() == [
        f"lakehouse: backfill: gold.daily_active_users {day}: not written: {reason}"
    ]
    assert latest_version(spark, table_path(config.lake, users)) == before
    backfill_id = _newest_backfill(spark, config)
    log = (
        _read(spark, config, "ops/backfills")
        .where(F.col("backfill_id") == backfill_id)
        .select(
            "table_name",
            "status",
            "reason",
            "rows_quarantined",
            F.col("version_written").isNotNull().alias("written"),
            F.col("quarantine_version").isNotNull().alias("quarantined"),
        )
    )
    assert_df_equality(
        log,
        spark.createDataFrame(
            [
                # its row is in the quarantine already: the second run writes none
                ("gold.daily_active_users", "refused", reason, 1, False, False),
                ("gold.events_per_minute", "done", None, 0, True, False),
                ("gold.hourly_revenue", "done", None, 0, True, False),
            ],
            "table_name string, status string, reason string, rows_quarantined long, "
            "written boolean, quarantined boolean",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )

    # the verdicts of the run that finished, as the gold stream records its own
    ordinal = DAYS[0].toordinal()
    writer = f"backfill:{backfill_id}"
    verdicts = (
        _read(spark, config, "ops/quality_results")
        .where((F.col("_writer_id") == writer) & (F.col("table_name") == users.name))
        .select(
            "job",
            "batch_id",
            "suite",
            "expectation_type",
            "column_name",
            "severity",
            "success",
            "action",
        )
    )
    expected_verdicts = [
        ("expect_column_values_to_not_be_null", "event_date", True, "passed"),
        ("expect_column_values_to_be_between", "active_users", True, "passed"),
        ("expect_column_values_to_be_between", "events", False, "quarantined_rows"),
        ("expect_column_values_to_be_unique", "event_date", True, "passed"),
    ]
    assert_df_equality(
        verdicts,
        spark.createDataFrame(
            [
                ("backfill", ordinal, "silver_to_gold_daily_active_users", t, c, "critical", ok, a)
                for t, c, ok, a in expected_verdicts
            ],
            "job string, batch_id long, suite string, expectation_type string, "
            "column_name string, severity string, success boolean, action string",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    # every table's suite, once per table (each expectation once)
    per_table = (
        _read(spark, config, "ops/quality_results")
        .where(F.col("_writer_id") == writer)
        .groupBy("table_name", "expectation_type", "kwargs")
        .count()
        .groupBy("table_name")
        .agg(F.count(F.lit(1)).alias("expectations"), F.max("count").alias("times"))
    )
    assert_df_equality(
        per_table,
        spark.createDataFrame(
            [(t.name, _expectations(config, g.suite), 1) for g, t, _ in tables.gold],
            "table_name string, expectations long, times long",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )

    # the refused row, once, written by the run that stopped
    silver = _read(spark, config, "silver/events").where(F.col("event_date") == DAYS[0])
    count = silver.count()  # one event per user
    label = f"{REASON_PREFIX}expect_column_values_to_be_between(events)"
    quarantine = _read(spark, config, "quarantine/gold_daily_active_users").select(
        "event_date", "active_users", "events", "reason", "reasons", "_writer_id", "_batch_id"
    )
    assert_df_equality(
        quarantine,
        spark.createDataFrame(
            [(DAYS[0], count, count, label, [label], first_writer, ordinal)],
            "event_date date, active_users long, events long, reason string, "
            "reasons array<string>, _writer_id string, _batch_id long",
        ),
        ignore_nullable=True,
    )


def _expectations(config: LakehouseConfig, suite: str) -> int:
    file = Path(config.quality.suite_dir) / f"{suite}.json"
    return len(json.loads(file.read_text())["expectations"])


def _newest_backfill(spark: SparkSession, config: LakehouseConfig) -> str:
    log = _read(spark, config, "ops/backfills")
    newest = log.orderBy(F.col("finished_ts").desc()).first()
    assert newest is not None
    return str(newest["backfill_id"])
